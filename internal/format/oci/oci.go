// Package oci is the container image format: the staged virtualenv as a
// layer on top of a base image the user names (an OCI image layout, an
// oci-archive or a docker-archive on disk) or on nothing at all
// ("scratch"), configured from the project (entrypoint, user, working
// directory, environment, exposed ports, org.opencontainers.image.*
// labels), written as an oci-archive (format "oci") or a docker-archive
// (format "docker-archive"). No daemon and no Dockerfile are involved, and
// the same inputs give the same image digest from any build directory.
package oci

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/venvpkg/venvpkg/internal/atomicfile"
	"github.com/venvpkg/venvpkg/internal/format"
	"github.com/venvpkg/venvpkg/internal/service"
)

// Scratch names the empty base image.
const Scratch = "scratch"

// Format writes an image archive: an OCI image layout in a tar file
// (skopeo's and podman's oci-archive), or with Docker set, the docker-archive
// that docker save writes and docker load reads.
type Format struct {
	Docker bool
}

var _ format.Format = Format{}

// Name implements format.Format.
func (f Format) Name() string {
	if f.Docker {
		return "docker-archive"
	}
	return "oci"
}

// Describe is the one-line description --format completion shows.
func (f Format) Describe() string {
	if f.Docker {
		return "container image as a docker-archive (docker load)"
	}
	return "container image as an oci-archive (skopeo, podman)"
}

// FileName implements format.Format: name_version_arch.oci.tar or
// .docker.tar.
func (f Format) FileName(in *format.Input) string {
	ext := ".oci.tar"
	if f.Docker {
		ext = ".docker.tar"
	}
	v := strings.ReplaceAll(in.Package.Version, ":", "%3a")
	return in.Package.Name + "_" + v + "_" + in.Package.Arch + ext
}

// Services implements format.Format: an image runs its one program, no
// service manager.
func (Format) Services() *service.Flavour { return nil }

// Write implements format.Format.
func (f Format) Write(ctx context.Context, in *format.Input, outDir string) (string, error) {
	tmp, err := os.MkdirTemp("", "venvpkg-oci-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	img, err := Build(ctx, in, tmp)
	if err != nil {
		return "", fmt.Errorf("writing image %s: %w", in.Package.Name, err)
	}
	dst := filepath.Join(outDir, f.FileName(in))
	out, err := atomicfile.Create(dst, 0o644)
	if err != nil {
		return "", err
	}
	defer out.Abort()
	if f.Docker {
		err = writeDockerArchive(out, img, in)
	} else {
		err = writeOCIArchive(out, img, Tag(in), filepath.Join(tmp, "layout"), in)
	}
	if err != nil {
		return "", fmt.Errorf("writing %s: %w", dst, err)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := out.Commit(); err != nil {
		return "", err
	}
	return dst, nil
}

// Tag is the image's tag (org.opencontainers.image.ref.name in the
// oci-archive): the package version with the characters a tag refuses
// replaced by "_".
func Tag(in *format.Input) string {
	var b strings.Builder
	for _, r := range in.Package.Version {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteRune('_')
		}
	}
	return b.String()
}

// writeOCIArchive writes img as an OCI image layout, then that layout as
// a tar file with sorted entries and no timestamps of the build.
func writeOCIArchive(w *atomicfile.File, img v1.Image, tag, dir string, in *format.Input) error {
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": tag,
	})); err != nil {
		return err
	}
	return tarDir(w, dir, in.Package.MTime)
}

// ociLayer presents a layer read from a docker-archive base with the OCI
// media type, so the image's manifest is OCI throughout.
type ociLayer struct{ v1.Layer }

func (ociLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }

// errNotImage is wrapped by every "this is not an image" error.
var errNotImage = errors.New("not a container image")

// tarHeader is the fixed part of every header venvpkg writes.
func tarHeader(name string, typ byte, mode int64, uid, gid int) *tar.Header {
	return &tar.Header{Name: name, Typeflag: typ, Mode: mode, Uid: uid, Gid: gid}
}
