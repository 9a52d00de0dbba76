package pep508

import (
	"fmt"
	"slices"
	"strings"

	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pep503"
)

// Environment holds the values of the marker variables for one target
// interpreter, keyed by variable name ("python_version", "sys_platform",
// ...). "extra" names the extra being evaluated (empty for none); "extras"
// and "dependency_groups" (from PEP 751 lock files) are comma-separated
// lists of names.
type Environment map[string]string

// Variables returns the names of the environment marker variables that
// describe an interpreter, in the order PEP 508 lists them. A probe fills
// these; "extra", "extras" and "dependency_groups" come from the caller.
func Variables() []string {
	return []string{
		"python_version", "python_full_version", "os_name", "sys_platform",
		"platform_release", "platform_system", "platform_version",
		"platform_machine", "platform_python_implementation",
		"implementation_name", "implementation_version",
	}
}

// aliases maps the legacy dotted spellings packaging still accepts to the
// PEP 508 names.
var aliases = map[string]string{
	"os.name":                        "os_name",
	"sys.platform":                   "sys_platform",
	"platform.version":               "platform_version",
	"platform.machine":               "platform_machine",
	"platform.python_implementation": "platform_python_implementation",
	"python_implementation":          "platform_python_implementation",
}

// setVariables are the variables holding a set of names rather than a string.
var setVariables = map[string]bool{"extras": true, "dependency_groups": true}

func knownVariable(name string) (string, bool) {
	if a, ok := aliases[name]; ok {
		return a, true
	}
	if name == "extra" || setVariables[name] || slices.Contains(Variables(), name) {
		return name, true
	}
	return "", false
}

// Marker is a parsed environment marker expression. A nil *Marker means "no
// marker" and evaluates to true.
type Marker struct {
	// For "and" / "or" nodes.
	bool        string // "and" or "or"; "" for a comparison
	left, right *Marker
	// For comparisons.
	lhs, rhs operand
	op       string // a version operator, "in" or "not in"
}

type operand struct {
	variable bool
	value    string // variable name or string literal contents
}

func (o operand) String() string {
	if o.variable {
		return o.value
	}
	if strings.Contains(o.value, `"`) {
		return "'" + o.value + "'"
	}
	return `"` + o.value + `"`
}

// SyntaxError reports a requirement or marker that does not follow the PEP
// 508 grammar, with the 1-based column of the offending character.
type SyntaxError struct {
	What   string // "requirement" or "marker"
	Text   string
	Column int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid %s %q: column %d: %s", e.What, e.Text, e.Column, e.Msg)
}

// ParseMarker parses a marker expression such as
// `python_version >= "3.8" and (sys_platform == "linux" or extra == "test")`.
func ParseMarker(s string) (*Marker, error) {
	p := &parser{what: "marker", text: s}
	m, err := p.marker()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.eof() {
		return nil, p.errorf(p.pos, "unexpected %q; expected \"and\", \"or\" or the end of the marker", p.rest(12))
	}
	return m, nil
}

// parser is a cursor over a requirement or marker string; positions are
// byte offsets, reported as 1-based columns.
type parser struct {
	what string
	text string
	pos  int
}

func (p *parser) errorf(pos int, format string, args ...any) error {
	return &SyntaxError{What: p.what, Text: p.text, Column: pos + 1, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) eof() bool { return p.pos >= len(p.text) }

func (p *parser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.text[p.pos]
}

func (p *parser) rest(n int) string {
	r := p.text[p.pos:]
	if len(r) > n {
		return r[:n] + "..."
	}
	return r
}

// isSpace reports PEP 508's whitespace, wsp = ' ' | '\t': a line break is
// not whitespace inside a requirement or a marker.
func isSpace(c byte) bool { return c == ' ' || c == '\t' }

func (p *parser) skipSpace() {
	for !p.eof() && isSpace(p.text[p.pos]) {
		p.pos++
	}
}

// word returns the run of identifier characters at the cursor without
// consuming it.
func (p *parser) word() string {
	end := p.pos
	for end < len(p.text) && isWordByte(p.text[end]) {
		end++
	}
	return p.text[p.pos:end]
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// keyword consumes kw if it is the next whole word.
func (p *parser) keyword(kw string) bool {
	p.skipSpace()
	if p.word() == kw {
		p.pos += len(kw)
		return true
	}
	return false
}

func (p *parser) marker() (*Marker, error) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		left = &Marker{bool: "or", left: left, right: right}
	}
	return left, nil
}

func (p *parser) and() (*Marker, error) {
	left, err := p.expr()
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		right, err := p.expr()
		if err != nil {
			return nil, err
		}
		left = &Marker{bool: "and", left: left, right: right}
	}
	return left, nil
}

func (p *parser) expr() (*Marker, error) {
	p.skipSpace()
	if p.peek() == '(' {
		open := p.pos
		p.pos++
		m, err := p.marker()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.peek() != ')' {
			if p.eof() {
				return nil, p.errorf(open, "unclosed parenthesis")
			}
			return nil, p.errorf(p.pos, "unexpected %q; expected \")\", \"and\" or \"or\"", p.rest(12))
		}
		p.pos++
		return m, nil
	}
	lhs, err := p.operand()
	if err != nil {
		return nil, err
	}
	op, err := p.markerOp()
	if err != nil {
		return nil, err
	}
	rhs, err := p.operand()
	if err != nil {
		return nil, err
	}
	return &Marker{lhs: lhs, op: op, rhs: rhs}, nil
}

func (p *parser) operand() (operand, error) {
	p.skipSpace()
	start := p.pos
	switch c := p.peek(); {
	case p.eof():
		return operand{}, p.errorf(p.pos, "unexpected end; expected a marker variable or a quoted string")
	case c == '"' || c == '\'':
		end := strings.IndexByte(p.text[p.pos+1:], c)
		if end < 0 {
			return operand{}, p.errorf(start, "unterminated string")
		}
		// PEP 508's python_str_c has no backslash: a marker string has no
		// escapes, so "C:\" cannot mean a string ending in a backslash.
		if i := strings.IndexByte(p.text[start+1:start+1+end], '\\'); i >= 0 {
			return operand{}, p.errorf(start+1+i, "a backslash is not allowed in a marker string")
		}
		p.pos += end + 2
		return operand{value: p.text[start+1 : start+1+end]}, nil
	default:
		w := p.word()
		if w == "" {
			return operand{}, p.errorf(start, "unexpected %q; expected a marker variable or a quoted string", p.rest(12))
		}
		name, ok := knownVariable(w)
		if !ok {
			return operand{}, p.errorf(start, "unknown marker variable %q (known: %s, extra)", w, strings.Join(Variables(), ", "))
		}
		p.pos += len(w)
		return operand{variable: true, value: name}, nil
	}
}

var markerOps = []string{"===", "==", "!=", "<=", ">=", "~=", "<", ">"}

func (p *parser) markerOp() (string, error) {
	p.skipSpace()
	for _, op := range markerOps {
		if strings.HasPrefix(p.text[p.pos:], op) {
			p.pos += len(op)
			return op, nil
		}
	}
	if p.keyword("in") {
		return "in", nil
	}
	if p.keyword("not") {
		if !p.keyword("in") {
			p.skipSpace()
			return "", p.errorf(p.pos, "expected \"in\" after \"not\"")
		}
		return "not in", nil
	}
	if p.eof() {
		return "", p.errorf(p.pos, "unexpected end; expected a comparison operator")
	}
	return "", p.errorf(p.pos, "unexpected %q; expected a comparison operator (==, !=, <, <=, >, >=, ~=, ===, in, not in)", p.rest(12))
}

// String returns the marker in normalised form: variables bare, strings
// double-quoted (single-quoted when they contain a double quote), single
// spaces around operators, and parentheses only where grouping needs them.
func (m *Marker) String() string {
	if m == nil {
		return ""
	}
	if m.bool == "" {
		return m.lhs.String() + " " + m.op + " " + m.rhs.String()
	}
	l, r := m.left.String(), m.right.String()
	// The parser builds left-leaning trees; parenthesise a right child of
	// the same kind and an "or" under an "and" so the tree survives a round trip.
	if m.left.bool == "or" && m.bool == "and" {
		l = "(" + l + ")"
	}
	if m.right.bool != "" && (m.right.bool == m.bool || m.right.bool == "or") {
		r = "(" + r + ")"
	}
	return l + " " + m.bool + " " + r
}

// Evaluate reports whether the marker holds in env. A nil marker is true.
// A variable missing from env evaluates as the empty string. Comparisons
// use PEP 440 version semantics when the right-hand side forms a valid
// specifier with the operator and the left-hand side is a valid version;
// otherwise == and != (and <, <=, >, >=) compare strings, ~= is false and
// === is string equality. "in" and "not in" test substrings, or membership
// for the "extras" and "dependency_groups" sets. Values compared with the
// "extra" variable are normalised as project names first.
func (m *Marker) Evaluate(env Environment) bool {
	if m == nil {
		return true
	}
	switch m.bool {
	case "and":
		return m.left.Evaluate(env) && m.right.Evaluate(env)
	case "or":
		return m.left.Evaluate(env) || m.right.Evaluate(env)
	}
	value := func(o operand) string {
		if o.variable {
			return env[o.value]
		}
		return o.value
	}
	lhs, rhs := value(m.lhs), value(m.rhs)
	if m.lhs.value == "extra" && m.lhs.variable || m.rhs.value == "extra" && m.rhs.variable {
		lhs, rhs = pep503.Normalize(lhs), pep503.Normalize(rhs)
	}
	switch m.op {
	case "in", "not in":
		var in bool
		if m.rhs.variable && setVariables[m.rhs.value] {
			in = slices.Contains(splitNames(rhs), pep503.Normalize(lhs))
		} else {
			in = strings.Contains(rhs, lhs)
		}
		return in == (m.op == "in")
	}
	if spec, err := pep440.ParseSpecifier(m.op + rhs); err == nil {
		if v, err := pep440.Parse(lhs); err == nil {
			return spec.Contains(v)
		}
	}
	switch m.op {
	case "==", "===":
		return lhs == rhs
	case "!=":
		return lhs != rhs
	case "<":
		return lhs < rhs
	case "<=":
		return lhs <= rhs
	case ">":
		return lhs > rhs
	case ">=":
		return lhs >= rhs
	}
	return false
}

func splitNames(s string) []string {
	var names []string
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, pep503.Normalize(n))
		}
	}
	return names
}
