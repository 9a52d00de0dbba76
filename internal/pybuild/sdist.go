package pybuild

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// maxSdistSize bounds the unpacked size of one sdist.
const maxSdistSize = 1 << 30

// UnpackSdist extracts a .tar.gz or .zip sdist into dir and returns the
// source tree: the single top-level directory, as sdists have, or dir.
// Members that would land outside dir, links and special files are refused
// or skipped.
func UnpackSdist(archive, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	var err error
	switch {
	case strings.HasSuffix(archive, ".tar.gz"), strings.HasSuffix(archive, ".tgz"):
		err = untarGz(archive, dir)
	case strings.HasSuffix(archive, ".zip"):
		err = unzipTo(archive, dir)
	default:
		err = fmt.Errorf("%s is not a .tar.gz or .zip sdist", filepath.Base(archive))
	}
	if err != nil {
		return "", err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	root := dir
	if len(entries) == 1 && entries[0].IsDir() {
		root = filepath.Join(dir, entries[0].Name())
	}
	for _, marker := range []string{"pyproject.toml", "setup.py"} {
		if _, err := os.Stat(filepath.Join(root, marker)); err == nil {
			return root, nil
		}
	}
	return "", errors.New("no pyproject.toml or setup.py at the top of the sdist")
}

// memberPath maps an archive member name to a path under dir.
func memberPath(dir, name string) (string, error) {
	clean := path.Clean(strings.TrimPrefix(name, "./"))
	if clean == "." {
		return dir, nil
	}
	if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") || strings.Contains(name, "\\") || strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("member %q leaves the archive's directory", name)
	}
	return filepath.Join(dir, filepath.FromSlash(clean)), nil
}

func writeMember(dst string, r io.Reader, exec bool, budget *int64) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if exec {
		mode = 0o755
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(r, *budget+1))
	*budget -= n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && *budget < 0 {
		err = fmt.Errorf("the sdist unpacks to more than %d MiB", maxSdistSize>>20)
	}
	return err
}

func untarGz(archive, dir string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	budget := int64(maxSdistSize)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		dst, err := memberPath(dir, hdr.Name)
		if err != nil {
			return err
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeMember(dst, tr, hdr.Mode&0o111 != 0, &budget); err != nil {
				return err
			}
		}
		// Links, devices and the like are not part of a source tree a
		// backend needs; they are skipped.
	}
}

func unzipTo(archive, dir string) error {
	zr, err := zip.OpenReader(archive)
	if err != nil {
		return err
	}
	defer zr.Close()
	budget := int64(maxSdistSize)
	for _, zf := range zr.File {
		dst, err := memberPath(dir, zf.Name)
		if err != nil {
			return err
		}
		if strings.HasSuffix(zf.Name, "/") {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
			continue
		}
		if !zf.Mode().IsRegular() {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return err
		}
		err = writeMember(dst, rc, zf.Mode()&0o111 != 0, &budget)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
