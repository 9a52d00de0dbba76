package pipeline

import (
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/config"
	"github.com/venvpkg/venvpkg/internal/lock"
)

// TestSources checks how flags, PIP_* variables, [tool.venvpkg] and the
// lock's option lines combine into the index URLs and find-links.
func TestSources(t *testing.T) {
	tool := config.Tool{IndexURL: "https://tool.example/simple/", ExtraIndexURLs: []string{"https://tool-extra.example/simple/"}, FindLinks: []string{"wheels", "https://tool.example/links/"}}
	lk := &lock.Lock{Path: "/lock/requirements.txt", FindLinks: []string{"/lock/vendor"}, IndexURLs: []string{"https://lock.example/simple/"}, ExtraIndexURLs: []string{"https://lock-extra.example/simple/"}}
	for _, tc := range []struct {
		name    string
		opts    Options
		env     map[string]string
		tool    config.Tool
		lock    *lock.Lock
		indexes string
		links   string
	}{
		{"defaults", Options{}, nil, config.Tool{}, &lock.Lock{}, "https://pypi.org/simple/", ""},
		{"tool", Options{}, nil, tool, &lock.Lock{}, "https://tool.example/simple/ https://tool-extra.example/simple/", "/proj/wheels https://tool.example/links/"},
		{"environment over tool", Options{}, map[string]string{"PIP_INDEX_URL": "https://env.example/simple/", "PIP_EXTRA_INDEX_URL": "https://e1.example/ https://e2.example/", "PIP_FIND_LINKS": "/env/a /env/b"}, tool, &lock.Lock{},
			"https://env.example/simple/ https://e1.example/ https://e2.example/", "/env/a /env/b"},
		{"flags over environment", Options{IndexURL: "https://flag.example/simple/", ExtraIndexURLs: []string{"https://flag-extra.example/"}, FindLinks: []string{"/flag"}}, map[string]string{"PIP_INDEX_URL": "https://env.example/simple/", "PIP_FIND_LINKS": "/env/a"}, tool, &lock.Lock{},
			"https://flag.example/simple/ https://flag-extra.example/", "/flag"},
		{"lock options added", Options{}, nil, config.Tool{}, lk, "https://lock.example/simple/ https://lock-extra.example/simple/", "/lock/vendor"},
		{"lock index only when nothing else names one", Options{}, nil, tool, lk, "https://tool.example/simple/ https://tool-extra.example/simple/ https://lock-extra.example/simple/", "/proj/wheels https://tool.example/links/ /lock/vendor"},
		{"no index flag", Options{NoIndex: true, FindLinks: []string{"/flag"}}, nil, tool, lk, "", "/flag /lock/vendor"},
		{"PIP_NO_INDEX", Options{}, map[string]string{"PIP_NO_INDEX": "yes"}, config.Tool{}, &lock.Lock{}, "", ""},
		{"lock --no-index", Options{}, nil, config.Tool{}, &lock.Lock{NoIndex: true}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX"} {
				t.Setenv(k, tc.env[k])
			}
			b := &builder{opts: tc.opts, cfg: &config.Config{Tool: tc.tool}, projDir: "/proj", lock: tc.lock}
			s := b.sources()
			if got := strings.Join(s.IndexURLs, " "); got != tc.indexes {
				t.Errorf("indexes = %q, want %q", got, tc.indexes)
			}
			if got := strings.Join(s.FindLinks, " "); got != tc.links {
				t.Errorf("find-links = %q, want %q", got, tc.links)
			}
		})
	}
}
