package chroot

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestMirrorsIn(t *testing.T) {
	tests := []struct {
		name, sources, mirror, security string
	}{
		{
			name:     "one-line format with options",
			sources:  "# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://deb.debian.org/debian bookworm main\ndeb http://deb.debian.org/debian-security/ bookworm-security main\n",
			mirror:   "http://deb.debian.org/debian",
			security: "http://deb.debian.org/debian-security",
		},
		{
			name:     "deb822 format",
			sources:  "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n\nTypes: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n",
			mirror:   "http://deb.debian.org/debian",
			security: "http://deb.debian.org/debian-security",
		},
		{
			name:    "third-party repositories are ignored",
			sources: "deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\nURIs: https://deb.nodesource.com/node_20.x\n",
		},
		{
			name:    "commented mirror is ignored",
			sources: "#deb http://deb.debian.org/debian bookworm main\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, s := mirrorsIn(strings.NewReader(tt.sources))
			if m != tt.mirror || s != tt.security {
				t.Errorf("mirrorsIn(%q) = %q, %q, want %q, %q", tt.sources, m, s, tt.mirror, tt.security)
			}
		})
	}
}

func TestUnescapeMount(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "/tmp/a", "/tmp/a"},
		{"space", `/tmp/a\040b`, "/tmp/a b"},
		{"tab and backslash", `/x\011y\134z`, "/x\ty\\z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unescapeMount(tt.in); got != tt.want {
				t.Errorf("unescapeMount(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// buildProbeDeb makes a tiny package that depends on python3.11 and ships one file.
func buildProbeDeb(t *testing.T) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "probe")
	control := "Package: venvpkg-chroot-probe\nVersion: 1.0-1\nArchitecture: all\n" +
		"Maintainer: venvpkg tests <tests@example.invalid>\nDepends: python3.11\n" +
		"Description: chroot test package\n a package that only pulls in python3.11\n"
	for name, content := range map[string]string{
		"DEBIAN/control": control,
		"usr/share/venvpkg-chroot-probe/marker.txt": "probe\n",
	} {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	deb := filepath.Join(t.TempDir(), "venvpkg-chroot-probe_1.0-1_all.deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "-b", src, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -b: %v\n%s", err, out)
	}
	return deb
}

func TestInstallPurge(t *testing.T) {
	if testing.Short() {
		t.Skip("builds or extracts a Debian chroot")
	}
	var dir string
	t.Run("in chroot", func(t *testing.T) {
		c := New(t)
		dir = c.Dir
		mounted, err := Mounted(c.Dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(mounted) != 2 {
			t.Errorf("Mounted(%s) = %v, want /proc and /dev", c.Dir, mounted)
		}
		if got := c.Run(t, "cat", "/usr/sbin/policy-rc.d"); !strings.Contains(got, "exit 101") {
			t.Errorf("policy-rc.d = %q, want it to exit 101", got)
		}
		if _, err := c.RunErr("python3.11", "-c", "print(1)"); err == nil {
			t.Fatal("python3.11 runs in a fresh minbase chroot; the install below would prove nothing")
		}
		if got := c.Files(t, "/usr/share/venvpkg-chroot-probe"); len(got) != 0 {
			t.Fatalf("Files before install = %q, want none", got)
		}
		c.InstallDebs(t, buildProbeDeb(t))
		want := []string{"/usr/share/venvpkg-chroot-probe", "/usr/share/venvpkg-chroot-probe/marker.txt"}
		if got := c.Files(t, "/usr/share"); !containsAll(got, want) {
			t.Errorf("Files(/usr/share) after install lacks %q", want)
		}
		if got := c.Files(t, "/tmp"); len(got) != 0 {
			t.Errorf("InstallDebs left %q in /tmp", got)
		}
		if got := c.Run(t, "python3.11", "-c", "print(1)"); strings.TrimSpace(got) != "1" {
			t.Errorf("python3.11 -c 'print(1)' printed %q, want 1", got)
		}
		marker, err := c.Path("/usr/share/venvpkg-chroot-probe/marker.txt")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(marker); err != nil {
			t.Errorf("installed file missing: %v", err)
		}
		c.Run(t, "dpkg", "-P", "venvpkg-chroot-probe")
		if got := c.Files(t, "/usr/share/venvpkg-chroot-probe"); len(got) != 0 {
			t.Errorf("Files after dpkg -P = %q, want none", got)
		}
		if out, err := c.InstallDebsErr(filepath.Join(t.TempDir(), "missing.deb")); err == nil {
			t.Errorf("InstallDebsErr of a missing file succeeded: %s", out)
		}
		if out, err := c.RunErr("dpkg-query", "-W", "venvpkg-chroot-probe"); err == nil {
			t.Errorf("dpkg-query -W after purge succeeded: %s", out)
		}
		cached, err := debNames(filepath.Join(c.cacheDir, "apt-archives"))
		if err != nil {
			t.Fatal(err)
		}
		if !containsPrefix(cached, "python3.11_") {
			t.Errorf("apt archive cache %v lacks python3.11 after installing it", cached)
		}
	})
	if dir == "" {
		return
	}
	mounted, err := Mounted(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(mounted) != 0 {
		t.Errorf("after cleanup Mounted(%s) = %v, want none", dir, mounted)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("after cleanup stat(%s) = %v, want not exist", dir, err)
	}
}

func containsAll(list, want []string) bool {
	have := map[string]bool{}
	for _, s := range list {
		have[s] = true
	}
	for _, w := range want {
		if !have[w] {
			return false
		}
	}
	return true
}

func containsPrefix(names []string, prefix string) bool {
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

// TestSuites makes a chroot of each other Debian release the bundled-interpreter tests install into and checks
// that it is that release, with no python3.
func TestSuites(t *testing.T) {
	if testing.Short() {
		t.Skip("debootstraps two Debian releases on first use")
	}
	for suite, version := range map[string]string{"bullseye": "11.", "trixie": "13."} {
		t.Run(suite, func(t *testing.T) {
			c := NewSuite(t, suite)
			if got := c.Run(t, "cat", "/etc/debian_version"); !strings.HasPrefix(got, version) {
				t.Errorf("%s chroot: /etc/debian_version = %q, want %s*", suite, got, version)
			}
			if _, err := c.RunErr("test", "-e", "/usr/bin/python3"); err == nil {
				t.Errorf("the minbase %s chroot has python3", suite)
			}
		})
	}
}
