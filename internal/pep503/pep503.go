// Package pep503 implements project name normalisation from PEP 503 (the
// "Simple Repository API"), the comparison key used for every distribution
// name in locks, wheel filenames, indexes and package names.
package pep503

import "strings"

// Normalize returns name lowercased with every run of "-", "_" and "."
// replaced by a single "-", as re.sub(r"[-_.]+", "-", name).lower() does.
func Normalize(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	sep := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-' || c == '_' || c == '.':
			sep = true
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		if sep {
			b.WriteByte('-')
			sep = false
		}
		b.WriteByte(c)
	}
	if sep {
		b.WriteByte('-')
	}
	return b.String()
}

// Valid reports whether name is a valid project name per PEP 508:
// ASCII letters and digits, with ".", "-" and "_" allowed between them.
func Valid(name string) bool {
	if name == "" {
		return false
	}
	alnum := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	if !alnum(name[0]) || !alnum(name[len(name)-1]) {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !alnum(c) && c != '.' && c != '-' && c != '_' {
			return false
		}
	}
	return true
}
