package pipeline_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/logging"
	"github.com/venvpkg/venvpkg/internal/pipeline"
	"github.com/venvpkg/venvpkg/internal/testutil"
)

// inTreeBackend is a PEP 517 backend that writes the test project's wheel
// with nothing but the standard library, so each hostile-wheel build spends
// its time on the wheel under test rather than on setuptools. The wheel
// requires "bad", or the lines of requires-dist.txt in the project.
const inTreeBackend = `import base64, hashlib, os, zipfile

def _row(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (name, digest, len(data))

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    stall = os.environ.get("VENVPKG_TEST_BACKEND_STALL")
    if stall:
        # Like many backends, work in a temporary directory; then tell the
        # interrupt test where we are and wait to be killed.
        import tempfile, time
        tempfile.mkdtemp(prefix="backend-")
        open(stall, "w").close()
        time.sleep(600)
    requires = ["bad"]
    if os.path.exists("requires-dist.txt"):
        requires = open("requires-dist.txt").read().splitlines()
    metadata = "Metadata-Version: 2.1\nName: app\nVersion: 1.0\n" + "".join("Requires-Dist: %s\n" % r for r in requires)
    files = {
        "app/__init__.py": b"def main():\n    return 0\n",
        "app-1.0.dist-info/METADATA": metadata.encode(),
        "app-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    rows = [_row(n, d) for n, d in sorted(files.items())] + ["app-1.0.dist-info/RECORD,,"]
    files["app-1.0.dist-info/RECORD"] = ("\n".join(rows) + "\n").encode()
    name = "app-1.0-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
        for n in sorted(files):
            z.writestr(zipfile.ZipInfo(n, (1980, 1, 1, 0, 0, 0)), files[n])
    return name
`

const hostileProject = `[project]
name = "app"
version = "1.0"
dependencies = ["bad"]

[build-system]
requires = []
build-backend = "backend"
backend-path = ["."]

[tool.venvpkg]
maintainer = "Test <test@example.org>"
`

// member is one entry of a generated wheel.
type member struct {
	name   string
	data   []byte
	mode   fs.FileMode // 0 means 0644
	noRow  bool        // leave out of RECORD
	method uint16      // zip.Deflate unless zip.Store
}

// hostileWheel describes bad-1.0-py3-none-any.whl for one case: the members
// (RECORD is generated last, hashing each member's data), RECORD rows
// added verbatim, contents swapped in after hashing and a final byte patch.
type hostileWheel struct {
	members []member
	rows    []string
	tamper  map[string][]byte
	raw     func(t *testing.T, zw *zip.Writer) // extra entries written raw
	patch   func(t *testing.T, b []byte) []byte
}

const badWheel = "bad-1.0-py3-none-any.whl"

func baseMembers() []member {
	return []member{
		{name: "bad/__init__.py", data: []byte("x = 1\n")},
		{name: "bad-1.0.dist-info/METADATA", data: []byte("Metadata-Version: 2.1\nName: bad\nVersion: 1.0\n")},
		{name: "bad-1.0.dist-info/WHEEL", data: []byte("Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")},
	}
}

// with returns the base members plus extra files.
func with(extra ...member) []member { return append(baseMembers(), extra...) }

// replacing returns the base members with name's data replaced.
func replacing(name, data string) []member {
	ms := baseMembers()
	for i := range ms {
		if ms[i].name == name {
			ms[i].data = []byte(data)
		}
	}
	return ms
}

func rowFor(name string, data []byte) string {
	sum := sha256.Sum256(data)
	return fmt.Sprintf("%s,sha256=%s,%d", name, base64.RawURLEncoding.EncodeToString(sum[:]), len(data))
}

// bytes renders the wheel.
func (w hostileWheel) bytes(t *testing.T) []byte {
	t.Helper()
	var rows []string
	distInfo := ""
	for _, m := range w.members {
		if top, _, _ := strings.Cut(m.name, "/"); strings.HasSuffix(top, ".dist-info") && distInfo == "" {
			distInfo = top
		}
		if !m.noRow && !strings.HasSuffix(m.name, "/") {
			rows = append(rows, rowFor(m.name, m.data))
		}
	}
	rows = append(rows, w.rows...)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	write := func(m member) {
		method := m.method
		if method == 0 && !strings.HasSuffix(m.name, "/") {
			method = zip.Deflate
		}
		h := &zip.FileHeader{Name: m.name, Method: method}
		mode := m.mode
		if mode == 0 {
			mode = 0o644
		}
		h.SetMode(mode)
		f, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		data := m.data
		if d, ok := w.tamper[m.name]; ok {
			data = d
		}
		if _, err := f.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range w.members {
		write(m)
	}
	if w.raw != nil {
		w.raw(t, zw)
	}
	if distInfo != "" {
		rows = append(rows, distInfo+"/RECORD,,")
		write(member{name: distInfo + "/RECORD", data: []byte(strings.Join(rows, "\n") + "\n")})
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if w.patch != nil {
		b = w.patch(t, b)
	}
	return b
}

// ZIP signatures and header layout (APPNOTE.TXT 4.3.7, 4.3.12).
const (
	zipLocal      = 0x04034b50
	zipCentral    = 0x02014b50
	zipDescriptor = 0x08074b50
)

// zipHeader returns the offset of the local or central header of name.
func zipHeader(t *testing.T, b []byte, sig uint32, name string) int {
	t.Helper()
	nameOff, lenOff := 30, 26
	if sig == zipCentral {
		nameOff, lenOff = 46, 28
	}
	var s [4]byte
	binary.LittleEndian.PutUint32(s[:], sig)
	for i := 0; ; i++ {
		j := bytes.Index(b[i:], s[:])
		if j < 0 {
			t.Fatalf("no header for %s", name)
		}
		i += j
		if i+nameOff > len(b) {
			continue
		}
		n := int(binary.LittleEndian.Uint16(b[i+lenOff:]))
		if i+nameOff+n <= len(b) && string(b[i+nameOff:i+nameOff+n]) == name {
			return i
		}
	}
}

// zipDescriptorPos returns the offset of the data descriptor after name's
// data; Go's writer stores CRC and sizes there.
func zipDescriptorPos(t *testing.T, b []byte, name string) int {
	t.Helper()
	c := zipHeader(t, b, zipCentral, name)
	l := zipHeader(t, b, zipLocal, name)
	p := l + 30 + int(binary.LittleEndian.Uint16(b[l+26:])) + int(binary.LittleEndian.Uint16(b[l+28:])) + int(binary.LittleEndian.Uint32(b[c+20:]))
	if binary.LittleEndian.Uint32(b[p:]) != zipDescriptor {
		t.Fatalf("%s has no data descriptor at %d", name, p)
	}
	return p
}

func add32(b []byte, off int, delta int) {
	binary.LittleEndian.PutUint32(b[off:], uint32(int(binary.LittleEndian.Uint32(b[off:]))+delta))
}

// escape climbs from the staged site-packages directory
// (<TMPDIR>/venvpkg-build-*/root/opt/venvs/app/lib/python3.11/site-packages)
// to the test's base directory, so an escaping entry would land in canary/.
const escape = "../../../../../../../../../canary/"

func entryPoints(body string) member {
	return member{name: "bad-1.0.dist-info/entry_points.txt", data: []byte(body)}
}

// hostileCases has one wheel per rule of the hardening issue, each with the
// whole error line the build must fail with.
func hostileCases() []struct {
	name  string
	wheel hostileWheel
	want  string
} {
	// The build reads every wheel's metadata, checking its archive, for the lock check before installing anything;
	// what only installing finds (.data layout, member hashes) is reported by the install.
	const pfx = "reading " + badWheel + ": "
	const installPfx = "installing " + badWheel + ": "
	return []struct {
		name  string
		wheel hostileWheel
		want  string
	}{
		{"dot dot", hostileWheel{members: with(member{name: escape + "dotdot", data: []byte("x")})},
			pfx + `entry "` + escape + `dotdot" has an unsafe path (absolute, "..", ".", empty component, drive letter, backslash or NUL); it could escape its target directory`},
		{"absolute path", hostileWheel{members: with(member{name: "/tmp/venvpkg-absolute", data: []byte("x")})},
			pfx + `entry "/tmp/venvpkg-absolute" has an unsafe path (absolute, "..", ".", empty component, drive letter, backslash or NUL); it could escape its target directory`},
		{"dot slash dot dot", hostileWheel{members: with(member{name: "./" + escape + "dotslash", data: []byte("x")})},
			pfx + `entry "./` + escape + `dotslash" has an unsafe path (absolute, "..", ".", empty component, drive letter, backslash or NUL); it could escape its target directory`},
		{"backslash", hostileWheel{members: with(member{name: `bad\..\..\backslash`, data: []byte("x")})},
			pfx + `entry "bad\\..\\..\\backslash" has an unsafe path (absolute, "..", ".", empty component, drive letter, backslash or NUL); it could escape its target directory`},
		{"NUL", hostileWheel{members: with(member{name: "bad/a\x00.py", data: []byte("x")})},
			pfx + `entry "bad/a\x00.py" has an unsafe path (absolute, "..", ".", empty component, drive letter, backslash or NUL); it could escape its target directory`},
		{"symlink", hostileWheel{members: with(member{name: "bad/link", data: []byte(escape + "symlink"), mode: fs.ModeSymlink | 0o777})},
			pfx + `entry "bad/link" is a symlink; wheels may contain only regular files`},
		{"duplicate name", hostileWheel{members: with(member{name: "bad/dup.py", data: []byte("a = 1\n"), noRow: true}, member{name: "bad/dup.py", data: []byte("a = 2\n")})},
			pfx + `entry "bad/dup.py" appears twice; the archive is ambiguous`},
		{"duplicate after case folding", hostileWheel{members: with(member{name: "bad/Mod.py", data: []byte("a = 1\n")}, member{name: "bad/mod.py", data: []byte("a = 2\n")})},
			pfx + `entries "bad/Mod.py" and "bad/mod.py" differ only in case or Unicode normalisation but have different content; the archive is ambiguous`},
		{"duplicate after NFC", hostileWheel{members: with(member{name: "bad/caf\u00e9.py", data: []byte("a = 1\n")}, member{name: "bad/cafe\u0301.py", data: []byte("a = 2\n")})},
			pfx + `entries "bad/caf` + "\u00e9" + `.py" and "bad/cafe` + "\u0301" + `.py" differ only in case or Unicode normalisation but have different content; the archive is ambiguous`},
		{"invalid UTF-8 name", hostileWheel{members: with(member{name: "bad/\xff.py", data: []byte("x")})},
			pfx + `central directory entry 3: entry name "bad/\xff.py" is not valid UTF-8`},
		{"local header name differs", hostileWheel{members: baseMembers(), patch: func(t *testing.T, b []byte) []byte {
			b[zipHeader(t, b, zipLocal, "bad/__init__.py")+30] = 'c'
			return b
		}}, pfx + `local header names "cad/__init__.py" but the central directory names "bad/__init__.py"; the archive is ambiguous`},
		{"local CRC differs", hostileWheel{members: baseMembers(), patch: func(t *testing.T, b []byte) []byte {
			b[zipDescriptorPos(t, b, "bad/__init__.py")+4] ^= 0xff
			return b
		}}, pfx + `bad/__init__.py: local header and central directory disagree on CRC or sizes; the archive is ambiguous`},
		{"local size differs", hostileWheel{members: baseMembers(), patch: func(t *testing.T, b []byte) []byte {
			add32(b, zipDescriptorPos(t, b, "bad/__init__.py")+12, 1)
			return b
		}}, pfx + `bad/__init__.py: local header and central directory disagree on CRC or sizes; the archive is ambiguous`},
		{"data after the end record", hostileWheel{members: baseMembers(), patch: func(t *testing.T, b []byte) []byte {
			return append(b, "appended"...)
		}}, pfx + `data after the end of central directory record; the archive is ambiguous (rebuild the wheel)`},
		{"declared size larger than the data", hostileWheel{members: baseMembers(), patch: func(t *testing.T, b []byte) []byte {
			// RECORD's own row has no size, so the zip-level check fires.
			add32(b, zipHeader(t, b, zipCentral, "bad-1.0.dist-info/RECORD")+24, 5)
			add32(b, zipDescriptorPos(t, b, "bad-1.0.dist-info/RECORD")+12, 5)
			return b
		}}, pfx + `bad-1.0.dist-info/RECORD: data is 255 bytes, shorter than its declared size 260`},
		{"decompression bomb ratio", hostileWheel{members: baseMembers(), raw: func(t *testing.T, zw *zip.Writer) {
			// Sizes are declared, not compressed, so the ratio does not depend on the deflater.
			h := &zip.FileHeader{Name: "bad/zeros.bin", Method: zip.Deflate, CRC32: 1, CompressedSize64: 8 << 10, UncompressedSize64: 8 << 20}
			w, err := zw.CreateRaw(h)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(make([]byte, 8<<10))
		}}, pfx + `bad/zeros.bin: compression ratio 1024:1 exceeds the limit of 200:1 (decompression bomb?)`},
		{"decompression bomb total size", hostileWheel{members: baseMembers(), raw: func(t *testing.T, zw *zip.Writer) {
			h := &zip.FileHeader{Name: "bad/huge.bin", Method: zip.Deflate, CRC32: 1, CompressedSize64: 4, UncompressedSize64: 5 << 30}
			w, err := zw.CreateRaw(h)
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte{3, 0, 0, 0})
		}}, pfx + `archive expands to more than the limit of 4294967296 bytes`},
		{"too many entries", hostileWheel{members: baseMembers(), raw: func(t *testing.T, zw *zip.Writer) {
			for i := 0; i < 200_000; i++ {
				if _, err := zw.CreateRaw(&zip.FileHeader{Name: fmt.Sprintf("bad/d%06d/", i)}); err != nil {
					t.Fatal(err)
				}
			}
		}}, pfx + `archive has 200004 entries, more than the limit of 200000`},
		{"two dist-info directories", hostileWheel{members: with(member{name: "evil-1.0.dist-info/METADATA", data: []byte("Name: evil\nVersion: 1.0\n")})},
			pfx + `wheel must contain exactly one top-level .dist-info directory, found 2 ["bad-1.0.dist-info" "evil-1.0.dist-info"]`},
		{"no dist-info directory", hostileWheel{members: []member{{name: "bad/__init__.py", data: []byte("x = 1\n")}}},
			pfx + `wheel must contain exactly one top-level .dist-info directory, found 0 []`},
		{"dist-info of another project", hostileWheel{members: []member{
			{name: "bad/__init__.py", data: []byte("x = 1\n")},
			{name: "evil-1.0.dist-info/METADATA", data: []byte("Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n")},
			{name: "evil-1.0.dist-info/WHEEL", data: []byte("Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")},
		}}, pfx + `evil-1.0.dist-info does not match the wheel's name and version bad 1.0`},
		{"Wheel-Version 2", hostileWheel{members: replacing("bad-1.0.dist-info/WHEEL", "Wheel-Version: 2.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")},
			pfx + `bad-1.0.dist-info/WHEEL: Wheel-Version 2.0 is not supported; this installer reads version 1.x wheels`},
		{"unknown .data key", hostileWheel{members: with(member{name: "bad-1.0.data/etc/passwd", data: []byte("x")})},
			installPfx + `bad-1.0.data/etc/passwd is in unknown data directory bad-1.0.data/etc; use purelib, platlib, headers, scripts or data`},
		{"directory in .data/scripts", hostileWheel{members: with(member{name: "bad-1.0.data/scripts/sub/tool", data: []byte("#!python\n")})},
			installPfx + `bad-1.0.data/scripts/sub/tool is in a directory inside bad-1.0.data/scripts; scripts must be regular files directly in it`},
		{"entry point escaping bin", hostileWheel{members: with(entryPoints("[console_scripts]\n../../../../../canary/ep = bad:main\n"))},
			pfx + `bad-1.0.dist-info/entry_points.txt:2: [console_scripts] script name "../../../../../canary/ep" would be written outside the scripts directory`},
		{"entry point python", hostileWheel{members: with(entryPoints("[console_scripts]\npython = bad:main\n"))},
			pfx + `bad-1.0.dist-info/entry_points.txt:2: [console_scripts] script name "python" would replace the environment's interpreter`},
		{"entry point python3", hostileWheel{members: with(entryPoints("[gui_scripts]\npython3 = bad:main\n"))},
			pfx + `bad-1.0.dist-info/entry_points.txt:2: [gui_scripts] script name "python3" would replace the environment's interpreter`},
		{"entry point python3.11", hostileWheel{members: with(entryPoints("[console_scripts]\npython3.11 = bad:main\n"))},
			pfx + `bad-1.0.dist-info/entry_points.txt:2: [console_scripts] script name "python3.11" would replace the environment's interpreter`},
		{".data/scripts shadowing python3", hostileWheel{members: with(member{name: "bad-1.0.data/scripts/python3", data: []byte("#!python\n")})},
			installPfx + `bad-1.0.data/scripts/python3 would replace the environment's interpreter python3; scripts must not be named python, python3 or python3.X`},
		{"RECORD misses a file", hostileWheel{members: with(member{name: "bad/unlisted.py", data: []byte("x"), noRow: true})},
			pfx + `bad/unlisted.py is not listed in bad-1.0.dist-info/RECORD`},
		{"RECORD lists a missing file", hostileWheel{members: baseMembers(), rows: []string{"bad/gone.py,sha256=AAAA,1"}},
			pfx + `bad-1.0.dist-info/RECORD line 4 lists bad/gone.py, which is not in the wheel`},
		{"RECORD hash differs", hostileWheel{members: baseMembers(), tamper: map[string][]byte{"bad/__init__.py": []byte("x = 2\n")}},
			installPfx + `bad/__init__.py does not match its hash in bad-1.0.dist-info/RECORD; the wheel is corrupt or was modified after it was built`},
		{"RECORD size differs", hostileWheel{members: baseMembers(), tamper: map[string][]byte{"bad/__init__.py": []byte("x = 10\n")}},
			pfx + `bad-1.0.dist-info/RECORD line 1: bad/__init__.py is 7 bytes, but RECORD says 6`},
	}
}

// TestHostileWheels runs the whole build with one hostile or broken wheel
// per rule pinned in the lock. Each build must fail with exactly its one
// line of error, create nothing outside the staging directory (TMPDIR ends
// up empty, the canary directory the traversal entries aim at stays empty)
// and leave --out empty.
func TestHostileWheels(t *testing.T) {
	testutil.NeedFile(t, python, "python3.11")
	cache := t.TempDir() // shared: the interpreter is probed once
	for _, tt := range hostileCases() {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			dirs := map[string]string{}
			for _, d := range []string{"proj", "wheels", "tmp", "canary", "out"} {
				dirs[d] = filepath.Join(base, d)
				if err := os.Mkdir(dirs[d], 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for name, text := range map[string]string{
				"pyproject.toml":   hostileProject,
				"backend.py":       inTreeBackend,
				"requirements.txt": "-e .\nbad==1.0\n",
			} {
				if err := os.WriteFile(filepath.Join(dirs["proj"], name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dirs["wheels"], badWheel), tt.wheel.bytes(t), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Setenv("TMPDIR", dirs["tmp"])
			var log bytes.Buffer
			_, err := pipeline.Run(context.Background(), pipeline.Options{
				ProjectDir: dirs["proj"], Python: python, FindLinks: []string{dirs["wheels"]}, NoIndex: true,
				OutDir: dirs["out"], CacheDir: cache, NoCompile: true, Log: logging.NewLogger(&log, logging.LevelDebug),
			})
			if err == nil {
				t.Fatalf("build succeeded, want %q\nlog:\n%s", tt.want, log.String())
			}
			if err.Error() != tt.want {
				t.Errorf("build error:\n got %q\nwant %q\nlog:\n%s", err.Error(), tt.want, log.String())
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans several lines: %q", err)
			}
			for _, d := range []string{"tmp", "canary", "out"} {
				if left := treeEntries(t, dirs[d]); len(left) > 0 {
					t.Errorf("%s holds %q after the refused build, want nothing", d, left)
				}
			}
			// The cache (shared by the cases) holds no tree of a refused
			// wheel, finished or pending.
			for _, p := range treeEntries(t, cache) {
				if name := filepath.Base(p); name == "meta.json" || strings.HasPrefix(name, ".pending-") {
					t.Errorf("cache holds %s after the refused build", p)
				}
			}
			if left := treeEntries(t, base); len(left) != len(dirs)+len(treeEntries(t, dirs["proj"]))+1 {
				t.Errorf("test directory holds %q, want only %v, the project and the wheel", left, keys(dirs))
			}
		})
	}
}

// treeEntries lists every path under dir, relative and sorted.
func treeEntries(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
