package lock

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pep503"
	"github.com/venvpkg/venvpkg/internal/pep508"
)

// poetryLockMajors are the poetry.lock [metadata] lock-version major this reader understands (Poetry 1.x writes
// 1.1 and 2.0, Poetry 2 writes 2.1; 1.x files carry the same package fields).
var poetryLockMajors = []string{"1", "2"}

type poetryDoc struct {
	Packages []poetryPackage `toml:"package"`
	Metadata struct {
		LockVersion    string                    `toml:"lock-version"`
		PythonVersions string                    `toml:"python-versions"`
		Files          map[string][]poetryFileV1 `toml:"files"` // lock-version 1.x kept files here
	} `toml:"metadata"`
}

type poetryPackage struct {
	Name         string              `toml:"name"`
	Version      string              `toml:"version"`
	Optional     bool                `toml:"optional"`
	Category     string              `toml:"category"` // lock-version < 2.0
	Groups       []string            `toml:"groups"`   // lock-version 2.1
	Markers      any                 `toml:"markers"`  // lock-version 2.1: a string, or a table by group
	Files        []poetryFileV1      `toml:"files"`
	Dependencies map[string]any      `toml:"dependencies"`
	Extras       map[string][]string `toml:"extras"`
	Source       *struct {
		Type              string `toml:"type"`
		URL               string `toml:"url"`
		Reference         string `toml:"reference"`
		ResolvedReference string `toml:"resolved_reference"`
		Subdirectory      string `toml:"subdirectory"`
	} `toml:"source"`
}

type poetryFileV1 struct {
	File string `toml:"file"`
	Hash string `toml:"hash"`
}

// IsPoetryLock reports whether a lock file name is Poetry's lock file.
func IsPoetryLock(p string) bool { return filepath.Base(p) == "poetry.lock" }

// ParsePoetryLock reads Poetry's lock file for the target environment env. Poetry's lock holds no entry for the
// project, so roots are the project's own default dependencies (from [project] dependencies or
// [tool.poetry.dependencies], as PEP 508 strings, with the extras asked for already applied); the walk follows
// [package.dependencies] whose markers hold for the target, and the optional ones only where an extra asks for
// them. Development groups are not reached from the project's default dependencies and are left out. Every
// package becomes a pin checked against the hashes of the files the lock records (Poetry records names and
// hashes, not locations), so the artifacts come from --find-links or the indexes; a package from a non-default
// "legacy" source adds that index.
func ParsePoetryLock(file string, env pep508.Environment, roots []string) (*Lock, error) {
	var doc poetryDoc
	if err := readTOML(file, &doc); err != nil {
		return nil, err
	}
	lv := doc.Metadata.LockVersion
	if lv == "" {
		return nil, fmt.Errorf("%s: [metadata] lock-version is missing; is this a lock file written by Poetry?", file)
	}
	if major, _, _ := strings.Cut(lv, "."); !slices.Contains(poetryLockMajors, major) {
		return nil, fmt.Errorf("%s: unknown lock-version %q: venvpkg reads Poetry lock-version 1.x and 2.x; lock again, or upgrade venvpkg", file, lv)
	}
	if pv := doc.Metadata.PythonVersions; pv != "" && pv != "*" {
		if spec, ok := poetryConstraint(pv); ok {
			if err := checkRequiresPython(file, spec, env); err != nil {
				return nil, err
			}
		}
	}
	var (
		locked []*lockedPackage
		errs   []error
		extra  []string
	)
	for i := range doc.Packages {
		p := &doc.Packages[i]
		where := fmt.Sprintf("%s: package %s %s", file, p.Name, p.Version)
		if p.Name == "" || !pep503.Valid(p.Name) {
			errs = append(errs, fmt.Errorf("%s: package[%d]: name %q is not a valid project name", file, i, p.Name))
			continue
		}
		lp := &lockedPackage{name: pep503.Normalize(p.Name), display: p.Name, version: p.Version, where: where}
		for _, m := range poetryMarkers(p.Markers) {
			pm, err := pep508.ParseMarker(m)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: markers: %q: %w", where, m, err))
				continue
			}
			lp.markers = append(lp.markers, pm)
		}
		names := make([]string, 0, len(p.Dependencies))
		for n := range p.Dependencies {
			names = append(names, n)
		}
		sort.Strings(names)
		optional := map[string]bool{}
		for _, n := range names {
			es, err := poetryEdges(n, p.Dependencies[n])
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: dependencies: %s: %w", where, n, err))
				continue
			}
			for _, e := range es {
				if e.optional {
					optional[e.name] = true
				}
			}
			lp.deps = append(lp.deps, es...)
		}
		lp.extras = map[string][]edge{}
		for x, reqs := range p.Extras {
			var es []edge
			for _, rq := range reqs {
				// Extras are written "name (>=1.0)" or as PEP 508 text; the name leads either way.
				n := splitPoetryName(rq)
				if n == "" {
					errs = append(errs, fmt.Errorf("%s: extras %s: %q names no package", where, x, rq))
					continue
				}
				nn := pep503.Normalize(n)
				for _, e := range lp.deps {
					if e.name == nn {
						es = append(es, e)
					}
				}
			}
			lp.extras[pep503.Normalize(x)] = es
		}
		lp.req, lp.err = poetryRequirement(p, lp.name, where)
		if p.Source != nil && p.Source.Type == "legacy" && p.Source.URL != "" {
			extra = append(extra, strings.TrimRight(p.Source.URL, "/"))
		}
		locked = append(locked, lp)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var rootEdges []edge
	for _, s := range roots {
		r, err := pep508.ParseRequirement(s)
		if err != nil {
			return nil, fmt.Errorf("%s: the project's dependency %q: %w", file, s, err)
		}
		rootEdges = append(rootEdges, edge{name: pep503.Normalize(r.Name), constraint: r.Specifier.String(), marker: r.Marker, extras: normalizeExtras(r.Extras)})
	}
	l, err := newGraph(file, locked).walk(rootEdges, env)
	if err != nil {
		return nil, err
	}
	sort.Strings(extra)
	l.ExtraIndexURLs = slices.Compact(extra)
	return l, nil
}

// poetryMarkers returns a package's markers: Poetry 2 writes one string, or a table of markers by group of which
// the "main" group's counts for an installation of the default dependencies.
func poetryMarkers(v any) []string {
	switch m := v.(type) {
	case string:
		return []string{m}
	case map[string]any:
		if s, ok := m["main"].(string); ok {
			return []string{s}
		}
	}
	return nil
}

// poetryEdges reads one [package.dependencies] value: a constraint string, a table, or a list of tables (one per
// marker-separated alternative).
func poetryEdges(name string, v any) ([]edge, error) {
	if !pep503.Valid(name) {
		return nil, fmt.Errorf("%q is not a valid project name", name)
	}
	n := pep503.Normalize(name)
	switch d := v.(type) {
	case string:
		c, _ := poetryConstraint(d)
		return []edge{{name: n, constraint: c}}, nil
	case map[string]any:
		e := edge{name: n}
		if s, ok := d["version"].(string); ok {
			e.constraint, _ = poetryConstraint(s)
		}
		if s, ok := d["markers"].(string); ok {
			m, err := parseEdgeMarker(s)
			if err != nil {
				return nil, fmt.Errorf("markers %q: %w", s, err)
			}
			e.marker = m
		}
		if b, ok := d["optional"].(bool); ok {
			e.optional = b
		}
		if xs, ok := d["extras"].([]any); ok {
			var names []string
			for _, x := range xs {
				if s, ok := x.(string); ok {
					names = append(names, s)
				}
			}
			e.extras = normalizeExtras(names)
		}
		return []edge{e}, nil
	case []any:
		var out []edge
		for _, alt := range d {
			es, err := poetryEdges(name, alt)
			if err != nil {
				return nil, err
			}
			out = append(out, es...)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected value %v", v)
}

var poetryNameRE = regexp.MustCompile(`^\s*([A-Za-z0-9][A-Za-z0-9._-]*)`)

func splitPoetryName(s string) string {
	m := poetryNameRE.FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	return m[1]
}

// poetryConstraint turns a constraint as Poetry writes it in lock files into a PEP 440 specifier set. Lock files
// hold the normalised forms ("*", ">=2.0", ">=3.7,<4.0", "==1.2.3", "1.2.3"); Poetry's caret and tilde forms are
// expanded; anything else (an "||" union) yields false, and the caller then does not filter by version.
func poetryConstraint(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || s == "*" {
		return "", true
	}
	if strings.Contains(s, "||") {
		return "", false
	}
	var parts []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' }) {
		p = strings.TrimSpace(p)
		switch {
		case strings.HasPrefix(p, "^"):
			lo, hi, ok := caretRange(p[1:])
			if !ok {
				return "", false
			}
			parts = append(parts, ">="+lo, "<"+hi)
		case strings.HasPrefix(p, "~") && !strings.HasPrefix(p, "~="):
			lo, hi, ok := tildeRange(p[1:])
			if !ok {
				return "", false
			}
			parts = append(parts, ">="+lo, "<"+hi)
		case p != "" && (p[0] >= '0' && p[0] <= '9'):
			parts = append(parts, "=="+p)
		default:
			parts = append(parts, p)
		}
	}
	out := strings.Join(parts, ",")
	if _, err := pep440.ParseSpecifierSet(out); err != nil {
		return "", false
	}
	return out, true
}

func releaseParts(v string) ([]int, bool) {
	var out []int
	for _, f := range strings.Split(v, ".") {
		n := 0
		if f == "" {
			return nil, false
		}
		for _, c := range f {
			if c < '0' || c > '9' {
				return nil, false
			}
			n = n*10 + int(c-'0')
		}
		out = append(out, n)
	}
	return out, len(out) > 0
}

func joinParts(p []int) string {
	s := make([]string, len(p))
	for i, n := range p {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ".")
}

// caretRange: ^1.2.3 → >=1.2.3,<2.0.0; ^0.2.3 → <0.3.0; ^0.0.3 → <0.0.4 (the first non-zero part is bumped).
func caretRange(v string) (string, string, bool) {
	p, ok := releaseParts(v)
	if !ok {
		return "", "", false
	}
	i := 0
	for i < len(p)-1 && p[i] == 0 {
		i++
	}
	hi := append([]int{}, p[:i+1]...)
	hi[i]++
	return v, joinParts(hi), true
}

// tildeRange: ~1.2.3 → <1.3.0; ~1.2 → <1.3; ~1 → <2.
func tildeRange(v string) (string, string, bool) {
	p, ok := releaseParts(v)
	if !ok {
		return "", "", false
	}
	i := 1
	if len(p) == 1 {
		i = 0
	}
	hi := append([]int{}, p[:i+1]...)
	hi[i]++
	return v, joinParts(hi), true
}

// poetryRequirement turns a poetry.lock package into the pin venvpkg installs.
func poetryRequirement(p *poetryPackage, name, where string) (Requirement, error) {
	r, err := pinned(name, p.Name, p.Version, where)
	if err != nil {
		return r, err
	}
	if s := p.Source; s != nil {
		switch s.Type {
		case "", "legacy":
		case "git":
			v, err := newVCS(p.Name, s.URL, s.ResolvedReference, s.Subdirectory)
			if err != nil {
				return r, err
			}
			r.VCS = v
			return r, nil
		case "directory":
			return r, fmt.Errorf("%s is a local directory source (%s); build it into a wheel and lock that", p.Name, s.URL)
		case "file", "url":
			// The file's name and hash are in files; it is found by name in --find-links or downloaded from the URL.
			if s.Type == "url" {
				if len(p.Files) != 1 {
					return r, fmt.Errorf("%s is locked from the URL %s with %d files recorded; expected one", p.Name, redactUserinfo(s.URL), len(p.Files))
				}
				f, err := pylockFileOf("", pylockFile{Name: p.Files[0].File, URL: s.URL, Hashes: hashTable(p.Files[0].Hash)}, !strings.HasSuffix(p.Files[0].File, ".whl"))
				if err != nil {
					return r, err
				}
				r.Files = []File{f}
				return r, nil
			}
		default:
			return r, fmt.Errorf("%s has a source of type %q, which venvpkg does not read", p.Name, s.Type)
		}
	}
	for _, f := range p.Files {
		if f.Hash == "" {
			return r, fmt.Errorf("the file %s of %s has no hash; lock again", f.File, p.Name)
		}
		h, err := fileHash(f.Hash)
		if err != nil {
			return r, fmt.Errorf("the file %s of %s: %w", f.File, p.Name, err)
		}
		r.Hashes = append(r.Hashes, h)
	}
	sort.Strings(r.Hashes)
	r.Hashes = slices.Compact(r.Hashes)
	return r, nil
}

func hashTable(h string) map[string]string {
	algo, hex, _ := strings.Cut(h, ":")
	return map[string]string{strings.ToLower(algo): strings.ToLower(hex)}
}

// checkRequiresPython refuses a lock whose requires-python excludes the target.
func checkRequiresPython(file, spec string, env pep508.Environment) error {
	if spec == "" {
		return nil
	}
	s, err := pep440.ParseSpecifierSet(spec)
	if err != nil {
		return fmt.Errorf("%s: requires-python %q: %w", file, spec, err)
	}
	v, err := pep440.Parse(env["python_full_version"])
	if err != nil {
		return fmt.Errorf("%s: the target's python_full_version %q: %w", file, env["python_full_version"], err)
	}
	if !s.Contains(v, true) {
		return fmt.Errorf("%s: requires-python %q excludes the target Python %s; lock for it or choose another --python", file, spec, v)
	}
	return nil
}

// pinned starts the Requirement of a locked package, whose version must be a valid PEP 440 version.
func pinned(name, display, version, where string) (Requirement, error) {
	r := Requirement{Name: name, Display: display, Source: where}
	if version == "" {
		return r, fmt.Errorf("%s has no version; venvpkg pins every package by version", display)
	}
	v, err := pep440.Parse(version)
	if err != nil {
		return r, fmt.Errorf("version %q: %w", version, err)
	}
	r.Version = v.String()
	return r, nil
}
