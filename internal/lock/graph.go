package lock

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pep503"
	"github.com/venvpkg/venvpkg/internal/pep508"
)

// Tool lock files (uv.lock, poetry.lock) record a resolution for every platform and every dependency group at
// once. Unlike a requirements file or pylock.toml, whose entries each say whether they apply, these name which
// packages apply only through the dependency graph: what the project needs is what its default dependencies
// reach, following each edge whose marker holds for the target and each extra that is asked for. graph holds such
// a lock's packages and edges; walk selects the packages that the target installs.

// lockedPackage is one [[package]] entry of a tool lock file.
type lockedPackage struct {
	name    string // normalised
	display string // as written
	version string // as written
	where   string // "uv.lock: package flask 2.2.2", for messages

	// deps are the package's unconditional dependencies; extras its optional dependencies by extra name.
	deps   []edge
	extras map[string][]edge
	// markers, when set, must hold for the package to apply: uv's resolution-markers (any of them) for a
	// package locked once per fork, Poetry's package-level markers.
	markers []*pep508.Marker

	req Requirement // what the package becomes when it is selected (Name, Version, Hashes or Files set)
	err error       // why the package cannot be installed, reported only when it is selected
}

// edge is one dependency of a locked package on another.
type edge struct {
	name       string         // normalised
	version    string         // when the lock names the version meant (uv does so for names locked more than once)
	constraint string         // a PEP 440 specifier set the target version must satisfy (Poetry), "" for any
	marker     *pep508.Marker // nil: always
	extras     []string       // normalised extras of the dependency requested through this edge
	optional   bool           // Poetry: taken only when an extra of the dependent asks for it
}

type graph struct {
	file     string
	packages []*lockedPackage
	byName   map[string][]*lockedPackage
}

func newGraph(file string, pkgs []*lockedPackage) *graph {
	g := &graph{file: file, packages: pkgs, byName: map[string][]*lockedPackage{}}
	for _, p := range pkgs {
		g.byName[p.name] = append(g.byName[p.name], p)
	}
	return g
}

// target picks the package an edge leads to for the environment env: the one named version when the edge names
// it, else the only entry of that name whose markers hold and whose version satisfies the edge's constraint.
func (g *graph) target(e edge, env pep508.Environment) (*lockedPackage, error) {
	cands := g.byName[e.name]
	if len(cands) == 0 {
		return nil, fmt.Errorf("the lock has no entry for %s", e.name)
	}
	var fit []*lockedPackage
	for _, p := range cands {
		if e.version != "" && !sameVersion(p.version, e.version) {
			continue
		}
		if !p.applies(env) {
			continue
		}
		if e.constraint != "" && len(cands) > 1 {
			if spec, err := pep440.ParseSpecifierSet(e.constraint); err == nil {
				if v, err := pep440.Parse(p.version); err == nil && !spec.Contains(v, true) {
					continue
				}
			}
		}
		fit = append(fit, p)
	}
	switch len(fit) {
	case 1:
		return fit[0], nil
	case 0:
		var vs []string
		for _, p := range cands {
			vs = append(vs, p.version)
		}
		return nil, fmt.Errorf("none of the lock's entries for %s (%s) applies to the target", e.name, strings.Join(vs, ", "))
	}
	var vs []string
	for _, p := range fit {
		vs = append(vs, p.version)
	}
	return nil, fmt.Errorf("the lock has %d entries for %s that apply to the target (%s); it must resolve to exactly one", len(fit), e.name, strings.Join(vs, ", "))
}

func (p *lockedPackage) applies(env pep508.Environment) bool {
	if len(p.markers) == 0 {
		return true
	}
	for _, m := range p.markers {
		if m.Evaluate(env) {
			return true
		}
	}
	return false
}

func sameVersion(a, b string) bool {
	if a == b {
		return true
	}
	va, err1 := pep440.Parse(a)
	vb, err2 := pep440.Parse(b)
	return err1 == nil && err2 == nil && va.Compare(vb) == 0
}

// walk follows the edges from roots for the target environment and returns the selected packages as a Lock,
// sorted by name. Every problem met on the way (an edge to a missing or ambiguous entry, a selected package that
// cannot be installed) is reported, each with the chain of packages that led to it.
func (g *graph) walk(roots []edge, env pep508.Environment) (*Lock, error) {
	type visit struct {
		pkg   *lockedPackage
		extra string // "" for the package itself
		chain []string
	}
	base := pep508.Environment{}
	for k, v := range env {
		base[k] = v
	}
	evalEnv := func(extra string) pep508.Environment {
		e := pep508.Environment{}
		for k, v := range base {
			e[k] = v
		}
		e["extra"] = extra
		return e
	}
	seen := map[*lockedPackage]map[string]bool{}
	var queue []visit
	var errs []error
	follow := func(from []string, e edge, activeExtras map[string]bool) {
		env := evalEnv("")
		if e.marker != nil && !e.marker.Evaluate(env) {
			// A marker naming an extra holds when that extra of the dependent is requested.
			matched := false
			for x := range activeExtras {
				if x != "" && e.marker.Evaluate(evalEnv(x)) {
					matched = true
					break
				}
			}
			if !matched {
				return
			}
		}
		p, err := g.target(e, env)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s (needed by %s)", g.file, err, strings.Join(append(from, e.name), " → ")))
			return
		}
		chain := append(append([]string{}, from...), p.display)
		queue = append(queue, visit{pkg: p, chain: chain})
		for _, x := range e.extras {
			queue = append(queue, visit{pkg: p, extra: x, chain: chain})
		}
	}
	for _, r := range roots {
		follow(nil, r, map[string]bool{"": true})
	}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		if seen[v.pkg] == nil {
			seen[v.pkg] = map[string]bool{}
		}
		if seen[v.pkg][v.extra] {
			continue
		}
		seen[v.pkg][v.extra] = true
		active := map[string]bool{}
		for x := range seen[v.pkg] {
			active[x] = true
		}
		if v.extra == "" {
			for _, e := range v.pkg.deps {
				if e.optional {
					continue
				}
				follow(v.chain, e, active)
			}
			continue
		}
		edges, ok := v.pkg.extras[v.extra]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %s %s has no extra %q (needed by %s)", g.file, v.pkg.display, v.pkg.version, v.extra, strings.Join(v.chain, " → ")))
			continue
		}
		for _, e := range edges {
			e.optional = false
			follow(v.chain, e, active)
		}
	}

	l := &Lock{Path: g.file, HashMode: true}
	for _, p := range g.packages {
		extras, ok := seen[p]
		if !ok {
			continue
		}
		if p.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.where, p.err))
			continue
		}
		r := p.req
		for x := range extras {
			if x != "" {
				r.Extras = append(r.Extras, x)
			}
		}
		sort.Strings(r.Extras)
		if len(r.Hashes) == 0 && len(r.Files) == 0 && r.VCS == nil {
			errs = append(errs, fmt.Errorf("%s: %s %s records no files with hashes; lock it again so every artifact carries a sha256", p.where, p.display, p.version))
			continue
		}
		l.Requirements = append(l.Requirements, r)
	}
	sort.SliceStable(l.Requirements, func(i, j int) bool { return l.Requirements[i].Name < l.Requirements[j].Name })
	for i := 1; i < len(l.Requirements); i++ {
		if a, b := l.Requirements[i-1], l.Requirements[i]; a.Name == b.Name {
			errs = append(errs, fmt.Errorf("%s: the target reaches two entries of %s (%s and %s); the lock must resolve each name once per platform", g.file, a.Display, a.Version, b.Version))
		}
	}
	if len(errs) > 0 {
		if len(errs) > maxErrors {
			errs = append(errs[:maxErrors:maxErrors], fmt.Errorf("%s: %d more problems not shown", g.file, len(errs)-maxErrors))
		}
		return nil, errors.Join(errs...)
	}
	return l, nil
}

// parseEdgeMarker parses an edge's marker text; "" gives nil.
func parseEdgeMarker(s string) (*pep508.Marker, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	return pep508.ParseMarker(s)
}

// normalizeExtras normalises and sorts extra names.
func normalizeExtras(in []string) []string {
	var out []string
	for _, x := range in {
		out = append(out, pep503.Normalize(x))
	}
	sort.Strings(out)
	return out
}

// fileHashes turns "sha256:<hex>" strings into Requirement.Hashes form, refusing weak or malformed ones.
func fileHash(h string) (string, error) {
	algo, hex, ok := strings.Cut(strings.TrimSpace(h), ":")
	if !ok {
		return "", fmt.Errorf("hash %q is not <algorithm>:<hex>", h)
	}
	return parseHash(strings.ToLower(algo) + ":" + hex)
}
