package distver

import (
	"strconv"
	"strings"

	"github.com/venvpkg/venvpkg/internal/pep440"
)

// RPMVersion is a version in RPM's three fields.
type RPMVersion struct {
	Epoch   string // empty when the PEP 440 epoch is 0
	Version string
	Release string
}

// String is the EVR form rpm prints and compares: [E:]V-R.
func (r RPMVersion) String() string {
	s := r.Version + "-" + r.Release
	if r.Epoch != "" {
		s = r.Epoch + ":" + s
	}
	return s
}

// NewRPMVersion maps a PEP 440 version onto RPM's Epoch and Version so
// that rpm orders packages as PEP 440 orders releases (rpmvercmp, the
// comparison of rpm.vercmp and rpmdev-vercmp); release becomes the RPM
// Release as it is.
//
// rpmvercmp splits a version into runs of digits (compared numerically,
// and newer than any run of letters) and runs of letters (compared with
// strcmp); every other character only separates runs, except "~", which
// sorts before everything including the end of the string. When one
// version runs out first, the other is newer. The mapping is:
//
//	R  the release as written                              1.0.0      → 1.0.0
//	P  "~a<n>", "~b<n>", "~rc<n>" for a pre-release         1.0rc1     → 1.0~rc1
//	   "~~dev<n>" for a dev release of a final              1.0.dev3   → 1.0~~dev3
//	O  ".post<n>" for a post-release                        1.0.post2  → 1.0.post2
//	D  "~dev<n>" after a pre- or post-release               1.0rc1.dev2 → 1.0~rc1~dev2
//	L  ".local" and the encoded local label                 1.0+ubuntu.1 → 1.0.local.ubuntu.1
//
// After R, the possible continuations order as "~~dev" < "~a" < "~b" <
// "~rc" < end < ".local" < ".post" < ".<digits>" — tildes first, then the
// end, then letter runs in strcmp order ("local" before "post"), then digit
// runs — which is PEP 440's order of dev-only, alpha, beta, candidate,
// final, local, post-release and longer release. After a pre-release
// number: "~dev" < end < ".local" < ".post"; after a post-release or dev
// number: "~dev" (post only) < end < ".local".
//
// The local label's segments are written separated by "." so that rpm
// compares them one by one: a numeric segment as its number (digit runs
// beat letter runs, as numbers beat strings in PEP 440); a string segment
// with its digits written as the letters A–J, since rpm would otherwise
// split "g1a" into three runs, while Python compares the string
// character by character (capitals sort before lowercase letters as digits
// do). Releases that differ only by trailing zeros ("1.0", "1.0.0") stay
// different to rpm, as to dpkg.
func NewRPMVersion(v pep440.Version, release string) RPMVersion {
	var b strings.Builder
	writePublic(&b, v, ".post")
	if local := v.Local(); local != "" {
		b.WriteString(".local")
		for _, seg := range strings.Split(local, ".") {
			b.WriteByte('.')
			if isNumeric(seg) {
				t := strings.TrimLeft(seg, "0")
				if t == "" {
					t = "0"
				}
				b.WriteString(t)
				continue
			}
			for j := 0; j < len(seg); j++ {
				c := seg[j]
				if isDigit(c) {
					c = 'A' + (c - '0')
				}
				b.WriteByte(c)
			}
		}
	}
	r := RPMVersion{Version: b.String(), Release: release}
	if e := v.Epoch(); e != 0 {
		r.Epoch = strconv.Itoa(e)
	}
	return r
}
