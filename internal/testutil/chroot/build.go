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
	"strings"
	"syscall"
)

// DefaultMirror is used when the host's apt sources name no Debian mirror.
const DefaultMirror = "http://deb.debian.org/debian"

// Tarball returns the path of the cached bookworm root filesystem tarball in cacheDir, building it first when it
// is missing. A lock file in cacheDir makes concurrent callers (two test binaries at once) wait for one build.
func Tarball(ctx context.Context, cacheDir string) (string, error) {
	return SuiteTarball(ctx, cacheDir, Suite)
}

// SuiteTarball is Tarball for another Debian release (bullseye, trixie).
func SuiteTarball(ctx context.Context, cacheDir, suite string) (string, error) {
	tarball := filepath.Join(cacheDir, suite+"-minbase.tar")
	if _, err := os.Stat(tarball); err == nil {
		return tarball, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("creating the chroot cache %s: %w", cacheDir, err)
	}
	lock, err := os.OpenFile(filepath.Join(cacheDir, "build.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Errorf("opening the chroot build lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("locking %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	// Another process may have built it while this one waited for the lock.
	if _, err := os.Stat(tarball); err == nil {
		return tarball, nil
	}
	mirror, security, err := HostMirrors()
	if err != nil {
		return "", err
	}
	if err := build(ctx, cacheDir, tarball, suite, mirror, security); err != nil {
		return "", fmt.Errorf("building the %s chroot from %s: %w", suite, mirror, err)
	}
	return tarball, nil
}

// build runs debootstrap into a temp directory in cacheDir, configures apt, fetches the package lists and writes
// the tarball through a temp file and a rename.
func build(ctx context.Context, cacheDir, tarball, suite, mirror, security string) (err error) {
	root, err := os.MkdirTemp(cacheDir, "build-")
	if err != nil {
		return err
	}
	c := &Chroot{Dir: root, cacheDir: cacheDir}
	defer func() {
		if uerr := c.unmountAll(); uerr != nil {
			err = errors.Join(err, fmt.Errorf("%w; left %s in place", uerr, root))
			return
		}
		if rerr := os.RemoveAll(root); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()
	// debootstrap keeps the packages it downloads in the shared apt archive cache, so a rebuild reuses them.
	apt := filepath.Join(cacheDir, "apt-archives")
	if err := os.MkdirAll(apt, 0o755); err != nil {
		return err
	}
	args := []string{"--variant=minbase", "--cache-dir=" + apt, suite, root, mirror}
	if out, err := exec.CommandContext(ctx, "debootstrap", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("debootstrap %s: %w\n%s", strings.Join(args, " "), err, tail(out, 4000))
	}
	sources := fmt.Sprintf("deb %s %s main\ndeb %s %s-updates main\n", mirror, suite, mirror, suite)
	if security != "" {
		sources += fmt.Sprintf("deb %s %s-security main\n", security, suite)
	}
	files := map[string]string{
		"etc/apt/sources.list":                    sources,
		"etc/apt/apt.conf.d/90venvpkg-tests":      "APT::Install-Recommends \"false\";\nAPT::Install-Suggests \"false\";\nAcquire::Retries \"3\";\n",
		"etc/dpkg/dpkg.cfg.d/90venvpkg-tests":     "force-unsafe-io\n",
		"usr/sbin/policy-rc.d":                    "#!/bin/sh\nexit 101\n",
		"etc/apt/apt.conf.d/91venvpkg-keep-debs":  "Binary::apt::APT::Keep-Downloaded-Packages \"true\";\n",
		"etc/apt/apt.conf.d/92venvpkg-no-sandbox": "APT::Sandbox::User \"root\";\n",
	}
	for name, content := range files {
		mode := os.FileMode(0o644)
		if strings.HasPrefix(name, "usr/sbin/") {
			mode = 0o755
		}
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), mode); err != nil {
			return fmt.Errorf("configuring the chroot: %w", err)
		}
	}
	if err := prepare(root); err != nil {
		return err
	}
	if err := c.mountAll(); err != nil {
		return err
	}
	if _, err := run(ctx, root, "apt-get", "update"); err != nil {
		return err
	}
	if _, err := run(ctx, root, "apt-get", "clean"); err != nil {
		return err
	}
	if err := c.unmountAll(); err != nil {
		return err
	}
	tmp := tarball + ".tmp"
	if out, err := exec.CommandContext(ctx, "tar", "--numeric-owner", "-C", root, "-cf", tmp, ".").CombinedOutput(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("packing %s: %w\n%s", root, err, out)
	}
	return os.Rename(tmp, tarball)
}

// HostMirrors reads the host's apt sources (one-line .list and deb822 .sources files) and returns the first
// deb.debian.org-style Debian mirror URL and its security mirror URL ("" when the host has none). Without any
// Debian mirror it returns DefaultMirror.
func HostMirrors() (mirror, security string, err error) {
	paths := []string{"/etc/apt/sources.list"}
	for _, pattern := range []string{"/etc/apt/sources.list.d/*.list", "/etc/apt/sources.list.d/*.sources"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			return "", "", err
		}
		paths = append(paths, m...)
	}
	for _, p := range paths {
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", "", fmt.Errorf("reading apt sources: %w", err)
		}
		m, s := mirrorsIn(f)
		f.Close()
		if mirror == "" {
			mirror = m
		}
		if security == "" {
			security = s
		}
	}
	if mirror == "" {
		mirror = DefaultMirror
	}
	return mirror, security, nil
}

// mirrorsIn finds Debian archive and security URLs in one apt sources file of either format.
func mirrorsIn(r io.Reader) (mirror, security string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		var urls []string
		switch {
		case strings.HasPrefix(line, "deb "):
			for _, field := range strings.Fields(line)[1:] {
				if strings.HasPrefix(field, "[") || strings.HasSuffix(field, "]") || strings.Contains(field, "=") {
					continue
				}
				urls = append(urls, field)
				break
			}
		case strings.HasPrefix(line, "URIs:"):
			urls = strings.Fields(strings.TrimPrefix(line, "URIs:"))
		}
		for _, u := range urls {
			u = strings.TrimSuffix(u, "/")
			if !strings.Contains(u, "debian") || !(strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://")) {
				continue
			}
			if strings.HasSuffix(u, "-security") {
				if security == "" {
					security = u
				}
			} else if strings.HasSuffix(u, "/debian") && mirror == "" {
				mirror = u
			}
		}
	}
	return mirror, security
}

// tail returns the last n bytes of out, for errors that quote long tool logs.
func tail(out []byte, n int) []byte {
	if len(out) <= n {
		return out
	}
	return out[len(out)-n:]
}
