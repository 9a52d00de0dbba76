package distver

import (
	"sort"
	"testing"

	"github.com/venvpkg/venvpkg/internal/pep440"
)

func TestDebVersion(t *testing.T) {
	tests := []struct {
		name    string
		pep     string
		release string
		want    string
	}{
		{name: "final", pep: "1.0", release: "1", want: "1.0-1"},
		{name: "no release", pep: "1.0", release: "", want: "1.0"},
		{name: "release kept as written", pep: "1.0.0", release: "1", want: "1.0.0-1"},
		{name: "single component", pep: "2", release: "1", want: "2-1"},
		{name: "three components kept", pep: "1.2.3", release: "1", want: "1.2.3-1"},
		{name: "epoch", pep: "1!2.0", release: "1", want: "1:2.0-1"},
		{name: "alpha", pep: "1.0a1", release: "1", want: "1.0~a1-1"},
		{name: "beta", pep: "1.0b2", release: "1", want: "1.0~b2-1"},
		{name: "candidate", pep: "1.0rc1", release: "1", want: "1.0~rc1-1"},
		{name: "candidate spelled c", pep: "1.0c1", release: "1", want: "1.0~rc1-1"},
		{name: "dev of final", pep: "1.0.dev3", release: "1", want: "1.0~~dev3-1"},
		{name: "dev of candidate", pep: "1.0rc1.dev2", release: "1", want: "1.0~rc1~dev2-1"},
		{name: "post", pep: "1.0.post2", release: "1", want: "1.0+post2-1"},
		{name: "post dev", pep: "1.0.post2.dev1", release: "1", want: "1.0+post2~dev1-1"},
		{name: "pre post", pep: "1.0rc1.post1", release: "1", want: "1.0~rc1+post1-1"},
		{name: "pre post dev", pep: "1.0a1.post2.dev3", release: "1", want: "1.0~a1+post2~dev3-1"},
		{name: "local", pep: "1.0+abc", release: "1", want: "1.0+~abc-1"},
		{name: "local segments", pep: "1.0+ubuntu.1", release: "1", want: "1.0+~ubuntu0.1-1"},
		{name: "local digits in string", pep: "0.1.dev3+g1a2b", release: "1", want: "0.1~~dev3+~gBaCb-1"},
		{name: "local numeric first", pep: "2.1.0+5.cpu", release: "2", want: "2.1.0+~.5cpu-2"},
		{name: "local leading zeros", pep: "1.0+007", release: "1", want: "1.0+~.7-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := pep440.MustParse(tt.pep)
			if got := DebVersion(v, tt.release); got != tt.want {
				t.Errorf("DebVersion(%q, %q) = %q, want %q", tt.pep, tt.release, got, tt.want)
			}
		})
	}
}

// orderCorpus holds PEP 440 versions chosen to sit next to each other in
// every way the mapping has to get right.
var orderCorpus = []string{
	"0.1", "0.9", "0.10", "1", "1.0", "1.0.0", "1.0.0.0", "1.0.1", "1.0.10", "1.1",
	"1.0.dev0", "1.0.dev1", "1.0.dev10", "1.0.dev1+abc",
	"1.0a0", "1.0a1", "1.0a1.dev1", "1.0a1.post0", "1.0a1.post1", "1.0a1.post1.dev1", "1.0a2.dev1", "1.0a10",
	"1.0b1", "1.0b1+loc", "1.0rc1", "1.0rc1.dev2", "1.0rc1.post1", "1.0rc1.post1+x.1", "1.0rc2",
	"1.0.post0", "1.0.post1", "1.0.post1.dev0", "1.0.post1.dev1", "1.0.post2", "1.0.post10", "1.0.post1+abc",
	"1.0.0.post1", "1.0.0.1", "1.0.0.1.dev1", "1.0.0.1a1",
	"1.0+abc", "1.0+abcd", "1.0+abc.1", "1.0+abc.2", "1.0+abc.10", "1.0+abc.def", "1.0+abc.1.x",
	"1.0+1", "1.0+2", "1.0+10", "1.0+1.abc", "1.0+1.1", "1.0+g9", "1.0+g10", "1.0+g1a", "1.0+ga1",
	"1.0+a", "1.0+z", "1.0+0", "1.0+00", "1.0+a0", "1.0+a.0", "1.0+post1", "1.0+zzz.post",
	"1!0.1", "1!1.0.dev1", "1!1.0", "2!0", "10!0.0.1",
	"2024.1", "2024.10.post3",
}

func TestDebVersionOrderMatchesDpkg(t *testing.T) {
	type item struct {
		pep string
		v   pep440.Version
		deb string
	}
	items := make([]item, len(orderCorpus))
	for i, s := range orderCorpus {
		v := pep440.MustParse(s)
		items[i] = item{pep: s, v: v, deb: DebVersion(v, "1")}
	}
	var pairs [][2]string
	var want []int
	var names [][2]string
	for i := range items {
		for j := i + 1; j < len(items); j++ {
			if zeroPaddedTwins(items[i].v, items[j].v) {
				continue
			}
			pairs = append(pairs, [2]string{items[i].deb, items[j].deb})
			want = append(want, items[i].v.Compare(items[j].v))
			names = append(names, [2]string{items[i].pep, items[j].pep})
		}
	}
	got := dpkgCompareAll(t, pairs)
	for k := range pairs {
		if got[k] != want[k] {
			t.Errorf("dpkg --compare-versions %s %s gives %d, PEP 440 %s vs %s gives %d",
				pairs[k][0], pairs[k][1], got[k], names[k][0], names[k][1], want[k])
		}
		if c := CompareDeb(pairs[k][0], pairs[k][1]); c != want[k] {
			t.Errorf("CompareDeb(%q, %q) = %d, want %d (PEP 440 %s vs %s)",
				pairs[k][0], pairs[k][1], c, want[k], names[k][0], names[k][1])
		}
	}

	// The sorted list makes failures readable.
	if t.Failed() {
		sort.SliceStable(items, func(i, j int) bool { return items[i].v.Compare(items[j].v) < 0 })
		for _, it := range items {
			t.Logf("%-22s %s", it.pep, it.deb)
		}
	}
}

func FuzzDebVersionOrder(f *testing.F) {
	for i, a := range orderCorpus {
		f.Add(a, orderCorpus[(i+7)%len(orderCorpus)])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		va, vb, ok := orderablePair(a, b)
		if !ok {
			return
		}
		da, db := DebVersion(va, "1"), DebVersion(vb, "1")
		if got, want := CompareDeb(da, db), va.Compare(vb); got != want {
			t.Errorf("CompareDeb(%q, %q) = %d, but PEP 440 %q vs %q = %d", da, db, got, a, b, want)
		}
	})
}

// zeroPaddedTwins reports whether a and b have releases that differ only by
// trailing zeros (1.0 and 1.0.0): PEP 440 calls them equal, dpkg does not,
// and DebVersion keeps the release as written (see its doc comment).
func zeroPaddedTwins(a, b pep440.Version) bool {
	ra, rb := a.Release(), b.Release()
	if len(ra) == len(rb) {
		return false
	}
	trim := func(r []int) []int {
		for len(r) > 1 && r[len(r)-1] == 0 {
			r = r[:len(r)-1]
		}
		return r
	}
	ta, tb := trim(ra), trim(rb)
	if len(ta) != len(tb) {
		return false
	}
	for i := range ta {
		if ta[i] != tb[i] {
			return false
		}
	}
	return true
}

// orderablePair parses a and b for the order fuzzers; ok is false when either
// is not a PEP 440 version or the two are zero-padded twins, whose order the
// mappings do not keep by design.
func orderablePair(a, b string) (va, vb pep440.Version, ok bool) {
	va, err := pep440.Parse(a)
	if err != nil {
		return va, vb, false
	}
	vb, err = pep440.Parse(b)
	if err != nil {
		return va, vb, false
	}
	return va, vb, !zeroPaddedTwins(va, vb)
}
