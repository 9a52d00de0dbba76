// Package closure checks that the distributions a build installs are complete and consistent, as pip's
// hash-checking mode demands of a lock: starting from the project's own wheel, every Requires-Dist of every
// distribution reached (its markers evaluated for the target interpreter, with the extras requested) must be met by
// the one pinned distribution of that name (PEP 503 names, PEP 440 specifiers matched with pip's pre-release rule),
// and every pinned distribution's Requires-Python must admit the target. It reports every problem in one run, each
// with the chain of requirements that leads to it, and the pins nothing requires.
//
// The check knows nothing of lock file formats: it takes the resolved pins with the core metadata (PEP 566/643) of
// each, read from the wheel or served by the index (PEP 658).
package closure

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pep503"
	"github.com/venvpkg/venvpkg/internal/pep508"
)

// Dist is one distribution to install: its core metadata and what the lock says of it.
type Dist struct {
	Name           string   // Name, as the metadata writes it
	Version        string   // Version of the metadata
	RequiresDist   []string // Requires-Dist values, in metadata order
	RequiresPython string   // Requires-Python, "" when absent
	Extras         []string // extras the lock (or, for the project, the build) requests
	Source         string   // where it is pinned, as "requirements.txt:12"; "" for the project
}

// Kind classifies a problem.
type Kind int

const (
	// Missing is a requirement no pinned distribution is named for.
	Missing Kind = iota + 1
	// Conflict is a requirement whose specifier the pinned version does not satisfy.
	Conflict
	// PythonExcluded is a distribution whose Requires-Python excludes the target interpreter.
	PythonExcluded
	// BadMetadata is metadata that cannot be read: a Requires-Dist or Requires-Python that does not parse, or a
	// distribution pinned twice.
	BadMetadata
)

// Problem is one reason the set of distributions cannot be installed as it is.
type Problem struct {
	Kind    Kind
	Dist    string // normalised name of the distribution the problem is about
	Message string // one line, naming the chain that leads to it
}

// Result is the outcome of a check.
type Result struct {
	Problems []Problem // in the order the walk meets them
	Unused   []string  // one line per pin nothing requires, sorted by name
}

// Err returns nil when there is no problem, else one error listing every problem, one per line.
func (r *Result) Err() error {
	if len(r.Problems) == 0 {
		return nil
	}
	lines := make([]string, len(r.Problems))
	for i, p := range r.Problems {
		lines[i] = p.Message
	}
	return errors.New(strings.Join(lines, "\n"))
}

// node is a distribution in the walk, with the extras that have been asked of it.
type node struct {
	dist    *Dist
	name    string // normalised
	version pep440.Version
	reqs    []parsedReq
	parent  *node // the first distribution found requiring it; nil for the project
	done    map[string]bool
}

type parsedReq struct {
	req  pep508.Requirement
	text string // as written in the metadata
}

// item is a unit of work: one distribution, evaluated without extras ("") or for one extra.
type item struct {
	n     *node
	extra string
}

// Check walks the requirements of project through pins for the environment env (a probed interpreter's markers;
// "extra" is set by the walk) and returns every problem found. The project is not among pins.
func Check(project Dist, pins []Dist, env pep508.Environment) *Result {
	res := &Result{}
	c := &checker{res: res, env: env, nodes: map[string]*node{}}
	c.target, c.targetOK = targetVersion(env)

	root := c.add(&project)
	for i := range pins {
		p := &pins[i]
		n := pep503.Normalize(p.Name)
		if prev, ok := c.nodes[n]; ok {
			c.problem(BadMetadata, n, fmt.Sprintf("%s is pinned twice: %s%s and %s%s; keep one", p.Name,
				prev.dist.Version, where(prev.dist.Source), p.Version, where(p.Source)))
			continue
		}
		c.add(p)
	}
	reached := map[*node]bool{root: true}
	queue := []item{{root, ""}}
	root.done[""] = true
	for _, e := range requested(project.Extras) {
		if !root.done[e] {
			root.done[e] = true
			queue = append(queue, item{root, e})
		}
	}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		for _, pr := range c.applicable(it) {
			dep := c.satisfy(it.n, pr)
			if dep == nil {
				continue
			}
			if !reached[dep] {
				reached[dep] = true
				dep.parent = it.n
			}
			asked := append([]string{""}, requested(pr.req.Extras)...)
			asked = append(asked, requested(dep.dist.Extras)...)
			for _, e := range asked {
				if !dep.done[e] {
					dep.done[e] = true
					queue = append(queue, item{dep, e})
				}
			}
		}
	}

	// Requires-Python of everything installed, reached or not, in name order.
	names := make([]string, 0, len(c.nodes))
	for n := range c.nodes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		n := c.nodes[name]
		c.checkPython(n, reached[n])
		if n != root && !reached[n] {
			res.Unused = append(res.Unused, fmt.Sprintf("%s %s%s is pinned but nothing installed requires it (an unused pin: remove it, or add it to the project's dependencies if it is meant to be there)",
				n.dist.Name, n.dist.Version, where(n.dist.Source)))
		}
	}
	return res
}

type checker struct {
	res      *Result
	env      pep508.Environment
	nodes    map[string]*node
	target   pep440.Version
	targetOK bool
}

func (c *checker) problem(k Kind, dist, msg string) {
	c.res.Problems = append(c.res.Problems, Problem{Kind: k, Dist: dist, Message: msg})
}

// add parses d's metadata into a node; unparsable entries are problems and are left out.
func (c *checker) add(d *Dist) *node {
	n := &node{dist: d, name: pep503.Normalize(d.Name), done: map[string]bool{}}
	c.nodes[n.name] = n
	v, err := pep440.Parse(d.Version)
	if err != nil {
		c.problem(BadMetadata, n.name, fmt.Sprintf("%s%s: metadata Version %q: %v", d.Name, where(d.Source), d.Version, err))
	}
	n.version = v
	for _, s := range d.RequiresDist {
		r, err := pep508.ParseRequirement(s)
		if err != nil {
			c.problem(BadMetadata, n.name, fmt.Sprintf("%s %s%s: Requires-Dist %q: %v", d.Name, d.Version, where(d.Source), s, err))
			continue
		}
		n.reqs = append(n.reqs, parsedReq{req: r, text: s})
	}
	return n
}

// applicable returns the requirements of it.n that apply to the target for it.extra: for "" those whose marker
// holds without an extra, for an extra those whose marker holds only with it.
func (c *checker) applicable(it item) []parsedReq {
	env := make(pep508.Environment, len(c.env)+1)
	for k, v := range c.env {
		env[k] = v
	}
	env["extra"] = ""
	var out []parsedReq
	for _, pr := range it.n.reqs {
		m := pr.req.Marker
		if it.extra == "" {
			if m.Evaluate(env) {
				out = append(out, pr)
			}
			continue
		}
		if m == nil || m.Evaluate(env) {
			continue // already taken without the extra
		}
		env["extra"] = it.extra
		ok := m.Evaluate(env)
		env["extra"] = ""
		if ok {
			out = append(out, pr)
		}
	}
	return out
}

// satisfy finds the pin meeting pr, a requirement of n, reporting a problem and returning nil when there is none.
func (c *checker) satisfy(n *node, pr parsedReq) *node {
	r := pr.req
	dep, ok := c.nodes[pep503.Normalize(r.Name)]
	if !ok {
		c.problem(Missing, pep503.Normalize(r.Name), fmt.Sprintf("%s %s requires %s, which the lock does not pin%s",
			n.dist.Name, n.dist.Version, display(r), neededBy(n)))
		return nil
	}
	if dep == n {
		return dep // a distribution naming itself for more of its extras, as "pkg[all]" listing "pkg[a]"
	}
	if r.URL == "" && len(r.Specifier) > 0 && !r.Specifier.Contains(dep.version, true) {
		c.problem(Conflict, dep.name, fmt.Sprintf("%s %s requires %s, but the lock pins %s %s%s%s",
			n.dist.Name, n.dist.Version, display(r), dep.dist.Name, dep.dist.Version, where(dep.dist.Source), neededBy(n)))
		// The walk goes on through the pinned version: its own requirements are what will be installed.
	}
	return dep
}

// checkPython reports n when its Requires-Python excludes the target.
func (c *checker) checkPython(n *node, reached bool) {
	d := n.dist
	if d.RequiresPython == "" || !c.targetOK {
		return
	}
	spec, err := pep440.ParseSpecifierSet(d.RequiresPython)
	if err != nil {
		c.problem(BadMetadata, n.name, fmt.Sprintf("%s %s%s: Requires-Python %q: %v", d.Name, d.Version, where(d.Source), d.RequiresPython, err))
		return
	}
	if spec.Contains(c.target, true) {
		return
	}
	chain := ""
	switch {
	case n.parent != nil:
		chain = neededBy(n)
	case reached:
		chain = "" // the project itself
	default:
		chain = " (nothing requires it)"
	}
	c.problem(PythonExcluded, n.name, fmt.Sprintf("%s %s requires Python %s, which excludes the target interpreter's %s%s%s",
		d.Name, d.Version, d.RequiresPython, c.target, where(d.Source), chain))
}

// targetVersion is the interpreter's full version from its markers.
func targetVersion(env pep508.Environment) (pep440.Version, bool) {
	for _, k := range []string{"python_full_version", "python_version"} {
		if s := env[k]; s != "" {
			if v, err := pep440.Parse(s); err == nil {
				return v, true
			}
		}
	}
	return pep440.Version{}, false
}

// neededBy names the chain from the project to n, as " (needed by myapp → flask)"; "" when n is the project.
func neededBy(n *node) string {
	if n.parent == nil {
		return ""
	}
	var chain []string
	for m := n; m != nil; m = m.parent {
		chain = append(chain, m.dist.Name)
	}
	slices.Reverse(chain)
	return " (needed by " + strings.Join(chain, " → ") + ")"
}

func where(source string) string {
	if source == "" {
		return ""
	}
	return " (" + source + ")"
}

// display writes a requirement without its marker, which held for the target.
func display(r pep508.Requirement) string {
	s := r.Name
	if len(r.Extras) > 0 {
		s += "[" + strings.Join(r.Extras, ",") + "]"
	}
	if r.URL != "" {
		return s + " @ " + r.URL
	}
	return s + r.Specifier.String()
}

// requested normalises extra names and drops empty ones and duplicates.
func requested(extras []string) []string {
	var out []string
	for _, e := range extras {
		if e = pep503.Normalize(e); e != "" && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}
