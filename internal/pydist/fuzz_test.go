package pydist

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzExtractTar feeds arbitrary tar streams to the unpacker: whatever it
// accepts or refuses, nothing may appear outside its directory and every
// symlink it made must resolve inside it.
func FuzzExtractTar(f *testing.F) {
	add := func(hs ...*tar.Header) {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, h := range hs {
			if h.Typeflag == tar.TypeReg {
				h.Size = 1
			}
			tw.WriteHeader(h)
			if h.Typeflag == tar.TypeReg {
				tw.Write([]byte("x"))
			}
		}
		tw.Close()
		f.Add(buf.Bytes())
	}
	add(&tar.Header{Name: "python/bin/python3.11", Typeflag: tar.TypeReg, Mode: 0o755})
	add(&tar.Header{Name: "python/lib", Typeflag: tar.TypeSymlink, Linkname: "../.."}, &tar.Header{Name: "python/lib/x", Typeflag: tar.TypeReg})
	add(&tar.Header{Name: "python/a", Typeflag: tar.TypeSymlink, Linkname: "b"}, &tar.Header{Name: "python/b", Typeflag: tar.TypeLink, Linkname: "python/a"})
	add(&tar.Header{Name: "python/../x", Typeflag: tar.TypeReg})
	add(&tar.Header{Name: "python/s", Typeflag: tar.TypeSymlink, Linkname: "."}, &tar.Header{Name: "python/t", Typeflag: tar.TypeSymlink, Linkname: "s/.."})
	f.Fuzz(func(t *testing.T, data []byte) {
		top, err := filepath.EvalSymlinks(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(top, "in")
		_ = extractTar(context.Background(), tar.NewReader(bytes.NewReader(data)), dir, Limits{Entries: 100, Bytes: 1 << 20})
		realDir := filepath.Join(dir, "python") // the tree every link must stay in
		entries, err := os.ReadDir(top)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name() != "in" {
				t.Fatalf("the unpacker wrote %s outside its directory", e.Name())
			}
		}
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.Type()&os.ModeSymlink == 0 {
				return err
			}
			target, err := os.Readlink(p)
			if err != nil {
				t.Fatal(err)
			}
			if filepath.IsAbs(target) {
				t.Fatalf("symlink %s -> %s is absolute", p, target)
			}
			// As the kernel resolves it, through other symlinks.
			if r, err := filepath.EvalSymlinks(p); err == nil && r != realDir && !strings.HasPrefix(r, realDir+string(filepath.Separator)) {
				t.Fatalf("symlink %s -> %s resolves to %s, outside the tree", p, target, r)
			}
			return nil
		})
	})
}
