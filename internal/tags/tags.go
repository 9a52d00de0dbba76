// Package tags implements platform compatibility tags, the
// {python}-{abi}-{platform} triples of PEP 425 as maintained in the PyPA
// "Platform compatibility tags" specification (with the manylinux tags of
// PEP 513, 571, 599 and 600 and the musllinux tags of PEP 656).
//
// ParseSet expands the compressed tag sets found in wheel filenames,
// Generate lists the tags a CPython interpreter on Linux supports in the
// order of preference that packaging.tags.sys_tags uses, and Supported ranks
// a wheel's tags against that list.
package tags

import (
	"fmt"
	"strings"
)

// Tag is one interpreter/ABI/platform triple, always lowercase.
type Tag struct {
	Interpreter string // "cp311", "py3"
	ABI         string // "cp311", "abi3", "none"
	Platform    string // "manylinux_2_17_x86_64", "any"
}

// String returns the tag in its "interpreter-abi-platform" form.
func (t Tag) String() string {
	return t.Interpreter + "-" + t.ABI + "-" + t.Platform
}

// ParseSet parses a tag triple whose components may be compressed tag sets
// ("py2.py3-none-any", "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64")
// and returns every tag it stands for, lowercased, in the order
// interpreters × ABIs × platforms as written, without duplicates.
func ParseSet(s string) ([]Tag, error) {
	comps := strings.Split(strings.ToLower(s), "-")
	if len(comps) != 3 {
		return nil, fmt.Errorf("tag %q has %d components; want interpreter-abi-platform", s, len(comps))
	}
	var parts [3][]string
	for i, c := range comps {
		parts[i] = strings.Split(c, ".")
		for _, p := range parts[i] {
			if p == "" {
				return nil, fmt.Errorf("tag %q has an empty component in %q", s, c)
			}
		}
	}
	for _, interp := range parts[0] {
		if !isIdentifier(interp) {
			return nil, fmt.Errorf("tag %q has an invalid interpreter %q; want letters, digits and underscores", s, interp)
		}
	}
	out := make([]Tag, 0, len(parts[0])*len(parts[1])*len(parts[2]))
	seen := make(map[Tag]bool, cap(out))
	for _, interp := range parts[0] {
		for _, abi := range parts[1] {
			for _, plat := range parts[2] {
				t := Tag{Interpreter: interp, ABI: abi, Platform: plat}
				if !seen[t] {
					seen[t] = true
					out = append(out, t)
				}
			}
		}
	}
	return out, nil
}

// isIdentifier reports whether s is an ASCII Python identifier, which is
// what the specification allows as an interpreter tag.
func isIdentifier(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return s != ""
}

// Supported is an ordered list of the tags an interpreter accepts; a lower
// index is a better match.
type Supported struct {
	ordered []Tag
	index   map[Tag]int
}

// NewSupported indexes ordered, best tag first. A tag listed twice keeps its
// first (best) position.
func NewSupported(ordered []Tag) *Supported {
	s := &Supported{ordered: ordered, index: make(map[Tag]int, len(ordered))}
	for i, t := range ordered {
		if _, ok := s.index[t]; !ok {
			s.index[t] = i
		}
	}
	return s
}

// Tags returns the supported tags, best first. The caller must not modify
// the slice.
func (s *Supported) Tags() []Tag { return s.ordered }

// Rank returns the best (lowest) position of any of ts in the supported
// list, and false when none of them is supported. Installers pick the
// artifact with the lowest rank.
func (s *Supported) Rank(ts []Tag) (rank int, ok bool) {
	rank = -1
	for _, t := range ts {
		if i, found := s.index[t]; found && (rank < 0 || i < rank) {
			rank = i
		}
	}
	return rank, rank >= 0
}

// Compatible reports whether any of ts is supported.
func (s *Supported) Compatible(ts []Tag) bool {
	_, ok := s.Rank(ts)
	return ok
}
