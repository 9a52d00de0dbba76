package pipeline_test

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/venvpkg/venvpkg/internal/pipeline"
	"github.com/venvpkg/venvpkg/internal/testutil"
	"github.com/venvpkg/venvpkg/internal/testutil/chroot"
)

// TestImage builds the web app as a .deb and an OCI image from one staged
// tree, twice from two copies of the project, on a base image made from
// the cached Debian bookworm tree with python3.11 installed. skopeo reads
// the archives and must see the same digest twice; umoci unpacks the
// image, and the web app started in a chroot of that root file system
// answers on loopback.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end image test skipped in -short mode")
	}
	needTools(t)
	skopeo := testutil.NeedTool(t, "skopeo", "skopeo")
	umoci := testutil.NeedTool(t, "umoci", "umoci")
	base := pythonBaseImage(t)
	wheels := webappWheels(t)
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")

	var archives []string
	var digests []string
	for i := 0; i < 2; i++ {
		project := filepath.Join(t.TempDir(), fmt.Sprintf("copy%d", i), "webapp")
		copyTree(t, repoPath(t, "testdata/webapp"), project)
		res := runBuild(t, pipeline.Options{ProjectDir: project, FindLinks: []string{wheels, pythonWheels}, NoIndex: true,
			OutDir: t.TempDir(), Formats: []string{"deb", "oci"}, BaseImage: base})
		if len(res.Packages) != 2 || !strings.HasSuffix(res.Packages[0], ".deb") {
			t.Fatalf("packages %v, want the .deb and the image", res.Packages)
		}
		archive := pkgPath(t, res, ".oci.tar")
		var info struct {
			Digest       string
			Architecture string
			Labels       map[string]string
		}
		out, err := exec.Command(skopeo, "inspect", "oci-archive:"+archive).CombinedOutput()
		if err != nil {
			t.Fatalf("skopeo inspect: %v\n%s", err, out)
		}
		if err := json.Unmarshal(out, &info); err != nil {
			t.Fatalf("skopeo inspect printed %s: %v", out, err)
		}
		if info.Architecture != "amd64" && info.Architecture != "arm64" {
			t.Errorf("architecture %q", info.Architecture)
		}
		if info.Labels["org.opencontainers.image.version"] != "1.0.0" || info.Labels["org.opencontainers.image.title"] != "webapp" {
			t.Errorf("labels %v", info.Labels)
		}
		archives, digests = append(archives, archive), append(digests, info.Digest)
	}
	if digests[0] == "" || digests[0] != digests[1] {
		t.Fatalf("two builds from two project copies gave the image digests %s and %s", digests[0], digests[1])
	}

	// umoci unpacks the image from an OCI layout, which skopeo copies out of the archive.
	work := t.TempDir()
	if out, err := exec.Command(skopeo, "copy", "oci-archive:"+archives[0], "oci:"+filepath.Join(work, "layout")+":webapp").CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy: %v\n%s", err, out)
	}
	bundle := filepath.Join(work, "bundle")
	if out, err := exec.Command(umoci, "unpack", "--image", filepath.Join(work, "layout")+":webapp", bundle).CombinedOutput(); err != nil {
		t.Fatalf("umoci unpack: %v\n%s", err, out)
	}
	var spec struct {
		Process struct {
			User struct{ UID, GID uint32 }
			Args []string
			Env  []string
			Cwd  string
		}
	}
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	if strings.Join(spec.Process.Args, " ") != "/opt/venvs/webapp/bin/webapp" || spec.Process.User.UID == 0 || spec.Process.Cwd != "/var/lib/webapp" {
		t.Errorf("runtime config: args %q, uid %d, cwd %q", spec.Process.Args, spec.Process.User.UID, spec.Process.Cwd)
	}
	rootfs := filepath.Join(bundle, "rootfs")

	// The entrypoint runs in a chroot of the unpacked image, as the image's
	// user, and serves the app on loopback.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, spec.Process.Args[0], "--port", fmt.Sprint(port))
	cmd.Env = spec.Process.Env
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: rootfs, Credential: &syscall.Credential{Uid: spec.Process.User.UID, Gid: spec.Process.User.GID}}
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the entrypoint in the image's root file system: %v", err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	var body string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		break
	}
	if body == "" {
		t.Fatalf("the web app in the image did not answer on 127.0.0.1:%d; its output:\n%s", port, log.String())
	}
	if !strings.Contains(strings.ToLower(body), "webapp") && !strings.Contains(body, "<") {
		t.Errorf("the web app answered %q", body)
	}
}

// pythonBaseImage is an OCI layout of the cached Debian bookworm tree with
// python3.11 installed, made once per test cache.
func pythonBaseImage(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(testutil.CacheDir(), "oci-base", chroot.Suite+"-python3.11")
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err == nil {
		return dir
	}
	c := chroot.New(t)
	c.Run(t, "apt-get", "install", "-y", "-q", "--no-install-recommends", "python3.11")
	layerTar := filepath.Join(t.TempDir(), "rootfs.tar")
	if err := tarRootfs(c.Dir, layerTar); err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromFile(layerTar, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON), layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", goArch(t, c)
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	tmp := dir + fmt.Sprintf(".tmp%d", os.Getpid())
	os.RemoveAll(tmp)
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
		if _, serr := os.Stat(filepath.Join(dir, "index.json")); serr != nil {
			t.Fatal(err)
		}
		os.RemoveAll(tmp)
	}
	return dir
}

func goArch(t *testing.T, c *chroot.Chroot) string {
	a := strings.TrimSpace(c.Run(t, "dpkg", "--print-architecture"))
	if a == "i386" {
		return "386"
	}
	return a
}

// tarRootfs writes the tree at root as a layer tar with its owners and
// modes, leaving out the contents of the mounted /proc and /dev.
func tarRootfs(root, file string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	tw := tar.NewWriter(bw)
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		if !info.Mode().IsRegular() && !info.IsDir() && link == "" {
			return nil // devices, sockets, fifos
		}
		h, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			h.Name += "/"
		}
		h.Uname, h.Gname = "", ""
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if info.IsDir() && (rel == "proc" || rel == "dev" || rel == "sys") {
			return filepath.SkipDir
		}
		if info.Mode().IsRegular() {
			in, err := os.Open(p)
			if err != nil {
				return err
			}
			defer in.Close()
			if _, err := io.Copy(tw, in); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}
