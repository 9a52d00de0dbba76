package tags

import (
	"reflect"
	"testing"
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
