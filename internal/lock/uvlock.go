package lock

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/venvpkg/venvpkg/internal/pep503"
	"github.com/venvpkg/venvpkg/internal/pep508"
)

// UVLockMajor is the uv.lock `version` this reader understands.
const UVLockMajor = 1

// pypiSimple is the default index; a registry source naming it adds no index to the lock.
const pypiSimple = "https://pypi.org/simple"

type uvDoc struct {
	Version           *int        `toml:"version"`
	Revision          int         `toml:"revision"`
	RequiresPython    string      `toml:"requires-python"`
	ResolutionMarkers []string    `toml:"resolution-markers"`
	Packages          []uvPackage `toml:"package"`
	Distributions     []uvPackage `toml:"distribution"` // the name early uv versions gave [[package]]
}

type uvPackage struct {
	Name                 string             `toml:"name"`
	Version              string             `toml:"version"`
	Source               map[string]any     `toml:"source"`
	ResolutionMarkers    []string           `toml:"resolution-markers"`
	Dependencies         []uvDep            `toml:"dependencies"`
	OptionalDependencies map[string][]uvDep `toml:"optional-dependencies"`
	DevDependencies      map[string][]uvDep `toml:"dev-dependencies"`
	Sdist                *uvFile            `toml:"sdist"`
	Wheels               []uvFile           `toml:"wheels"`
	Metadata             map[string]any     `toml:"metadata"`
}

type uvDep struct {
	Name    string         `toml:"name"`
	Version string         `toml:"version"`
	Source  map[string]any `toml:"source"`
	Marker  string         `toml:"marker"`
	Extra   []string       `toml:"extra"`
}

type uvFile struct {
	URL      string `toml:"url"`
	Path     string `toml:"path"`
	Filename string `toml:"filename"`
	Hash     string `toml:"hash"`
	Size     *int64 `toml:"size"`
}

// IsUVLock reports whether a lock file name is uv's native lock file.
func IsUVLock(p string) bool { return filepath.Base(p) == "uv.lock" }

// ParseUVLock reads uv's native lock file for the target environment env. The project is the lock's entry named
// project (its source is editable, virtual or a directory "."): from its default dependencies, with the extras
// asked for, the walk follows every dependency edge whose marker holds for the target; development dependency
// groups are left out. Packages from a registry become pins checked against the hashes of every file the lock
// records for them, so the wheel may come from --find-links or any index and is still exactly one the lock
// allows (a registry other than PyPI is added as an extra index, as `uv export` writes it); packages locked by URL
// or path keep their files as pylock.toml entries do.
func ParseUVLock(file string, env pep508.Environment, project string, extras []string) (*Lock, error) {
	var doc uvDoc
	if err := readTOML(file, &doc); err != nil {
		return nil, err
	}
	if doc.Version == nil {
		return nil, fmt.Errorf("%s: version is missing; is this a lock file written by uv?", file)
	}
	if *doc.Version != UVLockMajor {
		return nil, fmt.Errorf("%s: unknown uv.lock version %d: venvpkg reads version %d; lock again with a uv that writes it, or upgrade venvpkg", file, *doc.Version, UVLockMajor)
	}
	pkgs := append(doc.Packages, doc.Distributions...)
	if err := checkRequiresPython(file, doc.RequiresPython, env); err != nil {
		return nil, err
	}
	base, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		return nil, err
	}
	self := pep503.Normalize(project)
	var (
		locked []*lockedPackage
		root   *uvPackage
		errs   []error
		extra  []string
	)
	for i := range pkgs {
		p := &pkgs[i]
		where := fmt.Sprintf("%s: package %s %s", file, p.Name, p.Version)
		if p.Name == "" || !pep503.Valid(p.Name) {
			errs = append(errs, fmt.Errorf("%s: package[%d]: name %q is not a valid project name", file, i, p.Name))
			continue
		}
		name := pep503.Normalize(p.Name)
		if name == self && isProjectSource(p.Source) {
			if root != nil {
				errs = append(errs, fmt.Errorf("%s: the project %s appears twice", where, p.Name))
				continue
			}
			root = p
			continue
		}
		lp := &lockedPackage{name: name, display: p.Name, version: p.Version, where: where}
		for _, m := range p.ResolutionMarkers {
			pm, err := pep508.ParseMarker(m)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: resolution-markers: %q: %w", where, m, err))
				continue
			}
			lp.markers = append(lp.markers, pm)
		}
		if lp.deps, err = uvEdges(p.Dependencies); err != nil {
			errs = append(errs, fmt.Errorf("%s: dependencies: %w", where, err))
		}
		lp.extras = map[string][]edge{}
		for x, deps := range p.OptionalDependencies {
			es, err := uvEdges(deps)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: optional-dependencies %s: %w", where, x, err))
			}
			lp.extras[pep503.Normalize(x)] = es
		}
		lp.req, lp.err = uvRequirement(p, name, where, base)
		if reg, ok := p.Source["registry"].(string); ok && lp.err == nil {
			reg = strings.TrimRight(reg, "/")
			if reg != pypiSimple && (strings.HasPrefix(reg, "http://") || strings.HasPrefix(reg, "https://")) {
				extra = append(extra, reg)
			}
		}
		locked = append(locked, lp)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if root == nil {
		return nil, fmt.Errorf("%s: the project %s is not in the lock (uv lists it with source editable or virtual \".\"); run uv lock in the project", file, project)
	}
	roots, err := uvEdges(root.Dependencies)
	if err != nil {
		return nil, fmt.Errorf("%s: project %s: dependencies: %w", file, root.Name, err)
	}
	for _, x := range normalizeExtras(extras) {
		deps, ok := root.OptionalDependencies[x]
		if !ok {
			for k, v := range root.OptionalDependencies {
				if pep503.Normalize(k) == x {
					deps, ok = v, true
				}
			}
		}
		if !ok {
			return nil, fmt.Errorf("%s: the project %s has no extra %q in the lock", file, root.Name, x)
		}
		es, err := uvEdges(deps)
		if err != nil {
			return nil, fmt.Errorf("%s: project %s: optional-dependencies %s: %w", file, root.Name, x, err)
		}
		roots = append(roots, es...)
	}
	l, err := newGraph(file, locked).walk(roots, env)
	if err != nil {
		return nil, err
	}
	sort.Strings(extra)
	l.ExtraIndexURLs = slices.Compact(extra)
	return l, nil
}

// isProjectSource reports whether a uv source is the project's own tree.
func isProjectSource(src map[string]any) bool {
	for _, k := range []string{"editable", "virtual", "directory"} {
		if v, ok := src[k].(string); ok && (v == "." || v == "") {
			return true
		}
	}
	return false
}

func uvEdges(deps []uvDep) ([]edge, error) {
	var out []edge
	for _, d := range deps {
		if d.Name == "" || !pep503.Valid(d.Name) {
			return nil, fmt.Errorf("dependency name %q is not a valid project name", d.Name)
		}
		m, err := parseEdgeMarker(d.Marker)
		if err != nil {
			return nil, fmt.Errorf("%s: marker %q: %w", d.Name, d.Marker, err)
		}
		out = append(out, edge{name: pep503.Normalize(d.Name), version: d.Version, marker: m, extras: normalizeExtras(d.Extra)})
	}
	return out, nil
}

// uvRequirement turns a uv.lock package into the pin venvpkg installs.
func uvRequirement(p *uvPackage, name, where, base string) (Requirement, error) {
	r, err := pinned(name, p.Name, p.Version, where)
	if err != nil {
		return r, err
	}
	switch {
	case p.Source["registry"] != nil:
		var files []uvFile
		if p.Sdist != nil {
			files = append(files, *p.Sdist)
		}
		files = append(files, p.Wheels...)
		for _, f := range files {
			if f.Hash == "" {
				return r, fmt.Errorf("a file of %s has no hash; lock again so every file carries its sha256", p.Name)
			}
			h, err := fileHash(f.Hash)
			if err != nil {
				return r, err
			}
			r.Hashes = append(r.Hashes, h)
		}
		sort.Strings(r.Hashes)
		r.Hashes = slices.Compact(r.Hashes)
	case p.Source["url"] != nil, p.Source["path"] != nil:
		loc, _ := p.Source["url"].(string)
		isPath := loc == ""
		if isPath {
			loc, _ = p.Source["path"].(string)
		}
		var files []uvFile
		if p.Sdist != nil {
			files = append(files, *p.Sdist)
		}
		files = append(files, p.Wheels...)
		for _, f := range files {
			pf := pylockFile{Name: f.Filename, URL: f.URL, Path: f.Path, Size: f.Size, Hashes: map[string]string{}}
			if pf.URL == "" && pf.Path == "" {
				// A single-file source: the file is the source itself.
				if isPath {
					pf.Path = loc
				} else {
					pf.URL = loc
				}
			}
			if pf.Name == "" && pf.URL != "" {
				if u, err := url.Parse(pf.URL); err == nil {
					pf.Name = path.Base(u.Path)
				}
			}
			algo, hex, ok := strings.Cut(f.Hash, ":")
			if !ok {
				return r, fmt.Errorf("the file %s of %s has no sha256 hash", cmp.Or(pf.Name, loc), p.Name)
			}
			pf.Hashes[algo] = hex
			sdist := !strings.HasSuffix(cmp.Or(pf.Name, pf.Path, pf.URL), ".whl")
			f, err := pylockFileOf(base, pf, sdist)
			if err != nil {
				return r, err
			}
			r.Files = append(r.Files, f)
		}
		if len(r.Files) == 0 {
			return r, fmt.Errorf("the %s source of %s records no file", map[bool]string{true: "path", false: "url"}[isPath], p.Name)
		}
	case p.Source["git"] != nil:
		// uv writes git = "https://host/repo?rev=v1&subdirectory=pkg#<commit>".
		raw, _ := p.Source["git"].(string)
		repo, commit, _ := strings.Cut(raw, "#")
		var subdir string
		if base, query, ok := strings.Cut(repo, "?"); ok {
			repo = base
			if q, err := url.ParseQuery(query); err == nil {
				subdir = q.Get("subdirectory")
			}
		}
		v, err := newVCS(p.Name, repo, commit, subdir)
		if err != nil {
			return r, err
		}
		r.VCS = v
	case p.Source["directory"] != nil, p.Source["editable"] != nil, p.Source["virtual"] != nil:
		return r, fmt.Errorf("%s is a local directory source; build it into a wheel and lock that", p.Name)
	default:
		return r, fmt.Errorf("%s has no source venvpkg knows (registry, url, path)", p.Name)
	}
	return r, nil
}
