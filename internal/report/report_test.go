package report

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/audit"
	"github.com/venvpkg/venvpkg/internal/payload"
	"github.com/venvpkg/venvpkg/internal/sbom"
)

func TestSquarify(t *testing.T) {
	areas := []float64{600, 600, 400, 200, 200, 100, 100, 100, 50, 50}
	var total float64
	for _, a := range areas {
		total += a
	}
	r := rect{0, 0, 60, total / 60}
	rs := squarify(areas, r)
	if len(rs) != len(areas) {
		t.Fatalf("%d rectangles for %d areas", len(rs), len(areas))
	}
	for i, q := range rs {
		if got := q.w * q.h; math.Abs(got-areas[i]) > 1e-6 {
			t.Errorf("rect %d has area %v, want %v", i, got, areas[i])
		}
		if q.x < -1e-9 || q.y < -1e-9 || q.x+q.w > r.w+1e-6 || q.y+q.h > r.h+1e-6 {
			t.Errorf("rect %d %+v lies outside %+v", i, q, r)
		}
		if ratio := max(q.w/q.h, q.h/q.w); ratio > 4 {
			t.Errorf("rect %d %+v has aspect ratio %.1f; squarified tiles stay near square", i, q, ratio)
		}
	}
	for i := range rs {
		for j := i + 1; j < len(rs); j++ {
			a, b := rs[i], rs[j]
			if a.x+a.w > b.x+1e-6 && b.x+b.w > a.x+1e-6 && a.y+a.h > b.y+1e-6 && b.y+b.h > a.y+1e-6 {
				t.Errorf("rects %d %+v and %d %+v overlap", i, a, j, b)
			}
		}
	}
}

func TestDiff(t *testing.T) {
	old := &Package{Dists: []*Dist{{Name: "Flask", Version: "2.2.2", Size: 100}, {Name: "itsdangerous", Version: "2.1.2", Size: 10},
		{Name: "Werkzeug", Version: "2.2.3", Size: 50}, {Name: "click", Version: "8.1.3", Size: 5}, {Name: "app", Version: "1.0", Size: 1}}}
	new := &Package{Dists: []*Dist{{Name: "flask", Version: "2.2.5", Size: 120}, {Name: "Werkzeug", Version: "2.2.2", Size: 50},
		{Name: "wheel", Version: "0.38.4", Size: 30}, {Name: "click", Version: "8.1.3", Size: 5}, {Name: "app", Version: "1.0", Size: 2}}}
	var got []string
	for _, c := range Diff(old, new) {
		got = append(got, strings.Join([]string{c.Kind, c.Name, c.Old, c.New, Bytes(c.SizeChange)}, " "))
	}
	want := []string{
		"added wheel  0.38.4 30 B",
		"removed itsdangerous 2.1.2  -10 B",
		"upgraded flask 2.2.2 2.2.5 20 B",
		"downgraded Werkzeug 2.2.3 2.2.2 0 B",
		"changed app 1.0 1.0 1 B",
		"unchanged click 8.1.3 8.1.3 0 B",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Diff:\n got %q\nwant %q", got, want)
	}
}

func TestWriteEscapes(t *testing.T) {
	p := &Package{File: "x.deb", Name: "x<script>", Version: "1", Size: 10,
		Dists: []*Dist{{Name: `evil"><script>alert(1)</script>`, Version: "1", Size: 10, Files: []File{{Path: "a<b>.py", Size: 10}}}}}
	var buf bytes.Buffer
	if err := Write(&buf, p); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "<script>") {
		t.Errorf("a distribution name reached the page unescaped:\n%s", buf.String())
	}
	if err := Write(&buf); err == nil {
		t.Error("Write of no package succeeded")
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 5 << 20: "5.0 MiB", -2048: "-2.0 KiB", 3 << 30: "3.0 GiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func writeFile(t *testing.T, root, p string, data []byte) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFromTree reads a staged payload with a bundled interpreter and a
// C extension needing libpq: the report groups the interpreter's files,
// and gives every Depends and rpm Requires entry its reason.
func TestFromTree(t *testing.T) {
	root := t.TempDir()
	site := "/opt/venvs/app/lib/python3.12/site-packages"
	writeFile(t, root, site+"/psycopg2/_psycopg.so", make([]byte, 3000))
	writeFile(t, root, site+"/psycopg2-2.9.9.dist-info/METADATA", []byte("Metadata-Version: 2.1\nName: psycopg2\nVersion: 2.9.9\nLicense: LGPL with exceptions\n"))
	writeFile(t, root, site+"/psycopg2-2.9.9.dist-info/RECORD", []byte("psycopg2/_psycopg.so,,\npsycopg2-2.9.9.dist-info/METADATA,,\n"))
	writeFile(t, root, "/opt/venvs/app/python/lib/libpython3.12.so.1.0", make([]byte, 5000))
	writeFile(t, root, "/opt/venvs/app/python/bin/python3.12", make([]byte, 100))
	writeFile(t, root, "/opt/venvs/app/pyvenv.cfg", []byte("home = /opt/venvs/app/python/bin\n"))
	tree, err := payload.ScanDir(root)
	if err != nil {
		t.Fatal(err)
	}
	dists, err := tree.Distributions()
	if err != nil {
		t.Fatal(err)
	}
	var doc bytes.Buffer
	err = sbom.Encode(&doc, sbom.Build(sbom.Input{Project: "app", Package: "app", Prefix: "/opt/venvs/app", Arch: "amd64", Dists: dists,
		Interpreter: sbom.Interpreter{Implementation: "CPython", Version: "3.12.7", Path: "/opt/venvs/app/python/bin/python3.12", Source: sbom.InterpreterBundled},
		Libraries:   []audit.Need{{Package: "libpq5", Soname: "libpq.so.5", Files: []string{site + "/psycopg2/_psycopg.so"}}}}))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, root, "/opt/venvs/app/sbom.cdx.json", doc.Bytes())
	if tree, err = payload.ScanDir(root); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		format  string
		depends []string
		want    []string
	}{
		{"deb", []string{"libc6 (>= 2.34)", "libpq5 (>= 15)", "ca-certificates"}, []string{
			"the C library, which every ELF object of the payload links to",
			"libpq.so.5, needed by lib/python3.12/site-packages/psycopg2/_psycopg.so",
			"declared by the project ([tool.venvpkg] depends / rpm-requires)"}},
		{"rpm", []string{"libc.so.6(GLIBC_2.14)(64bit)", "libpq.so.5()(64bit)", "rtld(GNU_HASH)"}, []string{
			"the C library, which every ELF object of the payload links to",
			"libpq.so.5 (Debian package libpq5), needed by lib/python3.12/site-packages/psycopg2/_psycopg.so",
			"the C library, which every ELF object of the payload links to"}},
	} {
		tree.Package = &payload.Package{Name: "app", Version: "1.0-1", Arch: "amd64", Format: tt.format, Depends: tt.depends}
		p, err := FromTree(tree, "app."+tt.format)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range p.Depends {
			got = append(got, d.Reason)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s reasons:\n got %q\nwant %q", tt.format, got, tt.want)
		}
		var groups []string
		for _, d := range p.Dists {
			groups = append(groups, fmt.Sprintf("%s %d", d.Name, d.Size))
		}
		if want := []string{"(bundled interpreter) 5100", "psycopg2 3141", "(virtualenv) " + strconv.Itoa(33+doc.Len())}; !slices.Equal(groups, want) {
			t.Errorf("groups = %q, want %q", groups, want)
		}
		if p.Interpreter != "CPython 3.12.7, bundled interpreter /opt/venvs/app/python/bin/python3.12" {
			t.Errorf("interpreter = %q", p.Interpreter)
		}
	}
}
