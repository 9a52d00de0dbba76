package lock

import (
	"fmt"
	"sort"
	"strings"

	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pep503"
)

// pin is one == or === clause for a project.
type pin struct {
	exact   bool
	text    string         // as written
	version pep440.Version // valid when parsed
	parsed  bool
	source  string
	line    string // the requirement text, for messages
}

func (p pin) same(o pin) bool {
	if p.parsed && o.parsed {
		if p.exact || o.exact {
			return strings.EqualFold(p.version.String(), o.version.String())
		}
		return p.version.Equal(o.version)
	}
	return strings.EqualFold(p.text, o.text)
}

func (p pin) String() string {
	if p.exact {
		return "===" + p.text
	}
	return "==" + p.text
}

// resolve combines the requirement lines of each project with its
// constraints into one pinned Requirement and checks hash-checking mode.
func (r *reader) resolve() {
	byName := map[string][]reqLine{}
	var order []string
	for _, rl := range r.reqs {
		n := pep503.Normalize(rl.req.Name)
		if _, ok := byName[n]; !ok {
			order = append(order, n)
		}
		byName[n] = append(byName[n], rl)
	}
	consByName := map[string][]reqLine{}
	for _, c := range r.cons {
		n := pep503.Normalize(c.req.Name)
		consByName[n] = append(consByName[n], c)
	}
	for _, n := range order {
		if req, ok := r.combine(n, byName[n], consByName[n]); ok {
			r.lock.Requirements = append(r.lock.Requirements, req)
		}
	}
	sort.Slice(r.lock.Requirements, func(i, j int) bool {
		return r.lock.Requirements[i].Name < r.lock.Requirements[j].Name
	})
	if len(r.hashSources) > 0 {
		r.lock.HashMode = true
		var without []string
		for _, req := range r.lock.Requirements {
			if len(req.Hashes) == 0 {
				without = append(without, fmt.Sprintf("%s (%s)", req.Display+pinText(req), req.Source))
			}
		}
		if len(without) > 0 {
			r.errs = append(r.errs, fmt.Errorf("%s: hash-checking mode is on (%s) but %d requirement(s) have no --hash: %s; add --hash=sha256:<hex> to each (pip-compile --generate-hashes and uv export write them)",
				r.lock.Path, r.hashSources[0], len(without), strings.Join(without, ", ")))
		}
	}
}

func pinText(req Requirement) string {
	if req.Exact {
		return "===" + req.Version
	}
	return "==" + req.Version
}

// combine merges the lines naming one project. It reports problems in
// r.errs and returns ok false when there are any.
func (r *reader) combine(name string, lines, cons []reqLine) (Requirement, bool) {
	first := lines[0]
	var pins []pin
	var others []struct {
		spec   pep440.Specifier
		source string
		line   string
	}
	ok := true
	collect := func(rl reqLine, isConstraint bool) {
		for _, s := range rl.req.Specifier {
			switch {
			case s.Op == "===" || s.Op == "==" && !s.Wildcard():
				p := pin{exact: s.Op == "===", text: s.Version, source: rl.source, line: rl.text}
				if v, err := pep440.Parse(s.Version); err == nil {
					p.version, p.parsed = v, true
				}
				pins = append(pins, p)
			case s.Op == "==" && !isConstraint:
				r.errorf(rl.source, "%q is a wildcard, not a pin; write %s==<version> (pip-compile or uv export write exact pins)", rl.text, rl.req.Name)
				ok = false
			default:
				others = append(others, struct {
					spec   pep440.Specifier
					source string
					line   string
				}{s, rl.source, rl.text})
			}
		}
	}
	for _, rl := range lines {
		collect(rl, false)
	}
	for _, c := range cons {
		collect(c, true)
	}
	if !ok {
		return Requirement{}, false
	}
	if len(pins) == 0 {
		r.errorf(first.source, "%q is not pinned; write %s==<version> (pip-compile or uv export write exact pins)", first.text, first.req.Name)
		return Requirement{}, false
	}
	chosen := pins[0]
	for _, p := range pins[1:] {
		if !p.same(chosen) {
			r.errorf(p.source, "%s is pinned to different versions: %q (%s) and %q (%s); keep one", name, chosen.line, chosen.source, p.line, p.source)
			return Requirement{}, false
		}
	}
	for _, o := range others {
		if !chosen.parsed {
			r.errorf(chosen.source, "%s===%s is not a PEP 440 version, so it cannot be checked against %q (%s); pin it with == alone", name, chosen.text, o.line, o.source)
			return Requirement{}, false
		}
		if !o.spec.Contains(chosen.version) {
			r.errorf(chosen.source, "%s%s conflicts with %q (%s)", name, chosen, o.line, o.source)
			return Requirement{}, false
		}
	}

	req := Requirement{
		Name:    name,
		Display: first.req.Name,
		Exact:   chosen.exact,
		Marker:  first.req.Marker.String(),
		Source:  first.source,
	}
	if chosen.exact || !chosen.parsed {
		req.Version = chosen.text
	} else {
		req.Version = chosen.version.String()
	}
	extras := map[string]bool{}
	for _, rl := range lines {
		for _, e := range rl.req.Extras {
			extras[pep503.Normalize(e)] = true
		}
		for _, h := range rl.hashes {
			if !containsString(req.Hashes, h) {
				req.Hashes = append(req.Hashes, h)
			}
		}
	}
	for e := range extras {
		req.Extras = append(req.Extras, e)
	}
	sortStrings(req.Extras)

	// Hashes from constraints narrow the requirement's own hashes, or
	// supply them when the requirement has none.
	for _, c := range cons {
		if len(c.hashes) == 0 {
			continue
		}
		if len(req.Hashes) == 0 {
			req.Hashes = append([]string(nil), c.hashes...)
			continue
		}
		var both []string
		for _, h := range req.Hashes {
			if containsString(c.hashes, h) {
				both = append(both, h)
			}
		}
		if len(both) == 0 {
			r.errorf(first.source, "%s: none of its hashes appears in the constraint at %s; regenerate the files together", name, c.source)
			return Requirement{}, false
		}
		req.Hashes = both
	}
	return req, true
}
