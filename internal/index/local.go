// Package index finds and fetches the artifacts (wheels and sdists) that a
// lock pins and a PEP 517 build asks for: pip's --find-links over local
// directories and HTML pages of links, package indexes speaking the simple
// repository API (PEP 503 HTML and PEP 691 JSON, with PEP 592 yanking,
// PEP 629 versioning and PEP 658/714 metadata), credentials from URLs and
// netrc, hash checking with pip's semantics, retrying downloads and a
// content-addressed download cache.
//
// This file reads find-links directories: flat listings of distribution
// files whose names carry the project, the version and, for wheels, the
// compatibility tags (the binary distribution format's file name convention).
package index

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pep503"
	"github.com/venvpkg/venvpkg/internal/tags"
	"github.com/venvpkg/venvpkg/internal/wheel"
)

// Artifact is one distribution file, local or offered by an index or a
// find-links page.
type Artifact struct {
	Path     string // local path; "" for a remote file until it is fetched
	URL      string // remote location, never with credentials; "" for a local file
	Filename string // base name
	Name     string // normalised project name
	Version  pep440.Version
	Wheel    *wheel.Filename // nil for an sdist

	Hashes         map[string]string // algorithm → lowercase hex digest, as the source states them
	Size           int64             // bytes; -1 when unknown
	RequiresPython string            // PEP 345 Requires-Python of the file, "" when not given
	Yanked         bool              // PEP 592
	YankedReason   string
	CoreMetadata   *CoreMetadata // PEP 658/714; nil when the index serves none
	Source         string        // the directory, page or index that offered the file
}

// IsWheel reports whether the artifact is a wheel.
func (a Artifact) IsWheel() bool { return a.Wheel != nil }

// Local is the set of artifacts found in find-links directories.
type Local struct {
	dirs   []string
	byName map[string][]Artifact
}

// ScanDirs lists the wheels and sdists in dirs. Files whose names do not
// parse are ignored, as pip ignores them.
func ScanDirs(dirs []string) (*Local, error) {
	l := &Local{dirs: dirs, byName: map[string][]Artifact{}}
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			return nil, fmt.Errorf("reading --find-links directory: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			a, ok := parseArtifact(filepath.Join(d, e.Name()))
			if !ok {
				continue
			}
			a.Source = d
			l.byName[a.Name] = append(l.byName[a.Name], a)
		}
	}
	for _, list := range l.byName {
		sort.SliceStable(list, func(i, j int) bool { return list[i].Path < list[j].Path })
	}
	return l, nil
}

var sdistSuffixes = []string{".tar.gz", ".zip"}

func parseArtifact(path string) (Artifact, bool) {
	base := filepath.Base(path)
	if strings.HasSuffix(base, ".whl") {
		fn, err := wheel.ParseFilename(base)
		if err != nil {
			return Artifact{}, false
		}
		v, err := pep440.Parse(fn.Version)
		if err != nil {
			return Artifact{}, false
		}
		return Artifact{Path: path, Filename: base, Name: pep503.Normalize(fn.Distribution), Version: v, Wheel: &fn, Hashes: map[string]string{}, Size: -1}, true
	}
	for _, suf := range sdistSuffixes {
		if !strings.HasSuffix(base, suf) {
			continue
		}
		stem := strings.TrimSuffix(base, suf)
		// {name}-{version}: the name may contain "-" in old sdists, the
		// version never does; split at the last dash that leaves a valid version.
		for i := strings.LastIndex(stem, "-"); i > 0; i = strings.LastIndex(stem[:i], "-") {
			v, err := pep440.Parse(stem[i+1:])
			if err == nil {
				return Artifact{Path: path, Filename: base, Name: pep503.Normalize(stem[:i]), Version: v, Hashes: map[string]string{}, Size: -1}, true
			}
		}
	}
	return Artifact{}, false
}

// All returns every artifact for a normalised project name.
func (l *Local) All(name string) []Artifact { return l.byName[pep503.Normalize(name)] }

// bestOf picks the best compatible wheel, else the first sdist.
func bestOf(list []Artifact, sup *tags.Supported) (Artifact, bool) {
	var best Artifact
	bestRank := -1
	var sdist *Artifact
	for i, a := range list {
		if a.Wheel == nil {
			if sdist == nil {
				sdist = &list[i]
			}
			continue
		}
		rank, ok := sup.Rank(a.Wheel.Tags)
		if !ok {
			continue
		}
		if bestRank < 0 || rank < bestRank || rank == bestRank && buildLess(best.Wheel.Build, a.Wheel.Build) {
			best, bestRank = a, rank
		}
	}
	if bestRank >= 0 {
		return best, true
	}
	if sdist != nil {
		return *sdist, true
	}
	return Artifact{}, false
}

// buildLess orders wheel build tags: numeric prefix, then the rest.
func buildLess(a, b string) bool {
	na, ra := splitBuild(a)
	nb, rb := splitBuild(b)
	if na != nb {
		return na < nb
	}
	return ra < rb
}

func splitBuild(s string) (int, string) {
	n, i := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		n = n*10 + int(s[i]-'0')
		i++
	}
	return n, s[i:]
}

// NotFoundError says no artifact fits a requirement, listing what was seen.
type NotFoundError struct {
	Requirement string
	Candidates  []string
	Excluded    []string // "file (reason)" for yanked or Requires-Python-excluded files
	Dirs        []string // the sources searched
	TopTags     []string
}

func (e *NotFoundError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "no compatible artifact for %s in %s", e.Requirement, Redact(strings.Join(e.Dirs, ", ")))
	if len(e.Candidates) == 0 {
		b.WriteString(": no file of that project was found; add its wheel to a --find-links directory or the index")
	} else {
		fmt.Fprintf(&b, "; candidates found: %s", strings.Join(e.Candidates, ", "))
	}
	if len(e.Excluded) > 0 {
		fmt.Fprintf(&b, "; skipped: %s", strings.Join(e.Excluded, ", "))
	}
	if len(e.TopTags) > 0 {
		fmt.Fprintf(&b, "; the interpreter's top tags: %s", strings.Join(e.TopTags, ", "))
	}
	return b.String()
}
