package repo

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/venvpkg/venvpkg/internal/distver"
	"github.com/venvpkg/venvpkg/internal/pkg"
	"github.com/venvpkg/venvpkg/internal/sign"
	"github.com/venvpkg/venvpkg/internal/testutil"
)

// venvpkgRPM writes an .rpm with venvpkg's own RPM writer: an epoch,
// requirements, a configuration file, scriptlets and a changelog; signed
// by s when it is not nil.
func venvpkgRPM(t *testing.T, dir string, s *sign.Signer) string {
	t.Helper()
	root := t.TempDir()
	bin := filepath.Join(root, "opt/venvs/demo/bin/demo")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho demo\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := &pkg.Package{
		Name: "demo", Arch: "amd64", Maintainer: "Acme Ops <ops@acme.example>", Summary: "demo service",
		Description: "A demo & its <virtualenv>.", Homepage: "https://acme.example/demo", License: "MIT",
		Depends: []string{"/usr/bin/python3.11", "libpq >= 13"}, Root: root, MTime: pkgTime,
		Files:   []pkg.File{{Path: "/etc/demo/demo.conf", Data: []byte("k = v\n"), Mode: 0o640, Config: true}},
		Scripts: pkg.Scripts{PreInstall: "#!/bin/sh\necho pre\n", PostRemove: "#!/bin/sh\necho postun\n"},
	}
	if s != nil {
		p.SignRPM = s.SignRPM
	}
	out, err := pkg.WriteRPM(context.Background(), p, distver.RPMVersion{Epoch: "2", Version: "1.0~rc1", Release: "3"}, dir)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReadRPMMatchesRPM reads packages written by nfpm and by venvpkg's
// RPM writer and compares every field with what rpm itself reports.
func TestReadRPMMatchesRPM(t *testing.T) {
	testutil.NeedTool(t, "rpm", "rpm")
	s, pub := testSigner(t)
	for _, tc := range []struct {
		name, file string
		pub        []byte
	}{
		{"nfpm signed", testRPM(t, t.TempDir(), "hello", "1.2.3~rc1", "4", "noarch", "v1", s), pub},
		{"venvpkg", venvpkgRPM(t, t.TempDir(), nil), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkRPMFields(t, tc.file, tc.pub)
		})
	}
}

// checkRPMFields compares readRPM's view of file with rpm -qp's, and when
// pub is set checks that rpm accepts the package signature with that key.
func checkRPMFields(t *testing.T, file string, pub []byte) {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := readRPM(f)
	if err != nil {
		t.Fatal(err)
	}
	query := func(format string) string {
		out, err := exec.Command("rpm", "-qp", "--nosignature", "--nodigest", "--queryformat", format, file).CombinedOutput()
		if err != nil {
			t.Fatalf("rpm -qp %s: %v: %s", format, err, out)
		}
		return string(out)
	}
	var requires strings.Builder
	for _, line := range strings.SplitAfter(query("[%{REQUIRENAME}\n]"), "\n") {
		if !strings.HasPrefix(line, "rpmlib(") {
			requires.WriteString(line)
		}
	}
	var changelog strings.Builder
	for _, c := range p.Changelog {
		fmt.Fprintf(&changelog, "%d %s\n", c.Date, c.Author)
	}
	for _, tc := range []struct {
		name, format, got string
	}{
		{"name", "%{NAME}", p.Name},
		{"epoch", "%|EPOCH?{%{EPOCH}}:{}|", p.Epoch},
		{"version", "%{VERSION}", p.Version},
		{"release", "%{RELEASE}", p.Release},
		{"arch", "%{ARCH}", p.Arch},
		{"summary", "%{SUMMARY}", p.Summary},
		{"description", "%{DESCRIPTION}", p.Description},
		{"license", "%{LICENSE}", p.License},
		{"url", "%{URL}", p.URL},
		{"group", "%|GROUP?{%{GROUP}}:{}|", p.Group},
		{"packager", "%|PACKAGER?{%{PACKAGER}}:{}|", p.Packager},
		{"buildhost", "%{BUILDHOST}", p.BuildHost},
		{"buildtime", "%{BUILDTIME}", fmt.Sprint(p.BuildTime)},
		{"size", "%{LONGSIZE}", fmt.Sprint(p.InstalledSize)},
		{"files", "[%{FILENAMES}\n]", joinFiles(p.Files)},
		{"provides", "[%{PROVIDES} %{PROVIDEFLAGS:deptype} %{PROVIDEVERSION}\n]", joinDeps(p.Provides)},
		{"requires", "", requires.String()},
		{"changelog", "[%{CHANGELOGTIME} %{CHANGELOGNAME}\n]", changelog.String()},
	} {
		want := requires.String()
		if tc.format != "" {
			want = query(tc.format)
		}
		if tc.name == "requires" {
			tc.got = joinNames(p.Requires)
		}
		if tc.got != want {
			t.Errorf("%s = %q, rpm says %q", tc.name, tc.got, want)
		}
	}
	if p.HeaderStart <= rpmLeadSize || p.HeaderEnd <= p.HeaderStart {
		t.Errorf("header range %d-%d", p.HeaderStart, p.HeaderEnd)
	}
	if pub == nil {
		return
	}
	// The signature nfpm wrote with our signer is one rpm accepts.
	dir := t.TempDir()
	os.WriteFile(dir+"/key.asc", pub, 0o644)
	if out, err := exec.Command("rpm", "--dbpath", dir, "--import", dir+"/key.asc").CombinedOutput(); err != nil {
		t.Fatalf("rpm --import: %v: %s", err, out)
	}
	out, err := exec.Command("rpm", "--dbpath", dir, "-Kv", file).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Header V4 EdDSA/SHA256 Signature, key ID") || strings.Contains(string(out), "NOKEY") || strings.Contains(string(out), "BAD") {
		t.Errorf("rpm -Kv does not accept the signature: %v\n%s", err, out)
	}
}

func joinNames(ds []rpmDep) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.Name + "\n")
	}
	return b.String()
}

func joinFiles(fs []rpmFile) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.Path + "\n")
	}
	return b.String()
}

func joinDeps(ds []rpmDep) string {
	var b strings.Builder
	for _, d := range ds {
		v := d.Ver
		if d.Rel != "" {
			v += "-" + d.Rel
		}
		if d.Epoch != "" && d.Epoch != "0" {
			v = d.Epoch + ":" + v
		}
		fmt.Fprintf(&b, "%s %s %s\n", d.Name, "manual", v)
	}
	return b.String()
}

// arArchive writes an ar archive of members as dpkg-deb does.
func arArchive(members ...[2]string) []byte {
	var b bytes.Buffer
	b.WriteString("!<arch>\n")
	for _, m := range members {
		fmt.Fprintf(&b, "%-16s%-12s%-6s%-6s%-8s%-10d`\n", m[0], "0", "0", "0", "100644", len(m[1]))
		b.WriteString(m[1])
		if len(m[1])%2 == 1 {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

func controlTar(t *testing.T, control string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "./md5sums", Mode: 0o644, Size: 0})
	tw.WriteHeader(&tar.Header{Name: "./control", Mode: 0o644, Size: int64(len(control))})
	tw.Write([]byte(control))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// emptyTar is a tar archive without entries: its end-of-archive marker.
var emptyTar = string(make([]byte, 1024))

func TestVerifyDebControl(t *testing.T) {
	const control = "Package: hello\nVersion: 1:1.0-1\nArchitecture: all\nMaintainer: A <a@b>\nSHA256: bogus\nDescription: hi\n more\n"
	plain := controlTar(t, control)
	gz := func() []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write(plain)
		w.Close()
		return b.Bytes()
	}()
	xzData := func() []byte {
		var b bytes.Buffer
		w, _ := xz.NewWriter(&b)
		w.Write(plain)
		w.Close()
		return b.Bytes()
	}()
	zst := func() []byte {
		w, _ := zstd.NewWriter(nil)
		return w.EncodeAll(plain, nil)
	}()
	for _, tc := range []struct {
		name string
		deb  []byte
		want string // error substring; "" for success
	}{
		{name: "gzip", deb: arArchive([2]string{"debian-binary", "2.0\n"}, [2]string{"control.tar.gz", string(gz)}, [2]string{"data.tar", emptyTar})},
		{name: "xz", deb: arArchive([2]string{"debian-binary", "2.0\n"}, [2]string{"control.tar.xz", string(xzData)}, [2]string{"data.tar", emptyTar})},
		{name: "zstd", deb: arArchive([2]string{"debian-binary", "2.0\n"}, [2]string{"control.tar.zst", string(zst)}, [2]string{"data.tar", emptyTar})},
		{name: "uncompressed", deb: arArchive([2]string{"debian-binary", "2.0\n"}, [2]string{"control.tar", string(plain)}, [2]string{"data.tar", emptyTar})},
		{name: "debsigs member", deb: arArchive([2]string{"debian-binary", "2.0\n"}, [2]string{"control.tar", string(plain)}, [2]string{"data.tar", emptyTar}, [2]string{"_gpgorigin", "sig"})},
		{name: "not ar", deb: []byte("hello"), want: "no ar archive header"},
		{name: "format 3", deb: arArchive([2]string{"debian-binary", "3.0\n"}, [2]string{"control.tar", string(plain)}), want: "not format 2.x"},
		{name: "no control", deb: arArchive([2]string{"debian-binary", "2.0\n"}, [2]string{"data.tar", emptyTar}), want: "member data.tar where control.tar belongs"},
		{name: "no data", deb: arArchive([2]string{"debian-binary", "2.0\n"}, [2]string{"control.tar", string(plain)}), want: "no data.tar member"},
		{name: "control first", deb: arArchive([2]string{"control.tar", string(plain)}), want: "the first member is control.tar, not debian-binary"},
		{name: "lzma control", deb: arArchive([2]string{"debian-binary", "2.0\n"}, [2]string{"control.tar.lzma", "x"}), want: "unsupported compression of control.tar.lzma"},
		{name: "member appended", deb: arArchive([2]string{"debian-binary", "2.0\n"}, [2]string{"control.tar", string(plain)}, [2]string{"data.tar", emptyTar}, [2]string{"extra", "x"}), want: "member extra after data.tar"},
		{name: "bad version", deb: arArchive([2]string{"debian-binary", "2.0\n"}, [2]string{"control.tar", string(controlTar(t, "Package: hello\nVersion: one\nArchitecture: all\n"))}), want: `Version "one"`},
		{name: "bad name", deb: arArchive([2]string{"debian-binary", "2.0\n"}, [2]string{"control.tar", string(controlTar(t, "Package: Hello\nVersion: 1\nArchitecture: all\n"))}), want: `Package "Hello"`},
		{name: "two paragraphs", deb: arArchive([2]string{"debian-binary", "2.0\n"}, [2]string{"control.tar", string(controlTar(t, "Package: a1\n\nPackage: b1\n"))}), want: "2 paragraphs"},
		{name: "no maintainer", deb: arArchive([2]string{"debian-binary", "2.0\n"}, [2]string{"control.tar", string(controlTar(t, "Package: a1\nVersion: 1\nArchitecture: all\nDescription: x\n"))}), want: "a1 has no Maintainer field"},
		{name: "bad depends", deb: arArchive([2]string{"debian-binary", "2.0\n"}, [2]string{"control.tar", string(controlTar(t, "Package: a1\nVersion: 1\nArchitecture: all\nMaintainer: A <a@b>\nDescription: x\nDepends: libc6 (>= 2.36, python3\n"))}), want: "Depends of a1"},
		{name: "bad installed size", deb: arArchive([2]string{"debian-binary", "2.0\n"}, [2]string{"control.tar", string(controlTar(t, "Package: a1\nVersion: 1\nArchitecture: all\nMaintainer: A <a@b>\nDescription: x\nInstalled-Size: 12k\n"))}), want: `Installed-Size "12k"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := verifyDeb(bytes.NewReader(tc.deb))
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("verifyDeb = %v, want an error containing %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Get("Version") != "1:1.0-1" || p.Get("Description") != "hi\n more" || p.Get("SHA256") != "" {
				t.Errorf("verifyDeb = %v", p)
			}
		})
	}
}

func TestParseDeb822(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     int
		err      string
	}{
		{name: "two", in: "A: 1\nB:\n x\n y\n\n\nA: 2\n", want: 2},
		{name: "comment", in: "# c\nA: 1\n", want: 1},
		{name: "crlf", in: "A: 1\r\n\r\nB: 2\r\n", want: 2},
		{name: "continuation first", in: " x\n", err: "continuation line without a field"},
		{name: "no colon", in: "A 1\n", err: "is not a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := parseDeb822(strings.NewReader(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parseDeb822(%q) = %v, want %q", tc.in, err, tc.err)
				}
				return
			}
			if err != nil || len(ps) != tc.want {
				t.Fatalf("parseDeb822(%q) = %d paragraphs, %v; want %d", tc.in, len(ps), err, tc.want)
			}
			var b bytes.Buffer
			ps[0].write(&b)
			again, err := parseDeb822(&b)
			if err != nil || !slices.Equal(again[0], ps[0]) {
				t.Errorf("paragraph does not survive write and parse: %v -> %q", ps[0], b.String())
			}
		})
	}
}

func TestPoolPath(t *testing.T) {
	for _, tc := range []struct {
		name    string
		control paragraph
		want    string
	}{
		{"plain", paragraph{{"Package", "hello"}, {"Version", "1.0-1"}, {"Architecture", "all"}}, "pool/main/h/hello/hello_1.0-1_all.deb"},
		{"lib", paragraph{{"Package", "libfoo1"}, {"Version", "2:1.0-1"}, {"Architecture", "amd64"}}, "pool/main/libf/libfoo1/libfoo1_1.0-1_amd64.deb"},
		{"source", paragraph{{"Package", "hello-doc"}, {"Source", "hello (1.0-1)"}, {"Version", "1.0-1"}, {"Architecture", "all"}}, "pool/main/h/hello/hello-doc_1.0-1_all.deb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := poolPath("main", tc.control); got != tc.want {
				t.Errorf("poolPath = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestRPMVerCmp(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0}, {"1.0", "2.0", -1}, {"2.0.1", "2.0", 1}, {"1.0a", "1.0", 1},
		{"1.0~rc1", "1.0", -1}, {"1.0^git1", "1.0", 1}, {"1.0^git1", "1.0.1", -1}, {"10", "9", 1},
		{"010", "10", 0}, {"a", "1", -1}, {"1.0.", "1.0", 0}, {"1_0", "1.0", 0}, {"1.0~rc1", "1.0~rc2", -1},
	} {
		if got := distver.CompareRPM(tc.a, tc.b); got != tc.want {
			t.Errorf("distver.CompareRPM(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := distver.CompareRPM(tc.b, tc.a); got != -tc.want {
			t.Errorf("distver.CompareRPM(%q, %q) = %d, want %d", tc.b, tc.a, got, -tc.want)
		}
	}
}

// TestRPMVerCmpMatchesRPM compares rpmvercmp with rpm's own on random
// versions, through rpm's embedded Lua (whose rpm.vercmp splits at "-"
// into version and release, so the versions have none).
func TestRPMVerCmpMatchesRPM(t *testing.T) {
	testutil.NeedTool(t, "rpm", "rpm")
	r := rand.New(rand.NewSource(1))
	parts := []string{"0", "1", "2", "10", "01", "a", "b", "rc", ".", "~", "^", "_", "+"}
	random := func() string {
		var b strings.Builder
		b.WriteString(parts[r.Intn(4)])
		for range r.Intn(5) {
			b.WriteString(parts[r.Intn(len(parts))])
		}
		return b.String()
	}
	var pairs [][2]string
	var lua strings.Builder
	for range 300 {
		p := [2]string{random(), random()}
		pairs = append(pairs, p)
		fmt.Fprintf(&lua, "print(rpm.vercmp(%q, %q) .. \" \")\n", p[0], p[1])
	}
	out, err := exec.Command("rpm", "--eval", "%{lua:"+lua.String()+"}").CombinedOutput()
	if err != nil {
		t.Fatalf("rpm --eval: %v: %s", err, out)
	}
	lines := strings.Fields(string(out))
	if len(lines) != len(pairs) {
		t.Fatalf("rpm printed %d results for %d pairs:\n%s", len(lines), len(pairs), out)
	}
	for i, p := range pairs {
		if got, want := distver.CompareRPM(p[0], p[1]), lines[i]; fmt.Sprint(got) != want {
			t.Errorf("distver.CompareRPM(%q, %q) = %d, rpm says %s", p[0], p[1], got, want)
		}
	}
}

func FuzzReadRPM(f *testing.F) {
	f.Add(testRPMBytes(f))
	f.Add([]byte{0xed, 0xab, 0xee, 0xdb})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := readRPM(bytes.NewReader(data))
		if err == nil {
			_ = primaryXML([]rpmPackage{{info: p}})
		}
		_, _ = verifyRPM(bytes.NewReader(data), rpmVerifier{})
	})
}

func testRPMBytes(f *testing.F) []byte {
	b, err := os.ReadFile(testRPM(f, f.TempDir(), "hello", "1.0", "1", "noarch", "x", nil))
	if err != nil {
		f.Fatal(err)
	}
	return b
}

func FuzzVerifyDeb(f *testing.F) {
	deb, err := os.ReadFile(testDeb(f, f.TempDir(), "hello", "1.0-1", "all", "x"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(deb)
	f.Add(arArchive([2]string{"debian-binary", "2.0\n"}, [2]string{"control.tar", "x"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = verifyDeb(bytes.NewReader(data))
	})
}

func FuzzParseDeb822(f *testing.F) {
	f.Add("Package: a\nDescription: x\n y\n .\n\nPackage: b\n")
	f.Fuzz(func(t *testing.T, in string) {
		ps, err := parseDeb822(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, p := range ps {
			var b bytes.Buffer
			p.write(&b)
			again, err := parseDeb822(&b)
			if err != nil || len(again) != 1 || !slices.Equal(again[0], p) {
				t.Errorf("paragraph %q does not survive write and parse: %q, %v", p, b.String(), err)
			}
		}
	})
}
