package index_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/venvpkg/venvpkg/internal/index"
	"github.com/venvpkg/venvpkg/internal/index/indextest"
	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pep508"
	"github.com/venvpkg/venvpkg/internal/tags"
)

// target is CPython 3.11 on x86_64 Linux with a few tags.
func target(t *testing.T) (pep440.Version, *tags.Supported) {
	t.Helper()
	v, err := pep440.Parse("3.11.2")
	if err != nil {
		t.Fatal(err)
	}
	var ts []tags.Tag
	for _, s := range []string{"cp311-cp311-manylinux_2_17_x86_64", "cp311-abi3-manylinux_2_17_x86_64", "cp311-none-any", "py3-none-any"} {
		p, err := tags.ParseSet(s)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, p...)
	}
	return v, tags.NewSupported(ts)
}

// fakeWheel returns the bytes of a small wheel with a METADATA file.
func fakeWheel(t *testing.T, name, version string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(fmt.Sprintf("%s-%s.dist-info/METADATA", name, version))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(w, "Metadata-Version: 2.1\nName: %s\nVersion: %s\n", name, version)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// newServer serves demo 1.0 (pure wheel and sdist), demo 2.0 (a wheel for
// Python 3.12 only) and old 1.0 (yanked).
func newServer(t *testing.T) *indextest.Server {
	t.Helper()
	s := indextest.New(t)
	for name, data := range map[string][]byte{
		"demo-1.0-py3-none-any.whl":        fakeWheel(t, "demo", "1.0"),
		"demo-1.0.tar.gz":                  []byte("not really a tarball"),
		"demo-2.0-py3-none-any.whl":        fakeWheel(t, "demo", "2.0"),
		"old-1.0-py3-none-any.whl":         fakeWheel(t, "old", "1.0"),
		"native-1.0-cp311-cp311-win32.whl": fakeWheel(t, "native", "1.0"),
	} {
		if err := s.Add(name, data); err != nil {
			t.Fatal(err)
		}
	}
	s.File("demo-2.0-py3-none-any.whl").RequiresPython = ">=3.12"
	s.File("old-1.0-py3-none-any.whl").Yanked = "broken build"
	return s
}

type finderOpts struct {
	indexes []string
	links   []string
	creds   *index.Credentials
	cache   string
}

func newFinder(t *testing.T, o finderOpts) *index.Finder {
	t.Helper()
	pyv, sup := target(t)
	if o.cache == "" {
		o.cache = t.TempDir()
	}
	if o.creds == nil {
		o.creds = index.NewCredentials(nil)
	}
	f, err := index.NewFinder(index.Options{
		IndexURLs:   o.indexes,
		FindLinks:   o.links,
		Credentials: o.creds,
		Client:      index.NewClient(index.ClientOptions{Credentials: o.creds, Retries: 2, Backoff: time.Millisecond, Timeout: 10 * time.Second}),
		Cache:       index.NewCache(o.cache),
		Python:      pyv,
		Supported:   sup,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestPinnedFormats(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format indextest.Format
	}{
		{"negotiated JSON", indextest.Negotiate},
		{"HTML only", indextest.HTMLOnly},
		{"JSON only", indextest.JSONOnly},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t)
			s.Format = tc.format
			f := newFinder(t, finderOpts{indexes: []string{s.IndexURL()}})
			ctx := context.Background()
			a, err := f.Pinned(ctx, "Demo", "1.0", false, nil)
			if err != nil {
				t.Fatal(err)
			}
			if a.Filename != "demo-1.0-py3-none-any.whl" {
				t.Fatalf("Pinned(demo==1.0) = %s, want the wheel", a.Filename)
			}
			if a.Hashes["sha256"] != s.File(a.Filename).SHA256 {
				t.Errorf("hash = %q, want the index's %q", a.Hashes["sha256"], s.File(a.Filename).SHA256)
			}
			if a.CoreMetadata == nil {
				t.Errorf("the index's PEP 658 metadata was not seen")
			}
			p, err := f.Fetch(ctx, a, []string{"sha256:" + s.File(a.Filename).SHA256})
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(p)
			if err != nil || !bytes.Equal(data, s.File(a.Filename).Data) {
				t.Fatalf("fetched %s differs from the served file (%v)", p, err)
			}
			md, err := f.Metadata(ctx, a)
			if err != nil || !strings.Contains(string(md), "Name: demo") {
				t.Errorf("Metadata = %q, %v", md, err)
			}
		})
	}
}

func TestBestSkipsRequiresPythonAndYanked(t *testing.T) {
	s := newServer(t)
	f := newFinder(t, finderOpts{indexes: []string{s.IndexURL()}})
	ctx := context.Background()
	req, _ := pep508.ParseRequirement("demo>=1")
	a, err := f.Best(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if a.Version.String() != "1.0" {
		t.Errorf("Best(demo>=1) = %s; demo 2.0 requires Python >=3.12 and must be skipped", a.Filename)
	}
	for _, tc := range []struct {
		name, project, version, want string
	}{
		{"requires-python exclusion", "demo", "2.0", "requires Python >=3.12, not 3.11.2"},
		{"yanked only", "old", "1.0", "yanked: broken build"},
		{"incompatible tags", "native", "1.0", "the interpreter's top tags"},
		{"unknown project", "nothing", "1.0", "no file of that project was found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.Pinned(ctx, tc.project, tc.version, false, nil)
			var nf *index.NotFoundError
			if !errors.As(err, &nf) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Pinned(%s==%s) error = %v, want a NotFoundError containing %q", tc.project, tc.version, err, tc.want)
			}
		})
	}
}

func TestFetchHashMismatch(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	name := "demo-1.0-py3-none-any.whl"
	actual := s.File(name).SHA256
	wrong := strings.Repeat("ab", 32)

	t.Run("lock hash", func(t *testing.T) {
		cache := t.TempDir()
		f := newFinder(t, finderOpts{indexes: []string{s.IndexURL()}, cache: cache})
		a, err := f.Pinned(ctx, "demo", "1.0", false, []string{"sha256:" + wrong})
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.Fetch(ctx, a, []string{"sha256:" + wrong})
		var hm *index.HashMismatchError
		if !errors.As(err, &hm) {
			t.Fatalf("Fetch error = %v, want a hash mismatch", err)
		}
		for _, want := range []string{name, wrong, actual} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %s", err, want)
			}
		}
		if arts, _ := index.NewCache(cache).Artifacts(); len(arts) != 0 {
			t.Errorf("a file that failed its hash check was cached: %v", arts)
		}
	})
	t.Run("index hash", func(t *testing.T) {
		s.File(name).WrongHash = true
		defer func() { s.File(name).WrongHash = false }()
		f := newFinder(t, finderOpts{indexes: []string{s.IndexURL()}})
		a, err := f.Pinned(ctx, "demo", "1.0", false, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.Fetch(ctx, a, nil)
		if err == nil || !strings.Contains(err.Error(), "hash mismatch") || !strings.Contains(err.Error(), actual) {
			t.Fatalf("Fetch error = %v, want a mismatch against the index's hash", err)
		}
	})
	t.Run("weak hash refused", func(t *testing.T) {
		f := newFinder(t, finderOpts{indexes: []string{s.IndexURL()}})
		a, err := f.Pinned(ctx, "demo", "1.0", false, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.Fetch(ctx, a, []string{"md5:0123456789abcdef0123456789abcdef"})
		if err == nil || !strings.Contains(err.Error(), "md5 hashes are too weak") {
			t.Fatalf("Fetch with an md5 pin: %v, want a refusal", err)
		}
	})
}

func TestFetchMissingArtifact(t *testing.T) {
	s := newServer(t)
	s.File("demo-1.0-py3-none-any.whl").Missing = true
	f := newFinder(t, finderOpts{indexes: []string{s.IndexURL()}})
	ctx := context.Background()
	a, err := f.Pinned(ctx, "demo", "1.0", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Fetch(ctx, a, nil)
	if err == nil || !strings.Contains(err.Error(), "missing (404 Not Found)") {
		t.Fatalf("Fetch of a file the server lost: %v, want a missing-file error", err)
	}
}

func TestRetryAfterServerErrors(t *testing.T) {
	s := newServer(t)
	s.FailNext("/simple/demo/", 2)
	s.FailNext("/files/demo-1.0-py3-none-any.whl", 1)
	f := newFinder(t, finderOpts{indexes: []string{s.IndexURL()}})
	ctx := context.Background()
	a, err := f.Pinned(ctx, "demo", "1.0", false, nil)
	if err != nil {
		t.Fatalf("Pinned after two 500s: %v", err)
	}
	if _, err := f.Fetch(ctx, a, nil); err != nil {
		t.Fatalf("Fetch after one 500: %v", err)
	}
	if got := s.Hits("/simple/demo/"); got != 3 {
		t.Errorf("project page requested %d times, want 3 (two failures, one success)", got)
	}

	// More failures than retries: the error names the status and the attempts.
	s.FailNext("/simple/old/", 10)
	_, err = f.Pinned(ctx, "old", "1.0", false, nil)
	if err == nil || !strings.Contains(err.Error(), "500 Internal Server Error") || !strings.Contains(err.Error(), "after 3 attempts") {
		t.Fatalf("Pinned against a failing index: %v", err)
	}
}

func TestRetryOn429AndStalledBody(t *testing.T) {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if r.URL.Path == "/stall/" {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html>"))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		if first {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<a href="demo-1.0-py3-none-any.whl">demo</a>`)
	}))
	defer srv.Close()
	pyv, sup := target(t)
	ctx := context.Background()
	mk := func(link string, timeout time.Duration) *index.Finder {
		f, err := index.NewFinder(index.Options{
			FindLinks: []string{link},
			Client:    index.NewClient(index.ClientOptions{Retries: 1, Backoff: time.Millisecond, Timeout: timeout}),
			Cache:     index.NewCache(t.TempDir()),
			Python:    pyv, Supported: sup,
		})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	if _, err := mk(srv.URL+"/links/", 10*time.Second).Pinned(ctx, "demo", "1.0", false, nil); err != nil {
		t.Fatalf("find-links page after a 429: %v", err)
	}
	_, err := mk(srv.URL+"/stall/", 200*time.Millisecond).Pinned(ctx, "demo", "1.0", false, nil)
	if err == nil || !strings.Contains(err.Error(), "no data received") {
		t.Fatalf("a stalled page: %v, want a clean timeout", err)
	}
}

func TestBasicAuth(t *testing.T) {
	const password = "s3cr3t-pa55"
	s := newServer(t)
	s.User, s.Password = "alice", password
	ctx := context.Background()
	host := strings.TrimPrefix(s.URL, "http://")

	check := func(t *testing.T, f *index.Finder, cache string) {
		t.Helper()
		a, err := f.Pinned(ctx, "demo", "1.0", false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(a.URL, password) || strings.Contains(a.Source, password) {
			t.Errorf("artifact URL %s / source %s holds the password", a.URL, a.Source)
		}
		if _, err := f.Fetch(ctx, a, nil); err != nil {
			t.Fatal(err)
		}
		filepath.Walk(cache, func(p string, info os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			if strings.Contains(p, password) {
				t.Errorf("cache path %s holds the password", p)
			}
			if info.Mode().IsRegular() {
				data, _ := os.ReadFile(p)
				if bytes.Contains(data, []byte(password)) {
					t.Errorf("cache file %s holds the password", p)
				}
			}
			return nil
		})
	}
	t.Run("URL userinfo", func(t *testing.T) {
		cache := t.TempDir()
		f := newFinder(t, finderOpts{indexes: []string{"http://alice:" + password + "@" + host + "/simple/"}, cache: cache})
		check(t, f, cache)
		for _, src := range f.Sources() {
			if strings.Contains(src, password) {
				t.Errorf("source %s holds the password", src)
			}
		}
	})
	t.Run("netrc", func(t *testing.T) {
		dir := t.TempDir()
		netrc := filepath.Join(dir, "netrc")
		os.WriteFile(netrc, []byte("machine other.example login bob password nope\nmachine 127.0.0.1\n  login alice\n  password "+password+"\n"), 0o600)
		t.Setenv("NETRC", netrc)
		n, err := index.LoadNetrc()
		if err != nil {
			t.Fatal(err)
		}
		cache := t.TempDir()
		f := newFinder(t, finderOpts{indexes: []string{s.IndexURL()}, creds: index.NewCredentials(n), cache: cache})
		check(t, f, cache)
	})
	t.Run("no credentials", func(t *testing.T) {
		f := newFinder(t, finderOpts{indexes: []string{s.IndexURL()}})
		_, err := f.Pinned(ctx, "demo", "1.0", false, nil)
		if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "netrc") {
			t.Fatalf("without credentials: %v, want a 401 that says how to log in", err)
		}
	})
	t.Run("wrong password redacted", func(t *testing.T) {
		f := newFinder(t, finderOpts{indexes: []string{"http://alice:wrong-" + password + "@" + host + "/simple/"}})
		_, err := f.Pinned(ctx, "demo", "1.0", false, nil)
		if err == nil || strings.Contains(err.Error(), password) {
			t.Fatalf("with a wrong password: %v; want an error without the password", err)
		}
	})
}

// TestConcurrentFetchOneCopy fetches the same files from many goroutines
// and two finders sharing an empty cache: all succeed and the cache holds
// one copy of each file.
func TestConcurrentFetchOneCopy(t *testing.T) {
	s := newServer(t)
	cache := t.TempDir()
	ctx := context.Background()
	finders := []*index.Finder{
		newFinder(t, finderOpts{indexes: []string{s.IndexURL()}, cache: cache}),
		newFinder(t, finderOpts{indexes: []string{s.IndexURL()}, cache: cache}),
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 8; i++ {
		for _, f := range finders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, pin := range [][2]string{{"demo", "1.0"}, {"native", "1.0"}} {
					a, err := f.Pinned(ctx, pin[0], pin[1], false, nil)
					if err != nil {
						if pin[0] == "native" {
							continue // no compatible file: only demo is fetched
						}
						errs <- err
						return
					}
					if _, err := f.Fetch(ctx, a, nil); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	arts, err := index.NewCache(cache).Artifacts()
	if err != nil {
		t.Fatal(err)
	}
	if len(arts) != 1 || filepath.Base(arts[0]) != "demo-1.0-py3-none-any.whl" {
		t.Errorf("cache holds %v, want one copy of demo-1.0-py3-none-any.whl", arts)
	}
	if left, _ := os.ReadDir(filepath.Join(cache, "tmp")); len(left) != 0 {
		t.Errorf("temp files left in the cache: %d", len(left))
	}
}

// TestCacheReuseAndRevalidation fetches twice: the second build reuses
// the cached file (verifying it again) and revalidates the page with its
// ETag; a corrupted cached file is replaced.
func TestCacheReuseAndRevalidation(t *testing.T) {
	s := newServer(t)
	cache := t.TempDir()
	ctx := context.Background()
	name := "demo-1.0-py3-none-any.whl"
	fetch := func() string {
		f := newFinder(t, finderOpts{indexes: []string{s.IndexURL()}, cache: cache})
		a, err := f.Pinned(ctx, "demo", "1.0", false, nil)
		if err != nil {
			t.Fatal(err)
		}
		p, err := f.Fetch(ctx, a, nil)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p1 := fetch()
	p2 := fetch()
	if p1 != p2 {
		t.Errorf("second fetch gave %s, want the cached %s", p2, p1)
	}
	if got := s.Hits("/files/" + name); got != 1 {
		t.Errorf("file downloaded %d times, want 1", got)
	}
	if got := s.NotModified(); got != 1 {
		t.Errorf("the server answered 304 %d times, want 1: the cached page must be revalidated with its ETag", got)
	}
	if err := os.WriteFile(p1, []byte("corrupt"), 0o644); err != nil {
		t.Fatal(err)
	}
	p3 := fetch()
	data, _ := os.ReadFile(p3)
	if !bytes.Equal(data, s.File(name).Data) {
		t.Errorf("a corrupt cached file was used")
	}
	if got := s.Hits("/files/" + name); got != 2 {
		t.Errorf("file downloaded %d times after corruption, want 2", got)
	}
}

func TestFindLinksDirAndPage(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "demo-1.0-py3-none-any.whl"), fakeWheel(t, "demo", "1.0"), 0o644)
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/links/" {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<html><body><a href="sub/extra-2.0-py3-none-any.whl#sha256=`+strings.Repeat("0", 64)+`">x</a> <a href="../elsewhere/">not a file</a></body></html>`)
			return
		}
		http.NotFound(w, r)
	}))
	defer page.Close()
	f := newFinder(t, finderOpts{links: []string{dir, page.URL + "/links/"}})
	ctx := context.Background()
	a, err := f.Pinned(ctx, "demo", "1.0", false, nil)
	if err != nil || a.Path == "" {
		t.Fatalf("Pinned(demo) from a directory: %+v, %v", a, err)
	}
	b, err := f.Pinned(ctx, "extra", "2.0", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.URL != page.URL+"/links/sub/extra-2.0-py3-none-any.whl" {
		t.Errorf("link resolved to %s", b.URL)
	}
	if _, err := f.Fetch(ctx, b, nil); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Fetch of a dead link: %v", err)
	}
}

// TestPinnedPrefersAllowedHash: in hash-checking mode the file whose
// index hash the lock allows wins over a better-ranked one, as pip's
// candidate filtering does; without hashes the better tag wins.
func TestPinnedPrefersAllowedHash(t *testing.T) {
	s := newServer(t)
	if err := s.Add("demo-1.0-cp311-abi3-manylinux_2_17_x86_64.whl", append(fakeWheel(t, "demo", "1.0"), "other bytes"...)); err != nil {
		t.Fatal(err)
	}
	f := newFinder(t, finderOpts{indexes: []string{s.IndexURL()}})
	ctx := context.Background()
	a, err := f.Pinned(ctx, "demo", "1.0", false, nil)
	if err != nil || a.Filename != "demo-1.0-cp311-abi3-manylinux_2_17_x86_64.whl" {
		t.Fatalf("Pinned without hashes = %s, %v; want the abi3 wheel", a.Filename, err)
	}
	pure := s.File("demo-1.0-py3-none-any.whl").SHA256
	a, err = f.Pinned(ctx, "demo", "1.0", false, []string{"sha256:" + pure})
	if err != nil || a.Filename != "demo-1.0-py3-none-any.whl" {
		t.Fatalf("Pinned with the pure wheel's hash = %s, %v; want the pure wheel", a.Filename, err)
	}
}

type recorder struct {
	mu     sync.Mutex
	events []string
	bytes  int64
}

func (r *recorder) Start(a index.Artifact) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf("start %s %d", a.Filename, a.Size))
}

func (r *recorder) Add(n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bytes += n
}

func (r *recorder) Done(a index.Artifact, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf("done %s %v", a.Filename, err))
}

// TestReporter sees one start (with the size) and one done per download,
// every byte, and nothing for a file served from the cache.
func TestReporter(t *testing.T) {
	s := newServer(t)
	s.FailNext("/files/demo-1.0-py3-none-any.whl", 1)
	pyv, sup := target(t)
	rec := &recorder{}
	cache := t.TempDir()
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		f, err := index.NewFinder(index.Options{
			IndexURLs: []string{s.IndexURL()},
			Client:    index.NewClient(index.ClientOptions{Retries: 1, Backoff: time.Millisecond}),
			Cache:     index.NewCache(cache),
			Python:    pyv, Supported: sup, Reporter: rec,
		})
		if err != nil {
			t.Fatal(err)
		}
		a, err := f.Pinned(ctx, "demo", "1.0", false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Fetch(ctx, a, nil); err != nil {
			t.Fatal(err)
		}
	}
	size := len(s.File("demo-1.0-py3-none-any.whl").Data)
	want := []string{fmt.Sprintf("start demo-1.0-py3-none-any.whl %d", size), "done demo-1.0-py3-none-any.whl <nil>"}
	if strings.Join(rec.events, "; ") != strings.Join(want, "; ") || rec.bytes != int64(size) {
		t.Errorf("reported %v and %d bytes, want %v and %d", rec.events, rec.bytes, want, size)
	}
}
