package distver

import (
	"strconv"
	"strings"

	"github.com/venvpkg/venvpkg/internal/pep440"
)

// DebVersion maps a PEP 440 version to a Debian version whose dpkg order
// (deb-version(5)) is the PEP 440 order: for all versions a and b,
// CompareDeb(DebVersion(a, r), DebVersion(b, r)) has the sign of
// a.Compare(b), and versions PEP 440 calls equal ("1.0", "1.0.0") map to
// the same string. release becomes the Debian revision ("-release"); it is
// omitted when empty and must itself be a valid revision (alphanumerics,
// "+", "." and "~"; no hyphen, which would move the split point).
//
// The Debian version is [E:]R[P][O][D][L]-release, where
//
//	E  the epoch, written only when it is not 0            1!2.0      → 1:2.0
//	R  the release as the project writes it (normalised)  1.0.0      → 1.0.0
//	P  "~a<n>", "~b<n>" or "~rc<n>" for a pre-release       1.0rc1     → 1.0~rc1
//	   "~~" for a dev release of a final (no pre, no post)  1.0.dev3   → 1.0~~dev3
//	O  "+post<n>" for a post-release                        1.0.post2  → 1.0+post2
//	D  "~dev<n>" for a dev release (after "~~" when no
//	   pre- or post-release, giving "~~dev<n>")             1.0rc1.dev2 → 1.0~rc1~dev2
//	L  "+~" and the encoded local label                     1.0+abc    → 1.0+~abc
//
// Why the order is preserved. dpkg compares alternating runs of
// non-digits (byte by byte, "~" before the end of the string, the end
// before letters, letters before every other symbol) and runs of digits
// (numerically). Every part above starts with a non-digit, so two mapped
// versions are compared part by part, and each part's first character
// decides against whatever another version has at the same place:
//
//   - Releases: R keeps the project's own release, so the package version
//     reads like the project's ("1.0.0" stays "1.0.0"). The one pair the
//     mapping cannot order is two releases that differ only by trailing
//     zeros ("1.0" and "1.0.0"): equal to PEP 440, different to dpkg. A
//     project that changes how many components it writes between releases
//     must bump a component it keeps. Among all other pairs, when one release is a proper prefix of the other, the longer one
//     continues with "." and a digit, while the shorter continues with "~",
//     "+" or the end; all weigh less than ".", so the longer release wins,
//     as in PEP 440. (Hence post-releases use "+", not ".": "1.0.post1" would
//     sort after "1.0.1".)
//   - After R: "~~dev" < "~a" < "~b" < "~rc" < end < "+~" (local) < "+post"
//     < ".<digit>", which is PEP 440's order of dev-only, alpha, beta,
//     candidate, final, local, post-release and longer release.
//   - After a pre-release number: "~dev" < end < "+~" < "+post".
//   - After a post-release number: "~dev" < end < "+~".
//   - After a dev number: end < "+~".
//   - Numbers (pre, post, dev, local) are digit runs, compared numerically;
//     the next character is never a digit.
//
// The local label is compared only between otherwise equal versions, so it
// comes last, after "+~", which sorts after the end (a local version follows
// its public version) and before "+post" (it precedes the next
// post-release). Its segments are encoded so that dpkg reproduces PEP 440's
// segment order (numbers after strings, numbers numerically, strings as
// Python compares them, a label after its own prefix):
//
//   - a numeric segment n is ".n"; "." outweighs every letter, so a number
//     sorts after any string segment at the same place;
//   - a string segment keeps its letters and writes its digits as the
//     letters A–J (0–9), because dpkg would otherwise compare digits inside
//     it numerically ("g10" > "g9") where Python compares characters
//     ("g10" < "g9"); capitals sort before lowercase letters as digits do in
//     Python;
//   - a string segment that is followed by another segment is terminated by
//     "0": in a non-digit run a digit weighs like the end, so "abc0…" still
//     sorts before "abcd", and as a number 0 it equals nothing, so "abc"
//     followed by more segments sorts after "abc" alone.
//
// For example 1.0+ubuntu.1 → 1.0+~ubuntu0.1 and 0.1.dev3+g1a2b →
// 0.1~~dev3+~gBaCb.
func DebVersion(v pep440.Version, release string) string {
	var b strings.Builder
	if e := v.Epoch(); e != 0 {
		b.WriteString(strconv.Itoa(e))
		b.WriteByte(':')
	}
	writePublic(&b, v, "+post")
	if local := v.Local(); local != "" {
		b.WriteString("+~")
		b.WriteString(encodeLocal(local))
	}
	if release != "" {
		b.WriteByte('-')
		b.WriteString(release)
	}
	return b.String()
}

// encodeLocal encodes a normalised local label (lowercase alphanumeric
// segments joined by ".") as described on DebVersion.
func encodeLocal(local string) string {
	var b strings.Builder
	prevString := false
	for i, seg := range strings.Split(local, ".") {
		if i > 0 && prevString {
			b.WriteByte('0')
		}
		if isNumeric(seg) {
			b.WriteByte('.')
			t := strings.TrimLeft(seg, "0")
			if t == "" {
				t = "0"
			}
			b.WriteString(t)
			prevString = false
			continue
		}
		for j := 0; j < len(seg); j++ {
			c := seg[j]
			if isDigit(c) {
				c = 'A' + (c - '0')
			}
			b.WriteByte(c)
		}
		prevString = true
	}
	return b.String()
}

func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// writePublic writes v's release, pre-, post- and dev-release parts as the
// Debian and RPM mappings share them: "~" pre-releases, "~~dev"/"~dev"
// dev releases, and the post-release marker the format needs (dpkg: "+post",
// which sorts before a longer release; rpm: ".post").
func writePublic(b *strings.Builder, v pep440.Version, post string) {
	for i, n := range v.Release() {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(n))
	}
	kind, preN, isPre := v.Pre()
	postN, isPost := v.Post()
	devN, isDev := v.Dev()
	if isPre {
		b.WriteString("~" + kind + strconv.Itoa(preN))
	} else if isDev && !isPost {
		b.WriteString("~")
	}
	if isPost {
		b.WriteString(post + strconv.Itoa(postN))
	}
	if isDev {
		b.WriteString("~dev" + strconv.Itoa(devN))
	}
}
