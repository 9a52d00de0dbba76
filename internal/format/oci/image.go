package oci

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/venvpkg/venvpkg/internal/format"
	"github.com/venvpkg/venvpkg/internal/pep503"
	"github.com/venvpkg/venvpkg/internal/service"
)

// ociArches maps Debian architecture names to OCI's (GOARCH) where they
// differ.
var ociArches = map[string]string{"i386": "386", "armhf": "arm", "armel": "arm", "ppc64el": "ppc64le", "mipsel": "mipsle", "mips64el": "mips64le"}

// Arch is the OCI architecture of a Debian one; "" for "all".
func Arch(debArch string) string {
	if debArch == "all" || debArch == "" {
		return ""
	}
	if a, ok := ociArches[debArch]; ok {
		return a
	}
	return debArch
}

// defaultPath is the PATH of an image whose base sets none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Build assembles the image of in on its base: the payload layer (the
// staged tree), then a layer with the users, the configuration files and
// the services' directories, and the configuration. tmp holds what the
// image reads lazily and must outlive it.
func Build(ctx context.Context, in *format.Input, tmp string) (v1.Image, error) {
	if in.BaseImage == "" {
		return nil, fmt.Errorf("no base image: pass --base-image with an OCI image layout or archive that has the interpreter %s (%s), or --base-image scratch with a bundled interpreter (--python-dist)", pyPath(in), baseHint)
	}
	arch := Arch(in.Package.Arch)
	base, err := LoadBase(in.BaseImage, tmp, arch)
	if err != nil {
		return nil, err
	}
	baseCfg, err := base.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("base image %s: %w", in.BaseImage, err)
	}
	scratch := in.BaseImage == Scratch
	if scratch {
		if !in.BundledPython {
			return nil, fmt.Errorf("--base-image scratch has no interpreter, and the virtualenv links to %s; bundle one with --python-dist or name a base image that has it", pyPath(in))
		}
		if arch == "" {
			arch = runtime.GOARCH
		}
	} else {
		if baseCfg.OS != "" && baseCfg.OS != "linux" {
			return nil, fmt.Errorf("base image %s is for %s, not linux", in.BaseImage, baseCfg.OS)
		}
		switch {
		case arch == "":
			arch = baseCfg.Architecture
		case baseCfg.Architecture != arch:
			return nil, fmt.Errorf("architecture mismatch: the package is %s (it carries machine code built for it) but the base image %s is %s; use a base image for %s", in.Package.Arch, in.BaseImage, baseCfg.Architecture, arch)
		}
	}
	if arch == "" {
		arch = runtime.GOARCH
	}

	entry, err := entrypoint(in)
	if err != nil {
		return nil, err
	}
	files, err := readFiles(base, "etc/passwd", "etc/group")
	if err != nil {
		return nil, fmt.Errorf("base image %s: %w", in.BaseImage, err)
	}
	acct, err := newAccounts(string(files["etc/passwd"]), string(files["etc/group"]), in)
	if err != nil {
		return nil, err
	}

	payload, err := tarLayer(filepath.Join(tmp, "payload.tar"), func(tw *tar.Writer) error {
		return writeTree(ctx, tw, in.Package.Root, in.Package.MTime)
	})
	if err != nil {
		return nil, fmt.Errorf("the payload layer: %w", err)
	}
	system, err := tarLayer(filepath.Join(tmp, "system.tar"), func(tw *tar.Writer) error {
		return writeSystem(tw, in, acct)
	})
	if err != nil {
		return nil, fmt.Errorf("the system layer: %w", err)
	}

	created := v1.Time{Time: in.Package.MTime.UTC()}
	img := base
	if mt, err := base.MediaType(); err == nil && mt == types.DockerManifestSchema2 {
		img, err = ociLayers(base)
		if err != nil {
			return nil, err
		}
	}
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: payload, MediaType: types.OCILayer, History: v1.History{Created: created, CreatedBy: "venvpkg: the virtualenv " + in.Prefix, Comment: in.Package.Name + " " + in.Package.Version}},
		mutate.Addendum{Layer: system, MediaType: types.OCILayer, History: v1.History{Created: created, CreatedBy: "venvpkg: users, configuration files and directories of " + in.Package.Name}},
	)
	if err != nil {
		return nil, err
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = "linux", arch, ""
	if arch == "arm" {
		cf.Variant = "v7"
	}
	cf.Created = created
	c := &cf.Config
	c.Entrypoint, c.Cmd = entry, nil
	c.User = strconv.Itoa(acct.uid) + ":" + strconv.Itoa(acct.gid)
	c.WorkingDir = service.StateDir(in.Package.Name)
	c.Env = environment(c.Env, in.Prefix)
	c.ExposedPorts = ports(in)
	c.Labels = labels(c.Labels, in)
	c.StopSignal = "SIGTERM"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	return mutate.Annotations(img, map[string]string{
		"org.opencontainers.image.created": created.Format(time.RFC3339),
		"org.opencontainers.image.version": in.Version.String(),
	}).(v1.Image), nil
}

// ociLayers re-presents a docker-archive base's layers as OCI layers.
func ociLayers(base v1.Image) (v1.Image, error) {
	cf, err := base.ConfigFile()
	if err != nil {
		return nil, err
	}
	ls, err := base.Layers()
	if err != nil {
		return nil, err
	}
	img, err := mutate.ConfigFile(emptyOCI(), &v1.ConfigFile{Architecture: cf.Architecture, OS: cf.OS, Variant: cf.Variant, Config: cf.Config, Created: cf.Created, Author: cf.Author})
	if err != nil {
		return nil, err
	}
	var adds []mutate.Addendum
	hist := cf.History
	hi := 0
	for _, l := range ls {
		a := mutate.Addendum{Layer: ociLayer{l}, MediaType: types.OCILayer}
		for hi < len(hist) && hist[hi].EmptyLayer {
			hi++
		}
		if hi < len(hist) {
			a.History = hist[hi]
			hi++
		}
		adds = append(adds, a)
	}
	return mutate.Append(img, adds...)
}

func pyPath(in *format.Input) string {
	if in.Python == nil {
		return "the target interpreter"
	}
	return in.Python.Executable
}

// entrypoint is the first service's command, else the project's console
// script named like the project or the package, else its only one.
func entrypoint(in *format.Input) ([]string, error) {
	if len(in.Services) > 0 {
		argv, err := service.Command(in.Prefix, in.Services[0])
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", in.Services[0].Name, err)
		}
		return argv, nil
	}
	scripts, err := consoleScripts(in)
	if err != nil {
		return nil, err
	}
	for _, want := range []string{pep503.Normalize(in.Project), pep503.Normalize(in.Package.Name)} {
		for _, s := range scripts {
			if pep503.Normalize(s) == want {
				return []string{path.Join(in.Prefix, "bin", s)}, nil
			}
		}
	}
	if len(scripts) == 1 {
		return []string{path.Join(in.Prefix, "bin", scripts[0])}, nil
	}
	if len(scripts) == 0 {
		return nil, fmt.Errorf("the image has no entrypoint: %s declares no console script ([project.scripts]) and no service ([tool.venvpkg.services]); add one", in.Project)
	}
	return nil, fmt.Errorf("the image has no entrypoint: %s has the console scripts %s and none is named like the project; declare the one to run as a service ([tool.venvpkg.services])", in.Project, strings.Join(scripts, ", "))
}

// consoleScripts reads the project's console scripts from the entry_points.txt
// of its installed .dist-info.
func consoleScripts(in *format.Input) ([]string, error) {
	pattern := filepath.Join(in.Package.Root, in.Prefix, "lib", "python*", "site-packages", "*.dist-info", "entry_points.txt")
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return nil, err
	}
	want := pep503.Normalize(in.Project)
	for _, m := range matches {
		dist := strings.TrimSuffix(filepath.Base(filepath.Dir(m)), ".dist-info")
		name, _, _ := strings.Cut(dist, "-")
		if pep503.Normalize(name) != want {
			continue
		}
		data, err := os.ReadFile(m)
		if err != nil {
			return nil, err
		}
		return parseConsoleScripts(data), nil
	}
	return nil, nil
}

// parseConsoleScripts lists the names of the [console_scripts] section of
// an entry_points.txt, sorted.
func parseConsoleScripts(data []byte) []string {
	var names []string
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.TrimSpace(line[1 : len(line)-1])
		case section == "console_scripts":
			if name, _, ok := strings.Cut(line, "="); ok {
				names = append(names, strings.TrimSpace(name))
			}
		}
	}
	sort.Strings(names)
	return names
}

// environment puts the virtualenv's bin first on the base image's PATH.
func environment(base []string, prefix string) []string {
	var env []string
	p := defaultPath
	for _, e := range base {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			p = v
			continue
		}
		env = append(env, e)
	}
	return append(env, "PATH="+path.Join(prefix, "bin")+":"+p)
}

// ports are the TCP ports the services listen on.
func ports(in *format.Input) map[string]struct{} {
	var out map[string]struct{}
	for _, s := range in.Services {
		if s.Listen == "" || strings.HasPrefix(s.Listen, "/") {
			continue
		}
		if _, port, err := net.SplitHostPort(s.Listen); err == nil {
			if out == nil {
				out = map[string]struct{}{}
			}
			out[port+"/tcp"] = struct{}{}
		}
	}
	return out
}

// labels adds the org.opencontainers.image.* annotations of the project to
// the base image's labels.
func labels(base map[string]string, in *format.Input) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	set := func(k, v string) {
		if v != "" {
			out["org.opencontainers.image."+k] = v
		} else {
			delete(out, "org.opencontainers.image."+k)
		}
	}
	set("title", in.Package.Name)
	set("version", in.Version.String())
	set("description", in.Package.Summary)
	set("url", in.Package.Homepage)
	set("source", in.Source)
	set("revision", in.Revision)
	set("licenses", in.Package.License)
	set("vendor", in.Package.Maintainer)
	set("created", in.Package.MTime.UTC().Format(time.RFC3339))
	set("base.name", "")
	set("base.digest", "")
	return out
}

// tarLayer writes a layer's tar to file with fill and opens it as a
// gzip-compressed OCI layer.
func tarLayer(file string, fill func(*tar.Writer) error) (v1.Layer, error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	tw := tar.NewWriter(bw)
	err = fill(tw)
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return tarball.LayerFromFile(file, tarball.WithMediaType(types.OCILayer))
}

// writeTree adds every entry below root at its path relative to root,
// sorted, owned by root, dated mtime.
func writeTree(ctx context.Context, tw *tar.Writer, root string, mtime time.Time) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		h := tarHeader(name, tar.TypeReg, int64(info.Mode().Perm()), 0, 0)
		h.ModTime = mtime
		switch {
		case d.IsDir():
			h.Typeflag, h.Name = tar.TypeDir, name+"/"
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, target, 0o777
		case info.Mode().IsRegular():
			h.Size = info.Size()
		default:
			return fmt.Errorf("%s: %s is neither a file, a directory nor a symlink", root, rel)
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if n, err := io.Copy(tw, f); err != nil || n != h.Size {
			return errors.Join(err, fmt.Errorf("%s changed while it was being read", p))
		}
		return nil
	})
}

// tarDir writes the directory dir (an image layout) as a tar file with
// sorted entries dated mtime.
func tarDir(w io.Writer, dir string, mtime time.Time) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	tw := tar.NewWriter(bw)
	if err := writeTree(context.Background(), tw, dir, mtime); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// writeDockerArchive writes img as docker save does, tagged name:version.
func writeDockerArchive(w io.Writer, img v1.Image, in *format.Input) error {
	return writeDocker(w, img, strings.ToLower(in.Package.Name)+":"+Tag(in))
}
