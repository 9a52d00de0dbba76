package repo

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
)

// field is one field of a deb822 paragraph (Debian Policy 5.1); Value
// keeps continuation lines joined with "\n", each starting with a space.
type field struct {
	Name, Value string
}

// paragraph is a deb822 paragraph with its fields in their original order.
type paragraph []field

// Get returns the value of the field name (case-insensitive), or "".
func (p paragraph) Get(name string) string {
	for _, f := range p {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// without returns p less the named fields (case-insensitive).
func (p paragraph) without(names ...string) paragraph {
	var q paragraph
outer:
	for _, f := range p {
		for _, n := range names {
			if strings.EqualFold(f.Name, n) {
				continue outer
			}
		}
		q = append(q, f)
	}
	return q
}

// write writes p followed by nothing; callers separate paragraphs.
func (p paragraph) write(w *bytes.Buffer) {
	for _, f := range p {
		w.WriteString(f.Name)
		w.WriteByte(':')
		if f.Value != "" && !strings.HasPrefix(f.Value, "\n") {
			w.WriteByte(' ')
		}
		w.WriteString(f.Value)
		w.WriteByte('\n')
	}
}

// parseDeb822 reads every paragraph of r. It is strict about what it
// cannot represent: a line that is neither a field nor a continuation,
// and a continuation before any field, are errors.
func parseDeb822(r io.Reader) ([]paragraph, error) {
	var (
		paras []paragraph
		cur   paragraph
		line  int
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		switch {
		case strings.TrimSpace(text) == "":
			if len(cur) > 0 {
				paras = append(paras, cur)
				cur = nil
			}
		case strings.HasPrefix(text, "#") && len(cur) == 0:
			// Comments are allowed between paragraphs.
		case text[0] == ' ' || text[0] == '\t':
			if len(cur) == 0 {
				return nil, fmt.Errorf("line %d: continuation line without a field", line)
			}
			cur[len(cur)-1].Value += "\n" + text
		default:
			name, value, ok := strings.Cut(text, ":")
			if !ok || name == "" || strings.ContainsAny(name, " \t") {
				return nil, fmt.Errorf("line %d: %q is not a \"Field: value\" line", line, text)
			}
			cur = append(cur, field{Name: name, Value: strings.TrimSpace(value)})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	if len(cur) > 0 {
		paras = append(paras, cur)
	}
	return paras, nil
}
