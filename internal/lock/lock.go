// Package lock reads pinned requirements files, the lock format written by
// pip-compile, `uv export --format requirements-txt` and `pip freeze`, as
// pip's "Requirements File Format" documents it: one PEP 508 requirement
// per line pinned with == or ===, optional --hash options (PEP 440 pins
// plus pip's secure-install hash-checking mode), -r includes, -c constraint
// files, index options, comments and backslash continuations. Markers are
// evaluated against the target interpreter's environment and requirements
// that do not apply are dropped.
package lock

import (
	"slices"

	"github.com/venvpkg/venvpkg/internal/pep503"
)

// Requirement is one pinned package of a lock.
type Requirement struct {
	Name    string   // normalised (PEP 503)
	Display string   // as written
	Version string   // the pinned version: normalised PEP 440 text for ==, as written for ===
	Exact   bool     // pinned with ===: match the version text, not PEP 440 equality
	Extras  []string // normalised, sorted, without duplicates
	Hashes  []string // "sha256:<hex>" lowercase; sha384 and sha512 are allowed too
	Marker  string   // normalised marker text, kept for messages; "" when none
	Source  string   // "path:line" of the requirement line
	Files   []File   `json:",omitempty"` // pylock.toml: the entry's wheels and sdist; none for requirements files
}

// Lock is a parsed requirements file with its includes and constraints
// applied.
type Lock struct {
	Path         string        // the file given to ParseRequirementsFile
	Requirements []Requirement // after marker evaluation, sorted by Name
	HashMode     bool          // a requirement carries --hash, or --require-hashes appeared

	// Index options, in the order they appear. FindLinks entries that are
	// local paths are absolute (a relative path is taken relative to the
	// file that names it); URLs are kept as written.
	FindLinks, IndexURLs, ExtraIndexURLs []string
	NoIndex                              bool

	// Binary preferences, as written (":all:", ":none:" or comma-separated
	// names); they matter once sdists can be built.
	OnlyBinary, NoBinary []string
	PreferBinary         bool
}

// Lookup returns the requirement for a project name in any spelling.
func (l *Lock) Lookup(name string) (Requirement, bool) {
	n := pep503.Normalize(name)
	i, ok := slices.BinarySearchFunc(l.Requirements, n, func(r Requirement, n string) int {
		switch {
		case r.Name < n:
			return -1
		case r.Name > n:
			return 1
		}
		return 0
	})
	if !ok {
		return Requirement{}, false
	}
	return l.Requirements[i], true
}

// Missing returns the normalised names among names (in any spelling) that
// the lock does not pin, in the order given and without duplicates.
func (l *Lock) Missing(names []string) []string {
	var missing []string
	seen := map[string]bool{}
	for _, name := range names {
		n := pep503.Normalize(name)
		if seen[n] {
			continue
		}
		seen[n] = true
		if _, ok := l.Lookup(n); !ok {
			missing = append(missing, n)
		}
	}
	return missing
}
