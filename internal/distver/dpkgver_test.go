package distver

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestCompareDeb(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want int
	}{
		{name: "equal", a: "1.0", b: "1.0", want: 0},
		{name: "numeric not lexical", a: "1.9", b: "1.10", want: -1},
		{name: "leading zeros", a: "1.01", b: "1.1", want: 0},
		{name: "tilde before end", a: "1.0~rc1", b: "1.0", want: -1},
		{name: "double tilde first", a: "1.0~~", b: "1.0~", want: -1},
		{name: "end before letter", a: "1.0", b: "1.0a", want: -1},
		{name: "letter before symbol", a: "1.0a", b: "1.0+", want: -1},
		{name: "plus before dot", a: "1.0+x", b: "1.0.1", want: -1},
		{name: "epoch wins", a: "1:0.1", b: "9.9", want: 1},
		{name: "missing epoch is zero", a: "0:1.0", b: "1.0", want: 0},
		{name: "revision", a: "1.0-1", b: "1.0-2", want: -1},
		{name: "last hyphen splits revision", a: "1.0-a-2", b: "1.0-a-10", want: -1},
		{name: "no revision equals zero", a: "1.0", b: "1.0-0", want: 0},
		{name: "huge numbers", a: "1.123456789012345678901234567890", b: "1.123456789012345678901234567891", want: -1},
		{name: "digits weigh like end", a: "a0", b: "a", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CompareDeb(tt.a, tt.b); got != tt.want {
				t.Errorf("CompareDeb(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
			if got := CompareDeb(tt.b, tt.a); got != -tt.want {
				t.Errorf("CompareDeb(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
			}
		})
	}
}

// randomDebVersion returns a syntactically valid Debian version made of
// the characters whose ordering rules differ, so that the corpus exercises
// every branch of the comparison.
func randomDebVersion(r *rand.Rand) string {
	const upstreamChars = "0123456789.~+abAZ"
	const revisionChars = "0123456789.~+az"
	part := func(chars string, n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(chars[r.IntN(len(chars))])
		}
		return b.String()
	}
	var b strings.Builder
	if r.IntN(4) == 0 {
		b.WriteString(part("012", 1) + ":")
	}
	b.WriteByte("0123456789"[r.IntN(10)])
	b.WriteString(part(upstreamChars, r.IntN(6)))
	if r.IntN(2) == 0 {
		b.WriteString("-" + part(revisionChars, 1+r.IntN(3)))
	}
	return b.String()
}

func TestCompareDebMatchesDpkg(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var pairs [][2]string
	for range 600 {
		a := randomDebVersion(r)
		b := randomDebVersion(r)
		if r.IntN(5) == 0 {
			// Near-equal pairs find the subtle cases.
			b = a + string("0~a+."[r.IntN(5)])
		}
		pairs = append(pairs, [2]string{a, b})
	}
	want := dpkgCompareAll(t, pairs)
	for i, p := range pairs {
		if got := CompareDeb(p[0], p[1]); got != want[i] {
			t.Errorf("CompareDeb(%q, %q) = %d, want %d (dpkg --compare-versions)", p[0], p[1], got, want[i])
		}
	}
}
