package pipeline_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/venvpkg/venvpkg/internal/logging"
	"github.com/venvpkg/venvpkg/internal/pipeline"
	"github.com/venvpkg/venvpkg/internal/testutil"
	"github.com/venvpkg/venvpkg/internal/testutil/chroot"
	"github.com/venvpkg/venvpkg/internal/testutil/debwheel"
	"github.com/venvpkg/venvpkg/internal/testutil/pbs"
)

// bundledWheels repacks what the bundled-interpreter projects need from
// Debian: the web app's wheels, pyzmq (a C extension built against
// glibc 2.36 that needs GLIBC_2.34 symbols and libzmq5) and flit_core, their build
// backend (Debian's setuptools wheel cannot build on a python-build-standalone
// CPython: its install_layout patch assumes Debian's python).
func bundledWheels(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(testutil.CacheDir(), "pydist-wheels")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	pkgs := append([]string{"flit", "python3-zmq"}, debwheel.WebAppPackages...)
	if _, err := debwheel.Repack(context.Background(), testutil.CacheDir(), dir, pkgs...); err != nil {
		t.Fatalf("repacking wheels from Debian: %v", err)
	}
	return dir
}

// writeHello writes a pure-Python project named name (flit_core, no
// dependencies) into a new directory and returns it; extra is appended to
// its [tool.venvpkg] table.
func writeHello(t *testing.T, name, extra string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	files := map[string]string{
		"pyproject.toml": fmt.Sprintf(`[build-system]
requires = ["flit_core>=3.4,<4"]
build-backend = "flit_core.buildapi"

[project]
name = %[1]q
version = "2.0.0"
description = "Hello from a bundled CPython"
license = {text = "MIT"}
authors = [{name = "venvpkg tests", email = "hello@example.invalid"}]

[project.scripts]
%[1]s = "%[1]s:main"

[tool.venvpkg]
maintainer = "venvpkg tests <hello@example.invalid>"
%[2]s`, name, extra),
		"requirements.txt": "# no dependencies\n",
		name + ".py": `"""Print the interpreter this script runs on."""
import platform
import sys


def main():
    print(f"hello from CPython {platform.python_version()} at {sys.base_prefix} in {sys.prefix}")
`,
	}
	for f, text := range files {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runBundled is runBuild without the default --python, so that the
// interpreter comes from --python-dist or [tool.venvpkg] python-dist.
func runBundled(t *testing.T, o pipeline.Options) *pipeline.Result {
	t.Helper()
	var log bytes.Buffer
	o.Log = logging.NewLogger(&log, logging.LevelDebug)
	if o.CacheDir == "" {
		o.CacheDir = t.TempDir()
	}
	res, err := pipeline.Run(context.Background(), o)
	if err != nil {
		t.Fatalf("pipeline.Run: %v\nlog:\n%s", err, log.String())
	}
	return res
}

func distFlag(a *pbs.Archive) string { return a.Path + "#sha256=" + a.SHA256 }

// TestBundledReproducible builds the web app with the bundled 3.11 twice,
// from two project directories, build directories and cache directories at
// two times, and expects byte-identical packages that name none of those
// directories, with libc6 (>= 2.34) and no python among their dependencies.
func TestBundledReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("builds with a bundled interpreter twice")
	}
	testutil.NeedTool(t, "rpm", "rpm")
	a := pbs.Get(t, pbs.V311)
	wheels := bundledWheels(t)
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	var results []*pipeline.Result
	var dirs []string
	for i, name := range []string{"one", "second-build"} {
		if i == 1 {
			time.Sleep(1100 * time.Millisecond) // another second on every clock
		}
		top := filepath.Join(t.TempDir(), name)
		proj, tmp, cache := filepath.Join(top, "pyweb"), filepath.Join(top, "tmp"), filepath.Join(top, "cache")
		copyTree(t, repoPath(t, "testdata/pyweb"), proj)
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Setenv("TMPDIR", tmp)
		dirs = append(dirs, top)
		results = append(results, runBundled(t, pipeline.Options{ProjectDir: proj, PythonDist: distFlag(a), FindLinks: []string{wheels}, NoIndex: true,
			OutDir: filepath.Join(top, "out"), Formats: []string{"deb", "rpm"}, CacheDir: cache}))
	}
	for i := range results[0].Packages {
		p0, p1 := results[0].Packages[i], results[1].Packages[i]
		if sha256File(t, p0) != sha256File(t, p1) {
			t.Errorf("%s and %s differ", p0, p1)
		}
	}
	deb, rpm := pkgPath(t, results[0], ".deb"), pkgPath(t, results[0], ".rpm")
	depends := runCmd(t, "dpkg-deb", "-f", deb, "Depends")
	if !strings.Contains(depends, "libc6 (>= 2.34)") || strings.Contains(depends, "python") {
		t.Errorf("Depends: %s; want libc6 (>= 2.34) and no python", depends)
	}
	req := runCmd(t, "rpm", "-qp", "--requires", rpm)
	if strings.Contains(req, "python") || !strings.Contains(req, "libc.so.6(GLIBC_2.34)(64bit)\n") {
		t.Errorf("rpm -qp --requires names python or lacks libc.so.6(GLIBC_2.34)(64bit):\n%s", req)
	}
	if out := runCmd(t, "rpm", "-K", rpm); !strings.Contains(out, "digests OK") {
		t.Errorf("rpm -K: %s", out)
	}
	// No file of the payload, the interpreter's included, names a build,
	// cache or project directory, or the python-build-standalone prefix.
	root := t.TempDir()
	runCmd(t, "dpkg-deb", "-x", deb, root)
	needles := [][]byte{[]byte("'/install/"), []byte("\"/install\""), []byte("=/install/")}
	for _, d := range dirs {
		needles = append(needles, []byte(d))
	}
	var files int
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		files++
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, n := range needles {
			if bytes.Contains(data, n) {
				t.Errorf("%s names %s", strings.TrimPrefix(p, root), n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "opt/venvs/pyweb/python/bin/python3.11")); err != nil || files < 1000 {
		t.Errorf("the payload has %d files and no bundled interpreter: %v", files, err)
	}

	t.Run("lintian", func(t *testing.T) {
		testutil.NeedTool(t, "lintian", "lintian")
		out, _ := exec.Command("lintian", "--tag-display-limit", "0", deb).CombinedOutput()
		for _, l := range strings.Split(string(out), "\n") {
			// bookworm's lintian (2.116) predates data.tar.zst (docs/lintian.md).
			if strings.HasPrefix(l, "E: ") && !strings.Contains(l, "malformed-deb-archive") {
				t.Errorf("lintian: %s", l)
			}
		}
	})
	t.Run("rpmlint", func(t *testing.T) {
		testutil.NeedTool(t, "rpmlint", "rpmlint")
		cfg := filepath.Join(t.TempDir(), "rpmlint.toml")
		if err := os.WriteFile(cfg, []byte(fmt.Sprintf("Filters = [%s]\n", quoteAll(append(rpmlintFilters, bundledRpmlintFilters...)))), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("rpmlint", "-c", cfg, rpm).CombinedOutput()
		if bytes.Contains(out, []byte(": E: ")) || err != nil {
			t.Errorf("rpmlint reports errors (%v):\n%s", err, out)
		}
	})
}

// bundledRpmlintFilters are the rpmlint tags docs/lintian.md justifies for
// a package that bundles its interpreter.
var bundledRpmlintFilters = []string{
	"zero-length",                     // python-build-standalone's lib-dynload/.empty placeholder
	"library-without-ldconfig-postin", // libpython lives in the interpreter's private lib/, not on the loader's path
	"postun-without-ldconfig",         // likewise
	"no-binary",                       // the binaries are under /opt, where rpmlint does not look for them
}

// testCA makes a CA and a certificate for 127.0.0.1 signed by it.
func testCA(t *testing.T) (caPEM []byte, cert tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "venvpkg test CA"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestBundledEndToEnd builds, once, the web app and a pure-Python project
// with the bundled CPython 3.11.11 (from its archive and from a directory)
// and a second project with 3.14.6 (pinned in pyproject.toml), then
// installs them with apt into clean Debian 12 (no python3 at all), 13 and
// 11 chroots: the console scripts run, every top-level module imports, ssl
// verifies a local HTTPS server whose CA was added with
// update-ca-certificates, sysconfig names the final prefix, and purge
// leaves nothing. Debian 11's glibc (2.31) is too old for the web app's C
// extensions: apt must refuse the package because of libc6 (>= 2.34).
func TestBundledEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end chroot test skipped in -short mode")
	}
	testutil.NeedRoot(t, "chroots")
	a311, a314 := pbs.Get(t, pbs.V311), pbs.Get(t, pbs.V314)
	wheels := bundledWheels(t)
	out, cache := t.TempDir(), t.TempDir()
	web := runBundled(t, pipeline.Options{ProjectDir: repoPath(t, "testdata/pyweb"), PythonDist: distFlag(a311), FindLinks: []string{wheels}, NoIndex: true, OutDir: out, CacheDir: cache})
	// Debian 11's dpkg (1.20) reads no data.tar.zst: the packages meant for it use gzip.
	hello := runBundled(t, pipeline.Options{ProjectDir: writeHello(t, "hello311", "compression = \"gzip\"\n"), PythonDist: a311.Dir, FindLinks: []string{wheels}, NoIndex: true, OutDir: out, CacheDir: cache})
	hello314 := runBundled(t, pipeline.Options{ProjectDir: writeHello(t, "hello314", fmt.Sprintf("compression = \"gzip\"\npython-dist = { path = %q, sha256 = %q }\n", a314.Path, a314.SHA256)),
		FindLinks: []string{wheels}, NoIndex: true, OutDir: out, CacheDir: cache})

	for _, r := range []*pipeline.Result{web, hello, hello314} {
		t.Logf("%s Depends: %s", r.Name, strings.Join(r.Depends, ", "))
	}
	if got := strings.Join(hello.Depends, ", "); strings.Contains(got, "python") || !strings.Contains(got, "libc6 (>= 2.17)") {
		t.Errorf("a pure-Python project with the bundled 3.11 depends on %s; want libc6 (>= 2.17), the interpreter's own need, and no python", got)
	}
	caPEM, cert := testCA(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "verified") }),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	url := "https://" + ln.Addr().String() + "/"
	fetch := fmt.Sprintf("import urllib.request; print(urllib.request.urlopen(%q, timeout=10).read().decode())", url)

	importAll := `import importlib, importlib.metadata as md
names = set()
for d in md.distributions():
    top = d.read_text("top_level.txt")
    if top:
        names.update(n for n in top.split() if n and not n.startswith("_"))
    else:
        names.update(str(f).split("/")[0].removesuffix(".py") for f in d.files or [] if not str(f).startswith("..") and ".dist-info" not in str(f) and not str(f).startswith("__pycache__"))
for n in sorted(names):
    importlib.import_module(n)
print("imported", " ".join(sorted(names)))
`
	// check runs the installed packages of a chroot and purges them.
	check := func(t *testing.T, c *chroot.Chroot, pkgs map[string]string) {
		for name, want := range pkgs {
			prefix := "/opt/venvs/" + name
			got := c.Run(t, prefix+"/bin/"+name)
			for _, part := range strings.Split(want, "|") { // the parts that do not depend on the release
				if !strings.Contains(got, part) {
					t.Errorf("%s printed %q, want %q in it", name, got, part)
				}
			}
			t.Logf("%s: %s", name, strings.TrimSpace(c.Run(t, prefix+"/bin/python", "-c", importAll)))
			sc := c.Run(t, prefix+"/bin/python", "-c", "import sysconfig, sys; print(sysconfig.get_config_var('prefix'), sysconfig.get_path('stdlib'), sys.base_prefix)")
			pyPrefix := prefix + "/python"
			// 3.14's sysconfig reports the virtualenv's prefix at run time.
			if f := strings.Fields(sc); len(f) != 3 || (f[0] != pyPrefix && f[0] != prefix) || !strings.HasPrefix(f[1], pyPrefix+"/lib/python3.") || f[2] != pyPrefix {
				t.Errorf("%s: sysconfig prefix, stdlib, base prefix = %q, want them under %s", name, sc, pyPrefix)
			}
		}
		// ssl: refused before the CA is trusted, verified after.
		first := "/opt/venvs/hello311/bin/python"
		if got, err := c.RunErr(first, "-c", fetch); err == nil || !strings.Contains(got, "CERTIFICATE_VERIFY_FAILED") {
			t.Errorf("before the CA was added, the request gave %v: %s", err, got)
		}
		c.Run(t, "apt-get", "install", "-y", "--no-install-recommends", "ca-certificates")
		ca, err := c.Path("/usr/local/share/ca-certificates/venvpkg-test.crt")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(ca, caPEM, 0o644); err != nil {
			t.Fatal(err)
		}
		c.Run(t, "update-ca-certificates")
		for name := range pkgs {
			if got := c.Run(t, "/opt/venvs/"+name+"/bin/python", "-c", fetch); strings.TrimSpace(got) != "verified" {
				t.Errorf("%s: HTTPS request printed %q", name, got)
			}
		}
		for name := range pkgs {
			c.Run(t, "dpkg", "-P", name)
			if left := c.Files(t, "/opt/venvs/"+name); len(left) != 0 {
				t.Errorf("after dpkg -P %s, left under the prefix: %v", name, left)
			}
		}
	}
	deb := func(r *pipeline.Result) string { return pkgPath(t, r, ".deb") }
	both := map[string]string{
		"pyweb":    "markupsafe-speedups c\nlibzmq 4.3.|\nprefix /opt/venvs/pyweb\nbase-prefix /opt/venvs/pyweb/python\nstdlib /opt/venvs/pyweb/python/lib/python3.11",
		"hello311": "hello from CPython 3.11.11 at /opt/venvs/hello311/python in /opt/venvs/hello311",
		"hello314": "hello from CPython 3.14.6 at /opt/venvs/hello314/python in /opt/venvs/hello314",
	}

	t.Run("bookworm", func(t *testing.T) {
		c := chroot.New(t)
		if _, err := c.RunErr("sh", "-c", "ls /usr/bin/python3* /usr/lib/python3*"); err == nil {
			t.Fatal("the bookworm chroot has a python3")
		}
		c.InstallDebs(t, deb(web), deb(hello), deb(hello314))
		check(t, c, both)
	})
	t.Run("trixie", func(t *testing.T) {
		c := chroot.NewSuite(t, "trixie")
		c.InstallDebs(t, deb(web), deb(hello), deb(hello314))
		check(t, c, both)
	})
	t.Run("bullseye", func(t *testing.T) {
		c := chroot.NewSuite(t, "bullseye")
		got, err := c.InstallDebsErr(deb(web))
		if err == nil || !strings.Contains(got, "libc6 (>= 2.34)") {
			t.Errorf("apt on Debian 11 did not refuse pyweb for its libc6 (>= 2.34) (%v):\n%s", err, got)
		}
		c.InstallDebs(t, deb(hello), deb(hello314))
		check(t, c, map[string]string{"hello311": both["hello311"], "hello314": both["hello314"]})
	})
}
