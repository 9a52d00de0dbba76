package pkg

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2/files"
	"github.com/venvpkg/venvpkg/internal/atomicfile"
	"github.com/venvpkg/venvpkg/internal/debarchive"
)

// Package describes one binary package to write.
type Package struct {
	Name        string // Debian package name, already valid
	Version     string // full Debian version including "-release"
	Arch        string // "all" or a Debian architecture such as "amd64"
	Maintainer  string // "Name <email>"
	Summary     string // synopsis: the first line of Description
	Description string // extended description, may be empty
	Homepage    string
	// License is the project's licence expression. Debian keeps licences in
	// /usr/share/doc/<name>/copyright rather than in a control field, so
	// WriteDeb does not write it; the caller stages that file if wanted.
	License  string
	Section  string // default "misc"
	Priority string // default "optional"
	// Depends lists dependency entries ("zlib1g", "libpq5 (>= 14)").
	// WriteDeb removes duplicates and sorts them, so callers may simply
	// concatenate the lists of every stage.
	Depends []string
	// Root is the staging root: every directory, regular file and symlink
	// below it is packaged at its path relative to Root.
	Root string
	// MTime is written as the modification time of every entry and archive
	// member (SOURCE_DATE_EPOCH); it must be set.
	MTime time.Time
	// Compression of data.tar: "zstd" (default), "xz", "gzip" or "none".
	// An .rpm payload uses the same algorithm ("none" writes gzip at
	// level 0).
	Compression string
	// Files are added to the payload besides Root's tree.
	Files []File
	// Scripts are the maintainer scripts or scriptlets.
	Scripts Scripts
	// Trees split the .deb's data member into parts, so the md5sums of
	// cached trees are reused (see Tree); WriteRPM ignores them.
	Trees []Tree
	// SignRPM, when set, signs an .rpm's header and payload (an OpenPGP
	// detached signature over the data it reads); WriteDeb ignores it:
	// APT verifies the signed repository, not single .deb files.
	SignRPM func(data io.Reader) ([]byte, error)
}

// debArches maps Go's GOARCH to Debian architecture names where they differ.
var debArches = map[string]string{
	"386":      "i386",
	"arm":      "armhf",
	"ppc64le":  "ppc64el",
	"mipsle":   "mipsel",
	"mips64le": "mips64el",
}

// DebArch returns the Debian architecture of the running program, the
// architecture of packages that carry machine code built on this host.
func DebArch() string {
	if a, ok := debArches[runtime.GOARCH]; ok {
		return a
	}
	return runtime.GOARCH
}

// DebFileName returns the conventional file name name_version_arch.deb;
// the epoch is left out, as dpkg-name does.
func DebFileName(p *Package) string {
	v := p.Version
	if i := strings.IndexByte(v, ':'); i >= 0 {
		v = v[i+1:]
	}
	return p.Name + "_" + v + "_" + p.Arch + ".deb"
}

var (
	debNamePattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	debVersionPattern = regexp.MustCompile(`^([0-9]+:)?[0-9][A-Za-z0-9.+~:-]*$`)
	debArchPattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
)

var compressions = []string{"zstd", "xz", "gzip", "none"}

// validate checks the fields that end up in the control file and returns
// a copy with defaults filled in.
func (p *Package) validate() (*Package, error) {
	q := *p
	q.Section = cmp.Or(q.Section, "misc")
	q.Priority = cmp.Or(q.Priority, "optional")
	q.Compression = cmp.Or(q.Compression, "zstd")
	switch {
	case !debNamePattern.MatchString(q.Name):
		return nil, fmt.Errorf("package name %q is not a valid Debian package name (lowercase letters, digits, \"+\", \"-\" and \".\", at least two characters, starting with a letter or digit)", q.Name)
	case !debVersionPattern.MatchString(q.Version):
		return nil, fmt.Errorf("package version %q is not a valid Debian version; build it with DebVersion", q.Version)
	case !debArchPattern.MatchString(q.Arch):
		return nil, fmt.Errorf("architecture %q is not a Debian architecture; use \"all\" or DebArch()", q.Arch)
	case strings.TrimSpace(q.Summary) == "":
		return nil, errors.New("package summary is empty; set a one-line description")
	case q.MTime.IsZero():
		return nil, errors.New("package mtime is not set; pass SOURCE_DATE_EPOCH")
	case q.Root == "":
		return nil, errors.New("staging root is not set")
	case !slices.Contains(compressions, q.Compression):
		return nil, fmt.Errorf("compression %q is not supported; use one of %s", q.Compression, strings.Join(compressions, ", "))
	}
	for field, v := range map[string]string{
		"maintainer": q.Maintainer, "homepage": q.Homepage, "section": q.Section,
		"priority": q.Priority, "summary": q.Summary,
	} {
		if strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("package %s %q spans several lines; control fields allow one", field, v)
		}
	}
	deps := make([]string, 0, len(q.Depends))
	for _, d := range q.Depends {
		d = strings.TrimSpace(d)
		if d == "" {
			continue
		}
		if strings.ContainsAny(d, ",\r\n") {
			return nil, fmt.Errorf("dependency %q must be a single entry without commas or newlines", d)
		}
		deps = append(deps, d)
	}
	slices.Sort(deps)
	q.Depends = slices.Compact(deps)
	return &q, nil
}

// controlDescription joins the synopsis and the extended description in the
// form nfpm writes as the Description field: the first line is the
// synopsis, each further line becomes a continuation line starting with a
// space, and a blank line becomes " .". Continuation lines lose their
// leading whitespace.
func controlDescription(summary, long string) string {
	lines := strings.Split(strings.ReplaceAll(long, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	// Leading and trailing blank lines carry no text.
	for len(lines) > 0 && lines[0] == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(append([]string{strings.TrimSpace(summary)}, lines...), "\n")
}

// contents lists every entry below root as nfpm contents owned by
// root:root with normalised modes and the fixed mtime, sorted by path.
func contents(ctx context.Context, root string, mtime time.Time) (files.Contents, error) {
	info, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("staging root: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("staging root %s is not a directory", root)
	}
	var cs files.Contents
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if path == root {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		dest := "/" + filepath.ToSlash(rel)
		fi := &files.ContentFileInfo{Owner: "root", Group: "root", MTime: mtime}
		switch t := d.Type(); {
		case t.IsDir():
			fi.Mode = 0o755
			cs = append(cs, &files.Content{Type: files.TypeDir, Destination: dest, FileInfo: fi})
		case t&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			fi.Mode = 0o777
			cs = append(cs, &files.Content{Type: files.TypeSymlink, Source: target, Destination: dest, FileInfo: fi})
		case t.IsRegular():
			st, err := d.Info()
			if err != nil {
				return err
			}
			fi.Mode = 0o644
			if st.Mode().Perm()&0o111 != 0 {
				fi.Mode = 0o755
			}
			fi.Size = st.Size()
			cs = append(cs, &files.Content{Type: files.TypeFile, Source: path, Destination: dest, FileInfo: fi})
		default:
			return fmt.Errorf("%s is a %s; packages may hold only directories, regular files and symlinks", dest, t.Type())
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing staging root %s: %w", root, err)
	}
	slices.SortFunc(cs, func(a, b *files.Content) int { return strings.Compare(a.Destination, b.Destination) })
	return cs, nil
}

// WriteDeb writes p as a .deb into outDir and returns its path. The package
// is written to a temporary file in outDir, synced and renamed to
// DebFileName(p); on error nothing is left behind. The same staging tree,
// metadata and MTime always give byte-identical output, whatever
// p.Trees' caches hold.
func WriteDeb(ctx context.Context, p *Package, outDir string) (string, error) {
	q, err := p.validate()
	if err != nil {
		return "", fmt.Errorf("writing package %s: %w", p.Name, err)
	}
	if err := checkScripts(q.Scripts); err != nil {
		return "", fmt.Errorf("writing package %s: %w", q.Name, err)
	}
	parts, err := debParts(ctx, q)
	if err != nil {
		return "", fmt.Errorf("writing package %s: %w", q.Name, err)
	}

	final := filepath.Join(outDir, DebFileName(q))
	tmp, err := atomicfile.Create(final, 0o644)
	if err != nil {
		return "", fmt.Errorf("writing package %s: %w", q.Name, err)
	}
	defer tmp.Abort()
	opts := debarchive.Options{Compression: q.Compression, MTime: q.MTime, TempDir: outDir}
	if _, err := writeDebData(ctx, tmp.File, debControl(q), parts, opts); err != nil {
		return "", fmt.Errorf("writing package %s: %w", q.Name, err)
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("writing package %s: %w", q.Name, err)
	}
	if err := tmp.Commit(); err != nil {
		return "", fmt.Errorf("writing package %s: %w", q.Name, err)
	}
	return final, nil
}
