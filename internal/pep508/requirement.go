// Package pep508 implements dependency specifiers as defined by PEP 508
// (the "Dependency specifiers" page of the PyPA specifications):
// requirements such as `name[extra1,extra2] >=1.0,<2 ; python_version < "3.12"`
// or `name @ https://host/name.whl`, and environment markers with their
// evaluation against an interpreter's Environment.
package pep508

import (
	"errors"
	"strings"
	"unicode"

	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pep503"
)

// Requirement is one parsed dependency specifier.
type Requirement struct {
	Name      string // as written
	Extras    []string
	Specifier pep440.SpecifierSet
	URL       string
	Marker    *Marker // nil when absent
}

// ParseRequirement parses a PEP 508 dependency specifier. Version
// specifiers may be written with or without parentheses; a direct reference
// is written "name @ url" and needs a space before a following ";".
func ParseRequirement(s string) (Requirement, error) {
	p := &parser{what: "requirement", text: s}
	var r Requirement
	p.skipSpace()
	start := p.pos
	name := p.nameWord()
	if name == "" {
		if p.eof() {
			return r, p.errorf(p.pos, "empty requirement; expected a project name")
		}
		return r, p.errorf(p.pos, "unexpected %q; expected a project name", p.rest(12))
	}
	if !pep503.Valid(name) {
		return r, p.errorf(start, "invalid project name %q: a name is ASCII letters, digits, \".\", \"-\" and \"_\", starting and ending with a letter or digit", name)
	}
	p.pos += len(name)
	r.Name = name

	p.skipSpace()
	if p.peek() == '[' {
		extras, err := p.extras()
		if err != nil {
			return r, err
		}
		r.Extras = extras
		p.skipSpace()
	}

	switch c := p.peek(); {
	case c == '@':
		p.pos++
		p.skipSpace()
		urlStart := p.pos
		for !p.eof() && !isSpace(p.peek()) {
			p.pos++
		}
		r.URL = p.text[urlStart:p.pos]
		if r.URL == "" {
			return r, p.errorf(urlStart, "expected a URL after \"@\"")
		}
		if i := strings.IndexFunc(r.URL, unicode.IsControl); i >= 0 {
			return r, p.errorf(urlStart+i, "control character %q in the URL", r.URL[i])
		}
		if !strings.Contains(r.URL, ":") {
			return r, p.errorf(urlStart, "%q is not a URL (expected scheme:..., as in https://host/file.whl or file:///path)", r.URL)
		}
	case c == '(':
		open := p.pos
		p.pos++
		end := strings.IndexByte(p.text[p.pos:], ')')
		if end < 0 {
			return r, p.errorf(open, "unclosed parenthesis around the version specifiers")
		}
		spec, err := p.specifiers(p.pos, p.pos+end)
		if err != nil {
			return r, err
		}
		r.Specifier = spec
		p.pos += end + 1
	case c == '<' || c == '>' || c == '=' || c == '!' || c == '~':
		end := strings.IndexByte(p.text[p.pos:], ';')
		if end < 0 {
			end = len(p.text) - p.pos
		}
		spec, err := p.specifiers(p.pos, p.pos+end)
		if err != nil {
			return r, err
		}
		r.Specifier = spec
		p.pos += end
	}

	p.skipSpace()
	if p.eof() {
		return r, nil
	}
	if p.peek() != ';' {
		if r.URL != "" || r.Specifier != nil {
			return r, p.errorf(p.pos, "unexpected %q; expected \";\" and a marker, or the end", p.rest(12))
		}
		return r, p.errorf(p.pos, "unexpected %q; expected extras in [...], version specifiers (as in ==1.0), \"@ url\", \";\" and a marker, or the end", p.rest(12))
	}
	p.pos++
	p.what = "marker"
	m, err := p.marker()
	if err != nil {
		return r, requirementError(err, s)
	}
	p.skipSpace()
	if !p.eof() {
		return r, requirementError(p.errorf(p.pos, "unexpected %q; expected \"and\", \"or\" or the end of the marker", p.rest(12)), s)
	}
	r.Marker = m
	return r, nil
}

// requirementError reports a marker error with the requirement as its
// text, keeping the column, which already counts from the requirement's start.
func requirementError(err error, s string) error {
	var se *SyntaxError
	if errors.As(err, &se) {
		return &SyntaxError{What: "requirement", Text: s, Column: se.Column, Msg: "in marker: " + se.Msg}
	}
	return err
}

// nameWord returns the run of project-name characters at the cursor.
func (p *parser) nameWord() string {
	end := p.pos
	for end < len(p.text) {
		c := p.text[end]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			break
		}
		end++
	}
	return p.text[p.pos:end]
}

func (p *parser) extras() ([]string, error) {
	open := p.pos
	p.pos++ // '['
	extras := []string{}
	for {
		p.skipSpace()
		if p.peek() == ']' && len(extras) == 0 {
			p.pos++
			return extras, nil
		}
		start := p.pos
		w := p.nameWord()
		if w == "" {
			if p.eof() {
				return nil, p.errorf(open, "unclosed \"[\" around the extras")
			}
			return nil, p.errorf(p.pos, "unexpected %q; expected an extra name", p.rest(12))
		}
		if !pep503.Valid(w) {
			return nil, p.errorf(start, "invalid extra name %q", w)
		}
		p.pos += len(w)
		extras = append(extras, w)
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return extras, nil
		default:
			if p.eof() {
				return nil, p.errorf(open, "unclosed \"[\" around the extras")
			}
			return nil, p.errorf(p.pos, "unexpected %q; expected \",\" or \"]\" in the extras", p.rest(12))
		}
	}
}

// specifiers parses text[start:end] as a specifier set, reporting errors at
// the column of the offending clause.
func (p *parser) specifiers(start, end int) (pep440.SpecifierSet, error) {
	var set pep440.SpecifierSet
	pos := start
	for _, clause := range strings.Split(p.text[start:end], ",") {
		// pep440.ParseSpecifier trims any space; PEP 508's is ' ' and '\t'.
		if i := strings.IndexAny(clause, "\r\n\v\f"); i >= 0 {
			return nil, p.errorf(pos+i, "unexpected %q in the version specifiers (a requirement is one line)", clause[i])
		}
		col := pos + len(clause) - len(strings.TrimLeft(clause, " \t"))
		if strings.TrimSpace(clause) == "" {
			return nil, p.errorf(col, "empty version specifier")
		}
		spec, err := pep440.ParseSpecifier(clause)
		if err != nil {
			return nil, p.errorf(col, "%v", err)
		}
		set = append(set, spec)
		pos += len(clause) + 1
	}
	return set, nil
}

// String returns the requirement in normalised form, as in
// `name[a,b]>=1.0,<2; python_version < "3.12"` or `name @ url ; marker`.
func (r Requirement) String() string {
	var b strings.Builder
	b.WriteString(r.Name)
	if len(r.Extras) > 0 {
		b.WriteString("[" + strings.Join(r.Extras, ",") + "]")
	}
	b.WriteString(r.Specifier.String())
	if r.URL != "" {
		b.WriteString(" @ " + r.URL)
		if r.Marker != nil {
			b.WriteByte(' ')
		}
	}
	if r.Marker != nil {
		b.WriteString("; " + r.Marker.String())
	}
	return b.String()
}
