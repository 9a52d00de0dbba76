// Package pep440 implements version identifiers and version specifiers as
// defined by PEP 440 ("Version Identification and Dependency Specification",
// now the "Version specifiers" page of the PyPA specifications).
//
// Parse accepts every form the specification allows, including the
// alternative spellings it normalises ("1.0RC1", "v1.0", "1.0-1",
// "1.0.dev"), epochs ("1!2.0") and local versions ("1.0+ubuntu.1").
// Version.String returns the normalised form and Version.Compare implements
// the full ordering. ParseSpecifierSet and SpecifierSet.Contains implement
// the comparison operators, including prefix matching, the compatible
// release operator and the exclusive ordered comparisons' rules for pre-
// and post-releases.
package pep440

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Version is a parsed PEP 440 version. The zero value is not a valid
// version; obtain one from Parse.
type Version struct {
	epoch   int
	release []int
	preKind string // "a", "b" or "rc"; "" when not a pre-release
	preN    int
	hasPost bool
	post    int
	hasDev  bool
	dev     int
	local   []localSegment
	text    string // as given to Parse, for ===
}

// localSegment is one dot-separated part of a local version label. Numeric
// parts are kept as decimal digits without leading zeros so that labels of
// any length compare correctly.
type localSegment struct {
	numeric bool
	text    string
}

// versionPattern is the regular expression given in PEP 440's appendix for
// versions in any of the permitted spellings. Matching is case-insensitive
// and anchored; surrounding whitespace is removed before matching. Go's (?i)
// folds some non-ASCII letters onto ASCII ones (U+017F "ſ" onto "s", U+212A
// KELVIN SIGN onto "k"); Parse refuses non-ASCII text first, since PEP 440
// makes only ASCII letters case-insensitive.
var versionPattern = regexp.MustCompile(`(?i)^v?` +
	`(?:(?P<epoch>[0-9]+)!)?` +
	`(?P<release>[0-9]+(?:\.[0-9]+)*)` +
	`(?P<pre>[-_.]?(?P<pre_l>alpha|beta|preview|pre|a|b|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?` +
	`(?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?))?` +
	`(?P<dev>[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?` +
	`(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?$`)

var groupIndex = func() map[string]int {
	m := make(map[string]int)
	for i, n := range versionPattern.SubexpNames() {
		if n != "" {
			m[n] = i
		}
	}
	return m
}()

// InvalidVersionError reports text that is not a PEP 440 version.
type InvalidVersionError struct {
	Text   string
	Reason string // empty when the text does not match the grammar at all
}

func (e *InvalidVersionError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("invalid version %q: %s", e.Text, e.Reason)
	}
	return fmt.Sprintf("invalid version %q: not a PEP 440 version (expected a form like 1.2.3, 1.0rc1, 2.0.post1, 1!2.0 or 1.0+local)", e.Text)
}

// Parse parses s as a PEP 440 version, accepting every spelling the
// specification permits and normalising it.
func Parse(s string) (Version, error) {
	text := strings.TrimSpace(s)
	for i := 0; i < len(text); i++ {
		if text[i] >= 0x80 {
			return Version{}, &InvalidVersionError{Text: s, Reason: "a version is ASCII only"}
		}
	}
	m := versionPattern.FindStringSubmatch(text)
	if m == nil {
		return Version{}, &InvalidVersionError{Text: s}
	}
	g := func(name string) string { return m[groupIndex[name]] }
	v := Version{text: s}
	var err error
	num := func(digits string) int {
		if err != nil || digits == "" {
			return 0
		}
		n, e := strconv.Atoi(digits)
		if e != nil {
			err = &InvalidVersionError{Text: s, Reason: fmt.Sprintf("number %s is too large", digits)}
		}
		return n
	}
	v.epoch = num(g("epoch"))
	for _, part := range strings.Split(g("release"), ".") {
		v.release = append(v.release, num(part))
	}
	if g("pre") != "" {
		switch strings.ToLower(g("pre_l")) {
		case "a", "alpha":
			v.preKind = "a"
		case "b", "beta":
			v.preKind = "b"
		default: // c, rc, pre, preview
			v.preKind = "rc"
		}
		v.preN = num(g("pre_n"))
	}
	if g("post") != "" {
		v.hasPost = true
		if n1 := g("post_n1"); n1 != "" {
			v.post = num(n1)
		} else {
			v.post = num(g("post_n2"))
		}
	}
	if g("dev") != "" {
		v.hasDev = true
		v.dev = num(g("dev_n"))
	}
	if local := g("local"); local != "" {
		parts := strings.FieldsFunc(strings.ToLower(local), func(r rune) bool {
			return r == '.' || r == '-' || r == '_'
		})
		for _, p := range parts {
			if isDigits(p) {
				t := strings.TrimLeft(p, "0")
				if t == "" {
					t = "0"
				}
				v.local = append(v.local, localSegment{numeric: true, text: t})
			} else {
				v.local = append(v.local, localSegment{text: p})
			}
		}
	}
	if err != nil {
		return Version{}, err
	}
	return v, nil
}

// MustParse is Parse for versions written in source code; it panics when s
// is invalid and must never be given user input.
func MustParse(s string) Version {
	v, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String returns the normalised form of v, for example "1!2.0rc1.post3.dev4+ubuntu.1".
func (v Version) String() string {
	var b strings.Builder
	b.WriteString(v.Public())
	if l := v.Local(); l != "" {
		b.WriteByte('+')
		b.WriteString(l)
	}
	return b.String()
}

// Public returns the normalised version without its local label.
func (v Version) Public() string {
	var b strings.Builder
	if v.epoch != 0 {
		b.WriteString(strconv.Itoa(v.epoch))
		b.WriteByte('!')
	}
	b.WriteString(v.releaseString())
	if v.preKind != "" {
		b.WriteString(v.preKind)
		b.WriteString(strconv.Itoa(v.preN))
	}
	if v.hasPost {
		b.WriteString(".post")
		b.WriteString(strconv.Itoa(v.post))
	}
	if v.hasDev {
		b.WriteString(".dev")
		b.WriteString(strconv.Itoa(v.dev))
	}
	return b.String()
}

// BaseVersion returns the epoch and release segment only, as in "1!2.0".
func (v Version) BaseVersion() string {
	if v.epoch != 0 {
		return strconv.Itoa(v.epoch) + "!" + v.releaseString()
	}
	return v.releaseString()
}

func (v Version) releaseString() string {
	parts := make([]string, len(v.release))
	for i, n := range v.release {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ".")
}

// Epoch returns the epoch, 0 when none was written.
func (v Version) Epoch() int { return v.epoch }

// Release returns a copy of the release segment, for example [1 2 0] for "1.2.0".
func (v Version) Release() []int { return append([]int(nil), v.release...) }

// Pre returns the pre-release kind ("a", "b" or "rc") and number; ok is false
// when v is not a pre-release in this sense (a dev release alone is not).
func (v Version) Pre() (kind string, n int, ok bool) {
	return v.preKind, v.preN, v.preKind != ""
}

// Post returns the post-release number; ok is false when there is none.
func (v Version) Post() (n int, ok bool) { return v.post, v.hasPost }

// Dev returns the development release number; ok is false when there is none.
func (v Version) Dev() (n int, ok bool) { return v.dev, v.hasDev }

// Local returns the normalised local version label without the "+", or "".
func (v Version) Local() string {
	parts := make([]string, len(v.local))
	for i, s := range v.local {
		parts[i] = s.text
	}
	return strings.Join(parts, ".")
}

// IsPrerelease reports whether v is a pre-release or a development release.
func (v Version) IsPrerelease() bool { return v.preKind != "" || v.hasDev }

// IsPostRelease reports whether v has a post-release segment.
func (v Version) IsPostRelease() bool { return v.hasPost }

// IsDevRelease reports whether v has a development release segment.
func (v Version) IsDevRelease() bool { return v.hasDev }

// WithoutLocal returns v with its local label removed.
func (v Version) WithoutLocal() Version {
	v.local = nil
	v.text = ""
	return v
}

// Text returns the version as it was given to Parse (surrounding spaces
// included), which the arbitrary equality operator === compares; for a
// Version not made by Parse it is the normalised form.
func (v Version) Text() string {
	if v.text == "" {
		return v.String()
	}
	return v.text
}

// Equal reports whether v and o compare equal (so "1.0" equals "1.0.0").
func (v Version) Equal(o Version) bool { return v.Compare(o) == 0 }

// Compare returns -1, 0 or +1 as v sorts before, equal to or after o in
// PEP 440 order: epoch, then release (trailing zeros ignored), then
// dev releases of a final before its pre-releases, pre-releases (a < b < rc)
// before the final, post-releases after it, development releases before the
// release they lead to, and finally the local label (absent sorts first,
// numeric segments after alphanumeric ones, a longer label after its prefix).
func (v Version) Compare(o Version) int {
	if c := cmpInt(v.epoch, o.epoch); c != 0 {
		return c
	}
	if c := compareRelease(v.release, o.release); c != 0 {
		return c
	}
	if c := cmpInt(v.preRank(), o.preRank()); c != 0 {
		return c
	}
	if v.preKind != "" && o.preKind != "" {
		if c := cmpInt(v.preN, o.preN); c != 0 {
			return c
		}
	}
	if c := cmpOptional(v.hasPost, v.post, o.hasPost, o.post, -1); c != 0 {
		return c
	}
	if c := cmpOptional(v.hasDev, v.dev, o.hasDev, o.dev, +1); c != 0 {
		return c
	}
	return compareLocal(v.local, o.local)
}

// preRank orders the pre-release part: a dev release of a final version
// (no pre, no post) sorts before every pre-release, a final after them.
func (v Version) preRank() int {
	switch v.preKind {
	case "a":
		return 1
	case "b":
		return 2
	case "rc":
		return 3
	}
	if v.hasDev && !v.hasPost {
		return 0
	}
	return 4
}

// cmpOptional compares optional numbers; absent sorts as absentSign
// (-1: before every number, +1: after every number).
func cmpOptional(ha bool, a int, hb bool, b int, absentSign int) int {
	switch {
	case ha && hb:
		return cmpInt(a, b)
	case ha == hb:
		return 0
	case !ha:
		return absentSign
	default:
		return -absentSign
	}
}

func compareRelease(a, b []int) int {
	n := max(len(a), len(b))
	for i := 0; i < n; i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if c := cmpInt(x, y); c != 0 {
			return c
		}
	}
	return 0
}

func compareLocal(a, b []localSegment) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		switch {
		case x.numeric && y.numeric:
			if c := cmpInt(len(x.text), len(y.text)); c != 0 {
				return c
			}
			if c := strings.Compare(x.text, y.text); c != 0 {
				return c
			}
		case x.numeric:
			return 1
		case y.numeric:
			return -1
		default:
			if c := strings.Compare(x.text, y.text); c != 0 {
				return c
			}
		}
	}
	return cmpInt(len(a), len(b))
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// MarshalText implements encoding.TextMarshaler with the normalised form.
func (v Version) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with Parse.
func (v *Version) UnmarshalText(b []byte) error {
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*v = p
	return nil
}
