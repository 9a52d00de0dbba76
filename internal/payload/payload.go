// Package payload reads what a venvpkg package installs: the files of a
// staging root, a .deb or an .rpm, the Python distributions among them (the
// installed-distribution format's .dist-info directories: METADATA and
// RECORD) and the SBOM the build put into it. The SBOM, the vulnerability
// check and the report read packages through it.
package payload

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/venvpkg/venvpkg/internal/pep503"
	"github.com/venvpkg/venvpkg/internal/wheel"
)

// SBOMName is the file name of the CycloneDX SBOM venvpkg installs at the
// top of the virtualenv (<prefix>/SBOMName).
const SBOMName = "sbom.cdx.json"

// maxKept bounds one file whose content a Tree keeps (METADATA, RECORD,
// the SBOM).
const maxKept = 64 << 20

// File is one regular file or symbolic link of a payload.
type File struct {
	Path string // final absolute path: /opt/venvs/app/bin/app
	Size int64  // bytes; 0 for links
	Link string // symlink target, "" for regular files
}

// Package is what the package manager's metadata says about a package.
type Package struct {
	Name, Version, Arch string
	Depends             []string
	Format              string // "deb" or "rpm"
}

// Tree is a payload: its files, sorted by path, and the content of the
// files the readers above it need.
type Tree struct {
	Files   []File
	Package *Package // nil for a staging root
	kept    map[string][]byte
}

// keep reports whether a payload file's content is kept: the metadata of
// installed distributions and venvpkg's SBOM.
func keep(p string) bool {
	dir, base := path.Split(p)
	if base == SBOMName {
		return true
	}
	if strings.HasSuffix(strings.TrimSuffix(dir, "/"), ".dist-info") {
		return base == "METADATA" || base == "RECORD"
	}
	return false
}

// Content returns the kept content of the file at final path p.
func (t *Tree) Content(p string) ([]byte, bool) {
	b, ok := t.kept[p]
	return b, ok
}

// Size is the total size of the payload's regular files.
func (t *Tree) Size() int64 {
	var n int64
	for _, f := range t.Files {
		n += f.Size
	}
	return n
}

// SBOM returns the content and path of the first SBOM file in the payload.
func (t *Tree) SBOM() ([]byte, string, bool) {
	for _, f := range t.Files {
		if path.Base(f.Path) == SBOMName {
			if b, ok := t.kept[f.Path]; ok {
				return b, f.Path, true
			}
		}
	}
	return nil, "", false
}

func newTree() *Tree { return &Tree{kept: map[string][]byte{}} }

// add records one file; r is its content, read only when kept.
func (t *Tree) add(p string, size int64, link string, r io.Reader) error {
	p = path.Clean("/" + strings.TrimPrefix(p, "./"))
	t.Files = append(t.Files, File{Path: p, Size: size, Link: link})
	if link == "" && keep(p) {
		if size > maxKept {
			return fmt.Errorf("%s is %d bytes, more than the %d venvpkg reads", p, size, maxKept)
		}
		b, err := io.ReadAll(io.LimitReader(r, maxKept))
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		t.kept[p] = b
	}
	return nil
}

func (t *Tree) sort() {
	slices.SortFunc(t.Files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
}

// ScanDir reads the payload staged below root (a DESTDIR-style staging
// root: root/opt/venvs/app is /opt/venvs/app).
func ScanDir(root string) (*Tree, error) {
	t := newTree()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		final := "/" + filepath.ToSlash(rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return t.add(final, 0, target, nil)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			if !keep(final) {
				return t.add(final, info.Size(), "", nil)
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			return t.add(final, info.Size(), "", f)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the payload below %s: %w", root, err)
	}
	t.sort()
	return t, nil
}

// IsPackage reports whether a file starting with head is a .deb or .rpm.
func IsPackage(head []byte) bool {
	return bytes.HasPrefix(head, []byte("!<arch>\n")) || bytes.HasPrefix(head, rpmLeadMagic)
}

// ReadFile reads a .deb or .rpm package file, chosen by its content.
func ReadFile(file string) (*Tree, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, _ := br.Peek(8)
	var t *Tree
	switch {
	case bytes.HasPrefix(magic, []byte("!<arch>\n")):
		t, err = readDeb(br)
	case bytes.HasPrefix(magic, rpmLeadMagic):
		t, err = readRPM(br)
	default:
		return nil, fmt.Errorf("%s is neither a .deb nor an .rpm package", file)
	}
	if err != nil {
		return nil, fmt.Errorf("reading package %s: %w", file, err)
	}
	t.sort()
	return t, nil
}

// Distribution is one installed Python distribution of a payload.
type Distribution struct {
	Name     string // as METADATA writes it
	Version  string
	Summary  string
	DistInfo string // final path of the .dist-info directory
	Metadata *wheel.Metadata
	Files    []string // final paths of its files present in the payload, sorted
	Size     int64    // total size of Files
}

// Key is the distribution's normalised name (PEP 503).
func (d *Distribution) Key() string { return pep503.Normalize(d.Name) }

// Distributions finds the installed distributions of the payload: every
// site-packages/*.dist-info with a METADATA, sorted by normalised name.
// Each file listed in a RECORD belongs to that distribution, and so does
// the bytecode compiled from it (__pycache__/<module>.<tag>.pyc).
func (t *Tree) Distributions() ([]*Distribution, error) {
	var dists []*Distribution
	owner := map[string]*Distribution{}
	sizes := map[string]int64{}
	for _, f := range t.Files {
		sizes[f.Path] = f.Size
	}
	for _, f := range t.Files {
		dir, base := path.Split(f.Path)
		dir = strings.TrimSuffix(dir, "/")
		if base != "METADATA" || !strings.HasSuffix(dir, ".dist-info") || path.Base(path.Dir(dir)) != "site-packages" {
			continue
		}
		m, err := wheel.ParseMetadata(bytes.NewReader(t.kept[f.Path]))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		d := &Distribution{Name: m.Name, Version: m.Version, Summary: m.Summary, DistInfo: dir, Metadata: m}
		site := path.Dir(dir)
		if rec, ok := t.kept[dir+"/RECORD"]; ok {
			rows, err := csv.NewReader(bytes.NewReader(rec)).ReadAll()
			if err != nil {
				return nil, fmt.Errorf("%s/RECORD: %w", dir, err)
			}
			for _, row := range rows {
				if len(row) == 0 || row[0] == "" {
					continue
				}
				p := path.Clean(path.Join(site, row[0]))
				if _, ok := sizes[p]; ok && owner[p] == nil {
					owner[p] = d
				}
			}
		}
		dists = append(dists, d)
	}
	for _, f := range t.Files {
		d := owner[f.Path]
		if d == nil {
			d = owner[sourceOf(f.Path)]
		}
		if d == nil {
			// dist-info files written after install (INSTALLER, REQUESTED)
			for _, c := range dists {
				if strings.HasPrefix(f.Path, c.DistInfo+"/") {
					d = c
				}
			}
		}
		if d != nil {
			d.Files = append(d.Files, f.Path)
			d.Size += f.Size
		}
	}
	slices.SortFunc(dists, func(a, b *Distribution) int { return strings.Compare(a.Key(), b.Key()) })
	return dists, nil
}

// sourceOf maps a/__pycache__/m.cpython-311.pyc to a/m.py; "" otherwise.
func sourceOf(p string) string {
	dir, base := path.Split(p)
	if path.Base(dir) != "__pycache__" || !strings.HasSuffix(base, ".pyc") {
		return ""
	}
	mod, _, ok := strings.Cut(base, ".")
	if !ok {
		return ""
	}
	return path.Join(path.Dir(strings.TrimSuffix(dir, "/")), mod+".py")
}

// Owner returns, for every file of the payload, the distribution that
// installed it, or nil for the virtualenv's own files.
func Owner(dists []*Distribution) map[string]*Distribution {
	m := map[string]*Distribution{}
	for _, d := range dists {
		for _, f := range d.Files {
			m[f] = d
		}
	}
	return m
}
