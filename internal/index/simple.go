package index

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Media types of the simple repository API (PEP 691).
const (
	mediaJSON = "application/vnd.pypi.simple.v1+json"
	mediaHTML = "application/vnd.pypi.simple.v1+html"
	// acceptSimple prefers JSON, then the versioned HTML, then legacy HTML.
	acceptSimple = mediaJSON + ", " + mediaHTML + ";q=0.2, text/html;q=0.01"
)

// CoreMetadata describes the METADATA file an index serves next to a
// distribution at <url>.metadata (PEP 658, renamed in PEP 714).
type CoreMetadata struct {
	Hashes map[string]string // may be empty: "available, hash unknown"
}

// ParseSimpleJSON reads a project page of the simple API's JSON form
// (PEP 691). Relative file URLs are resolved against base.
func ParseSimpleJSON(base *url.URL, data []byte) ([]Artifact, error) {
	var doc struct {
		Meta struct {
			APIVersion string `json:"api-version"`
		} `json:"meta"`
		Files []struct {
			Filename         string            `json:"filename"`
			URL              string            `json:"url"`
			Hashes           map[string]string `json:"hashes"`
			RequiresPython   *string           `json:"requires-python"`
			Yanked           json.RawMessage   `json:"yanked"`
			CoreMetadata     json.RawMessage   `json:"core-metadata"`
			DistInfoMetadata json.RawMessage   `json:"dist-info-metadata"`
			Size             *int64            `json:"size"`
		} `json:"files"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("reading the JSON project page: %w", err)
	}
	if err := checkAPIVersion(doc.Meta.APIVersion); err != nil {
		return nil, err
	}
	var out []Artifact
	for _, f := range doc.Files {
		u, err := base.Parse(f.URL)
		if err != nil {
			continue
		}
		u.Fragment = ""
		a, ok := remoteArtifact(f.Filename, u.String())
		if !ok {
			continue
		}
		for k, v := range f.Hashes {
			a.Hashes[strings.ToLower(k)] = strings.ToLower(v)
		}
		if f.RequiresPython != nil {
			a.RequiresPython = *f.RequiresPython
		}
		if f.Size != nil {
			a.Size = *f.Size
		}
		a.Yanked, a.YankedReason = jsonYanked(f.Yanked)
		md := f.CoreMetadata
		if len(md) == 0 || string(md) == "null" {
			md = f.DistInfoMetadata
		}
		a.CoreMetadata = jsonMetadata(md)
		out = append(out, a)
	}
	return out, nil
}

func jsonYanked(raw json.RawMessage) (bool, string) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return true, s
	}
	return false, ""
}

func jsonMetadata(raw json.RawMessage) *CoreMetadata {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		if b {
			return &CoreMetadata{Hashes: map[string]string{}}
		}
		return nil
	}
	var h map[string]string
	if json.Unmarshal(raw, &h) == nil && h != nil {
		md := &CoreMetadata{Hashes: map[string]string{}}
		for k, v := range h {
			md.Hashes[strings.ToLower(k)] = strings.ToLower(v)
		}
		return md
	}
	return nil
}

// checkAPIVersion refuses a simple API of a major version this client
// does not know (PEP 629).
func checkAPIVersion(v string) error {
	if v == "" {
		return nil
	}
	major, _, _ := strings.Cut(v, ".")
	if major != "1" {
		return fmt.Errorf("the index speaks simple API version %s; venvpkg reads version 1", v)
	}
	return nil
}

// ParseSimpleHTML reads an HTML page of links: a project page of the
// simple API (PEP 503, with PEP 592 yanking, PEP 658/714 metadata and
// PEP 629 versioning) or a find-links page. Relative links are resolved
// against base, or against the page's <base href>.
func ParseSimpleHTML(base *url.URL, data []byte) ([]Artifact, error) {
	z := html.NewTokenizer(bytes.NewReader(data))
	var out []Artifact
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return out, nil
		case html.StartTagToken, html.SelfClosingTagToken:
		default:
			continue
		}
		tok := z.Token()
		attrs := map[string]string{}
		has := map[string]bool{}
		for _, a := range tok.Attr {
			attrs[strings.ToLower(a.Key)] = a.Val
			has[strings.ToLower(a.Key)] = true
		}
		switch tok.DataAtom {
		case atom.Meta:
			if attrs["name"] == "pypi:repository-version" {
				if err := checkAPIVersion(attrs["content"]); err != nil {
					return nil, err
				}
			}
		case atom.Base:
			if h, ok := attrs["href"]; ok {
				if u, err := base.Parse(h); err == nil {
					base = u
				}
			}
		case atom.A:
			href, ok := attrs["href"]
			if !ok {
				continue
			}
			u, err := base.Parse(href)
			if err != nil {
				continue
			}
			frag := u.Fragment
			u.Fragment = ""
			name, err := url.PathUnescape(path.Base(u.EscapedPath()))
			if err != nil {
				continue
			}
			a, ok := remoteArtifact(name, u.String())
			if !ok {
				continue
			}
			if algo, hexsum, ok := strings.Cut(frag, "="); ok && algo != "" && hexsum != "" {
				a.Hashes[strings.ToLower(algo)] = strings.ToLower(hexsum)
			}
			a.RequiresPython = attrs["data-requires-python"]
			if has["data-yanked"] {
				a.Yanked, a.YankedReason = true, attrs["data-yanked"]
			}
			md, ok := attrs["data-core-metadata"]
			if !ok {
				md, ok = attrs["data-dist-info-metadata"]
			}
			if ok {
				a.CoreMetadata = htmlMetadata(md)
			}
			out = append(out, a)
		}
	}
}

func htmlMetadata(v string) *CoreMetadata {
	switch {
	case v == "" || v == "true":
		return &CoreMetadata{Hashes: map[string]string{}}
	case v == "false":
		return nil
	}
	algo, hexsum, ok := strings.Cut(v, "=")
	if !ok {
		return nil
	}
	return &CoreMetadata{Hashes: map[string]string{strings.ToLower(algo): strings.ToLower(hexsum)}}
}

// remoteArtifact makes an Artifact for a file offered at u.
func remoteArtifact(filename, u string) (Artifact, bool) {
	// The name becomes a cache file name: no directories, no dot files.
	if filename == "" || strings.ContainsAny(filename, "/\\\x00") || strings.HasPrefix(filename, ".") {
		return Artifact{}, false
	}
	a, ok := parseArtifact(filename)
	if !ok {
		return Artifact{}, false
	}
	a.Path = ""
	a.URL = u
	return a, true
}
