package pydist

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/venvpkg/venvpkg/internal/testutil/pbs"
)

const prefix = "/opt/venvs/app/python"

func TestParseFlag(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	tests := []struct {
		name, in string
		want     Source
		err      string
	}{
		{"path", "/x/cpython.tar.gz#sha256=" + sum, Source{Path: "/x/cpython.tar.gz", SHA256: sum}, ""},
		{"dir", "/opt/python", Source{Path: "/opt/python"}, ""},
		{"url", "https://example.org/c.tar.gz#sha256=" + strings.ToUpper(sum), Source{URL: "https://example.org/c.tar.gz", SHA256: sum}, ""},
		{"url without pin", "https://example.org/c.tar.gz", Source{}, "no sha256 pin"},
		{"bad fragment", "/x.tar.gz#md5=00", Source{}, "#sha256="},
		{"short sum", "/x.tar.gz#sha256=abc", Source{}, "64 lowercase hex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFlag(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseFlag(%q) error = %v, want one containing %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseFlag(%q) = %+v, %v, want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestReplacePrefix(t *testing.T) {
	in := `'prefix': '/install', 'LIBDIR': '/install/lib', 'X': '-I/install/include -L/install/lib', 'P': '/install/a:/install/b', 'INSTALL': '/usr/bin/install -c', 'Y': '/installer'`
	want := `'prefix': '/p', 'LIBDIR': '/p/lib', 'X': '-I/p/include -L/p/lib', 'P': '/p/a:/p/b', 'INSTALL': '/usr/bin/install -c', 'Y': '/installer'`
	if got := string(replacePrefix([]byte(in), "/install", "/p")); got != want {
		t.Errorf("replacePrefix =\n%s\nwant\n%s", got, want)
	}
}

// prepared is shared by the tests that only read the prepared 3.11 tree.
func prepare(t *testing.T, src Source, cache string) *Dist {
	t.Helper()
	d, err := Prepare(context.Background(), src, Options{CacheDir: cache, Prefix: prefix, Compile: true, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestPrepareArchive(t *testing.T) {
	if testing.Short() {
		t.Skip("unpacks and compiles a real interpreter")
	}
	a := pbs.Get(t, pbs.V311)
	cache := t.TempDir()
	d := prepare(t, Source{Path: a.Path, SHA256: a.SHA256}, cache)
	if d.Hit || d.Version != pbs.V311 || d.Python != "bin/python3.11" || d.Digest != a.SHA256 {
		t.Fatalf("Prepare = %+v, want a fresh 3.11.11 entry with bin/python3.11", d)
	}
	top := filepath.Join(d.Root, prefix)
	out, err := exec.Command(d.CachedExecutable(), "-c", `import os, sysconfig, ssl
print(sysconfig.get_config_var("prefix"))
print(sysconfig.get_config_var("LIBDIR"))
print(sysconfig.get_config_var("CC"))
print(os.environ.get("SSL_CERT_FILE"))
print(ssl.create_default_context().cert_store_stats()["x509_ca"] > 0)`).CombinedOutput()
	if err != nil {
		t.Fatalf("running the prepared interpreter: %v\n%s", err, out)
	}
	wantCA := "None"
	if _, err := os.Stat("/etc/ssl/cert.pem"); err != nil {
		if _, err := os.Stat("/etc/ssl/certs/ca-certificates.crt"); err == nil {
			wantCA = "/etc/ssl/certs/ca-certificates.crt"
		}
	}
	want := strings.Join([]string{prefix, prefix + "/lib", "cc -pthread", wantCA, "True"}, "\n") + "\n"
	if string(out) != want {
		t.Errorf("prepared interpreter reports\n%s\nwant\n%s", out, want)
	}
	// No relocated file names the build prefix; every module has
	// checked-hash bytecode and no other.
	for _, f := range []string{"lib/python3.11/_sysconfigdata__linux_x86_64-linux-gnu.py", "lib/python3.11/config-3.11-x86_64-linux-gnu/Makefile", "bin/python3.11-config"} {
		data, err := os.ReadFile(filepath.Join(top, f))
		if err != nil {
			t.Fatal(err)
		}
		if hasPrefix(data, "/install") {
			t.Errorf("%s still names /install", f)
		}
	}
	pip, err := os.ReadFile(filepath.Join(top, "bin/pip3.11"))
	if err != nil || !strings.HasPrefix(string(pip), "#!"+prefix+"/bin/python3.11\n# -*- coding: utf-8 -*-\n") {
		t.Errorf("bin/pip3.11 starts %.80q (%v), want a #! line naming the final interpreter", pip, err)
	}
	if cgi, err := os.ReadFile(filepath.Join(top, "lib/python3.11/cgi.py")); err != nil || !strings.HasPrefix(string(cgi), "#!"+prefix+"/bin/python3.11\n") {
		t.Errorf("lib/python3.11/cgi.py starts %.80q (%v), want a #! line naming the final interpreter", cgi, err)
	}
	for _, f := range []string{"lib/libpython3.11.so.1.0", "lib/python3.11/base64.py"} {
		if st, err := os.Stat(filepath.Join(top, f)); err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v (%v), want 0644", f, st.Mode(), err)
		}
	}
	var pyc, py int
	err = filepath.WalkDir(top, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case strings.HasSuffix(p, ".pyc"):
			pyc++
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if flags := binary.LittleEndian.Uint32(data[4:8]); flags != 3 {
				t.Errorf("%s: pyc flags %d, want 3 (checked hash)", p, flags)
			}
			if !strings.Contains(filepath.Base(p), ".cpython-311.pyc") || strings.Contains(p, ".opt-") {
				t.Errorf("unexpected bytecode file %s", p)
			}
		case strings.HasSuffix(p, ".py"):
			py++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pyc < py*9/10 {
		t.Errorf("%d .pyc files for %d modules", pyc, py)
	}
	if d2 := prepare(t, Source{Path: a.Path, SHA256: a.SHA256}, cache); !d2.Hit || d2.Root != d.Root {
		t.Errorf("second Prepare = %+v, want a hit on %s", d2, d.Root)
	}
	// A directory holding the same prefix gives the same interpreter,
	// keyed by its contents.
	dd := prepare(t, Source{Path: a.Dir}, cache)
	if dd.Version != pbs.V311 || dd.Root == d.Root || dd.Hit {
		t.Errorf("Prepare(dir) = %+v, want a second, fresh 3.11.11 entry", dd)
	}
}

// member is one entry of a synthetic archive.
type member struct {
	name, link string
	typ        byte
	body       string
	mode       int64
}

func writeArchive(t *testing.T, zst bool, members ...member) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		h := &tar.Header{Name: m.name, Linkname: m.link, Typeflag: m.typ, Mode: m.mode, Size: int64(len(m.body))}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(m.body))
		}
	}
	tw.Close()
	var out bytes.Buffer
	if zst {
		zw, _ := zstd.NewWriter(&out)
		zw.Write(buf.Bytes())
		zw.Close()
	} else {
		zw := gzip.NewWriter(&out)
		zw.Write(buf.Bytes())
		zw.Close()
	}
	p := filepath.Join(t.TempDir(), "cpython.tar")
	if err := os.WriteFile(p, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(out.Bytes())
	return p, hex.EncodeToString(sum[:])
}

// elfHeader is a 64-bit little-endian ELF executable header for machine.
func elfHeader(machine uint16) string {
	h := make([]byte, 64)
	copy(h, "\x7fELF\x02\x01\x01")
	binary.LittleEndian.PutUint16(h[16:], 2) // ET_EXEC
	binary.LittleEndian.PutUint16(h[18:], machine)
	binary.LittleEndian.PutUint32(h[20:], 1)
	binary.LittleEndian.PutUint16(h[52:], 64) // e_ehsize
	return string(h)
}

func TestPrepareRefuses(t *testing.T) {
	x86 := elfHeader(62)
	arm := elfHeader(183)
	good := []member{{name: "python/bin/python3.11", body: x86, mode: 0o755}}
	tests := []struct {
		name    string
		zst     bool
		members []member
		sha     string // "" = the right one
		want    string
	}{
		{name: "wrong sha256", members: good, sha: strings.Repeat("0", 64), want: "but the pin says"},
		{name: "no interpreter", members: []member{{name: "python/lib/python3.11/os.py"}}, want: "no CPython interpreter"},
		{name: "several interpreters", members: []member{
			{name: "python/bin/python3.11", body: x86, mode: 0o755}, {name: "python/bin/python3.12", body: x86, mode: 0o755}},
			want: "several interpreters (bin/python3.11, bin/python3.12)"},
		{name: "not python", members: []member{{name: "usr/bin/python3.11", body: x86}}, want: "outside python/"},
		{name: "path traversal", members: []member{{name: "python/../../etc/passwd"}}, want: `climbs out`},
		{name: "absolute member", members: []member{{name: "/python/bin/x"}}, want: "absolute name"},
		{name: "escaping symlink", members: []member{{name: "python/lib/evil", typ: tar.TypeSymlink, link: "../../../etc"}}, want: "outside the interpreter's tree"},
		{name: "symlink climbing after a name", members: []member{
			{name: "python/s", typ: tar.TypeSymlink, link: "."}, {name: "python/t", typ: tar.TypeSymlink, link: "s/.."}}, want: "after a directory name"},
		{name: "absolute symlink", members: []member{{name: "python/bin/python3", typ: tar.TypeSymlink, link: "/usr/bin/python3"}}, want: "absolute path"},
		{name: "write through symlink", zst: true, members: []member{
			{name: "python/lib", typ: tar.TypeSymlink, link: "bin"}, {name: "python/lib/x"}}, want: "written through the symlink"},
		{name: "hard link outside", members: []member{{name: "python/x", typ: tar.TypeLink, link: "etc/passwd"}}, want: "not an earlier file"},
		{name: "device", members: []member{{name: "python/dev", typ: tar.TypeChar}}, want: "character device"},
		{name: "duplicate", members: []member{{name: "python/a"}, {name: "python/a"}}, want: "appears twice"},
		{name: "wrong architecture", zst: true, members: []member{{name: "python/bin/python3.11", body: arm, mode: 0o755}}, want: "built for EM_AARCH64"},
		{name: "full layout without install", zst: true, members: []member{{name: "python/PYTHON.json", body: "{}"}}, want: "python/install/ is not"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, sum := writeArchive(t, tt.zst, tt.members...)
			if tt.sha != "" {
				sum = tt.sha
			}
			cache := filepath.Join(t.TempDir(), "pythons")
			_, err := Prepare(context.Background(), Source{Path: p, SHA256: sum}, Options{CacheDir: cache, Prefix: prefix})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Prepare error = %v, want one containing %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name the archive", err)
			}
			if entries, _ := os.ReadDir(cache); len(entries) != 0 {
				t.Errorf("a refused archive left %v in the cache", entries)
			}
		})
	}
}

func TestPrepareFetchFails(t *testing.T) {
	sum := strings.Repeat("1", 64)
	cache := filepath.Join(t.TempDir(), "pythons")
	fetch := func(ctx context.Context, u, s string) (string, error) {
		return "", errors.New("GET https://example.org/c.tar.gz: 404 Not Found")
	}
	_, err := Prepare(context.Background(), Source{URL: "https://user:secret@example.org/c.tar.gz", SHA256: sum}, Options{CacheDir: cache, Prefix: prefix, Fetch: fetch})
	if err == nil || !strings.Contains(err.Error(), "fetching https://example.org/c.tar.gz: GET") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("Prepare error = %v, want the fetch failure without credentials", err)
	}
	if _, err := os.Stat(cache); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed fetch created the cache: %v", err)
	}
}

func TestPrepareFullLayout(t *testing.T) {
	if testing.Short() {
		t.Skip("unpacks and runs a real interpreter")
	}
	a := pbs.Get(t, pbs.V314)
	// Repack the 3.14 prefix as the full layout: python/install/ and
	// python/PYTHON.json, zstd-compressed, with an object file in build/.
	var members []member
	err := filepath.WalkDir(a.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == a.Dir {
			return err
		}
		rel, _ := filepath.Rel(a.Dir, p)
		name := "python/install/" + filepath.ToSlash(rel)
		st, _ := os.Lstat(p)
		switch {
		case d.IsDir():
			members = append(members, member{name: name + "/", typ: tar.TypeDir, mode: 0o755})
		case st.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			members = append(members, member{name: name, typ: tar.TypeSymlink, link: l})
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			members = append(members, member{name: name, body: string(b), mode: int64(st.Mode().Perm())})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	members = append(members,
		member{name: "python/PYTHON.json", body: `{"python_exe": "install/bin/python3.14", "python_stdlib": "install/lib/python3.14", "build_prefix": "/install"}`},
		member{name: "python/build/lib/libpython.a", body: "object code"},
		member{name: "python/licenses/LICENSE.openssl.txt", body: "license"})
	p, sum := writeArchive(t, true, members...)
	d, err := Prepare(context.Background(), Source{Path: p, SHA256: sum}, Options{CacheDir: t.TempDir(), Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	top := filepath.Join(d.Root, prefix)
	if d.Version != pbs.V314 || d.Python != "bin/python3.14" {
		t.Errorf("Prepare = %+v, want 3.14.6 at bin/python3.14", d)
	}
	js, err := os.ReadFile(filepath.Join(top, "PYTHON.json"))
	want := `{"python_exe": "bin/python3.14", "python_stdlib": "lib/python3.14", "build_prefix": "` + prefix + `"}`
	if err != nil || string(js) != want {
		t.Errorf("PYTHON.json = %s, %v; want %s", js, err, want)
	}
	for _, f := range []string{"licenses/LICENSE.openssl.txt", "bin/python3"} {
		if _, err := os.Lstat(filepath.Join(top, f)); err != nil {
			t.Errorf("%s missing: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(top, "build")); err == nil {
		t.Errorf("python/build/ was unpacked")
	}
	out, err := exec.Command(d.CachedExecutable(), "-c", "import sysconfig; print(__import__(sysconfig._get_sysconfigdata_name()).build_time_vars['prefix'])").CombinedOutput()
	if err != nil || string(out) != prefix+"\n" {
		// 3.14's sysconfig reports sys.prefix at run time; the recorded
		// build-time prefix is what relocation rewrote.
		t.Errorf("3.14 recorded prefix = %q, %v", out, err)
	}
}
