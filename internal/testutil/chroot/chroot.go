// Package chroot gives tests a clean Debian root filesystem (bookworm; NewSuite makes bullseye and trixie ones
// too) to install .deb files into with apt and dpkg, the way a user's machine would. The first use builds it with debootstrap (variant minbase) from the host's Debian
// mirror and caches it as a tarball; every New extracts a fresh copy, mounts /proc and /dev into it, and unmounts
// them when the test ends. Packages that apt downloads inside a chroot are kept in a cache shared by all chroots.
//
// Everything here needs root: debootstrap, mount and chroot(2).
package chroot

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/venvpkg/venvpkg/internal/testutil"
)

// Suite is the Debian release New makes chroots of.
const Suite = "bookworm"

// env is the whole environment of every command run inside a chroot.
var env = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root",
	"LC_ALL=C",
	"DEBIAN_FRONTEND=noninteractive",
	"DEBCONF_NONINTERACTIVE_SEEN=true",
}

// Chroot is one fresh, mounted copy of the cached Debian root filesystem.
type Chroot struct {
	// Dir is the root directory of the chroot on the host.
	Dir string
	// cacheDir holds the tarball, its lock and the shared apt archive cache.
	cacheDir string
	// mounts lists the mount points made by New, in the order they were made.
	mounts []string
}

// New returns a fresh chroot for the test, removed when the test ends. It skips the test when not run as root (fails
// it under CI) and fails it when the chroot cannot be built. The first call on a machine runs debootstrap, which
// takes minutes; later calls only extract the cached tarball.
func New(t testing.TB) *Chroot {
	t.Helper()
	return NewSuite(t, Suite)
}

// NewSuite is New for another Debian release, such as bullseye or trixie. Each release has its own cache
// directory (tarball, lock, apt archives) in the test cache: chroot for bookworm, chroot-<suite> for the others.
func NewSuite(t testing.TB, suite string) *Chroot {
	t.Helper()
	testutil.NeedRoot(t, "a chroot (debootstrap, mount and chroot)")
	ctx := context.Background()
	cacheDir := filepath.Join(testutil.CacheDir(), "chroot")
	if suite != Suite {
		cacheDir += "-" + suite
	}
	tarball, err := SuiteTarball(ctx, cacheDir, suite)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "venvpkg-chroot-")
	if err != nil {
		t.Fatalf("creating the chroot directory: %v", err)
	}
	c := &Chroot{Dir: dir, cacheDir: cacheDir}
	t.Cleanup(func() {
		if err := c.unmountAll(); err != nil {
			t.Errorf("%v; leaving %s in place so nothing mounted into it is deleted", err, dir)
			return
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing the chroot: %v", err)
		}
	})
	if out, err := exec.CommandContext(ctx, "tar", "--numeric-owner", "-xpf", tarball, "-C", dir).CombinedOutput(); err != nil {
		t.Fatalf("extracting %s: %v: %s", tarball, err, out)
	}
	// A root directory is world-readable; MkdirTemp (and the tarball's own
	// "." entry, made the same way) give 0700, which would lock every
	// non-root service user out of the whole chroot.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("making the chroot directory readable: %v", err)
	}
	if err := prepare(dir); err != nil {
		t.Fatal(err)
	}
	if err := c.mountAll(); err != nil {
		t.Fatal(err)
	}
	return c
}

// Run runs args inside the chroot and returns its combined output, failing the test with that output on error.
func (c *Chroot) Run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := c.RunErr(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// RunErr runs args inside the chroot and returns its combined output. The error names the command and includes
// the output.
func (c *Chroot) RunErr(args ...string) (string, error) {
	return c.RunContext(context.Background(), args...)
}

// RunContext is RunErr with a context that can stop the command.
func (c *Chroot) RunContext(ctx context.Context, args ...string) (string, error) {
	return run(ctx, c.Dir, args...)
}

// run runs args inside the chroot at dir with a fixed environment.
func run(ctx context.Context, dir string, args ...string) (string, error) {
	if len(args) == 0 {
		return "", errors.New("running in the chroot: no command given")
	}
	cmd := exec.CommandContext(ctx, "chroot", append([]string{dir}, args...)...)
	cmd.Env = env
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("running %q in chroot %s: %w\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out), nil
}

// CopyIn copies the host file or directory hostPath to chrootPath, an absolute path inside the chroot, creating
// parent directories. Modes are kept; owners become root.
func (c *Chroot) CopyIn(t testing.TB, hostPath, chrootPath string) {
	t.Helper()
	dst, err := c.Path(chrootPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := copyTree(hostPath, dst); err != nil {
		t.Fatalf("copying %s into the chroot as %s: %v", hostPath, chrootPath, err)
	}
}

// Path maps chrootPath, an absolute path inside the chroot, to the host path of the same file.
func (c *Chroot) Path(chrootPath string) (string, error) {
	if !filepath.IsAbs(chrootPath) {
		return "", fmt.Errorf("chroot path %q is relative; give an absolute path such as /tmp/x", chrootPath)
	}
	return filepath.Join(c.Dir, filepath.Clean(chrootPath)), nil
}

// InstallDebs installs the host .deb files with apt-get inside the chroot, which also installs their Depends from
// Debian's mirror, and fails the test when that fails. Archives apt downloads are kept in the shared cache for
// later chroots. When the install fails, the package lists are refreshed with apt-get update and the install is
// tried once more.
func (c *Chroot) InstallDebs(t testing.TB, debs ...string) {
	t.Helper()
	if _, err := c.InstallDebsErr(debs...); err != nil {
		t.Fatal(err)
	}
}

// InstallDebsErr is InstallDebs returning apt-get's output and error instead of failing a test, for tests of
// installs that should fail.
func (c *Chroot) InstallDebsErr(debs ...string) (out string, err error) {
	if len(debs) == 0 {
		return "", errors.New("installing .deb files in the chroot: none given")
	}
	staging := filepath.Join(c.Dir, "tmp/venvpkg-debs")
	defer func() {
		if rerr := os.RemoveAll(staging); rerr != nil {
			err = errors.Join(err, fmt.Errorf("removing the copied .deb files: %w", rerr))
		}
	}()
	args := []string{"apt-get", "install", "-y", "--no-install-recommends"}
	for _, deb := range debs {
		if err := os.MkdirAll(staging, 0o755); err != nil {
			return "", err
		}
		if err := copyFile(deb, filepath.Join(staging, filepath.Base(deb)), 0o644); err != nil {
			return "", fmt.Errorf("copying %s into the chroot: %w", deb, err)
		}
		args = append(args, "/tmp/venvpkg-debs/"+filepath.Base(deb))
	}
	out, err = c.RunWithAptCache(args...)
	if err == nil {
		return out, nil
	}
	if _, uerr := c.RunErr("apt-get", "update"); uerr != nil {
		return out, fmt.Errorf("%w\nrefreshing the package lists after that failed too: %v", err, uerr)
	}
	return c.RunWithAptCache(args...)
}

// RunWithAptCache is RunErr for a command that runs apt-get inside the chroot: the archives earlier chroots
// downloaded are put in apt's cache first, and the ones this command downloads are kept for later chroots.
func (c *Chroot) RunWithAptCache(args ...string) (out string, err error) {
	archiveCache := filepath.Join(c.cacheDir, "apt-archives")
	archives := filepath.Join(c.Dir, "var/cache/apt/archives")
	if err := seedArchives(archiveCache, archives); err != nil {
		return "", err
	}
	defer func() {
		if serr := saveArchives(archives, archiveCache); serr != nil {
			err = errors.Join(err, serr)
		}
	}()
	return c.RunErr(args...)
}

// Files lists everything (files, directories, symlinks) below chrootPath inside the chroot as sorted absolute
// chroot paths; a missing chrootPath has none. Compare the lists before installing and after purging to find
// leftovers.
func (c *Chroot) Files(t testing.TB, chrootPath string) []string {
	t.Helper()
	root, err := c.Path(chrootPath)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if errors.Is(err, os.ErrNotExist) && p == root {
			return filepath.SkipAll
		}
		if err != nil {
			return err
		}
		if p != root {
			files = append(files, "/"+strings.TrimPrefix(p, c.Dir+"/"))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("listing %s in the chroot: %v", chrootPath, err)
	}
	sort.Strings(files)
	return files
}

// Mounted returns the mount points at or below dir listed in /proc/mounts.
func Mounted(dir string) ([]string, error) {
	f, err := os.Open("/proc/mounts")
	if err != nil {
		return nil, fmt.Errorf("reading the mount table: %w", err)
	}
	defer f.Close()
	dir = filepath.Clean(dir)
	var found []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		mp := unescapeMount(fields[1])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			found = append(found, mp)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the mount table: %w", err)
	}
	return found, nil
}

// unescapeMount undoes the octal escapes (\040 for space and so on) of /proc/mounts fields.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%3o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountAll mounts proc on /proc and binds the host's /dev on /dev.
func (c *Chroot) mountAll() error {
	for _, m := range []struct {
		source, target, fstype string
		flags                  uintptr
	}{
		{"proc", "proc", "proc", 0},
		{"/dev", "dev", "", syscall.MS_BIND},
	} {
		target := filepath.Join(c.Dir, m.target)
		if err := os.MkdirAll(target, 0o755); err != nil {
			return fmt.Errorf("creating mount point %s: %w", target, err)
		}
		if err := syscall.Mount(m.source, target, m.fstype, m.flags, ""); err != nil {
			return fmt.Errorf("mounting %s on %s: %w", m.source, target, err)
		}
		c.mounts = append(c.mounts, target)
	}
	return nil
}

// unmountAll undoes mountAll, detaching lazily whatever is still busy, and checks /proc/mounts that nothing is
// left mounted under the chroot.
func (c *Chroot) unmountAll() error {
	var errs []error
	for i := len(c.mounts) - 1; i >= 0; i-- {
		mp := c.mounts[i]
		if err := syscall.Unmount(mp, 0); err != nil {
			if derr := syscall.Unmount(mp, syscall.MNT_DETACH); derr != nil {
				errs = append(errs, fmt.Errorf("unmounting %s: %w (lazy unmount: %v)", mp, err, derr))
			}
		}
	}
	c.mounts = nil
	left, err := Mounted(c.Dir)
	if err != nil {
		errs = append(errs, err)
	} else if len(left) > 0 {
		errs = append(errs, fmt.Errorf("still mounted after cleanup: %s", strings.Join(left, ", ")))
	}
	return errors.Join(errs...)
}

// prepare makes an extracted root filesystem fit for tests: name resolution from the host and no service starts.
func prepare(dir string) error {
	resolv, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return fmt.Errorf("reading the host's /etc/resolv.conf for the chroot: %w", err)
	}
	target := filepath.Join(dir, "etc/resolv.conf")
	// The tarball may carry resolv.conf as a symlink; replace it rather than writing through it.
	if err := os.Remove(target); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("replacing the chroot's resolv.conf: %w", err)
	}
	if err := os.WriteFile(target, resolv, 0o644); err != nil {
		return fmt.Errorf("writing the chroot's resolv.conf: %w", err)
	}
	// invoke-rc.d asks policy-rc.d whether a service may start; 101 means "action forbidden".
	if err := os.WriteFile(filepath.Join(dir, "usr/sbin/policy-rc.d"), []byte("#!/bin/sh\nexit 101\n"), 0o755); err != nil {
		return fmt.Errorf("writing the chroot's policy-rc.d: %w", err)
	}
	return nil
}

// copyTree copies the file, symlink or directory src to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm())
		case d.Type()&os.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			return copyFile(path, target, info.Mode().Perm())
		default:
			return fmt.Errorf("%s is neither a file, a directory nor a symlink", path)
		}
	})
}

// copyFile copies src to dst with mode perm, writing a temp file beside dst and renaming it.
func copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".copy-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// seedArchives links (or copies) every cached .deb into the chroot's apt archive directory.
func seedArchives(cache, archives string) error {
	names, err := debNames(cache)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(archives, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", archives, err)
	}
	for _, name := range names {
		src, dst := filepath.Join(cache, name), filepath.Join(archives, name)
		if _, err := os.Lstat(dst); err == nil {
			continue
		}
		if err := os.Link(src, dst); err != nil {
			if err := copyFile(src, dst, 0o644); err != nil {
				return fmt.Errorf("seeding the chroot's apt archives with %s: %w", name, err)
			}
		}
	}
	return nil
}

// saveArchives copies the .deb files apt downloaded inside the chroot into the shared cache.
func saveArchives(archives, cache string) error {
	names, err := debNames(archives)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return fmt.Errorf("creating the apt archive cache: %w", err)
	}
	for _, name := range names {
		dst := filepath.Join(cache, name)
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		if err := copyFile(filepath.Join(archives, name), dst, 0o644); err != nil {
			return fmt.Errorf("saving %s to the apt archive cache: %w", name, err)
		}
	}
	return nil
}

// debNames lists the .deb files directly in dir, sorted; a missing dir has none.
func debNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".deb") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}
