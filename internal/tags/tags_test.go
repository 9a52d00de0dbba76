package tags

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/testutil"
)

func TestParseSet(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{name: "simple", in: "py3-none-any", want: []string{"py3-none-any"}},
		{name: "compressed interpreter", in: "py2.py3-none-any", want: []string{"py2-none-any", "py3-none-any"}},
		{
			name: "compressed platform",
			in:   "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
			want: []string{"cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-manylinux2014_x86_64"},
		},
		{
			name: "every component compressed",
			in:   "cp38.cp39-abi3.none-linux_x86_64.any",
			want: []string{
				"cp38-abi3-linux_x86_64", "cp38-abi3-any", "cp38-none-linux_x86_64", "cp38-none-any",
				"cp39-abi3-linux_x86_64", "cp39-abi3-any", "cp39-none-linux_x86_64", "cp39-none-any",
			},
		},
		{name: "lowercased", in: "CP311-CP311-Manylinux_2_17_X86_64", want: []string{"cp311-cp311-manylinux_2_17_x86_64"}},
		{name: "duplicates dropped", in: "py3.py3-none-any", want: []string{"py3-none-any"}},
		{name: "free-threaded abi", in: "cp313-cp313t-musllinux_1_2_aarch64", want: []string{"cp313-cp313t-musllinux_1_2_aarch64"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSet(tt.in)
			if err != nil {
				t.Fatalf("ParseSet(%q) error: %v", tt.in, err)
			}
			var gotS []string
			for _, g := range got {
				gotS = append(gotS, g.String())
			}
			if !reflect.DeepEqual(gotS, tt.want) {
				t.Errorf("ParseSet(%q) = %v, want %v", tt.in, gotS, tt.want)
			}
		})
	}
}

func TestParseSetErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{name: "empty", in: ""},
		{name: "two components", in: "py3-none"},
		{name: "four components", in: "py3-none-any-extra"},
		{name: "empty set member", in: "py2.-none-any"},
		{name: "empty abi", in: "py3--any"},
		{name: "trailing dot platform", in: "py3-none-any."},
		{name: "interpreter not an identifier", in: "3py-none-any"},
		{name: "interpreter with punctuation", in: "py+3-none-any"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := ParseSet(tt.in); err == nil {
				t.Errorf("ParseSet(%q) = %v, want an error", tt.in, got)
			}
		})
	}
}

func mustParse(t *testing.T, s string) []Tag {
	t.Helper()
	ts, err := ParseSet(s)
	if err != nil {
		t.Fatalf("ParseSet(%q): %v", s, err)
	}
	return ts
}

func TestRank(t *testing.T) {
	sup := NewSupported([]Tag{
		{"cp311", "cp311", "manylinux_2_17_x86_64"},
		{"cp311", "abi3", "manylinux_2_17_x86_64"},
		{"py3", "none", "any"},
		{"cp311", "cp311", "manylinux_2_17_x86_64"}, // duplicate keeps index 0
	})
	tests := []struct {
		name     string
		wheel    string
		wantRank int
		wantOK   bool
	}{
		{name: "exact best", wheel: "cp311-cp311-manylinux_2_17_x86_64", wantRank: 0, wantOK: true},
		{name: "abi3", wheel: "cp311-abi3-manylinux_2_17_x86_64", wantRank: 1, wantOK: true},
		{name: "pure python", wheel: "py2.py3-none-any", wantRank: 2, wantOK: true},
		{name: "lowest of a set", wheel: "py3.cp311-none.abi3-any.manylinux_2_17_x86_64", wantRank: 1, wantOK: true},
		{name: "unsupported", wheel: "cp312-cp312-win_amd64", wantRank: -1, wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rank, ok := sup.Rank(mustParse(t, tt.wheel))
			if rank != tt.wantRank || ok != tt.wantOK {
				t.Errorf("Rank(%q) = %d, %v, want %d, %v", tt.wheel, rank, ok, tt.wantRank, tt.wantOK)
			}
			if c := sup.Compatible(mustParse(t, tt.wheel)); c != tt.wantOK {
				t.Errorf("Compatible(%q) = %v, want %v", tt.wheel, c, tt.wantOK)
			}
		})
	}
	if got := len(sup.Tags()); got != 4 {
		t.Errorf("len(Tags()) = %d, want 4", got)
	}
}

// referenceInputs describes the interpreters of testdata/reference.json,
// which gen_reference.py computed with packaging 26.4.dev0 (git 053c884).
var referenceInputs = []struct {
	name string
	in   Input
}{
	{name: "cp311-x86_64-glibc2.36", in: Input{Major: 3, Minor: 11, OS: "linux", Platform: "linux-x86_64", Arch: "x86_64", GlibcMajor: 2, GlibcMinor: 36}},
	{name: "cp38-x86_64-glibc2.28", in: Input{Major: 3, Minor: 8, OS: "linux", Platform: "linux-x86_64", Arch: "x86_64", GlibcMajor: 2, GlibcMinor: 28}},
	{name: "cp36m-x86_64-glibc2.17", in: Input{Major: 3, Minor: 6, Pymalloc: true, OS: "linux", Platform: "linux-x86_64", Arch: "x86_64", GlibcMajor: 2, GlibcMinor: 17}},
	{name: "cp312d-aarch64-glibc2.31", in: Input{Major: 3, Minor: 12, Debug: true, OS: "linux", Platform: "linux-aarch64", Arch: "aarch64", GlibcMajor: 2, GlibcMinor: 31}},
	{name: "cp313-x86_64-glibc2.36", in: Input{Major: 3, Minor: 13, OS: "linux", Platform: "linux-x86_64", Arch: "x86_64", GlibcMajor: 2, GlibcMinor: 36}},
	{name: "cp313t-x86_64-glibc2.36", in: Input{Major: 3, Minor: 13, GILDisabled: true, OS: "linux", Platform: "linux-x86_64", Arch: "x86_64", GlibcMajor: 2, GlibcMinor: 36}},
	{name: "cp314td-aarch64-glibc2.39", in: Input{Major: 3, Minor: 14, GILDisabled: true, Debug: true, OS: "linux", Platform: "linux-aarch64", Arch: "aarch64", GlibcMajor: 2, GlibcMinor: 39}},
	{name: "cp312-x86_64-musl1.2", in: Input{Major: 3, Minor: 12, OS: "linux", Platform: "linux-x86_64", Arch: "x86_64", MuslMajor: 1, MuslMinor: 2}},
	{name: "cp311-i686-glibc2.36", in: Input{Major: 3, Minor: 11, OS: "linux", Platform: "linux-x86_64", Arch: "i686", GlibcMajor: 2, GlibcMinor: 36}},
	{name: "cp310-armv8l-glibc2.31", in: Input{Major: 3, Minor: 10, OS: "linux", Platform: "linux-aarch64", Arch: "armv8l", GlibcMajor: 2, GlibcMinor: 31}},
	{name: "cp313-riscv64-glibc2.39", in: Input{Major: 3, Minor: 13, OS: "linux", Platform: "linux-riscv64", Arch: "riscv64", GlibcMajor: 2, GlibcMinor: 39}},
	{name: "cp311-mips64-glibc2.36", in: Input{Major: 3, Minor: 11, OS: "linux", Platform: "linux-mips64", Arch: "mips64", GlibcMajor: 2, GlibcMinor: 36}},
}

func tagStrings(ts []Tag) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.String()
	}
	return out
}

// firstDiff describes where two lists first differ, for readable failures.
func firstDiff(got, want []string) string {
	for i := 0; i < len(got) && i < len(want); i++ {
		if got[i] != want[i] {
			return fmt.Sprintf("index %d: got %q, want %q", i, got[i], want[i])
		}
	}
	return fmt.Sprintf("got %d tags, want %d", len(got), len(want))
}

func TestGenerateMatchesPackaging(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Packaging string
		Cases     []struct {
			Name      string
			Platforms []string
			Tags      []string
		}
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatalf("testdata/reference.json: %v", err)
	}
	if len(ref.Cases) != len(referenceInputs) {
		t.Fatalf("reference.json has %d cases, the test describes %d", len(ref.Cases), len(referenceInputs))
	}
	for i, tt := range referenceInputs {
		t.Run(tt.name, func(t *testing.T) {
			c := ref.Cases[i]
			if c.Name != tt.name {
				t.Fatalf("reference case %d is %q, want %q", i, c.Name, tt.name)
			}
			if got := Platforms(tt.in); !reflect.DeepEqual(got, c.Platforms) {
				t.Errorf("Platforms(%+v) differs from packaging %s: %s", tt.in, ref.Packaging, firstDiff(got, c.Platforms))
			}
			if got := tagStrings(Generate(tt.in)); !reflect.DeepEqual(got, c.Tags) {
				t.Errorf("Generate(%+v) differs from packaging %s: %s", tt.in, ref.Packaging, firstDiff(got, c.Tags))
			}
		})
	}
}

func TestGenerateShape(t *testing.T) {
	tests := []struct {
		name      string
		in        Input
		first     []string // the list starts with these
		contains  []string
		absent    []string
		wantCount int
	}{
		{
			name:  "3.6 pymalloc abi",
			in:    Input{Major: 3, Minor: 6, Pymalloc: true, OS: "linux", Arch: "x86_64", GlibcMajor: 2, GlibcMinor: 17},
			first: []string{"cp36-cp36m-linux_x86_64", "cp36-cp36m-manylinux_2_17_x86_64", "cp36-cp36m-manylinux2014_x86_64", "cp36-cp36m-manylinux_2_16_x86_64"},
			contains: []string{"cp36-cp36m-manylinux2010_x86_64", "cp36-cp36m-manylinux1_x86_64", "cp35-abi3-manylinux1_x86_64",
				"cp32-abi3-linux_x86_64", "py36-none-manylinux_2_5_x86_64", "cp36-none-any", "py30-none-any"},
			absent: []string{"cp36-cp36-linux_x86_64", "cp31-abi3-linux_x86_64", "cp36-cp36m-manylinux_2_4_x86_64"},
		},
		{
			name:  "3.8 drops pymalloc",
			in:    Input{Major: 3, Minor: 8, Pymalloc: true, OS: "linux", Arch: "x86_64", GlibcMajor: 2, GlibcMinor: 5},
			first: []string{"cp38-cp38-linux_x86_64", "cp38-cp38-manylinux_2_5_x86_64", "cp38-cp38-manylinux1_x86_64", "cp38-abi3-linux_x86_64"},
			// 2 platforms + legacy alias: (1 abi + abi3 + none + 6 older abi3 + 10 py) * 3 + 1 + 10 any.
			wantCount: (1+1+1+6+10)*3 + 1 + 10,
		},
		{
			name:     "3.12 debug also accepts the release abi",
			in:       Input{Major: 3, Minor: 12, Debug: true, OS: "linux", Arch: "aarch64", GlibcMajor: 2, GlibcMinor: 17},
			first:    []string{"cp312-cp312d-linux_aarch64", "cp312-cp312d-manylinux_2_17_aarch64", "cp312-cp312d-manylinux2014_aarch64", "cp312-cp312-linux_aarch64"},
			contains: []string{"cp311-abi3-manylinux2014_aarch64"},
			absent:   []string{"cp312-cp312-manylinux_2_16_aarch64"},
		},
		{
			name:     "3.13 free-threaded uses abi3t",
			in:       Input{Major: 3, Minor: 13, GILDisabled: true, OS: "linux", Arch: "x86_64", GlibcMajor: 2, GlibcMinor: 36},
			first:    []string{"cp313-cp313t-linux_x86_64", "cp313-cp313t-manylinux_2_36_x86_64"},
			contains: []string{"cp313-abi3t-manylinux_2_17_x86_64", "cp312-abi3t-linux_x86_64", "cp313-none-manylinux1_x86_64"},
			absent:   []string{"cp313-cp313-linux_x86_64", "cp313-abi3-linux_x86_64", "cp312-abi3-linux_x86_64"},
		},
		{
			name:      "gil flag ignored before 3.13",
			in:        Input{Major: 3, Minor: 12, GILDisabled: true, OS: "linux", Arch: "mips", GlibcMajor: 2, GlibcMinor: 36},
			first:     []string{"cp312-cp312-linux_mips", "cp312-abi3-linux_mips", "cp312-none-linux_mips", "cp311-abi3-linux_mips"},
			wantCount: 1 + 1 + 1 + 10 + 14 + 1 + 14,
		},
		{
			name:      "not linux",
			in:        Input{Major: 3, Minor: 11, OS: "darwin", Platform: "macosx-11.0-arm64"},
			first:     []string{"cp311-cp311-macosx_11_0_arm64", "cp311-abi3-macosx_11_0_arm64"},
			wantCount: 1 + 1 + 1 + 9 + 13 + 1 + 13,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tagStrings(Generate(tt.in))
			if len(got) < len(tt.first) || !reflect.DeepEqual(got[:len(tt.first)], tt.first) {
				t.Errorf("Generate(%+v) starts %v, want %v", tt.in, got[:min(len(got), len(tt.first))], tt.first)
			}
			set := make(map[string]bool, len(got))
			for _, g := range got {
				if set[g] {
					t.Errorf("Generate(%+v) lists %s twice", tt.in, g)
				}
				set[g] = true
			}
			for _, c := range tt.contains {
				if !set[c] {
					t.Errorf("Generate(%+v) lacks %s", tt.in, c)
				}
			}
			for _, a := range tt.absent {
				if set[a] {
					t.Errorf("Generate(%+v) contains %s", tt.in, a)
				}
			}
			if tt.wantCount != 0 && len(got) != tt.wantCount {
				t.Errorf("len(Generate(%+v)) = %d, want %d", tt.in, len(got), tt.wantCount)
			}
		})
	}
}

// liveScript prints what the interpreter's own (pip-vendored) packaging
// reports, plus the facts Generate needs, gathered independently of
// internal/interp.
const liveScript = `
import json, os, sys, sysconfig
from pip._vendor import packaging
from pip._vendor.packaging import tags
glibc = os.confstr("CS_GNU_LIBC_VERSION").split()[1]
print(json.dumps({
    "packaging": packaging.__version__,
    "major": sys.version_info[0], "minor": sys.version_info[1],
    "debug": bool(sysconfig.get_config_var("Py_DEBUG")),
    "gil_disabled": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "pymalloc": bool(sysconfig.get_config_var("WITH_PYMALLOC")),
    "platform": sysconfig.get_platform(),
    "is32": sys.maxsize <= 2**32,
    "glibc": [int(p) for p in glibc.split(".")[:2]],
    "platforms": list(tags.platform_tags()),
    "tags": [str(t) for t in tags.sys_tags()],
}))
`

// TestGenerateMatchesInstalledInterpreters compares Generate with sys_tags
// of every CPython found on this machine. Their vendored packaging predates
// 26.3 and lists linux_<arch> last, so the test checks that Platforms moves
// exactly that tag to the front, that both lists hold the same tags, and
// that they agree on the relative order of all other tags. packaging before
// 22.0 also lacked the cpXY-none-any tag, which is then left out of the
// comparison. The exact modern order is checked by
// TestGenerateMatchesPackaging.
func TestGenerateMatchesInstalledInterpreters(t *testing.T) {
	pythons := []string{"/usr/bin/python3.11"}
	pyenv, _ := filepath.Glob("/root/.pyenv/versions/3.*/bin/python3")
	pythons = append(pythons, pyenv...)
	for _, py := range pythons {
		t.Run(py, func(t *testing.T) {
			testutil.NeedFile(t, py, "python3.11")
			out, err := exec.Command(py, "-c", liveScript).Output()
			if err != nil {
				t.Skipf("%s cannot report its tags through pip's vendored packaging: %v", py, err)
			}
			var live struct {
				Packaging   string
				Major       int
				Minor       int
				Debug       bool
				GILDisabled bool `json:"gil_disabled"`
				Pymalloc    bool
				Platform    string
				Is32        bool
				Glibc       []int
				Platforms   []string
				Tags        []string
			}
			if err := json.Unmarshal(out, &live); err != nil {
				t.Fatalf("%s: %v: %s", py, err, out)
			}
			if !strings.Contains(strings.Join(live.Platforms, " "), "manylinux_2_") {
				t.Skipf("%s vendors packaging %s, which predates PEP 600 tags", py, live.Packaging)
			}
			arch := strings.TrimPrefix(live.Platform, "linux-")
			if live.Is32 && arch == "x86_64" {
				arch = "i686"
			}
			in := Input{
				Major: live.Major, Minor: live.Minor, Debug: live.Debug, GILDisabled: live.GILDisabled,
				Pymalloc: live.Pymalloc, OS: "linux", Platform: live.Platform, Arch: arch,
				GlibcMajor: live.Glibc[0], GlibcMinor: live.Glibc[1],
			}
			native := "linux_" + arch
			wantPlats := []string{native}
			for _, p := range live.Platforms {
				if p != native {
					wantPlats = append(wantPlats, p)
				}
			}
			if got := Platforms(in); !reflect.DeepEqual(got, wantPlats) {
				t.Errorf("Platforms(%+v) = %s; want packaging %s's list with %s first", in, firstDiff(got, wantPlats), live.Packaging, native)
			}

			got := tagStrings(Generate(in))
			if major, _, _ := strings.Cut(live.Packaging, "."); atoi(major) < 22 {
				got = slices.DeleteFunc(got, func(s string) bool {
					return s == fmt.Sprintf("cp%d%d-none-any", in.Major, in.Minor)
				})
			}
			gotSet := make(map[string]bool, len(got))
			for _, g := range got {
				gotSet[g] = true
			}
			wantSet := make(map[string]bool, len(live.Tags))
			for _, w := range live.Tags {
				wantSet[w] = true
				if !gotSet[w] {
					t.Errorf("Generate(%+v) lacks %s, which packaging %s lists", in, w, live.Packaging)
				}
			}
			for _, g := range got {
				if !wantSet[g] {
					t.Errorf("Generate(%+v) lists %s, which packaging %s does not", in, g, live.Packaging)
				}
			}
			filter := func(ts []string, keepNative bool) []string {
				var out []string
				for _, s := range ts {
					if strings.HasSuffix(s, "-"+native) == keepNative {
						out = append(out, s)
					}
				}
				return out
			}
			for _, keep := range []bool{false, true} {
				g, w := filter(got, keep), filter(live.Tags, keep)
				if !reflect.DeepEqual(g, w) {
					t.Errorf("Generate(%+v) order (native platform=%v) differs from packaging %s: %s", in, keep, live.Packaging, firstDiff(g, w))
				}
			}
		})
	}
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

func FuzzParseSet(f *testing.F) {
	for _, s := range []string{
		"py3-none-any", "py2.py3-none-any", "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
		"cp38.cp39-abi3.none-linux_x86_64.any", "CP313-cp313T-Win_AMD64", "py3--any", "a-b-c-d", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := ParseSet(s)
		if err != nil {
			return
		}
		if len(ts) == 0 {
			t.Fatalf("ParseSet(%q) = no tags and no error", s)
		}
		for _, tag := range ts {
			for _, c := range []string{tag.Interpreter, tag.ABI, tag.Platform} {
				if c == "" || strings.ContainsAny(c, "-.") || c != strings.ToLower(c) {
					t.Fatalf("ParseSet(%q) gave component %q of %v", s, c, tag)
				}
			}
			back, err := ParseSet(tag.String())
			if err != nil || len(back) != 1 || back[0] != tag {
				t.Fatalf("ParseSet(%q) = %v, %v; want [%v]", tag.String(), back, err, tag)
			}
		}
	})
}
