package distver

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/testutil"
)

func TestNewRPMVersion(t *testing.T) {
	tests := []struct {
		name, pep, release, want string
	}{
		{name: "final", pep: "1.0", release: "1", want: "1.0-1"},
		{name: "release kept as written", pep: "1.0.0", release: "3", want: "1.0.0-3"},
		{name: "epoch", pep: "1!2.0", release: "1", want: "1:2.0-1"},
		{name: "alpha", pep: "1.0a1", release: "1", want: "1.0~a1-1"},
		{name: "beta", pep: "1.0b2", release: "1", want: "1.0~b2-1"},
		{name: "candidate", pep: "1.0rc1", release: "1", want: "1.0~rc1-1"},
		{name: "dev of final", pep: "1.0.dev3", release: "1", want: "1.0~~dev3-1"},
		{name: "dev of candidate", pep: "1.0rc1.dev2", release: "1", want: "1.0~rc1~dev2-1"},
		{name: "post", pep: "1.0.post2", release: "1", want: "1.0.post2-1"},
		{name: "post dev", pep: "1.0.post2.dev1", release: "1", want: "1.0.post2~dev1-1"},
		{name: "pre post", pep: "1.0rc1.post1", release: "1", want: "1.0~rc1.post1-1"},
		{name: "local", pep: "1.0+ubuntu.1", release: "1", want: "1.0.local.ubuntu.1-1"},
		{name: "local digits in string", pep: "0.1.dev3+g1a2b", release: "1", want: "0.1~~dev3.local.gBaCb-1"},
		{name: "local leading zeros", pep: "1.0+007", release: "1", want: "1.0.local.7-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NewRPMVersion(pep440.MustParse(tt.pep), tt.release).String()
			if got != tt.want {
				t.Errorf("NewRPMVersion(%q, %q) = %q, want %q", tt.pep, tt.release, got, tt.want)
			}
		})
	}
}

// rpmCompareAll compares every pair with rpm's own rpm.vercmp in one rpm
// run.
func rpmCompareAll(t *testing.T, pairs [][2]string) []int {
	t.Helper()
	testutil.NeedTool(t, "rpm", "rpm")
	var lua strings.Builder
	for _, p := range pairs {
		fmt.Fprintf(&lua, "print(rpm.vercmp(%q, %q) .. \" \")\n", p[0], p[1])
	}
	script := filepath.Join(t.TempDir(), "vercmp.lua")
	if err := os.WriteFile(script, []byte(lua.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("rpm", "--eval", fmt.Sprintf("%%{lua: dofile(%q)}", script)).CombinedOutput()
	if err != nil {
		t.Fatalf("rpm --eval: %v\n%s", err, out)
	}
	fields := strings.Fields(string(out))
	if len(fields) != len(pairs) {
		t.Fatalf("rpm --eval printed %d results for %d pairs:\n%s", len(fields), len(pairs), out)
	}
	res := make([]int, len(fields))
	for i, f := range fields {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("rpm --eval printed %q", f)
		}
		res[i] = n
	}
	return res
}

// TestRPMVersionOrderMatchesRPM checks every pair of the ordering corpus:
// rpm must order the mapped versions as PEP 440 orders the originals.
func TestRPMVersionOrderMatchesRPM(t *testing.T) {
	type item struct {
		pep string
		v   pep440.Version
		rpm string
	}
	items := make([]item, len(orderCorpus))
	for i, s := range orderCorpus {
		v := pep440.MustParse(s)
		items[i] = item{pep: s, v: v, rpm: NewRPMVersion(v, "1").String()}
	}
	var pairs, names [][2]string
	var want []int
	for i := range items {
		for j := i + 1; j < len(items); j++ {
			if zeroPaddedTwins(items[i].v, items[j].v) {
				continue
			}
			pairs = append(pairs, [2]string{items[i].rpm, items[j].rpm})
			names = append(names, [2]string{items[i].pep, items[j].pep})
			want = append(want, items[i].v.Compare(items[j].v))
		}
	}
	got := rpmCompareAll(t, pairs)
	for k := range pairs {
		if got[k] != want[k] {
			t.Errorf("rpm.vercmp(%s, %s) = %d, PEP 440 %s vs %s = %d", pairs[k][0], pairs[k][1], got[k], names[k][0], names[k][1], want[k])
		}
	}
	if t.Failed() {
		sort.SliceStable(items, func(i, j int) bool { return items[i].v.Compare(items[j].v) < 0 })
		for _, it := range items {
			t.Logf("%-22s %s", it.pep, it.rpm)
		}
	}
}

// FuzzRPMVersionOrder checks the order property of the RPM mapping with
// CompareRPMVersion, the Go implementation of rpm's comparison that
// internal/repo's tests check against rpm itself.
func FuzzRPMVersionOrder(f *testing.F) {
	for i, a := range orderCorpus {
		f.Add(a, orderCorpus[(i+11)%len(orderCorpus)])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		va, vb, ok := orderablePair(a, b)
		if !ok {
			return
		}
		ra, rb := NewRPMVersion(va, "1"), NewRPMVersion(vb, "1")
		if got, want := CompareRPMVersion(ra, rb), va.Compare(vb); got != want {
			t.Errorf("CompareRPMVersion(%s, %s) = %d, but PEP 440 %q vs %q = %d", ra, rb, got, a, b, want)
		}
	})
}

func TestCompareRPMVersionOnCorpus(t *testing.T) {
	for _, a := range orderCorpus {
		for _, b := range orderCorpus {
			va, vb := pep440.MustParse(a), pep440.MustParse(b)
			if zeroPaddedTwins(va, vb) {
				continue
			}
			ra, rb := NewRPMVersion(va, "1"), NewRPMVersion(vb, "1")
			if got, want := CompareRPMVersion(ra, rb), va.Compare(vb); got != want {
				t.Errorf("CompareRPMVersion(%s, %s) = %d, PEP 440 %s vs %s = %d", ra, rb, got, a, b, want)
			}
		}
	}
}
