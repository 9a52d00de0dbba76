package distver

import (
	"strings"
	"unicode"
)

// CompareRPM compares two version or release strings as rpm does
// (rpmio/rpmvercmp.c): alternating runs of digits and letters, numeric
// runs compared as numbers and newer than alphabetic ones, "~" sorting
// before anything and "^" after the end but before anything else.
func CompareRPM(a, b string) int {
	if a == b {
		return 0
	}
	isAlnum := func(c byte) bool { return c < 128 && (unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c))) }
	for len(a) > 0 || len(b) > 0 {
		for len(a) > 0 && !isAlnum(a[0]) && a[0] != '~' && a[0] != '^' {
			a = a[1:]
		}
		for len(b) > 0 && !isAlnum(b[0]) && b[0] != '~' && b[0] != '^' {
			b = b[1:]
		}
		if strings.HasPrefix(a, "~") || strings.HasPrefix(b, "~") {
			if !strings.HasPrefix(a, "~") {
				return 1
			}
			if !strings.HasPrefix(b, "~") {
				return -1
			}
			a, b = a[1:], b[1:]
			continue
		}
		if strings.HasPrefix(a, "^") || strings.HasPrefix(b, "^") {
			if len(a) == 0 {
				return -1
			}
			if len(b) == 0 {
				return 1
			}
			if !strings.HasPrefix(a, "^") {
				return 1
			}
			if !strings.HasPrefix(b, "^") {
				return -1
			}
			a, b = a[1:], b[1:]
			continue
		}
		if len(a) == 0 || len(b) == 0 {
			break
		}
		digit := a[0] >= '0' && a[0] <= '9'
		span := func(s string) (string, string) {
			i := 0
			for i < len(s) && isAlnum(s[i]) && (s[i] >= '0' && s[i] <= '9') == digit {
				i++
			}
			return s[:i], s[i:]
		}
		var sa, sb string
		sa, a = span(a)
		sb, b = span(b)
		if sb == "" {
			// Different kinds of segment: numeric is newer.
			if digit {
				return 1
			}
			return -1
		}
		if digit {
			sa, sb = strings.TrimLeft(sa, "0"), strings.TrimLeft(sb, "0")
			if len(sa) != len(sb) {
				if len(sa) > len(sb) {
					return 1
				}
				return -1
			}
		}
		if c := strings.Compare(sa, sb); c != 0 {
			return c
		}
	}
	switch {
	case len(a) == 0 && len(b) == 0:
		return 0
	case len(a) == 0:
		return -1
	default:
		return 1
	}
}

// CompareRPMVersion compares two epoch:version-release triples as rpm
// orders packages: epoch numerically (empty is 0), then version, then
// release with CompareRPM.
func CompareRPMVersion(a, b RPMVersion) int {
	ea, eb := strings.TrimLeft(a.Epoch, "0"), strings.TrimLeft(b.Epoch, "0")
	if len(ea) != len(eb) {
		if len(ea) < len(eb) {
			return -1
		}
		return 1
	}
	if c := strings.Compare(ea, eb); c != 0 {
		return c
	}
	if c := CompareRPM(a.Version, b.Version); c != 0 {
		return c
	}
	return CompareRPM(a.Release, b.Release)
}
