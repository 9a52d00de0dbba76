package distver

import (
	"strconv"
	"strings"
)

// CompareDeb compares two Debian version strings the way dpkg does
// (deb-version(5)) and returns -1, 0 or +1. A version is
// [epoch:]upstream_version[-debian_revision]: the epoch is compared as a
// number (absent means 0), then the upstream version and finally the
// revision (split at the last hyphen; absent means "0"), each with the
// character ordering described in compareFragment.
//
// CompareDeb does not validate its arguments; strings dpkg would reject
// still compare deterministically.
func CompareDeb(a, b string) int {
	ea, ua, ra := splitDeb(a)
	eb, ub, rb := splitDeb(b)
	if c := compareEpoch(ea, eb); c != 0 {
		return c
	}
	if c := compareFragment(ua, ub); c != 0 {
		return c
	}
	return compareFragment(ra, rb)
}

// splitDeb splits a Debian version into epoch, upstream version and revision.
func splitDeb(v string) (epoch, upstream, revision string) {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, ':'); i >= 0 {
		epoch, v = v[:i], v[i+1:]
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		v, revision = v[:i], v[i+1:]
	}
	return epoch, v, revision
}

func compareEpoch(a, b string) int {
	x, _ := strconv.ParseUint(strings.TrimLeft(a, "0"), 10, 64)
	y, _ := strconv.ParseUint(strings.TrimLeft(b, "0"), 10, 64)
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// weight is the sort weight of one byte inside a non-digit run: "~" sorts
// before everything including the end of the string, letters sort before
// every other character, and the end of the run weighs the same as a digit
// (0), so "1.0" and "1.0a" differ but a run that ends compares as smaller
// than any letter or symbol.
func weight(c byte, ok bool) int {
	switch {
	case !ok || isDigit(c):
		return 0
	case c == '~':
		return -1
	case isLetter(c):
		return int(c)
	default:
		return int(c) + 256
	}
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// compareFragment compares an upstream version or revision: alternately a
// run of non-digits, compared byte by byte by weight, and a run of digits,
// compared as an arbitrarily large decimal number.
func compareFragment(a, b string) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for i < len(a) && !isDigit(a[i]) || j < len(b) && !isDigit(b[j]) {
			wa := weight(byteAt(a, i))
			wb := weight(byteAt(b, j))
			if wa != wb {
				return sign(wa - wb)
			}
			// Only advance past characters that belong to the run, so that
			// a digit is compared again by the numeric step below.
			if i < len(a) && !isDigit(a[i]) {
				i++
			}
			if j < len(b) && !isDigit(b[j]) {
				j++
			}
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		si, sj := i, j
		for i < len(a) && isDigit(a[i]) {
			i++
		}
		for j < len(b) && isDigit(b[j]) {
			j++
		}
		na, nb := a[si:i], b[sj:j]
		if len(na) != len(nb) {
			return sign(len(na) - len(nb))
		}
		if c := strings.Compare(na, nb); c != 0 {
			return c
		}
	}
	return 0
}

func byteAt(s string, i int) (byte, bool) {
	if i < len(s) {
		return s[i], true
	}
	return 0, false
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
