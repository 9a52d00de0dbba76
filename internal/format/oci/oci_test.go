package oci

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/venvpkg/venvpkg/internal/config"
	"github.com/venvpkg/venvpkg/internal/format"
	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pkg"
)

var epoch = time.Unix(1700000000, 0).UTC()

// stage writes a small staged tree below a fresh directory of parent: a
// virtualenv with the console script demo and its dist-info.
func stage(t *testing.T, parent string) string {
	t.Helper()
	root, err := os.MkdirTemp(parent, "root-")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"opt/venvs/demo/bin/demo":                                                         "#!/opt/venvs/demo/bin/python\nprint('demo')\n",
		"opt/venvs/demo/lib/python3.11/site-packages/demo/__init__.py":                    "",
		"opt/venvs/demo/lib/python3.11/site-packages/demo-1.0.dist-info/entry_points.txt": "[console_scripts]\ndemo-tool = demo:tool\ndemo = demo:main\n",
		"opt/venvs/demo/sbom.cdx.json":                                                    "{}\n",
	}
	for p, data := range files {
		fp := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(fp), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.Contains(p, "/bin/") {
			mode = 0o755
		}
		if err := os.WriteFile(fp, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		// Build-time mtimes differ between the two builds; the image must not.
		os.Chtimes(fp, time.Now(), time.Now())
	}
	if err := os.Symlink("python3.11", filepath.Join(root, "opt/venvs/demo/bin/python")); err != nil {
		t.Fatal(err)
	}
	return root
}

func input(root, base string) *format.Input {
	return &format.Input{
		Package: pkg.Package{Name: "demo", Version: "1.0-1", Arch: "all", Maintainer: "Demo <demo@example.invalid>",
			Summary: "A demo", License: "MIT", Root: root, MTime: epoch},
		Version: pep440.MustParse("1.0"), Release: "1", Project: "demo", Prefix: "/opt/venvs/demo",
		BundledPython: true, BaseImage: base,
		ConfigFiles: []pkg.File{{Path: "/etc/demo/demo.conf", Data: []byte("x = 1\n"), Mode: 0o640, Owner: "root", Group: "demo"}},
	}
}

// baseLayout writes a one-layer base image for arch as an OCI layout.
func baseLayout(t *testing.T, arch string, files map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, data := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg, ModTime: epoch})
		tw.Write([]byte(data))
	}
	tw.Close()
	layer, err := tarball.LayerFromReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(emptyOCI(), layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = arch, "linux"
	cf.Config.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "base-"+arch)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	return dir
}

func readArchive(t *testing.T, archive string) v1.Image {
	t.Helper()
	img, err := LoadBase(archive, t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestReproducible builds the image twice from two staging directories
// with different file times and expects the same archive bytes.
func TestReproducible(t *testing.T) {
	base := baseLayout(t, "amd64", map[string]string{"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nsystemd-network:x:999:999::/:/usr/sbin/nologin\n", "etc/group": "root:x:0:\nsystemd-journal:x:999:\n"})
	var archives [][]byte
	var paths []string
	for i := 0; i < 2; i++ {
		root := stage(t, t.TempDir())
		out := t.TempDir()
		p, err := Format{}.Write(context.Background(), input(root, base), out)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		archives, paths = append(archives, data), append(paths, p)
	}
	if !bytes.Equal(archives[0], archives[1]) {
		t.Fatal("two builds from different staging directories gave different oci-archives")
	}
	if filepath.Base(paths[0]) != "demo_1.0-1_all.oci.tar" {
		t.Errorf("file name %s", filepath.Base(paths[0]))
	}
	img := readArchive(t, paths[0])
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if strings.Join(c.Entrypoint, " ") != "/opt/venvs/demo/bin/demo" {
		t.Errorf("entrypoint %q, want the console script named like the project", c.Entrypoint)
	}
	if c.User != "998:998" {
		t.Errorf("user %q, want 998:998 (999 is taken in the base's passwd)", c.User)
	}
	if c.WorkingDir != "/var/lib/demo" {
		t.Errorf("working directory %q", c.WorkingDir)
	}
	if strings.Join(c.Env, " ") != "LANG=C.UTF-8 PATH=/opt/venvs/demo/bin:/usr/bin:/bin" {
		t.Errorf("env %q", c.Env)
	}
	if c.Labels["org.opencontainers.image.version"] != "1.0" || c.Labels["org.opencontainers.image.licenses"] != "MIT" || c.Labels["org.opencontainers.image.created"] != "2023-11-14T22:13:20Z" {
		t.Errorf("labels %v", c.Labels)
	}
	if cf.Architecture != "amd64" || !cf.Created.Time.Equal(epoch) {
		t.Errorf("architecture %s created %v", cf.Architecture, cf.Created)
	}
	files := extract(t, img)
	if !strings.Contains(files["etc/passwd"], "demo:x:998:998:demo:/var/lib/demo:/usr/sbin/nologin\n") || !strings.HasPrefix(files["etc/passwd"], "root:x:0:0") {
		t.Errorf("passwd:\n%s", files["etc/passwd"])
	}
	if files["etc/group"] != "root:x:0:\nsystemd-journal:x:999:\ndemo:x:998:\n" {
		t.Errorf("group:\n%s", files["etc/group"])
	}
	if files["etc/demo/demo.conf"] != "x = 1\n" || files["opt/venvs/demo/bin/demo"] == "" {
		t.Errorf("config file or payload missing: %v", keys(files))
	}
	if files["mode etc/demo/demo.conf"] != "640 0:998" {
		t.Errorf("demo.conf is %s, want 640 0:998", files["mode etc/demo/demo.conf"])
	}
	if files["mode var/lib/demo"] != "750 998:998" {
		t.Errorf("state directory is %s, want 750 998:998", files["mode var/lib/demo"])
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// extract flattens img and returns its files' contents, and "mode <name>"
// entries with permission bits and owner.
func extract(t *testing.T, img v1.Image) map[string]string {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		if h.Typeflag == tar.TypeReg {
			out[h.Name] = string(data)
		}
		out["mode "+strings.TrimSuffix(h.Name, "/")] = fmt.Sprintf("%o %d:%d", h.Mode&0o7777, h.Uid, h.Gid)
	}
}

// TestServiceEntrypointAndPorts: a service gives the entrypoint, its user
// and its exposed port.
func TestServiceEntrypointAndPorts(t *testing.T) {
	in := input(stage(t, t.TempDir()), Scratch)
	in.Services = []config.Service{{Name: "web", Command: "demo-tool --serve", User: "www", Group: "www", Listen: "127.0.0.1:8080"}, {Name: "sock", Command: "demo", User: "www", Group: "www", Listen: "/run/demo/demo.sock"}}
	img, err := Build(context.Background(), in, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	if got := strings.Join(cf.Config.Entrypoint, " "); got != "/opt/venvs/demo/bin/demo-tool --serve" {
		t.Errorf("entrypoint %q", got)
	}
	if _, ok := cf.Config.ExposedPorts["8080/tcp"]; !ok || len(cf.Config.ExposedPorts) != 1 {
		t.Errorf("exposed ports %v, want only 8080/tcp", cf.Config.ExposedPorts)
	}
	if cf.Config.User != "999:999" {
		t.Errorf("user %q on scratch, want 999:999", cf.Config.User)
	}
}

// TestBadBase: each wrong base image gets one error naming it and what a
// base image may be.
func TestBadBase(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("not a tar archive at all, just some words\n"), 0o644)
	emptyTar := filepath.Join(dir, "empty.tar")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Typeflag: tar.TypeReg})
	tw.Close()
	os.WriteFile(emptyTar, buf.Bytes(), 0o644)
	arm := baseLayout(t, "arm64", map[string]string{"etc/passwd": "root:x:0:0::/root:/bin/sh\n"})
	for _, tc := range []struct {
		name, base, arch, want string
		bundled                bool
		notImage               bool
	}{
		{"missing", filepath.Join(dir, "nope"), "all", "does not exist", true, false},
		{"text file", text, "all", "not a tar archive", true, true},
		{"tar without image", emptyTar, "all", "neither oci-layout nor manifest.json", true, true},
		{"directory without layout", dir, "all", "no oci-layout file", true, true},
		{"architecture mismatch", arm, "amd64", "architecture mismatch: the package is amd64", true, false},
		{"scratch without interpreter", Scratch, "all", "has no interpreter", false, false},
		{"none", "", "all", "no base image", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := input(stage(t, t.TempDir()), tc.base)
			in.Package.Arch, in.BundledPython = tc.arch, tc.bundled
			out := t.TempDir()
			_, err := Format{}.Write(context.Background(), in, out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if tc.base != "" && tc.base != Scratch && !strings.Contains(err.Error(), tc.base) {
				t.Errorf("error %q does not name the base image", err)
			}
			if errors.Is(err, errNotImage) != tc.notImage {
				t.Errorf("errors.Is(err, errNotImage) = %v", !tc.notImage)
			}
			if left, _ := os.ReadDir(out); len(left) != 0 {
				t.Errorf("left in the output directory: %v", left)
			}
		})
	}
}

// TestDockerArchive writes a docker-archive and uses it as the base of an
// OCI image, whose manifest is then OCI throughout.
func TestDockerArchive(t *testing.T) {
	base := baseLayout(t, "amd64", map[string]string{"etc/passwd": "root:x:0:0::/root:/bin/sh\n"})
	in := input(stage(t, t.TempDir()), base)
	p, err := Format{Docker: true}.Write(context.Background(), in, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(p) != "demo_1.0-1_all.docker.tar" {
		t.Errorf("file name %s", p)
	}
	in2 := input(stage(t, t.TempDir()), p)
	in2.Package.Name = "demo2"
	img, err := Build(context.Background(), in2, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != "application/vnd.oci.image.manifest.v1+json" {
		t.Errorf("manifest media type %s", m.MediaType)
	}
	for _, l := range m.Layers {
		if l.MediaType != "application/vnd.oci.image.layer.v1.tar+gzip" {
			t.Errorf("layer media type %s", l.MediaType)
		}
	}
	if len(m.Layers) != 5 {
		t.Errorf("%d layers, want 5 (base, two of demo, two of demo2)", len(m.Layers))
	}
}

func TestParseConsoleScripts(t *testing.T) {
	got := parseConsoleScripts([]byte("[gui_scripts]\ng = a:b\n\n[console_scripts]\n# comment\nzed=a:b\n alpha = a:c [extra]\n[other]\nx = y\n"))
	if strings.Join(got, ",") != "alpha,zed" {
		t.Errorf("got %q", got)
	}
}
