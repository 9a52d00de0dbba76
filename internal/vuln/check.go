package vuln

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	cvss20 "github.com/pandatix/go-cvss/20"
	cvss30 "github.com/pandatix/go-cvss/30"
	cvss31 "github.com/pandatix/go-cvss/31"
	cvss40 "github.com/pandatix/go-cvss/40"

	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pep503"
)

// Installed is one distribution to check and where it is installed.
type Installed struct {
	Name    string `json:"package"`
	Version string `json:"version"`
	Where   string `json:"where"` // "requirements.txt:4", "webapp_1.0.0-1_amd64.deb", "apt stable/main webapp 1.0.0-1 amd64"
}

// Severity levels, lowest first. Unknown is a finding whose records give
// neither a CVSS vector nor a severity word.
const (
	Unknown  = ""
	Low      = "LOW"
	Medium   = "MEDIUM"
	High     = "HIGH"
	Critical = "CRITICAL"
)

func rank(sev string) int {
	return slices.Index([]string{Unknown, Low, Medium, High, Critical}, sev)
}

// Finding is one vulnerability of one installed distribution: the records
// that alias each other merged.
type Finding struct {
	Installed
	ID       string   `json:"id"`      // the preferred id: a CVE when there is one
	Aliases  []string `json:"aliases"` // every other id of the merged records
	Summary  string   `json:"summary"`
	Fixed    []string `json:"fixed_in"` // versions after the installed one that fix it, lowest first
	Severity string   `json:"severity"` // LOW, MEDIUM, HIGH, CRITICAL, or "" when unknown
	Score    float64  `json:"score,omitempty"`
	Vector   string   `json:"vector,omitempty"`
	Ignored  *Ignore  `json:"ignored,omitempty"`
	// IgnoreExpired names an ignore rule that matched but has expired.
	IgnoreExpired *Ignore `json:"ignore_expired,omitempty"`
}

// Ignore is an accepted vulnerability: [[tool.venvpkg.ignore-vulnerabilities]].
type Ignore struct {
	ID      string    `json:"id"`
	Reason  string    `json:"reason"`
	Expires time.Time `json:"expires"` // the rule holds through this day
}

// Options tune Check.
type Options struct {
	Ignores []Ignore
	Now     time.Time // for ignore expiry; zero means time.Now
}

// Check returns the findings for pkgs, sorted by package, version, where
// and id.
func (db *DB) Check(pkgs []Installed, o Options) []Finding {
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	var out []Finding
	for _, p := range pkgs {
		var hits []*Record
		fixed := map[*Record][]string{}
		v, verr := pep440.Parse(p.Version)
		for _, r := range db.byName[pep503.Normalize(p.Name)] {
			matched := false
			for _, a := range r.Affected {
				if eco, _, _ := strings.Cut(a.Package.Ecosystem, ":"); eco != "PyPI" || pep503.Normalize(a.Package.Name) != pep503.Normalize(p.Name) {
					continue
				}
				if ok, fx := affects(a, p.Version, v, verr == nil); ok {
					matched = true
					fixed[r] = append(fixed[r], fx...)
				}
			}
			if matched {
				hits = append(hits, r)
			}
		}
		for _, group := range mergeAliases(hits) {
			f := finding(p, group, fixed, v, verr == nil)
			applyIgnores(&f, o.Ignores, now)
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b Finding) int {
		return cmp.Or(strings.Compare(pep503.Normalize(a.Name), pep503.Normalize(b.Name)), strings.Compare(a.Version, b.Version),
			strings.Compare(a.Where, b.Where), strings.Compare(a.ID, b.ID))
	})
	return out
}

// affects reports whether the affected entry covers the version, and the
// fixed versions of its ECOSYSTEM ranges. Versions compare by PEP 440
// (2.2.5rc1 comes before 2.2.5, so a fix in 2.2.5 leaves its release
// candidates affected) without their local label: 2.2.2+deb1 is a rebuild
// of 2.2.2 and has its vulnerabilities, and the PyPI ecosystem names
// public versions only.
func affects(a Affected, raw string, v pep440.Version, valid bool) (bool, []string) {
	v = v.WithoutLocal()
	var fixed []string
	hit := false
	for _, s := range a.Versions {
		if s == raw {
			hit = true
			continue
		}
		if w, err := pep440.Parse(s); err == nil && valid && w.WithoutLocal().Equal(v) {
			hit = true
		}
	}
	for _, r := range a.Ranges {
		if r.Type != "ECOSYSTEM" {
			continue // GIT ranges name commits; the ECOSYSTEM range next to them names releases
		}
		for _, e := range r.Events {
			if e.Fixed != "" {
				fixed = append(fixed, e.Fixed)
			}
		}
		if valid && inRange(r.Events, v) {
			hit = true
		}
	}
	return hit, fixed
}

// inRange evaluates an ECOSYSTEM range as the OSV schema describes: the
// events sorted by version, a version is affected from an introduced
// event up to (not including) a fixed one, or up to and including a
// last_affected one. Event versions that are not PEP 440 never match.
func inRange(events []Event, v pep440.Version) bool {
	type ev struct {
		kind string
		v    pep440.Version
		zero bool
	}
	var evs []ev
	for _, e := range events {
		switch {
		case e.Introduced == "0":
			evs = append(evs, ev{kind: "introduced", zero: true})
		case e.Introduced != "":
			if w, err := pep440.Parse(e.Introduced); err == nil {
				evs = append(evs, ev{kind: "introduced", v: w})
			}
		case e.Fixed != "":
			if w, err := pep440.Parse(e.Fixed); err == nil {
				evs = append(evs, ev{kind: "fixed", v: w})
			}
		case e.LastAffected != "":
			if w, err := pep440.Parse(e.LastAffected); err == nil {
				evs = append(evs, ev{kind: "last_affected", v: w})
			}
		}
	}
	slices.SortStableFunc(evs, func(a, b ev) int {
		switch {
		case a.zero && b.zero:
			return 0
		case a.zero:
			return -1
		case b.zero:
			return 1
		}
		return a.v.Compare(b.v)
	})
	affected := false
	for _, e := range evs {
		switch e.kind {
		case "introduced":
			if e.zero || v.Compare(e.v) >= 0 {
				affected = true
			}
		case "fixed":
			if v.Compare(e.v) >= 0 {
				affected = false
			}
		case "last_affected":
			if v.Compare(e.v) > 0 {
				affected = false
			}
		}
	}
	return affected
}

// mergeAliases groups records that name each other (by id or alias).
func mergeAliases(rs []*Record) [][]*Record {
	parent := make([]int, len(rs))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	owner := map[string]int{}
	for i, r := range rs {
		for _, id := range append([]string{r.ID}, r.Aliases...) {
			id = strings.ToUpper(id)
			if j, ok := owner[id]; ok {
				parent[find(i)] = find(j)
			} else {
				owner[id] = i
			}
		}
	}
	groups := map[int][]*Record{}
	var order []int
	for i, r := range rs {
		root := find(i)
		if _, ok := groups[root]; !ok {
			order = append(order, root)
		}
		groups[root] = append(groups[root], r)
	}
	var out [][]*Record
	for _, root := range order {
		out = append(out, groups[root])
	}
	return out
}

// idRank orders ids for the one shown first: CVE, GHSA, PYSEC, others.
func idRank(id string) int {
	for i, p := range []string{"CVE-", "GHSA-", "PYSEC-"} {
		if strings.HasPrefix(id, p) {
			return i
		}
	}
	return 3
}

func finding(p Installed, group []*Record, fixedBy map[*Record][]string, v pep440.Version, valid bool) Finding {
	f := Finding{Installed: p}
	ids := map[string]bool{}
	var fixed []string
	for _, r := range group {
		fixed = append(fixed, fixedBy[r]...)
		ids[r.ID] = true
		for _, a := range r.Aliases {
			ids[a] = true
		}
	}
	all := make([]string, 0, len(ids))
	for id := range ids {
		all = append(all, id)
	}
	slices.SortFunc(all, func(a, b string) int { return cmp.Or(cmp.Compare(idRank(a), idRank(b)), strings.Compare(a, b)) })
	f.ID, f.Aliases = all[0], all[1:]

	// The summary: the shortest record summary, else the details' first line.
	for _, r := range group {
		if s := strings.TrimSpace(r.Summary); s != "" && (f.Summary == "" || len(s) < len(f.Summary)) {
			f.Summary = s
		}
	}
	if f.Summary == "" {
		for _, r := range group {
			if d := strings.TrimSpace(r.Details); d != "" {
				f.Summary = firstSentence(d)
				break
			}
		}
	}
	// Fixed versions after the installed one, lowest first.
	var fx []pep440.Version
	for _, s := range fixed {
		w, err := pep440.Parse(s)
		if err != nil || (valid && w.Compare(v.WithoutLocal()) <= 0) {
			continue
		}
		if !slices.ContainsFunc(fx, w.Equal) {
			fx = append(fx, w)
		}
	}
	slices.SortFunc(fx, pep440.Version.Compare)
	for _, w := range fx {
		f.Fixed = append(f.Fixed, w.String())
	}
	for _, r := range group {
		sev, score, vec := recordSeverity(r, p.Name)
		if rank(sev) > rank(f.Severity) || (rank(sev) == rank(f.Severity) && score > f.Score) {
			f.Severity, f.Score, f.Vector = sev, score, vec
		}
	}
	return f
}

// boilerplate is the opening sentence of many CVE descriptions, which
// says what the project is rather than what is wrong.
var boilerplate = regexp.MustCompile(`^[\w.-]+ is (a|an|the) [^.]*\. `)

func firstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if loc := boilerplate.FindStringIndex(s); loc != nil && loc[1] < len(s) {
		s = s[loc[1]:]
	}
	if i := strings.Index(s, ". "); i > 0 {
		s = s[:i+1]
	}
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}

// recordSeverity scores the record's CVSS vectors (the affected entry's
// and the record's) and keeps the highest; without a vector it reads the
// severity word GitHub's records carry in database_specific.
func recordSeverity(r *Record, name string) (string, float64, string) {
	sevs := slices.Clone(r.Severity)
	for _, a := range r.Affected {
		if pep503.Normalize(a.Package.Name) == pep503.Normalize(name) {
			sevs = append(sevs, a.Severity...)
		}
	}
	best, bestScore, bestVec := Unknown, -1.0, ""
	for _, s := range sevs {
		score, ok := cvssScore(s)
		if ok && score > bestScore {
			best, bestScore, bestVec = rating(score), score, s.Score
		}
	}
	if bestScore >= 0 {
		return best, bestScore, bestVec
	}
	if w, ok := r.DatabaseSpecific["severity"].(string); ok {
		switch strings.ToUpper(w) {
		case "LOW":
			return Low, 0, ""
		case "MODERATE", "MEDIUM":
			return Medium, 0, ""
		case "HIGH":
			return High, 0, ""
		case "CRITICAL":
			return Critical, 0, ""
		}
	}
	return Unknown, 0, ""
}

func cvssScore(s Severity) (float64, bool) {
	switch s.Type {
	case "CVSS_V4":
		c, err := cvss40.ParseVector(s.Score)
		if err != nil {
			return 0, false
		}
		return c.Score(), true
	case "CVSS_V3":
		if strings.HasPrefix(s.Score, "CVSS:3.0/") {
			c, err := cvss30.ParseVector(s.Score)
			if err != nil {
				return 0, false
			}
			return c.BaseScore(), true
		}
		c, err := cvss31.ParseVector(s.Score)
		if err != nil {
			return 0, false
		}
		return c.BaseScore(), true
	case "CVSS_V2":
		c, err := cvss20.ParseVector(s.Score)
		if err != nil {
			return 0, false
		}
		return c.BaseScore(), true
	}
	return 0, false
}

// rating is the CVSS qualitative rating of a score.
func rating(score float64) string {
	score = math.Round(score*10) / 10
	switch {
	case score >= 9:
		return Critical
	case score >= 7:
		return High
	case score >= 4:
		return Medium
	case score > 0:
		return Low
	}
	return Low
}

func applyIgnores(f *Finding, ignores []Ignore, now time.Time) {
	for i := range ignores {
		ig := ignores[i]
		if !strings.EqualFold(ig.ID, f.ID) && !slices.ContainsFunc(f.Aliases, func(a string) bool { return strings.EqualFold(a, ig.ID) }) {
			continue
		}
		if now.After(ig.Expires.AddDate(0, 0, 1)) {
			f.IgnoreExpired = &ig
			continue
		}
		f.Ignored = &ig
		return
	}
}

// Threshold is the lowest severity that fails a check (--fail-on).
type Threshold struct{ name string }

// ParseThreshold reads --fail-on: any, low, medium, high, critical or never.
func ParseThreshold(s string) (Threshold, error) {
	switch strings.ToLower(s) {
	case "any", "low", "medium", "high", "critical", "never":
		return Threshold{strings.ToLower(s)}, nil
	}
	return Threshold{}, fmt.Errorf("--fail-on %q: use any, low, medium, high, critical or never", s)
}

// Fails reports whether the finding fails the check: it is not ignored
// and its severity is at or above the threshold. A finding of unknown
// severity fails at every threshold but never: unknown is not safe.
func (t Threshold) Fails(f Finding) bool {
	if f.Ignored != nil || t.name == "never" {
		return false
	}
	if t.name == "any" || f.Severity == Unknown {
		return true
	}
	return rank(f.Severity) >= rank(strings.ToUpper(t.name))
}
