package wheel

import (
	"archive/zip"
	"bytes"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/klauspost/compress/flate"
)

func FuzzParseFilename(f *testing.F) {
	for _, s := range []string{
		"pip-23.0.1-py3-none-any.whl", "simplewheel-2.0-1-py2.py3-none-any.whl",
		"numpy-1.26.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "a-1-b-c-d-e.whl", "-.whl",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fn, err := ParseFilename(s)
		if err != nil {
			return
		}
		if fn.Distribution == "" || fn.Version == "" || len(fn.Tags) == 0 {
			t.Errorf("ParseFilename(%q) = %+v with an empty part", s, fn)
		}
		if fn.Build != "" && (fn.Build[0] < '0' || fn.Build[0] > '9') {
			t.Errorf("ParseFilename(%q) build tag %q does not start with a digit", s, fn.Build)
		}
		if strings.ContainsAny(fn.Distribution+fn.Version+fn.Build, "-/") {
			t.Errorf("ParseFilename(%q) = %+v, a part contains - or /", s, fn)
		}
	})
}

func FuzzParseRecord(f *testing.F) {
	for _, s := range []string{
		"a.py,sha256=abc,3\nx-1.0.dist-info/RECORD,,\n",
		"\"we\"\"ird, name\",sha256=x,0\r\n",
		"a,md5=x,1\n", "a,b\n", "a,sha256=,1\n", "\"unterminated,\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := parseRecord(bytes.NewReader(data))
		if err != nil {
			return
		}
		again, err := parseRecord(bytes.NewReader(writeRecord(rows)))
		if err != nil {
			t.Fatalf("parseRecord(writeRecord(%+v)) failed: %v", rows, err)
		}
		if len(again) != len(rows) {
			t.Fatalf("round trip of %+v gave %d rows, want %d", rows, len(again), len(rows))
		}
		for i := range rows {
			a, b := rows[i], again[i]
			a.Line, b.Line = 0, 0
			// CSV cannot keep a lone \r at a line end apart from the line end.
			a.Path = strings.ReplaceAll(a.Path, "\r\n", "\n")
			b.Path = strings.ReplaceAll(b.Path, "\r\n", "\n")
			if a != b {
				t.Errorf("round trip row %d = %+v, want %+v", i, b, a)
			}
		}
	})
}

func FuzzParseMetadata(f *testing.F) {
	for _, s := range []string{
		"Metadata-Version: 2.1\nName: a\nVersion: 1\nRequires-Dist: b\n  ; extra == 'x'\n\nbody",
		"Name: a\r\nVersion: 1\r\n", " cont\nName: x\n", "Name:\nVersion: 1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMetadata(bytes.NewReader(data))
		if err != nil {
			return
		}
		if m.Name == "" || m.Version == "" {
			t.Errorf("ParseMetadata(%q) = %+v without name or version", data, m)
		}
		for _, v := range append([]string{m.Name, m.Version, m.Summary, m.RequiresPython}, m.RequiresDist...) {
			if strings.ContainsAny(v, "\r\n") {
				t.Errorf("ParseMetadata(%q): value %q contains a line break", data, v)
			}
		}
	})
}

func FuzzParseWheelFile(f *testing.F) {
	for _, s := range []string{
		"Wheel-Version: 1.0\nRoot-Is-Purelib: true\n", "Wheel-Version: 2.0\n", "Wheel-Version: 1\n",
		"wheel-version: 1.9\nroot-is-purelib: True\n", "Wheel-Version: 1.-1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := parseWheelFile(bytes.NewReader(data))
		if err != nil {
			return
		}
		if w.Major != 1 || w.Minor < 0 {
			t.Errorf("parseWheelFile(%q) accepted version %d.%d", data, w.Major, w.Minor)
		}
	})
}

func FuzzParseEntryPoints(f *testing.F) {
	for _, s := range []string{
		"[console_scripts]\nfoo = pkg.mod:obj.attr\n[gui_scripts]\nbar = pkg:main [extra]\n",
		"[x]\n; c\n# c\na = b\n", "[console_scripts]\n../x = a:b\n", "[console_scripts]\nx = os;rm:x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		eps, err := parseEntryPoints(data)
		if err != nil {
			return
		}
		scripts, err := scriptEntryPoints(eps)
		if err != nil {
			return
		}
		for _, ep := range scripts {
			if filepath.Base(ep.Name) != ep.Name || ep.Name == ".." || ep.Name == "." {
				t.Errorf("script name %q escapes the scripts directory", ep.Name)
			}
			// The wrapper must stay five lines: no name can inject code.
			w := string(wrapperScript("/opt/venv/bin/python", ep))
			if n := strings.Count(w, "\n"); n != 5 {
				t.Errorf("wrapper for %+v has %d lines:\n%s", ep, n, w)
			}
		}
	})
}

// FuzzOpenArchive feeds arbitrary bytes to the ZIP reader and reads every
// member it accepts.
func FuzzOpenArchive(f *testing.F) {
	dir := f.TempDir()
	for i, files := range []map[string][]byte{
		merge(demoFiles("a", "1.0", true), map[string]string{"a.py": "x = 1\n"}),
		merge(demoFiles("b", "1.0", false), map[string]string{"b.bin": strings.Repeat("b", 300)}),
	} {
		name := []string{"a-1.0-py3-none-any.whl", "b-1.0-py3-none-any.whl"}[i]
		opts := []wheelOpt{}
		if i == 1 {
			opts = append(opts, withStore())
		}
		b, err := os.ReadFile(makeWheel(f, dir, name, files, opts...))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// Small archives without data descriptors let mutations reach the
	// checks past the structure: raw stored and deflated members, an empty
	// archive and one with a comment.
	for _, method := range []uint16{zip.Store, zip.Deflate} {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		content := []byte("x = 1\n")
		data := content
		if method == zip.Deflate {
			var c bytes.Buffer
			fw, err := flate.NewWriter(&c, flate.BestCompression)
			if err != nil {
				f.Fatal(err)
			}
			fw.Write(content)
			fw.Close()
			data = c.Bytes()
		}
		w, err := zw.CreateRaw(&zip.FileHeader{Name: "a/b.py", Method: method, CRC32: crc32.ChecksumIEEE(content),
			CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(content))})
		if err != nil {
			f.Fatal(err)
		}
		w.Write(data)
		if method == zip.Deflate {
			zw.SetComment("comment")
		}
		if err := zw.Close(); err != nil {
			f.Fatal(err)
		}
		if _, err := openArchive(bytes.NewReader(buf.Bytes()), int64(buf.Len()), Limits{}); err != nil {
			f.Fatalf("seed archive with method %d: %v", method, err)
		}
		f.Add(buf.Bytes())
	}
	var empty bytes.Buffer
	zip.NewWriter(&empty).Close()
	f.Add(empty.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := openArchive(bytes.NewReader(data), int64(len(data)), Limits{MaxEntries: 1000, MaxTotalSize: 1 << 20})
		if err != nil {
			return
		}
		for i := range a.entries {
			e := &a.entries[i]
			r, err := a.open(e)
			if err != nil {
				continue
			}
			n, err := io.Copy(io.Discard, r)
			if err == nil && uint64(n) != e.usize {
				t.Errorf("%s: read %d bytes without error, declared %d", e.name, n, e.usize)
			}
		}
		if fn, err := ParseFilename("a-1.0-py3-none-any.whl"); err == nil {
			if c, err := newContents(a, fn); err == nil && !reflect.DeepEqual(c.fn, fn) {
				t.Errorf("newContents changed the filename")
			}
		}
	})
}

// TestParseMetadataLineEnds: "\r\n", "\n" and a lone "\r" all end a line,
// as in Python's email parser, so no value carries a line break.
func TestParseMetadataLineEnds(t *testing.T) {
	tests := []struct {
		name, data, version, summary string
	}{
		{name: "LF", data: "Name: a\nVersion: 1\nSummary: s\n", version: "1", summary: "s"},
		{name: "CRLF", data: "Name: a\r\nVersion: 1\r\nSummary: s\r\n", version: "1", summary: "s"},
		{name: "CR", data: "Name: a\rVersion: 1\rSummary: s\r", version: "1", summary: "s"},
		{name: "CR inside a value ends the header block", data: "Name: a\nVersion: 0\r0\nSummary: s\n", version: "0"},
		{name: "CR then continuation", data: "Name: a\rVersion: 1\rSummary: one\r two\r\rbody\r", version: "1", summary: "one two"},
		{name: "CR at the end of the input", data: "Name: a\nVersion: 2\r", version: "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMetadata(strings.NewReader(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if m.Name != "a" || m.Version != tt.version || m.Summary != tt.summary {
				t.Errorf("ParseMetadata(%q) = %+v, want a %s summary %q", tt.data, m, tt.version, tt.summary)
			}
		})
	}
}
