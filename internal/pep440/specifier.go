package pep440

import (
	"fmt"
	"strings"
)

// Specifier is one version clause such as ">=1.0" or "==2.1.*". Op is one of
// "~=", "==", "!=", "<=", ">=", "<", ">" or "==="; Version is the version
// text as written (with its ".*" suffix for prefix matches).
type Specifier struct {
	Op      string
	Version string
}

// SpecifierSet is a comma-separated list of specifiers; a version must
// satisfy all of them. The empty set matches every final release.
type SpecifierSet []Specifier

// operators is ordered so that longer operators are tried first.
var operators = []string{"===", "~=", "==", "!=", "<=", ">=", "<", ">"}

// ParseSpecifier parses a single clause such as "~= 1.4.2" or "!=1.3.*".
func ParseSpecifier(s string) (Specifier, error) {
	text := strings.TrimSpace(s)
	var op string
	for _, o := range operators {
		if strings.HasPrefix(text, o) {
			op = o
			break
		}
	}
	if op == "" {
		return Specifier{}, fmt.Errorf("invalid version specifier %q: expected an operator (==, !=, <=, >=, <, >, ~= or ===) before the version", s)
	}
	ver := strings.TrimSpace(text[len(op):])
	if ver == "" {
		return Specifier{}, fmt.Errorf("invalid version specifier %q: missing version after %s", s, op)
	}
	spec := Specifier{Op: op, Version: ver}
	if err := spec.validate(); err != nil {
		return Specifier{}, fmt.Errorf("invalid version specifier %q: %w", s, err)
	}
	return spec, nil
}

func (s Specifier) validate() error {
	if s.Op == "===" {
		if strings.ContainsAny(s.Version, " \t\r\n;),") {
			return fmt.Errorf("=== takes a single word, got %q", s.Version)
		}
		return nil
	}
	text, wildcard := strings.CutSuffix(s.Version, ".*")
	v, err := Parse(text)
	if err != nil {
		return err
	}
	if strings.TrimSpace(text) != text {
		return &InvalidVersionError{Text: s.Version, Reason: "unexpected space"}
	}
	if wildcard {
		if s.Op != "==" && s.Op != "!=" {
			return fmt.Errorf("the .* suffix is allowed only with == and !=, not %s", s.Op)
		}
		if v.preKind != "" || v.hasPost || v.hasDev || v.local != nil {
			return fmt.Errorf("the .* suffix must follow the release segment, as in ==1.4.*")
		}
		return nil
	}
	if v.local != nil && s.Op != "==" && s.Op != "!=" {
		return fmt.Errorf("a local version label (+%s) is allowed only with == and !=", v.Local())
	}
	if s.Op == "~=" && len(v.release) < 2 {
		return fmt.Errorf("~= needs at least two release components, as in ~=%d.0", v.release[0])
	}
	return nil
}

// String returns the clause as operator and version without spaces.
func (s Specifier) String() string { return s.Op + s.Version }

// Wildcard reports whether s is a prefix match (== or != with ".*").
func (s Specifier) Wildcard() bool {
	return (s.Op == "==" || s.Op == "!=") && strings.HasSuffix(s.Version, ".*")
}

// Contains reports whether v satisfies the clause's operator. It applies no
// pre-release filtering; SpecifierSet.Contains does that. A specifier that
// does not parse contains nothing.
func (s Specifier) Contains(v Version) bool {
	if s.Op == "===" {
		return asciiEqualFold(v.Text(), s.Version)
	}
	text, wildcard := strings.CutSuffix(s.Version, ".*")
	spec, err := Parse(text)
	if err != nil {
		return false
	}
	switch s.Op {
	case "==":
		return equalMatch(v, spec, wildcard)
	case "!=":
		return !equalMatch(v, spec, wildcard)
	case "~=":
		if len(spec.release) < 2 {
			return false
		}
		prefix := Version{epoch: spec.epoch, release: spec.release[:len(spec.release)-1]}
		return v.WithoutLocal().Compare(spec) >= 0 && prefixMatch(v, prefix)
	case "<=":
		return v.WithoutLocal().Compare(spec) <= 0
	case ">=":
		return v.WithoutLocal().Compare(spec) >= 0
	case "<":
		// <V excludes the pre-releases of V itself unless V is a
		// pre-release: those of 1.0 are 1.0.dev0 up to 1.0rc9, which all
		// sort from 1.0.dev0 on, and those of 1.0.post1 sort from
		// 1.0.post1.dev0 on (1.0.dev0 is a pre-release of 1.0, not of
		// 1.0.post1, so <1.0.post1 keeps it).
		if !spec.IsPrerelease() {
			spec.hasDev, spec.dev = true, 0
		}
		return v.Compare(spec) < 0
	case ">":
		// >V excludes V's local versions, and its post-releases unless V
		// is a post-release itself: only those of V, so >1.0a1 takes
		// 1.0.post0 and 1.0a2+local, and >1.0.post1 takes 1.0.post2+local.
		if v.WithoutLocal().Compare(spec) <= 0 {
			return false
		}
		if !spec.hasPost && !spec.hasDev && v.hasPost && postOf(v, spec) {
			return false
		}
		return true
	}
	return false
}

// postOf reports whether v is a post-release of spec (or a development
// release or local version of one): the same epoch, release and
// pre-release, whatever its post, dev and local segments.
func postOf(v, spec Version) bool {
	return v.epoch == spec.epoch && compareRelease(v.release, spec.release) == 0 &&
		v.preKind == spec.preKind && (v.preKind == "" || v.preN == spec.preN)
}

// asciiEqualFold reports whether a and b are equal with ASCII letters
// compared without case; other characters compare exactly (strings.EqualFold
// would fold "ſ" onto "s").
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// equalMatch implements == without its negation: a prefix match for ".*",
// otherwise equality, ignoring v's local label when spec has none.
func equalMatch(v, spec Version, wildcard bool) bool {
	if wildcard {
		return prefixMatch(v, spec)
	}
	if spec.local == nil {
		v = v.WithoutLocal()
	}
	return v.Compare(spec) == 0
}

// prefixMatch reports whether v's epoch equals prefix's and v's release,
// padded with zeros, starts with prefix's release.
func prefixMatch(v, prefix Version) bool {
	if v.epoch != prefix.epoch {
		return false
	}
	for i, n := range prefix.release {
		var m int
		if i < len(v.release) {
			m = v.release[i]
		}
		if m != n {
			return false
		}
	}
	return true
}

// ParseSpecifierSet parses a comma-separated list such as ">=1.0, !=1.3.*, <2".
// The empty string gives the empty set.
func ParseSpecifierSet(s string) (SpecifierSet, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var set SpecifierSet
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			return nil, fmt.Errorf("invalid version specifiers %q: empty clause between commas", s)
		}
		spec, err := ParseSpecifier(part)
		if err != nil {
			return nil, err
		}
		set = append(set, spec)
	}
	return set, nil
}

// String joins the clauses with commas, as in ">=1.0,<2".
func (s SpecifierSet) String() string {
	parts := make([]string, len(s))
	for i, spec := range s {
		parts[i] = spec.String()
	}
	return strings.Join(parts, ",")
}

// Prereleases reports whether a clause names a pre-release (as ">=1.0b1" or
// "==2.0rc1.*" would), which PEP 440 takes as a request for pre-releases.
func (s SpecifierSet) Prereleases() bool {
	for _, spec := range s {
		if spec.Op == "!=" {
			continue
		}
		text, _ := strings.CutSuffix(spec.Version, ".*")
		if v, err := Parse(text); err == nil && v.IsPrerelease() {
			return true
		}
	}
	return false
}

// Contains reports whether v satisfies every clause. Pre-releases (and
// development releases) are accepted only when prereleases is true or a
// clause names a pre-release itself; this includes the empty set.
func (s SpecifierSet) Contains(v Version, prereleases bool) bool {
	if v.IsPrerelease() && !prereleases && !s.Prereleases() {
		return false
	}
	for _, spec := range s {
		if !spec.Contains(v) {
			return false
		}
	}
	return true
}
