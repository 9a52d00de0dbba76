package repo

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ulikunitz/xz"

	"github.com/venvpkg/venvpkg/internal/pkg"
	"github.com/venvpkg/venvpkg/internal/testutil"
	"github.com/venvpkg/venvpkg/internal/testutil/chroot"
)

// server serves a directory over HTTP on 127.0.0.1; SetRoot switches it to
// another directory.
type server struct {
	*httptest.Server
	root atomic.Value
}

func serve(t *testing.T, root string) *server {
	t.Helper()
	s := &server{}
	s.root.Store(root)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.FileServer(http.Dir(s.root.Load().(string))).ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) SetRoot(root string) { s.root.Store(root) }

// tamperedCopy copies the repository root to a new directory and changes
// the given Packages index there in every form a client may fetch:
// plain, gzip and xz, under its own name and under by-hash.
func tamperedCopy(t *testing.T, root, packagesDir string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "tampered")
	if out, err := exec.Command("cp", "-a", root, dst).CombinedOutput(); err != nil {
		t.Fatalf("copying the repository: %v: %s", err, out)
	}
	dir := filepath.Join(dst, packagesDir)
	plain, err := os.ReadFile(filepath.Join(dir, "Packages"))
	if err != nil {
		t.Fatal(err)
	}
	// Same length, so only the checksums can tell.
	evil := bytes.Replace(plain, []byte("Prints v1."), []byte("Prints v0."), 1)
	if bytes.Equal(evil, plain) {
		t.Fatal("the tampered Packages is unchanged")
	}
	gzEvil, xzEvil, err := compressed(evil)
	if err != nil {
		t.Fatal(err)
	}
	changed := 0
	err = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var repl []byte
		switch {
		case bytes.Equal(data, plain):
			repl = evil
		case bytes.Equal(gunzipOrNil(data), plain):
			repl = gzEvil
		case bytes.Equal(unxzOrNil(data), plain):
			repl = xzEvil
		default:
			return nil
		}
		changed++
		return os.WriteFile(p, repl, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	if changed < 9 {
		t.Fatalf("tampered with %d files, want 3 indexes and their 6 by-hash copies", changed)
	}
	return dst
}

func gunzipOrNil(data []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil
	}
	b, _ := io.ReadAll(zr)
	return b
}

func unxzOrNil(data []byte) []byte {
	zr, err := xz.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil
	}
	b, _ := io.ReadAll(zr)
	return b
}

// TestAPTClient publishes two versions of a package and uses the
// repository from apt in a clean Debian chroot, over HTTP on 127.0.0.1 with
// the public key as signed-by: apt-get update verifies it, installs v1,
// upgrades to v2 and downgrades to v1 through a pin. With another key, or
// with a tampered Packages, apt-get update fails.
func TestAPTClient(t *testing.T) {
	if testing.Short() {
		t.Skip("chroot test skipped in -short mode")
	}
	c := chroot.New(t)
	ctx := context.Background()
	s, pub := testSigner(t)
	_, otherPub := testSigner(t)
	pkgs := t.TempDir()
	v1 := testDeb(t, pkgs, "hello", "1.0.0-1", "all", "v1")
	v2 := testDeb(t, pkgs, "hello", "1.1.0-1", "all", "v2")
	root := t.TempDir()
	if _, err := Publish(ctx, Dir{Root: root}, []string{v1}, Options{Signer: s, Origin: "Acme", Label: "Acme services"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(ctx, Dir{Root: root}, []string{v2}, Options{Signer: s, Origin: "Acme", Label: "Acme services"}); err != nil {
		t.Fatal(err)
	}
	srv := serve(t, root)

	write := func(path string, data []byte) {
		t.Helper()
		p, err := c.Path(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Only this repository, so the test needs no Debian mirror.
	write("/etc/apt/venvpkg-test.list", []byte("deb [signed-by=/etc/apt/keyrings/acme.asc] "+srv.URL+"/apt stable main\n"))
	write("/etc/apt/venvpkg-test-parts.d/.keep", nil)
	sources := []string{"-o", "Dir::Etc::SourceList=/etc/apt/venvpkg-test.list", "-o", "Dir::Etc::SourceParts=/etc/apt/venvpkg-test-parts.d"}
	apt := func(args ...string) (string, error) {
		return c.RunErr(append(append([]string{"apt-get"}, sources...), args...)...)
	}
	freshLists := func() {
		t.Helper()
		c.Run(t, "sh", "-c", "rm -rf /var/lib/apt/lists/* && mkdir -p /var/lib/apt/lists/partial")
	}

	t.Run("other key", func(t *testing.T) {
		freshLists()
		write("/etc/apt/keyrings/acme.asc", otherPub)
		out, err := apt("update")
		if err == nil {
			t.Fatalf("apt-get update accepted a repository signed with another key:\n%s", out)
		}
		t.Logf("apt-get update with another key:\n%s", out)
		if !strings.Contains(out, "NO_PUBKEY") && !strings.Contains(out, "is not signed") {
			t.Errorf("apt-get update failed for another reason than the signature:\n%s", out)
		}
	})
	write("/etc/apt/keyrings/acme.asc", pub)
	t.Run("tampered Packages", func(t *testing.T) {
		freshLists()
		srv.SetRoot(tamperedCopy(t, root, "apt/dists/stable/main/binary-"+pkg.DebArch()))
		defer srv.SetRoot(root)
		out, err := apt("update")
		if err == nil {
			t.Fatalf("apt-get update accepted a tampered Packages:\n%s", out)
		}
		t.Logf("apt-get update with a tampered Packages:\n%s", out)
		if !strings.Contains(out, "Hash Sum mismatch") && !strings.Contains(out, "File has unexpected size") {
			t.Errorf("apt-get update failed for another reason than the checksum:\n%s", out)
		}
	})

	freshLists()
	out, err := apt("update")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "W:") || strings.Contains(out, "Err:") {
		t.Errorf("apt-get update warned:\n%s", out)
	}
	policy := c.Run(t, append(append([]string{"apt-cache"}, sources...), "policy", "hello")...)
	policy += c.Run(t, append(append([]string{"apt-cache"}, sources...), "policy")...)
	for _, want := range []string{"1.1.0-1 500", "1.0.0-1 500", "o=Acme,a=stable,n=stable,l=Acme services,c=main"} {
		if !strings.Contains(policy, want) {
			t.Errorf("apt-cache policy hello lacks %q:\n%s", want, policy)
		}
	}
	steps := []struct {
		name string
		args []string
		want string
	}{
		{"install v1", []string{"install", "-y", "hello=1.0.0-1"}, "v1"},
		{"upgrade to v2", []string{"install", "-y", "hello=1.1.0-1"}, "v2"},
		{"pinned downgrade to v1", []string{"install", "-y", "--allow-downgrades", "hello"}, "v1"},
	}
	for _, step := range steps {
		if step.name == "pinned downgrade to v1" {
			write("/etc/apt/preferences.d/hello", []byte("Package: hello\nPin: version 1.0.0-1\nPin-Priority: 1001\n"))
		}
		if out, err := apt(step.args...); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		} else if strings.Contains(out, "WARNING") {
			t.Errorf("%s warned:\n%s", step.name, out)
		}
		if got := strings.TrimSpace(c.Run(t, "/usr/bin/hello")); got != step.want {
			t.Errorf("after %s hello prints %q, want %q", step.name, got, step.want)
		}
	}
}

// TestDNFClient publishes two signed RPMs and reads the YUM repository
// with Debian's dnf into an empty --installroot, with gpgcheck and
// repo_gpgcheck on: it installs the pinned older version. A tampered
// repomd.xml is refused.
func TestDNFClient(t *testing.T) {
	if testing.Short() {
		t.Skip("dnf test skipped in -short mode")
	}
	testutil.NeedRoot(t, "dnf --installroot")
	testutil.NeedTool(t, "dnf", "dnf")
	ctx := context.Background()
	s, pub := testSigner(t)
	pkgs := t.TempDir()
	v1 := testRPM(t, pkgs, "hello", "1.0.0", "1", "noarch", "v1", s)
	v2 := testRPM(t, pkgs, "hello", "1.1.0", "1", "noarch", "v2", s)
	root := t.TempDir()
	if _, err := Publish(ctx, Dir{Root: root}, []string{v1, v2}, Options{Signer: s}); err != nil {
		t.Fatal(err)
	}
	srv := serve(t, root)
	work := t.TempDir()
	// The key dnf imports is the one publish wrote into the repository, at
	// the URL docs/publishing.md gives for gpgkey.
	if served, err := os.ReadFile(filepath.Join(root, KeyPath("stable"))); err != nil || !bytes.Equal(served, pub) {
		t.Fatalf("%s = %q, %v; want the signer's public key", KeyPath("stable"), served, err)
	}
	reposDir := filepath.Join(work, "repos.d")
	if err := os.MkdirAll(reposDir, 0o755); err != nil {
		t.Fatal(err)
	}
	repoConf := "[acme]\nname=Acme\nbaseurl=" + srv.URL + "/rpm/stable\nenabled=1\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey=" + srv.URL + "/" + KeyPath("stable") + "\n"
	if err := os.WriteFile(filepath.Join(reposDir, "acme.repo"), []byte(repoConf), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(work, "dnf.conf")
	if err := os.WriteFile(conf, []byte("[main]\ngpgcheck=1\nrepo_gpgcheck=1\nskip_if_unavailable=False\ninstall_weak_deps=False\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dnf := func(installRoot string, args ...string) (string, error) {
		base := []string{"-y", "--config", conf, "--installroot", installRoot, "--releasever", "1",
			"--setopt=reposdir=" + reposDir, "--setopt=cachedir=" + filepath.Join(installRoot, "cache"),
			"--disableplugin=*", "--nodocs"}
		out, err := exec.Command("dnf", append(base, args...)...).CombinedOutput()
		return string(out), err
	}

	installRoot := filepath.Join(work, "root")
	out, err := dnf(installRoot, "install", "hello-1.0.0")
	if err != nil {
		t.Fatalf("dnf install hello-1.0.0: %v\n%s", err, out)
	}
	t.Logf("dnf install hello-1.0.0:\n%s", out)
	script, err := os.ReadFile(filepath.Join(installRoot, "usr/bin/hello"))
	if err != nil || !strings.Contains(string(script), "echo v1") {
		t.Errorf("after dnf install hello-1.0.0, /usr/bin/hello = %q, %v\n%s", script, err, out)
	}
	q, err := exec.Command("rpm", "--root", installRoot, "-q", "hello").CombinedOutput()
	if err != nil || strings.TrimSpace(string(q)) != "hello-1.0.0-1.noarch" {
		t.Errorf("rpm -q hello in the install root = %q, %v", q, err)
	}
	if out, err := dnf(installRoot, "list", "--available", "hello"); err != nil || !strings.Contains(out, "1.1.0-1") {
		t.Errorf("dnf list --available hello does not offer 1.1.0-1: %v\n%s", err, out)
	}

	// A changed repomd.xml no longer matches repomd.xml.asc.
	md := filepath.Join(root, "rpm/stable/repodata/repomd.xml")
	data, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(md, bytes.Replace(data, []byte("<revision>"), []byte("<revision>1"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = dnf(filepath.Join(work, "root2"), "makecache")
	if err == nil {
		t.Fatalf("dnf accepted a tampered repomd.xml:\n%s", out)
	}
	t.Logf("dnf makecache with a tampered repomd.xml:\n%s", out)
	if !strings.Contains(strings.ToLower(out), "gpg") && !strings.Contains(strings.ToLower(out), "signature") {
		t.Errorf("dnf failed for another reason than the signature:\n%s", out)
	}
}
