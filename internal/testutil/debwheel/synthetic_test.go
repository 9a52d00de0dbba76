package debwheel

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/testutil"
)

// buildDeb writes a .deb with dpkg-deb from files (path → content; content "->target" makes a symlink).
func buildDeb(t *testing.T, control string, files map[string]string) string {
	t.Helper()
	testutil.NeedTool(t, "dpkg-deb", "dpkg")
	src := t.TempDir()
	files["DEBIAN/control"] = control
	for name, content := range files {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	deb := filepath.Join(t.TempDir(), "test.deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "-b", src, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -b: %v\n%s", err, out)
	}
	return deb
}

// wheelMembers returns the wheel's entry names and the text of the named members.
func wheelMembers(t *testing.T, wheel string) ([]string, map[string]string) {
	t.Helper()
	zr, err := zip.OpenReader(wheel)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	texts := map[string]string{}
	for _, f := range zr.File {
		names = append(names, f.Name)
		data, err := readZipFile(f)
		if err != nil {
			t.Fatal(err)
		}
		texts[f.Name] = string(data)
	}
	return names, texts
}

const sp = "usr/lib/python3/dist-packages/"

func TestRepackDebSplitsDistributions(t *testing.T) {
	deb := buildDeb(t, "Package: python3-pair\nVersion: 1.0-1\nArchitecture: all\nMaintainer: t <t@example.invalid>\nDescription: two distributions\n x\n", map[string]string{
		sp + "Alpha.Pkg-1.0.egg-info/PKG-INFO":            "Metadata-Version: 2.1\nName: Alpha.Pkg\nVersion: 1.0\nSummary: a\n\nlong description\n",
		sp + "Alpha.Pkg-1.0.egg-info/top_level.txt":       "alpha\nalpha_mod\n",
		sp + "Alpha.Pkg-1.0.egg-info/requires.txt":        "beta>=2\n[fast]\nspeedy\n",
		sp + "Alpha.Pkg-1.0.egg-info/entry_points.txt":    "[console_scripts]\nalpha = alpha:main\n",
		sp + "Alpha.Pkg-1.0.egg-info/SOURCES.txt":         "src/alpha/__init__.py\n",
		sp + "alpha/__init__.py":                          "def main():\n    print('alpha')\n",
		sp + "alpha/__pycache__/__init__.cpython-311.pyc": "bytecode",
		sp + "alpha/static/jquery.js":                     "->/usr/share/javascript/jquery/jquery.js",
		"usr/share/javascript/jquery/jquery.js":           "/* jquery */\n",
		sp + "alpha_mod.py":                               "X = 1\n",
		sp + "beta-2.0.dist-info/METADATA":                "Metadata-Version: 2.1\nName: beta\nVersion: 2.0\n",
		sp + "beta-2.0.dist-info/RECORD":                  "beta/__init__.py,sha256=x,3\nbeta/__pycache__/__init__.cpython-311.pyc,,\nbeta-2.0.dist-info/METADATA,,\n../../../bin/beta,,\n",
		sp + "beta-2.0.dist-info/INSTALLER":               "pip\n",
		sp + "beta-2.0.dist-info/LICENSE":                 "MIT\n",
		sp + "beta/__init__.py":                           "B\n",
		sp + "betamax/__init__.py":                        "not beta's\n",
		sp + "unrelated.pth":                              "import os\n",
		sp + "beta.egg-info/PKG-INFO":                     "Metadata-Version: 2.1\nName: beta\nVersion: 2.0\n",
		sp + "beta.egg-info/top_level.txt":                "beta\n",
	})
	out := t.TempDir()
	wheels, err := RepackDeb(context.Background(), deb, out)
	if err != nil {
		t.Fatal(err)
	}
	var bases []string
	for _, w := range wheels {
		bases = append(bases, filepath.Base(w))
		if err := VerifyRecord(w); err != nil {
			t.Errorf("VerifyRecord: %v", err)
		}
	}
	if want := []string{"alpha_pkg-1.0-py3-none-any.whl", "beta-2.0-py3-none-any.whl"}; !reflect.DeepEqual(bases, want) {
		t.Fatalf("RepackDeb wrote %q, want %q", bases, want)
	}

	names, texts := wheelMembers(t, wheels[0])
	wantNames := []string{
		"alpha/__init__.py", "alpha/static/jquery.js", "alpha_mod.py",
		"alpha_pkg-1.0.dist-info/METADATA", "alpha_pkg-1.0.dist-info/WHEEL",
		"alpha_pkg-1.0.dist-info/entry_points.txt", "alpha_pkg-1.0.dist-info/top_level.txt",
		"alpha_pkg-1.0.dist-info/RECORD",
	}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("alpha wheel members = %q, want %q", names, wantNames)
	}
	if got := texts["alpha/static/jquery.js"]; got != "/* jquery */\n" {
		t.Errorf("symlinked jquery.js = %q, want the link target's content", got)
	}
	wantMeta := "Metadata-Version: 2.1\nName: Alpha.Pkg\nVersion: 1.0\nSummary: a\nProvides-Extra: fast\n" +
		"Requires-Dist: beta>=2\nRequires-Dist: speedy; extra == \"fast\"\n\nlong description\n"
	if got := texts["alpha_pkg-1.0.dist-info/METADATA"]; got != wantMeta {
		t.Errorf("alpha METADATA = %q, want %q", got, wantMeta)
	}
	wantWheel := "Wheel-Version: 1.0\nGenerator: venvpkg-debwheel\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
	if got := texts["alpha_pkg-1.0.dist-info/WHEEL"]; got != wantWheel {
		t.Errorf("alpha WHEEL = %q, want %q", got, wantWheel)
	}

	names, _ = wheelMembers(t, wheels[1])
	sort.Strings(names)
	wantNames = []string{"beta-2.0.dist-info/LICENSE", "beta-2.0.dist-info/METADATA", "beta-2.0.dist-info/RECORD", "beta-2.0.dist-info/WHEEL", "beta/__init__.py"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("beta wheel members = %q, want %q (RECORD decides, betamax is not beta's)", names, wantNames)
	}
}

func TestRepackDebErrors(t *testing.T) {
	control := "Package: python3-bad\nVersion: 1\nArchitecture: all\nMaintainer: t <t@example.invalid>\nDescription: bad\n x\n"
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{
			name: "shared top level",
			files: map[string]string{
				sp + "a-1.egg-info/PKG-INFO":      "Name: a\nVersion: 1\n",
				sp + "a-1.egg-info/top_level.txt": "common\n",
				sp + "b-1.egg-info/PKG-INFO":      "Name: b\nVersion: 1\n",
				sp + "b-1.egg-info/top_level.txt": "common\n",
				sp + "common/__init__.py":         "",
			},
			want: "claimed by both",
		},
		{
			name:  "no distribution",
			files: map[string]string{"usr/share/doc/x/README": "x\n"},
			want:  "ships no Python distribution",
		},
		{
			name: "dangling symlink",
			files: map[string]string{
				sp + "c-1.egg-info/PKG-INFO": "Name: c\nVersion: 1\n",
				sp + "c/__init__.py":         "",
				sp + "c/lib.js":              "->/usr/share/javascript/missing.js",
			},
			want: "missing.js is not in the package",
		},
		{
			name: "no files",
			files: map[string]string{
				sp + "d-1.egg-info/PKG-INFO": "Name: d\nVersion: 1\n",
			},
			want: "found no files of d 1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			deb := buildDeb(t, control, tt.files)
			_, err := RepackDeb(context.Background(), deb, t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("RepackDeb = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestVerifyRecordDetectsTampering(t *testing.T) {
	members := []member{{name: "m/__init__.py", data: []byte("x = 1\n")}, {name: "m-1.dist-info/METADATA", data: []byte("Name: m\n")}}
	tests := []struct {
		name   string
		mutate func(record []byte, members []member) ([]byte, []member)
		want   string
	}{
		{"consistent", func(r []byte, m []member) ([]byte, []member) { return r, m }, ""},
		{"changed content", func(r []byte, m []member) ([]byte, []member) {
			m[0].data = []byte("x = 2\n")
			return r, m
		}, "content hashes to"},
		{"unlisted member", func(r []byte, m []member) ([]byte, []member) {
			return r, append(m, member{name: "m/extra.py", data: []byte("")})
		}, "not listed in RECORD"},
		{"listed but missing", func(r []byte, m []member) ([]byte, []member) { return r, m[1:] }, "not in the wheel"},
		{"wrong size", func(r []byte, m []member) ([]byte, []member) {
			return bytes.Replace(r, []byte(",6\n"), []byte(",7\n"), 1), m
		}, "RECORD size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := append([]member(nil), members...)
			record, err := makeRecord(ms, "m-1.dist-info/RECORD")
			if err != nil {
				t.Fatal(err)
			}
			record, ms = tt.mutate(record, ms)
			w := filepath.Join(t.TempDir(), "m-1-py3-none-any.whl")
			f, err := os.Create(w)
			if err != nil {
				t.Fatal(err)
			}
			zw := zip.NewWriter(f)
			for _, m := range append(ms, member{name: "m-1.dist-info/RECORD", data: record}) {
				fw, err := zw.Create(m.name)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := fw.Write(m.data); err != nil {
					t.Fatal(err)
				}
			}
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			err = VerifyRecord(w)
			if tt.want == "" && err != nil {
				t.Errorf("VerifyRecord = %v, want nil", err)
			}
			if tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("VerifyRecord = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
