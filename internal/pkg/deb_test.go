package pkg

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/venvpkg/venvpkg/internal/debarchive"
	"github.com/venvpkg/venvpkg/internal/testutil"
)

var testMTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// stageTree creates a small virtualenv-like payload below a new staging
// root, with on-disk modes and mtimes that WriteDeb must normalise.
func stageTree(t *testing.T, diskTime time.Time) string {
	t.Helper()
	root := t.TempDir()
	write := func(rel string, mode os.FileMode, body string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	write("opt/venvs/demo/bin/demo", 0o700, "#!/opt/venvs/demo/bin/python\nprint('demo')\n")
	write("opt/venvs/demo/lib/python3.11/site-packages/demo/__init__.py", 0o600, "VERSION = '1.0'\n")
	write("opt/venvs/demo/pyvenv.cfg", 0o664, "home = /usr/bin\n")
	if err := os.MkdirAll(filepath.Join(root, "opt/venvs/demo/include"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/usr/bin/python3.11", filepath.Join(root, "opt/venvs/demo/bin/python")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("python", filepath.Join(root, "opt/venvs/demo/bin/python3")); err != nil {
		t.Fatal(err)
	}
	err := filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.Mode()&os.ModeSymlink != 0 {
			return err
		}
		return os.Chtimes(path, diskTime, diskTime)
	})
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func testPackage(root string) *Package {
	return &Package{
		Name:        "demo",
		Version:     "1:1.0~rc1-1",
		Arch:        "amd64",
		Maintainer:  "Jane Doe <jane@example.com>",
		Summary:     "demo application",
		Description: "A demo application packaged with its virtualenv.\n\nIt has two paragraphs,\n   and indented text.\n",
		Homepage:    "https://example.com/demo",
		License:     "MIT",
		Depends:     []string{"zlib1g", "libc6 (>= 2.36)", "zlib1g", " "},
		Root:        root,
		MTime:       testMTime,
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	testutil.NeedTool(t, name, "dpkg") // run calls dpkg and dpkg-deb
	cmd := exec.CommandContext(context.Background(), name, args...)
	cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	testutil.Golden(t, filepath.Join("testdata", name), []byte(got))
}

func TestWriteDebControl(t *testing.T) {
	out := t.TempDir()
	path, err := WriteDeb(context.Background(), testPackage(stageTree(t, time.Now())), out)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(out, "demo_1.0~rc1-1_amd64.deb"); path != want {
		t.Errorf("WriteDeb wrote %s, want %s", path, want)
	}
	checkGolden(t, "control.golden", run(t, "dpkg-deb", "-f", path))
	checkGolden(t, "contents.golden", run(t, "dpkg-deb", "-c", path))
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("%s has mode %v, want 0644", path, st.Mode().Perm())
	}
}

func TestWriteDebReproducible(t *testing.T) {
	sum := func(diskTime time.Time) string {
		out := t.TempDir()
		path, err := WriteDeb(context.Background(), testPackage(stageTree(t, diskTime)), out)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%x", h.Sum(nil))
	}
	a := sum(time.Date(2011, 3, 4, 5, 6, 7, 0, time.UTC))
	b := sum(time.Date(2024, 9, 8, 7, 6, 5, 0, time.UTC))
	if a != b {
		t.Errorf("two writes of the same tree from different staging dirs and disk mtimes differ: sha256 %s vs %s", a, b)
	}
}

// arMembers lists the member names of an ar archive.
func arMembers(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("!<arch>\n")) {
		t.Fatalf("%s is not an ar archive", path)
	}
	var names []string
	for off := 8; off+60 <= len(data); {
		hdr := data[off : off+60]
		var size int
		if _, err := fmt.Sscanf(strings.TrimSpace(string(hdr[48:58])), "%d", &size); err != nil {
			t.Fatalf("%s: bad ar header %q: %v", path, hdr, err)
		}
		names = append(names, strings.TrimRight(strings.TrimSpace(string(hdr[:16])), "/"))
		off += 60 + size + size%2
	}
	return names
}

func TestWriteDebCompressions(t *testing.T) {
	tests := []struct {
		name        string
		compression string
		member      string
	}{
		{name: "default", compression: "", member: "data.tar.zst"},
		{name: "zstd", compression: "zstd", member: "data.tar.zst"},
		{name: "xz", compression: "xz", member: "data.tar.xz"},
		{name: "gzip", compression: "gzip", member: "data.tar.gz"},
		{name: "none", compression: "none", member: "data.tar"},
	}
	root := stageTree(t, time.Now())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPackage(root)
			p.Compression = tt.compression
			path, err := WriteDeb(context.Background(), p, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"debian-binary", "control.tar.gz", tt.member}
			if got := arMembers(t, path); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("WriteDeb with compression %q wrote members %v, want %v", tt.compression, got, want)
			}
			dest := t.TempDir()
			run(t, "dpkg-deb", "-x", path, dest)
			body, err := os.ReadFile(filepath.Join(dest, "opt/venvs/demo/lib/python3.11/site-packages/demo/__init__.py"))
			if err != nil {
				t.Fatalf("dpkg-deb -x: %v", err)
			}
			if string(body) != "VERSION = '1.0'\n" {
				t.Errorf("extracted __init__.py = %q, want %q", body, "VERSION = '1.0'\n")
			}
			if target, err := os.Readlink(filepath.Join(dest, "opt/venvs/demo/bin/python3")); err != nil || target != "python" {
				t.Errorf("extracted bin/python3 links to %q (%v), want %q", target, err, "python")
			}
		})
	}
}

func TestWriteDebFailureLeavesNothing(t *testing.T) {
	t.Run("packager fails half-way", func(t *testing.T) {
		orig := writeDebData
		t.Cleanup(func() { writeDebData = orig })
		writeDebData = func(_ context.Context, w *os.File, _ *debarchive.Control, _ []debarchive.Part, _ debarchive.Options) (*debarchive.Stats, error) {
			if _, err := w.Write(bytes.Repeat([]byte("x"), 2<<20)); err != nil {
				return nil, err
			}
			return nil, errors.New("disk on fire")
		}
		out := t.TempDir()
		if _, err := WriteDeb(context.Background(), testPackage(stageTree(t, time.Now())), out); err == nil {
			t.Fatal("WriteDeb succeeded, want the packager's error")
		}
		assertEmpty(t, out)
	})
	t.Run("unsupported file type", func(t *testing.T) {
		root := stageTree(t, time.Now())
		if err := exec.Command("mkfifo", filepath.Join(root, "opt/venvs/demo/fifo")).Run(); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
		out := t.TempDir()
		_, err := WriteDeb(context.Background(), testPackage(root), out)
		if err == nil || !strings.Contains(err.Error(), "/opt/venvs/demo/fifo") {
			t.Fatalf("WriteDeb with a fifo in the payload: error %v, want one naming /opt/venvs/demo/fifo", err)
		}
		assertEmpty(t, out)
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		out := t.TempDir()
		if _, err := WriteDeb(ctx, testPackage(stageTree(t, time.Now())), out); !errors.Is(err, context.Canceled) {
			t.Fatalf("WriteDeb with a cancelled context: error %v, want context.Canceled", err)
		}
		assertEmpty(t, out)
	})
}

func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("failed write left %s in the output directory", e.Name())
	}
}

func TestPackageValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(p *Package)
		want   string
	}{
		{name: "bad name", modify: func(p *Package) { p.Name = "Demo_App" }, want: "not a valid Debian package name"},
		{name: "bad version", modify: func(p *Package) { p.Version = "v1.0" }, want: "not a valid Debian version"},
		{name: "bad arch", modify: func(p *Package) { p.Arch = "x86_64 " }, want: "not a Debian architecture"},
		{name: "no summary", modify: func(p *Package) { p.Summary = " " }, want: "summary is empty"},
		{name: "no mtime", modify: func(p *Package) { p.MTime = time.Time{} }, want: "mtime is not set"},
		{name: "bad compression", modify: func(p *Package) { p.Compression = "bzip2" }, want: `compression "bzip2" is not supported`},
		{name: "multi-line maintainer", modify: func(p *Package) { p.Maintainer = "a\nb" }, want: "spans several lines"},
		{name: "comma in dependency", modify: func(p *Package) { p.Depends = []string{"a, b"} }, want: "single entry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPackage(t.TempDir())
			tt.modify(p)
			_, err := WriteDeb(context.Background(), p, t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("WriteDeb(%s) error = %v, want one containing %q", tt.name, err, tt.want)
			}
		})
	}
}

func TestDebFileName(t *testing.T) {
	tests := []struct {
		name string
		p    Package
		want string
	}{
		{name: "epoch dropped", p: Package{Name: "demo", Version: "2:1.0-1", Arch: "amd64"}, want: "demo_1.0-1_amd64.deb"},
		{name: "all", p: Package{Name: "demo", Version: "1.0~rc1-3", Arch: "all"}, want: "demo_1.0~rc1-3_all.deb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DebFileName(&tt.p); got != tt.want {
				t.Errorf("DebFileName(%+v) = %q, want %q", tt.p, got, tt.want)
			}
		})
	}
}

func TestDebArch(t *testing.T) {
	got := DebArch()
	testutil.NeedTool(t, "dpkg", "dpkg")
	want := strings.TrimSpace(run(t, "dpkg", "--print-architecture"))
	if got != want {
		t.Errorf("DebArch() = %q, want %q (dpkg --print-architecture)", got, want)
	}
}
