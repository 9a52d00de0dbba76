// Package nspawn boots Debian trees with systemd as PID 1 for tests that must see a real service manager: units
// started, restarted and stopped by systemd, maintainer scripts that call systemctl, sshd, nginx. A tree is the
// cached bookworm root filesystem of package chroot with more Debian packages installed; it is built once, cached
// as a tarball in the test cache and extracted next to it. Each Boot runs
//
//	systemd-nspawn --boot --register=no --keep-unit --volatile=overlay --private-network (or --network-veth)
//
// on that directory: the container writes to a tmpfs overlay, so the cached tree stays pristine and several
// containers share it. There is no machined or system bus on the host, so containers are driven with
// nsenter -t <leader> -a, started from a cgroup of their own that is removed when they are stopped (with --keep-unit
// nspawn makes its payload/ and supervisor/ cgroups where it was started), and stopped with systemctl poweroff.
//
// Everything here needs root and the Debian packages systemd-container (systemd-nspawn) and util-linux (nsenter).
package nspawn

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/venvpkg/venvpkg/internal/testutil"
	"github.com/venvpkg/venvpkg/internal/testutil/chroot"
)

// Packages are the Debian packages of the services tree on top of the chroot's minbase: systemd as init, what the
// packages venvpkg builds depend on, and the servers and tools the real-systemd tests drive (nginx in front of
// gunicorn, sshd for Ansible, rpm for the .rpm's scriptlets, puppet with puppetlabs-apt and the gnupg it
// insists on for puppet apply).
var Packages = []string{
	"systemd", "systemd-sysv", "dbus", "iproute2", "iputils-ping", "procps", "curl", "ca-certificates",
	"python3.11", "python3-apt",
	"nginx", "openssh-server", "sudo", "rpm", "gnupg",
	"puppet", "puppet-module-puppetlabs-apt",
}

// masked are units a test container must not run: consoles (nspawn gives none), and timers that would take the
// dpkg lock or start work in the middle of a test.
var masked = []string{
	"console-getty.service", "getty@.service", "apt-daily.timer", "apt-daily-upgrade.timer",
	"dpkg-db-backup.timer", "man-db.timer", "e2scrub_all.timer", "fstrim.timer", "systemd-tmpfiles-clean.timer",
}

// disabled are services the tree's packages enable that tests start themselves when they need them.
var disabled = []string{"nginx.service", "ssh.service", "puppet.service", "rsync.service"}

// treeVersion changes when what Tree does to a tree changes, so caches of older trees are not reused.
const treeVersion = "2"

// Tree returns the directory of the services tree (Packages installed into the chroot tarball), building and
// caching it on first use: <cache>/nspawn/services-<hash>.tar, extracted to <cache>/nspawn/services-<hash>/. A lock
// makes concurrent test binaries wait for one build. It skips the test (fails it under CI) when not run as root.
func Tree(t testing.TB) string {
	t.Helper()
	testutil.NeedRoot(t, "building the services tree")
	testutil.NeedTool(t, "debootstrap", "debootstrap")
	dir, err := tree(context.Background(), t, filepath.Join(testutil.CacheDir(), "nspawn"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func treeKey() string {
	h := sha256.Sum256([]byte(treeVersion + "\n" + chroot.Suite + "\n" + strings.Join(Packages, "\n") + "\n" + strings.Join(masked, "\n") + "\n" + strings.Join(disabled, "\n")))
	return "services-" + hex.EncodeToString(h[:6])
}

func tree(ctx context.Context, t testing.TB, cacheDir string) (string, error) {
	key := treeKey()
	dir := filepath.Join(cacheDir, key)
	if _, err := os.Stat(filepath.Join(dir, "etc", "os-release")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("creating the nspawn cache %s: %w", cacheDir, err)
	}
	lock, err := os.OpenFile(filepath.Join(cacheDir, "build.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Errorf("opening the nspawn build lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("locking %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(filepath.Join(dir, "etc", "os-release")); err == nil {
		return dir, nil
	}
	tarball := filepath.Join(cacheDir, key+".tar")
	if _, err := os.Stat(tarball); err != nil {
		if err := buildTarball(ctx, t, tarball); err != nil {
			return "", fmt.Errorf("building the services tree %s: %w", tarball, err)
		}
	}
	// Extract beside the final directory and rename, so a half-extracted tree is never booted.
	tmp, err := os.MkdirTemp(cacheDir, key+".extract-")
	if err != nil {
		return "", err
	}
	if out, err := exec.CommandContext(ctx, "tar", "--numeric-owner", "-xpf", tarball, "-C", tmp).CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("extracting %s: %w\n%s", tarball, err, out)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	// tar --one-file-system left out the chroot's mount points.
	for _, mp := range []string{"proc", "dev", "sys"} {
		if err := os.MkdirAll(filepath.Join(tmp, mp), 0o755); err != nil {
			os.RemoveAll(tmp)
			return "", err
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("moving the extracted tree into place: %w", err)
	}
	// Trees of other package lists or versions of this code are stale: remove them (half a gigabyte each).
	stale, err := filepath.Glob(filepath.Join(cacheDir, "services-*"))
	if err != nil {
		return "", err
	}
	for _, p := range stale {
		if name := filepath.Base(p); name != key && name != key+".tar" {
			if err := os.RemoveAll(p); err != nil {
				return "", fmt.Errorf("removing the stale tree %s: %w", p, err)
			}
		}
	}
	return dir, nil
}

// buildTarball installs Packages into a fresh chroot, makes it bootable without a console and without services the
// tests start themselves, and packs it (only the root file system: /proc and /dev are mounted into the chroot).
func buildTarball(ctx context.Context, t testing.TB, tarball string) error {
	c := chroot.New(t)
	args := append([]string{"apt-get", "install", "-y", "--no-install-recommends"}, Packages...)
	if _, err := c.RunContext(ctx, args...); err != nil {
		if _, uerr := c.RunContext(ctx, "apt-get", "update"); uerr != nil {
			return errors.Join(err, uerr)
		}
		if _, err := c.RunContext(ctx, args...); err != nil {
			return err
		}
	}
	if _, err := c.RunContext(ctx, "apt-get", "clean"); err != nil {
		return err
	}
	// Inside a booted container services must start: the chroot's policy-rc.d forbids it.
	if err := os.Remove(filepath.Join(c.Dir, "usr/sbin/policy-rc.d")); err != nil {
		return fmt.Errorf("removing policy-rc.d from the tree: %w", err)
	}
	for _, op := range []struct {
		verb  string
		units []string
	}{{"mask", masked}, {"disable", disabled}} {
		args := append([]string{"--root=" + c.Dir, op.verb}, op.units...)
		if out, err := exec.CommandContext(ctx, "systemctl", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("systemctl %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	// The machine id is made at each boot (a volatile root), so containers differ; without /etc/hostname
	// systemd keeps the host name nspawn gives each container.
	if err := os.WriteFile(filepath.Join(c.Dir, "etc/machine-id"), nil, 0o444); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(c.Dir, "etc/hostname")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	tmp := tarball + ".tmp"
	if out, err := exec.CommandContext(ctx, "tar", "--one-file-system", "--numeric-owner", "-C", c.Dir, "-cf", tmp, ".").CombinedOutput(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("packing %s: %w\n%s", c.Dir, err, out)
	}
	return os.Rename(tmp, tarball)
}
