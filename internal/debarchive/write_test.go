package debarchive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/venvpkg/venvpkg/internal/testutil"
)

var (
	epoch    = time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC)
	depEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
)

func needDpkg(t *testing.T) {
	t.Helper()
	testutil.NeedTool(t, "dpkg-deb", "dpkg")
	testutil.NeedTool(t, "md5sum", "coreutils")
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// stage writes a tree below a new directory: a virtualenv-like skeleton,
// a "dependency" tree with a file larger than a frame, and the project.
func stage(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	write := func(rel string, data []byte, mode fs.FileMode) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 300<<10)
	for i := range big {
		big[i] = "abcdefghij"[rng.IntN(10)] // compressible, not trivially
	}
	write("opt/venvs/demo/pyvenv.cfg", []byte("home = /usr/bin\n"), 0o644)
	write("opt/venvs/demo/bin/demo", []byte("#!/opt/venvs/demo/bin/python\nimport demo\n"), 0o755)
	if err := os.Symlink("/usr/bin/python3.11", filepath.Join(root, "opt/venvs/demo/bin/python")); err != nil {
		t.Fatal(err)
	}
	sp := "opt/venvs/demo/lib/python3.11/site-packages/"
	write(sp+"dep/__init__.py", []byte("X = 1\n"), 0o644)
	write(sp+"dep/data.bin", big, 0o644)
	write(sp+"dep/"+strings.Repeat("long-name-", 12)+".py", []byte("# long\n"), 0o644)
	write(sp+"dep-1.0.dist-info/RECORD", []byte("dep/__init__.py,,\n"), 0o644)
	write(sp+"demo/__init__.py", []byte("VERSION = '1.0'\n"), 0o644)
	return root
}

// walk lists the entries below root whose final path satisfies keep,
// sorted.
func walk(t *testing.T, root string, keep func(final string, d fs.DirEntry) bool) []Entry {
	t.Helper()
	var es []Entry
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		final := "/" + filepath.ToSlash(strings.TrimPrefix(p, root+"/"))
		if !keep(final, d) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := Entry{Path: final, Mode: info.Mode().Perm()}
		switch {
		case d.IsDir():
			e.Type = Dir
		case d.Type()&fs.ModeSymlink != 0:
			e.Type = Symlink
			e.Link, _ = os.Readlink(p)
		default:
			e.Type, e.Size, e.Source = File, info.Size(), p
		}
		es = append(es, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

const sp = "/opt/venvs/demo/lib/python3.11/site-packages/"

// parts cuts the tree as venvpkg does: directories and the skeleton, a
// dependency tree, the project, metadata. cache is the dependency's
// cache directory ("" for none).
func parts(t *testing.T, root, cache string) []Part {
	inDep := func(f string) bool { return strings.HasPrefix(f, sp+"dep/") || strings.HasPrefix(f, sp+"dep-") }
	inDemo := func(f string) bool { return strings.HasPrefix(f, sp+"demo/") }
	skel := walk(t, root, func(f string, d fs.DirEntry) bool { return d.IsDir() || !inDep(f) && !inDemo(f) })
	skel = append(skel, Entry{Path: "/etc/demo", Type: Dir, Mode: 0o755},
		Entry{Path: "/etc/demo/demo.conf", Type: File, Mode: 0o640, Data: []byte("port = 1\n"), Size: 9, Group: "demo"})
	return []Part{
		{Name: "skeleton", Entries: sortEntries(skel), MTime: epoch},
		{Name: "dep-1.0", Entries: walk(t, root, func(f string, d fs.DirEntry) bool { return !d.IsDir() && inDep(f) }), MTime: depEpoch, CacheDir: cache},
		{Name: "demo", Entries: walk(t, root, func(f string, d fs.DirEntry) bool { return !d.IsDir() && inDemo(f) }), MTime: epoch},
	}
}

func sortEntries(es []Entry) []Entry {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].Path < es[j-1].Path; j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
	return es
}

func control() *Control {
	return &Control{
		Package: "demo", Version: "1.0-1", Architecture: "all", Maintainer: "Jane Doe <jane@example.com>",
		Section: "misc", Priority: "optional", Depends: []string{"python3.11"}, Homepage: "https://example.com",
		Description: "demo application\nA demo.\n\nSecond paragraph.",
		Conffiles:   []string{"/etc/demo/demo.conf"},
		Scripts:     map[string]string{"postinst": "#!/bin/sh\nset -e\n"},
	}
}

func writeDeb(t *testing.T, ps []Part, o Options) (string, *Stats) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "demo.deb")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if o.MTime.IsZero() {
		o.MTime = epoch
	}
	st, err := Write(context.Background(), f, control(), ps, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return out, st
}

func sha(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	testutil.Golden(t, filepath.Join("testdata", name), []byte(got))
}

// TestReadBack writes the package in every compression and reads it back
// with dpkg-deb: the control member, the listing, the extracted files and
// md5sum -c over them.
func TestReadBack(t *testing.T) {
	needDpkg(t)
	root := stage(t)
	for _, c := range Compressions {
		t.Run(c, func(t *testing.T) {
			deb, _ := writeDeb(t, parts(t, root, ""), Options{Compression: c})
			checkGolden(t, "info.golden", run(t, "dpkg-deb", "--field", deb))
			checkGolden(t, "contents.golden", run(t, "dpkg-deb", "--contents", deb))
			x := t.TempDir()
			run(t, "dpkg-deb", "-x", deb, x)
			for _, rel := range []string{"opt/venvs/demo/pyvenv.cfg", sp[1:] + "dep/data.bin", sp[1:] + "demo/__init__.py"} {
				want, _ := os.ReadFile(filepath.Join(root, rel))
				got, err := os.ReadFile(filepath.Join(x, rel))
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("extracted %s differs from the staged file (%v)", rel, err)
				}
			}
			if l, err := os.Readlink(filepath.Join(x, "opt/venvs/demo/bin/python")); err != nil || l != "/usr/bin/python3.11" {
				t.Errorf("bin/python links to %q (%v)", l, err)
			}
			ctl := t.TempDir()
			run(t, "dpkg-deb", "-e", deb, ctl)
			cmd := exec.Command("md5sum", "--check", "--strict", filepath.Join(ctl, "md5sums"))
			cmd.Dir = x
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("md5sum -c: %v\n%s", err, out)
			}
			for name, want := range map[string]string{"conffiles": "/etc/demo/demo.conf\n", "postinst": "#!/bin/sh\nset -e\n"} {
				if got, _ := os.ReadFile(filepath.Join(ctl, name)); string(got) != want {
					t.Errorf("control member %s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

// TestCacheByteIdentical writes the same package without the cache, with
// it cold and warm, after a change of the cached part and back: the
// bytes only follow the parts, and dpkg-deb reads the md5sums from the
// cache back as right.
func TestCacheByteIdentical(t *testing.T) {
	needDpkg(t)
	root := stage(t)
	cache := t.TempDir()
	ref, _ := writeDeb(t, parts(t, root, ""), Options{Compression: "zstd", Jobs: 2})
	cold, st := writeDeb(t, parts(t, root, cache), Options{Compression: "zstd", Jobs: 2})
	if st.CachedParts != 0 {
		t.Errorf("cold write reused %d parts, want 0", st.CachedParts)
	}
	warm, st := writeDeb(t, parts(t, root, cache), Options{Compression: "zstd", Jobs: 1})
	if st.CachedParts != 1 {
		t.Errorf("warm write: %+v, want the dependency's md5sums reused", st)
	}
	want := sha(t, ref)
	for name, p := range map[string]string{"cold": cold, "warm": warm} {
		if got := sha(t, p); got != want {
			t.Errorf("%s cache: sha256 %s, without cache %s", name, got, want)
		}
	}

	init := filepath.Join(root, sp[1:], "dep/__init__.py")
	if err := os.WriteFile(init, []byte("X = 22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	changedRef, _ := writeDeb(t, parts(t, root, ""), Options{Compression: "zstd"})
	changed, _ := writeDeb(t, parts(t, root, cache), Options{Compression: "zstd"})
	if sha(t, changed) != sha(t, changedRef) || sha(t, changed) == want {
		t.Errorf("after a change of size: cached %s, uncached %s, before %s", sha(t, changed), sha(t, changedRef), want)
	}
	if err := os.WriteFile(init, []byte("X = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	back, st := writeDeb(t, parts(t, root, cache), Options{Compression: "zstd"})
	if got := sha(t, back); got != want || st.CachedParts != 1 {
		t.Errorf("changed back: sha256 %s (%d parts reused), want %s", got, st.CachedParts, want)
	}
	x, ctl := t.TempDir(), t.TempDir()
	run(t, "dpkg-deb", "-x", back, x)
	run(t, "dpkg-deb", "-e", back, ctl)
	cmd := exec.Command("md5sum", "--check", "--strict", filepath.Join(ctl, "md5sums"))
	cmd.Dir = x
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("md5sum -c: %v\n%s", err, out)
	}
}

// TestXzThreads: xz output does not depend on the number of threads.
func TestXzThreads(t *testing.T) {
	needDpkg(t)
	testutil.NeedTool(t, "xz", "xz-utils")
	root := stage(t)
	one, _ := writeDeb(t, parts(t, root, ""), Options{Compression: "xz", Jobs: 1})
	two, _ := writeDeb(t, parts(t, root, ""), Options{Compression: "xz", Jobs: 2})
	if sha(t, one) != sha(t, two) {
		t.Error("xz with 1 and 2 threads wrote different packages")
	}
}

func TestWriteErrors(t *testing.T) {
	root := stage(t)
	tests := []struct {
		name   string
		edit   func([]Part) []Part
		o      Options
		errHas string
	}{
		{"unknown compression", nil, Options{Compression: "lz4"}, `compression "lz4" is not supported`},
		{"file changed size", func(ps []Part) []Part { ps[2].Entries[0].Size++; return ps }, Options{Compression: "zstd"}, "changed size"},
		{"file vanished", func(ps []Part) []Part { ps[2].Entries[0].Source += ".gone"; return ps }, Options{Compression: "gzip"}, "no such file"},
		{"relative path", func(ps []Part) []Part { ps[0].Entries[0].Path = "opt"; return ps }, Options{Compression: "none"}, "not a clean absolute path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := parts(t, root, "")
			if tt.edit != nil {
				ps = tt.edit(ps)
			}
			f, err := os.Create(filepath.Join(t.TempDir(), "x.deb"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			tt.o.MTime = epoch
			_, err = Write(context.Background(), f, control(), ps, tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("Write = %v, want an error containing %q", err, tt.errHas)
			}
		})
	}
}

func TestArHeader(t *testing.T) {
	h, err := arHeader("data.tar.zst", 1700000000, 12345)
	if err != nil {
		t.Fatal(err)
	}
	want := "data.tar.zst    1700000000  0     0     100644  12345     `\n"
	if string(h) != want {
		t.Errorf("arHeader = %q, want %q", h, want)
	}
	if _, err := arHeader(strings.Repeat("x", 17), 0, 0); err == nil {
		t.Error("arHeader accepted a 17-byte name")
	}
}
