package pybuild

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type member struct {
	name, body string
	link       string // a symlink target when set
}

func writeTarGz(t *testing.T, path string, members []member) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, m := range members {
		h := &tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.body)), Typeflag: tar.TypeReg}
		switch {
		case m.link != "":
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, m.link, 0
		case strings.HasSuffix(m.name, "/"):
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(m.body))
		}
	}
	tw.Close()
	gz.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeZip(t *testing.T, path string, members []member) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range members {
		w, err := zw.Create(m.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(m.body))
	}
	zw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestUnpackSdist(t *testing.T) {
	for _, tc := range []struct {
		name     string
		file     string
		members  []member
		wantRoot string // relative to the unpack directory
		wantErr  string
	}{
		{"tar.gz with a top directory", "p-1.0.tar.gz", []member{{name: "p-1.0/"}, {name: "p-1.0/pyproject.toml", body: "[project]"}, {name: "p-1.0/p.py"}}, "p-1.0", ""},
		{"zip without a top directory", "p-1.0.zip", []member{{name: "setup.py"}, {name: "p.py"}}, ".", ""},
		{"symlinks are skipped", "p-1.0.tar.gz", []member{{name: "p-1.0/setup.py"}, {name: "p-1.0/passwd", link: "/etc/passwd"}}, "p-1.0", ""},
		{"parent directory", "p-1.0.tar.gz", []member{{name: "p-1.0/setup.py"}, {name: "p-1.0/../../evil"}}, "", "leaves the archive's directory"},
		{"absolute path", "p-1.0.zip", []member{{name: "/tmp/evil"}}, "", "leaves the archive's directory"},
		{"no project", "p-1.0.tar.gz", []member{{name: "p-1.0/README"}}, "", "no pyproject.toml or setup.py"},
		{"not an sdist", "p-1.0.rar", nil, "", "not a .tar.gz or .zip sdist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			archive := filepath.Join(dir, tc.file)
			switch {
			case strings.HasSuffix(tc.file, ".tar.gz"):
				writeTarGz(t, archive, tc.members)
			case strings.HasSuffix(tc.file, ".zip"):
				writeZip(t, archive, tc.members)
			default:
				os.WriteFile(archive, nil, 0o644)
			}
			out := filepath.Join(dir, "out")
			root, err := UnpackSdist(archive, out)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("UnpackSdist(%s) error = %v, want %q", tc.file, err, tc.wantErr)
				}
				if _, err := os.Stat(filepath.Join(dir, "evil")); err == nil {
					t.Errorf("a member was written outside the directory")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(out, tc.wantRoot); root != filepath.Clean(want) {
				t.Errorf("root = %s, want %s", root, want)
			}
			if _, err := os.Lstat(filepath.Join(root, "passwd")); err == nil {
				t.Errorf("a symlink member was created")
			}
		})
	}
}
