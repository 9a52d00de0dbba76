// Package indextest serves distribution files as a package index for
// tests: an httptest server on 127.0.0.1 that lays out the simple
// repository API over a set of files, as PEP 691 JSON and PEP 503 HTML
// (chosen by the Accept header, or forced), with PEP 592 yanking,
// data-requires-python, PEP 658 metadata files, ETag validators, HTTP basic
// authentication and injected failures.
package indextest

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/venvpkg/venvpkg/internal/pep503"
)

// Format selects what the server answers on project pages.
type Format int

// Formats.
const (
	Negotiate Format = iota // JSON when the client accepts it, else HTML
	HTMLOnly                // PEP 503 HTML whatever the client asks
	JSONOnly                // PEP 691 JSON whatever the client asks
)

// File is one served distribution file.
type File struct {
	Name           string
	Project        string // normalised
	Data           []byte
	SHA256         string
	RequiresPython string
	Yanked         string // "" not yanked; "-" yanked without a reason
	Missing        bool   // listed, but 404 on download
	WrongHash      bool   // listed with a hash that does not match
	Metadata       []byte // METADATA of a wheel, served at <file>.metadata
}

// Server is a running test index.
type Server struct {
	*httptest.Server
	Format   Format
	User     string // basic auth user; "" for none
	Password string

	mu       sync.Mutex
	files    map[string]*File // by file name
	failures map[string]int   // path → 500 responses still to give
	hits     map[string]int   // path → requests seen
	auth     []string         // Authorization headers seen
	notMod   int              // 304 responses given
}

// New serves the distribution files found in dirs (wheels and sdists,
// not recursive).
func New(t testing.TB, dirs ...string) *Server {
	t.Helper()
	s := &Server{files: map[string]*File{}, failures: map[string]int{}, hits: map[string]int{}}
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			data, err := os.ReadFile(filepath.Join(d, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Add(e.Name(), data); err != nil {
				continue
			}
		}
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Add serves a file; its project comes from the file name.
func (s *Server) Add(name string, data []byte) error {
	project, ok := projectOf(name)
	if !ok {
		return fmt.Errorf("%s is not a wheel or sdist name", name)
	}
	sum := sha256.Sum256(data)
	f := &File{Name: name, Project: project, Data: data, SHA256: hex.EncodeToString(sum[:])}
	if strings.HasSuffix(name, ".whl") {
		f.Metadata = wheelMetadata(data)
	}
	s.mu.Lock()
	s.files[name] = f
	s.mu.Unlock()
	return nil
}

// File returns the served file of that name for a test to alter.
func (s *Server) File(name string) *File {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.files[name]
}

// FailNext makes the next n requests for path answer 500.
func (s *Server) FailNext(path string, n int) {
	s.mu.Lock()
	s.failures[path] = n
	s.mu.Unlock()
}

// Hits returns how many requests path received.
func (s *Server) Hits(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// Requests returns how many requests the server received, on any path.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, h := range s.hits {
		n += h
	}
	return n
}

// IndexURL is the simple API root.
func (s *Server) IndexURL() string { return s.URL + "/simple/" }

func projectOf(name string) (string, bool) {
	if stem, ok := strings.CutSuffix(name, ".whl"); ok {
		parts := strings.Split(stem, "-")
		if len(parts) < 5 {
			return "", false
		}
		return pep503.Normalize(parts[0]), true
	}
	for _, suf := range []string{".tar.gz", ".zip"} {
		if stem, ok := strings.CutSuffix(name, suf); ok {
			i := strings.LastIndex(stem, "-")
			if i <= 0 {
				return "", false
			}
			return pep503.Normalize(stem[:i]), true
		}
	}
	return "", false
}

func wheelMetadata(data []byte) []byte {
	zr, err := zip.NewReader(strings.NewReader(string(data)), int64(len(data)))
	if err != nil {
		return nil
	}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, ".dist-info/METADATA") && strings.Count(f.Name, "/") == 1 {
			rc, err := f.Open()
			if err != nil {
				return nil
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return nil
			}
			return b
		}
	}
	return nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.hits[r.URL.Path]++
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	fail := s.failures[r.URL.Path]
	if fail > 0 {
		s.failures[r.URL.Path] = fail - 1
	}
	s.mu.Unlock()
	if s.User != "" {
		u, p, ok := r.BasicAuth()
		if !ok || u != s.User || p != s.Password {
			w.Header().Set("WWW-Authenticate", `Basic realm="test index"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
	}
	if fail > 0 {
		http.Error(w, "injected failure", http.StatusInternalServerError)
		return
	}
	switch {
	case r.URL.Path == "/simple/":
		s.serveRoot(w)
	case strings.HasPrefix(r.URL.Path, "/simple/"):
		s.serveProject(w, r, strings.Trim(strings.TrimPrefix(r.URL.Path, "/simple/"), "/"))
	case strings.HasPrefix(r.URL.Path, "/files/"):
		s.serveFile(w, r, strings.TrimPrefix(r.URL.Path, "/files/"))
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) sorted(project string) []*File {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*File
	for _, f := range s.files {
		if project == "" || f.Project == project {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (s *Server) serveRoot(w http.ResponseWriter) {
	seen := map[string]bool{}
	var b strings.Builder
	b.WriteString("<!DOCTYPE html><html><body>\n")
	for _, f := range s.sorted("") {
		if !seen[f.Project] {
			seen[f.Project] = true
			fmt.Fprintf(&b, "<a href=\"/simple/%s/\">%s</a>\n", f.Project, f.Project)
		}
	}
	b.WriteString("</body></html>\n")
	w.Header().Set("Content-Type", "text/html")
	io.WriteString(w, b.String())
}

func (s *Server) serveProject(w http.ResponseWriter, r *http.Request, project string) {
	if project != pep503.Normalize(project) {
		http.Redirect(w, r, "/simple/"+pep503.Normalize(project)+"/", http.StatusMovedPermanently)
		return
	}
	files := s.sorted(project)
	if len(files) == 0 {
		http.NotFound(w, r)
		return
	}
	useJSON := s.Format == JSONOnly || s.Format == Negotiate && strings.Contains(r.Header.Get("Accept"), "application/vnd.pypi.simple.v1+json")
	var body []byte
	var ctype string
	if useJSON {
		body, ctype = s.projectJSON(project, files), "application/vnd.pypi.simple.v1+json"
	} else {
		body, ctype = s.projectHTML(project, files), "text/html; charset=utf-8"
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Vary", "Accept")
	if r.Header.Get("If-None-Match") == etag {
		s.mu.Lock()
		s.notMod++
		s.mu.Unlock()
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Write(body)
}

func (s *Server) listedHash(f *File) string {
	if f.WrongHash {
		return strings.Repeat("0", 64)
	}
	return f.SHA256
}

func (s *Server) projectJSON(project string, files []*File) []byte {
	type jfile struct {
		Filename       string            `json:"filename"`
		URL            string            `json:"url"`
		Hashes         map[string]string `json:"hashes"`
		RequiresPython *string           `json:"requires-python,omitempty"`
		Yanked         any               `json:"yanked"`
		CoreMetadata   any               `json:"core-metadata"`
		Size           int               `json:"size"`
	}
	doc := struct {
		Meta  map[string]string `json:"meta"`
		Name  string            `json:"name"`
		Files []jfile           `json:"files"`
	}{Meta: map[string]string{"api-version": "1.1"}, Name: project}
	for _, f := range files {
		j := jfile{Filename: f.Name, URL: "../../files/" + f.Name, Hashes: map[string]string{"sha256": s.listedHash(f)}, Yanked: false, CoreMetadata: false, Size: len(f.Data)}
		if f.RequiresPython != "" {
			rp := f.RequiresPython
			j.RequiresPython = &rp
		}
		switch f.Yanked {
		case "":
		case "-":
			j.Yanked = true
		default:
			j.Yanked = f.Yanked
		}
		if f.Metadata != nil {
			sum := sha256.Sum256(f.Metadata)
			j.CoreMetadata = map[string]string{"sha256": hex.EncodeToString(sum[:])}
		}
		doc.Files = append(doc.Files, j)
	}
	out, _ := json.MarshalIndent(doc, "", " ")
	return out
}

func (s *Server) projectHTML(project string, files []*File) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"1.1\"><title>Links for %s</title></head><body>\n", project)
	for _, f := range files {
		attrs := ""
		if f.RequiresPython != "" {
			attrs += fmt.Sprintf(` data-requires-python="%s"`, html.EscapeString(f.RequiresPython))
		}
		switch f.Yanked {
		case "":
		case "-":
			attrs += " data-yanked"
		default:
			attrs += fmt.Sprintf(` data-yanked="%s"`, html.EscapeString(f.Yanked))
		}
		if f.Metadata != nil {
			sum := sha256.Sum256(f.Metadata)
			attrs += ` data-core-metadata="sha256=` + hex.EncodeToString(sum[:]) + `"`
		}
		fmt.Fprintf(&b, "<a href=\"/files/%s#sha256=%s\"%s>%s</a><br/>\n", f.Name, s.listedHash(f), attrs, f.Name)
	}
	b.WriteString("</body></html>\n")
	return []byte(b.String())
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	meta := false
	if n, ok := strings.CutSuffix(name, ".metadata"); ok {
		name, meta = n, true
	}
	s.mu.Lock()
	f := s.files[name]
	s.mu.Unlock()
	if f == nil || f.Missing || meta && f.Metadata == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if meta {
		w.Write(f.Metadata)
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(f.Data)))
	w.Write(f.Data)
}

// AuthHeaders returns the Authorization headers the server received.
func (s *Server) AuthHeaders() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.auth...)
}

// NotModified returns how many project pages were answered 304 because the
// client's ETag was current.
func (s *Server) NotModified() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notMod
}
