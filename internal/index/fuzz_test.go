package index_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/index"
)

// The parsers of index pages and netrc files read what a server or a user
// wrote; none may panic, and every artifact they return has a plain file
// name and an absolute URL without a fragment.

func checkArtifacts(t *testing.T, arts []index.Artifact) {
	for _, a := range arts {
		if a.Filename == "" || strings.ContainsAny(a.Filename, "/\\\x00") || strings.HasPrefix(a.Filename, ".") {
			t.Fatalf("unsafe file name %q", a.Filename)
		}
		u, err := url.Parse(a.URL)
		if err != nil || !u.IsAbs() || u.Fragment != "" {
			t.Fatalf("artifact URL %q is not absolute without a fragment", a.URL)
		}
	}
}

func FuzzParseSimpleHTML(f *testing.F) {
	f.Add(`<a href="demo-1.0-py3-none-any.whl#sha256=ab" data-requires-python="&gt;=3" data-yanked="x">d</a>`)
	f.Add(`<base href="https://h/x/"><meta name="pypi:repository-version" content="1.0"><a href="../demo-1.0.tar.gz" data-core-metadata="sha256=aa">`)
	f.Add(`<a href="%2e%2e%2fx-1.0.zip">`)
	base, _ := url.Parse("https://example.org/simple/demo/")
	f.Fuzz(func(t *testing.T, page string) {
		arts, err := index.ParseSimpleHTML(base, []byte(page))
		if err == nil {
			checkArtifacts(t, arts)
		}
	})
}

func FuzzParseSimpleJSON(f *testing.F) {
	f.Add(`{"meta":{"api-version":"1.1"},"files":[{"filename":"demo-1.0-py3-none-any.whl","url":"x","hashes":{"sha256":"ab"},"yanked":"r","core-metadata":{"sha256":"cd"},"size":3}]}`)
	f.Add(`{"files":[{"filename":"../a-1.0.tar.gz","url":"/a","yanked":true,"dist-info-metadata":true}]}`)
	base, _ := url.Parse("https://example.org/simple/demo/")
	f.Fuzz(func(t *testing.T, page string) {
		arts, err := index.ParseSimpleJSON(base, []byte(page))
		if err == nil {
			checkArtifacts(t, arts)
		}
	})
}

func FuzzParseNetrc(f *testing.F) {
	f.Add("machine a login u password p\ndefault login d password q\n")
	f.Add("macdef x\nline\n\nmachine \"quoted host\" login \"a\\\"b\" password c")
	f.Add("# comment\nmachine a\n\tlogin u\n")
	f.Fuzz(func(t *testing.T, text string) {
		n, err := index.ParseNetrc(text)
		if err == nil {
			n.Lookup("a")
		}
	})
}
