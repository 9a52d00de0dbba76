package pep440

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/testutil"
)

// python is Debian 12's interpreter; its python3-packaging (23.0) is the
// independent implementation these tests compare against.
const python = "/usr/bin/python3.11"

// packagingScript reads {"versions": [...], "specs": [...]} and writes, per
// version, its normal form (or null when invalid), its rank in sorted order
// and, per specifier, whether it contains the version (pre-releases allowed).
const packagingScript = `
import json, sys
from packaging.version import Version, InvalidVersion
from packaging.specifiers import Specifier, InvalidSpecifier
req = json.load(sys.stdin)
normal, parsed = [], []
for s in req["versions"]:
    try:
        v = Version(s)
    except InvalidVersion:
        v = None
    parsed.append(v)
    normal.append(None if v is None else str(v))
rank = {v: i for i, v in enumerate(sorted(set(v for v in parsed if v is not None)))}
ranks = [-1 if v is None else rank[v] for v in parsed]
contains = []
for s in req["specs"]:
    try:
        sp = Specifier(s)
    except InvalidSpecifier:
        contains.append(None)
        continue
    contains.append([None if v is None else sp.contains(v, prereleases=True) for v in parsed])
json.dump({"normal": normal, "rank": ranks, "contains": contains}, sys.stdout)
`

type packagingResult struct {
	Normal   []*string `json:"normal"`
	Rank     []int     `json:"rank"`
	Contains [][]*bool `json:"contains"`
}

func runPackaging(t *testing.T, versions, specs []string) packagingResult {
	t.Helper()
	if err := exec.Command(python, "-c", "import packaging.version").Run(); err != nil {
		testutil.Missing(t, "python3-packaging", python+" with packaging", err)
	}
	in, err := json.Marshal(map[string][]string{"versions": versions, "specs": specs})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(context.Background(), python, "-c", packagingScript)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("running packaging: %v: %s", err, stderr.String())
	}
	var res packagingResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("decoding packaging's answer: %v", err)
	}
	return res
}

// corpusVersions combines every kind of segment, plus alternative spellings.
func corpusVersions() []string {
	var vs []string
	for _, epoch := range []string{"", "1!"} {
		for _, rel := range []string{"0", "1", "1.0", "1.0.0", "1.1", "2.0.1"} {
			for _, pre := range []string{"", "a1", "b0", "rc2"} {
				for _, post := range []string{"", ".post0", ".post2"} {
					for _, dev := range []string{"", ".dev0", ".dev3"} {
						for _, local := range []string{"", "+abc", "+7", "+abc.5", "+5.abc"} {
							vs = append(vs, epoch+rel+pre+post+dev+local)
						}
					}
				}
			}
		}
	}
	return append(vs,
		"1.0RC1", "v1.0", "V1.0-1", "1.0.dev", "1.0_ALPHA-2", "1.0.post", "1.0r3", "1.0rev4", "1.0c1",
		"1.0pre", "1.0preview.2", "1.0-dev.3", "01.002", "0!1.0", "1.0+UBUNTU-1_x", "1.0+007",
		"1.0-", "1.0.", "1..0", "1.0+", "1.0.*", "a", "", "1.0 b", "1.0-1-1", "1.0.post1.post2", "1!")
}

var corpusSpecs = []string{
	"==1.0", "==1.0.0", "==1.0+abc", "==1.*", "==1.0.*", "==1!1.*", "==1.1.*", "!=1.0", "!=1.*", "!=1.0+7",
	"~=1.0", "~=1.0.0", "~=1.1a1", "~=1.0.post0", "~=1!1.0", "<=1.0", ">=1.0", ">=1.0a1", "<=1.0.post0",
	"<1.0", "<1.0a1", "<1.0.post2", "<1.1", "<2.0.1rc2", ">1.0", ">1.0.post0", ">1.0a1", ">0", ">1.0.dev0",
	"===1.0", "===1.0+abc", "===v1.0", ">=1!0", "<1!1.0",
}

// packaging23Differs reports the cases where Debian 12's packaging 23.0
// reads PEP 440 differently from its text (and from packaging 26): for < and
// > it excludes every pre-release, post-release or local version sharing V's
// release segment, not only V's own (so it refuses 1.0.post0 for >1.0a1), and
// === compares the normalised version, not the string as written.
// TestSpecifierContains holds PEP 440's reading of those cases.
func packaging23Differs(s Specifier, v Version) bool {
	switch s.Op {
	case "===":
		return true
	case "<", ">":
		spec := MustParse(s.Version)
		return v.epoch == spec.epoch && compareRelease(v.release, spec.release) == 0
	}
	return false
}

func TestAgainstPackaging(t *testing.T) {
	versions := corpusVersions()
	res := runPackaging(t, versions, corpusSpecs)

	type parsed struct {
		v    Version
		rank int
		text string
	}
	var valid []parsed
	for i, s := range versions {
		v, err := Parse(s)
		want := res.Normal[i]
		switch {
		case want == nil && err == nil:
			t.Errorf("Parse(%q) = %v, packaging says invalid", s, v)
		case want != nil && err != nil:
			t.Errorf("Parse(%q) error %v, packaging gives %q", s, err, *want)
		case want != nil && v.String() != *want:
			t.Errorf("Parse(%q) = %q, packaging gives %q", s, v.String(), *want)
		case want != nil:
			valid = append(valid, parsed{v, res.Rank[i], s})
		}
	}
	// Sorting by Compare must give packaging's ranks in order, with equal
	// ranks exactly where Compare says equal.
	sort.SliceStable(valid, func(i, j int) bool { return valid[i].v.Compare(valid[j].v) < 0 })
	for i := 1; i < len(valid); i++ {
		a, b := valid[i-1], valid[i]
		c := a.v.Compare(b.v)
		if c == 0 && a.rank != b.rank || c < 0 && a.rank >= b.rank {
			t.Errorf("Compare(%q, %q) = %d, but packaging ranks them %d and %d", a.text, b.text, c, a.rank, b.rank)
		}
	}

	for si, spec := range corpusSpecs {
		s, err := ParseSpecifier(spec)
		if (err == nil) != (res.Contains[si] != nil) {
			t.Errorf("ParseSpecifier(%q) error %v, packaging valid = %v", spec, err, res.Contains[si] != nil)
			continue
		}
		if err != nil {
			continue
		}
		for vi, text := range versions {
			want := res.Contains[si][vi]
			if want == nil {
				continue
			}
			v := MustParse(text)
			if s.Wildcard() && strings.Contains(spec, "!") && v.preKind != "" {
				// packaging 23.0 strips trailing zeros ("1!1.0a1" becomes
				// "1!1a1") and then cannot split "1!1a1" into release and
				// pre-release, so it misses the prefix match PEP 440 asks for.
				continue
			}
			if packaging23Differs(s, v) {
				continue
			}
			if got := s.Contains(v); got != *want {
				t.Errorf("ParseSpecifier(%q).Contains(%q) = %v, packaging says %v", spec, text, got, *want)
			}
		}
	}
	if t.Failed() {
		t.Logf("compared %d versions and %d specifiers", len(versions), len(corpusSpecs))
	}
}
