package index

import (
	"cmp"
	"path/filepath"
	"strings"

	"github.com/venvpkg/venvpkg/internal/env"
)

// SourceSettings are the package sources named at one level: the command
// line, [tool.venvpkg] or the lock's own option lines.
type SourceSettings struct {
	IndexURL       string   // the main index; a lock may name several, the last wins
	ExtraIndexURLs []string // more indexes
	FindLinks      []string // directories or URLs
	NoIndex        bool
	// Dir resolves relative find-links directories: the project for
	// [tool.venvpkg], the lock file's directory for the lock.
	Dir string
}

// Sources is where a build's artifacts come from once every level is
// combined.
type Sources struct {
	IndexURLs []string // main index first; empty without an index
	FindLinks []string
}

// ResolveSources combines the levels as pip does. Each of the command
// line's index URL, extra index URLs and find-links, when given, replaces
// its PIP_* variable, which replaces the [tool.venvpkg] key; the lock's
// extra index URLs and find-links are added, and its index URL is used
// when nothing else names one. --no-index, PIP_NO_INDEX, [tool.venvpkg]
// no-index or a lock's --no-index leave only the find-links.
func ResolveSources(flags, tool, lk SourceSettings) Sources {
	var s Sources
	links := flags.FindLinks
	if len(links) == 0 {
		links = env.PipFindLinks.List()
	}
	if len(links) == 0 {
		links = tool.findLinks()
	}
	s.FindLinks = append(s.FindLinks, links...)
	s.FindLinks = unique(append(s.FindLinks, lk.findLinks()...))

	if flags.NoIndex || tool.NoIndex || env.PipNoIndex.Bool() || lk.NoIndex {
		return s
	}
	main := cmp.Or(flags.IndexURL, env.PipIndexURL.String(), tool.IndexURL, lk.IndexURL, DefaultIndexURL)
	extra := flags.ExtraIndexURLs
	if len(extra) == 0 {
		extra = env.PipExtraIndex.List()
	}
	if len(extra) == 0 {
		extra = tool.ExtraIndexURLs
	}
	s.IndexURLs = append([]string{main}, extra...)
	s.IndexURLs = unique(append(s.IndexURLs, lk.ExtraIndexURLs...))
	return s
}

// findLinks resolves relative find-links directories against Dir.
func (s SourceSettings) findLinks() []string {
	var out []string
	for _, l := range s.FindLinks {
		if s.Dir != "" && !strings.Contains(l, "://") && !filepath.IsAbs(l) {
			l = filepath.Join(s.Dir, l)
		}
		out = append(out, l)
	}
	return out
}

func unique(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
