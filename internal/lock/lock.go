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
	"fmt"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"

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
	VCS     *VCS     `json:",omitempty"` // uv.lock, poetry.lock: built from this git commit instead
}

// VCS is a package locked from a git repository at one commit, which the build clones and builds.
type VCS struct {
	URL          string // the repository, as git takes it (credentials kept for git, redacted in messages)
	Commit       string // the full 40-hex commit the lock resolved; the commit is the pin
	Subdirectory string // the project inside the repository, "" for its root
}

// String shows a VCS source without credentials.
func (v *VCS) String() string {
	s := redactUserinfo(v.URL) + "@" + v.Commit
	if v.Subdirectory != "" {
		s += "#subdirectory=" + v.Subdirectory
	}
	return s
}

var commitRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// newVCS checks a git source: a URL git can clone and a full commit.
func newVCS(name, repo, commit, subdir string) (*VCS, error) {
	commit = strings.ToLower(strings.TrimSpace(commit))
	if !commitRE.MatchString(commit) {
		return nil, fmt.Errorf("%s is locked from git (%s) without a full commit (%q); lock it again so the commit is recorded: a branch or tag is not a pin", name, redactUserinfo(repo), commit)
	}
	u, err := url.Parse(repo)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "ssh" && u.Scheme != "file" && u.Scheme != "git") {
		return nil, fmt.Errorf("%s: git repository %q is not an https, ssh, git or file URL", name, redactUserinfo(repo))
	}
	if subdir != "" && (path.IsAbs(subdir) || strings.HasPrefix(path.Clean(subdir), "..")) {
		return nil, fmt.Errorf("%s: subdirectory %q leaves the repository", name, subdir)
	}
	return &VCS{URL: repo, Commit: commit, Subdirectory: subdir}, nil
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
