package index

import (
	"strings"
	"testing"
)

// TestSources checks how flags, PIP_* variables, [tool.venvpkg] and the
// lock's option lines combine into the index URLs and find-links.
func TestSources(t *testing.T) {
	tool := SourceSettings{IndexURL: "https://tool.example/simple/", ExtraIndexURLs: []string{"https://tool-extra.example/simple/"}, FindLinks: []string{"wheels", "https://tool.example/links/"}, Dir: "/proj"}
	lk := SourceSettings{Dir: "/lock", FindLinks: []string{"vendor"}, IndexURL: "https://lock.example/simple/", ExtraIndexURLs: []string{"https://lock-extra.example/simple/"}}
	for _, tc := range []struct {
		name    string
		opts    SourceSettings
		env     map[string]string
		tool    SourceSettings
		lock    SourceSettings
		indexes string
		links   string
	}{
		{"defaults", SourceSettings{}, nil, SourceSettings{}, SourceSettings{}, "https://pypi.org/simple/", ""},
		{"tool", SourceSettings{}, nil, tool, SourceSettings{}, "https://tool.example/simple/ https://tool-extra.example/simple/", "/proj/wheels https://tool.example/links/"},
		{"environment over tool", SourceSettings{}, map[string]string{"PIP_INDEX_URL": "https://env.example/simple/", "PIP_EXTRA_INDEX_URL": "https://e1.example/ https://e2.example/", "PIP_FIND_LINKS": "/env/a /env/b"}, tool, SourceSettings{},
			"https://env.example/simple/ https://e1.example/ https://e2.example/", "/env/a /env/b"},
		{"flags over environment", SourceSettings{IndexURL: "https://flag.example/simple/", ExtraIndexURLs: []string{"https://flag-extra.example/"}, FindLinks: []string{"/flag"}}, map[string]string{"PIP_INDEX_URL": "https://env.example/simple/", "PIP_FIND_LINKS": "/env/a"}, tool, SourceSettings{},
			"https://flag.example/simple/ https://flag-extra.example/", "/flag"},
		{"lock options added", SourceSettings{}, nil, SourceSettings{}, lk, "https://lock.example/simple/ https://lock-extra.example/simple/", "/lock/vendor"},
		{"lock index only when nothing else names one", SourceSettings{}, nil, tool, lk, "https://tool.example/simple/ https://tool-extra.example/simple/ https://lock-extra.example/simple/", "/proj/wheels https://tool.example/links/ /lock/vendor"},
		{"no index flag", SourceSettings{NoIndex: true, FindLinks: []string{"/flag"}}, nil, tool, lk, "", "/flag /lock/vendor"},
		{"PIP_NO_INDEX", SourceSettings{}, map[string]string{"PIP_NO_INDEX": "yes"}, SourceSettings{}, SourceSettings{}, "", ""},
		{"tool no-index", SourceSettings{}, nil, SourceSettings{NoIndex: true, IndexURL: "https://tool.example/simple/"}, SourceSettings{}, "", ""},
		{"lock --no-index", SourceSettings{}, nil, SourceSettings{}, SourceSettings{NoIndex: true}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX"} {
				t.Setenv(k, tc.env[k])
			}
			s := ResolveSources(tc.opts, tc.tool, tc.lock)
			if got := strings.Join(s.IndexURLs, " "); got != tc.indexes {
				t.Errorf("indexes = %q, want %q", got, tc.indexes)
			}
			if got := strings.Join(s.FindLinks, " "); got != tc.links {
				t.Errorf("find-links = %q, want %q", got, tc.links)
			}
		})
	}
}
