package oci

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// baseHint says what a base image may be.
const baseHint = "give an OCI image layout directory, an oci-archive or a docker-archive file (skopeo copy docker://debian:bookworm-slim oci-archive:base.tar writes one), or scratch"

// LoadBase reads the base image at ref: Scratch, an OCI image layout
// directory, an oci-archive or a docker-archive. An oci-archive is
// unpacked below tmp, which must outlive the image. arch, when not empty,
// picks the image of that architecture from a multi-platform layout.
func LoadBase(ref, tmp, arch string) (v1.Image, error) {
	if ref == Scratch {
		return empty.Image, nil
	}
	st, err := os.Stat(ref)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("base image %s does not exist; %s", ref, baseHint)
	}
	if err != nil {
		return nil, fmt.Errorf("base image %s: %w", ref, err)
	}
	if st.IsDir() {
		return fromLayout(ref, ref, arch)
	}
	kind, err := archiveKind(ref)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "oci":
		dir, err := os.MkdirTemp(tmp, "base-")
		if err != nil {
			return nil, err
		}
		if err := untar(ref, dir); err != nil {
			return nil, fmt.Errorf("base image %s: unpacking the oci-archive: %w", ref, err)
		}
		return fromLayout(ref, dir, arch)
	default:
		img, err := tarball.ImageFromPath(ref, nil)
		if err != nil {
			return nil, fmt.Errorf("base image %s: reading the docker-archive: %w", ref, err)
		}
		if _, err := img.ConfigFile(); err != nil {
			return nil, fmt.Errorf("base image %s: reading the docker-archive: %w", ref, err)
		}
		return img, nil
	}
}

// archiveKind tells an oci-archive ("oci": it holds oci-layout) from a
// docker-archive ("docker": manifest.json) by their top-level members.
func archiveKind(ref string) (string, error) {
	f, err := os.Open(ref)
	if err != nil {
		return "", fmt.Errorf("base image %s: %w", ref, err)
	}
	defer f.Close()
	tr := tar.NewReader(bufio.NewReader(f))
	docker := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("base image %s is %w: it is not a tar archive (%v); %s", ref, errNotImage, err, baseHint)
		}
		switch path.Clean(h.Name) {
		case "oci-layout":
			return "oci", nil
		case "manifest.json":
			docker = true
		}
	}
	if docker {
		return "docker", nil
	}
	return "", fmt.Errorf("base image %s is %w: the tar archive has neither oci-layout nor manifest.json; %s", ref, errNotImage, baseHint)
}

// fromLayout reads the one image of an OCI layout, or the one for arch.
func fromLayout(ref, dir, arch string) (v1.Image, error) {
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
		return nil, fmt.Errorf("base image %s is %w: the directory has no oci-layout file; %s", ref, errNotImage, baseHint)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("base image %s: %w", ref, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("base image %s: %w", ref, err)
	}
	var imgs []v1.Image
	var arches []string
	for _, d := range im.Manifests {
		if !d.MediaType.IsImage() {
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("base image %s: %w", ref, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("base image %s: %w", ref, err)
		}
		imgs = append(imgs, img)
		arches = append(arches, cf.Architecture)
		if arch != "" && cf.Architecture == arch {
			return img, nil
		}
	}
	switch {
	case len(imgs) == 0:
		return nil, fmt.Errorf("base image %s is %w: its index lists no image manifest; %s", ref, errNotImage, baseHint)
	case len(imgs) == 1:
		return imgs[0], nil
	}
	return nil, fmt.Errorf("base image %s holds images for %s but none for %s; copy the one wanted (skopeo copy --override-arch)", ref, strings.Join(arches, ", "), arch)
}

// untar unpacks an oci-archive: regular files and directories only, none
// outside dir.
func untar(archive, dir string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(bufio.NewReader(f))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean(h.Name)
		if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("member %q leaves the archive", h.Name)
		}
		dst := filepath.Join(dir, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}

// readFiles returns the named files (paths without a leading slash) of
// img's file system, as its layers stack them; missing files are absent
// from the map.
func readFiles(img v1.Image, names ...string) (map[string][]byte, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the base image's files: %w", err)
		}
		n := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if want[n] && h.Typeflag == tar.TypeReg {
			data, err := io.ReadAll(tr)
			if err != nil {
				return nil, err
			}
			out[n] = data
		}
	}
}
