package index

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pep503"
	"github.com/venvpkg/venvpkg/internal/pep508"
	"github.com/venvpkg/venvpkg/internal/tags"
)

// DefaultIndexURL is the index used unless --index-url or --no-index says
// otherwise.
const DefaultIndexURL = "https://pypi.org/simple/"

// maxPage bounds an index page; the largest projects' pages are a few MB.
const maxPage = 64 << 20

// Reporter is told about downloads as they happen (a progress bar or log
// lines); its methods may be called from several goroutines.
type Reporter interface {
	Start(a Artifact)
	Add(n int64)
	Done(a Artifact, err error)
}

// Options configure a Finder.
type Options struct {
	// IndexURLs are the simple API roots, main index first; none with
	// --no-index. They may carry credentials, which are moved to the
	// client and never kept in a URL.
	IndexURLs []string
	// FindLinks are local directories, file:// URLs or http(s) URLs of
	// HTML pages of links.
	FindLinks   []string
	Credentials *Credentials // nil: none
	Client      *Client      // nil: a default client with Credentials
	Cache       *Cache       // nil: no page cache; downloads then need TempDir
	Python      pep440.Version
	Supported   *tags.Supported
	Reporter    Reporter
}

// Finder lists, selects and fetches artifacts from every configured source:
// find-links directories and pages first, then the indexes in order.
type Finder struct {
	client  *Client
	cache   *Cache
	creds   *Credentials
	indexes []string
	pages   []string
	local   *Local
	python  pep440.Version
	sup     *tags.Supported
	report  Reporter

	mu       sync.Mutex
	listings map[string]*listing // by normalised name, and "links" for find-links pages
}

type listing struct {
	done chan struct{}
	arts []Artifact
	err  error
}

// NewFinder checks the sources and scans the local directories.
func NewFinder(o Options) (*Finder, error) {
	f := &Finder{
		cache:    o.Cache,
		creds:    o.Credentials,
		python:   o.Python,
		sup:      o.Supported,
		report:   o.Reporter,
		listings: map[string]*listing{},
	}
	if f.creds == nil {
		f.creds = NewCredentials(nil)
	}
	f.client = o.Client
	if f.client == nil {
		f.client = NewClient(ClientOptions{Credentials: f.creds})
	}
	if f.cache == nil {
		return nil, errors.New("index: no cache directory given")
	}
	for _, u := range o.IndexURLs {
		s, err := f.creds.Strip(u)
		if err != nil {
			return nil, fmt.Errorf("index URL: %w", err)
		}
		if !strings.HasSuffix(s, "/") {
			s += "/"
		}
		f.indexes = append(f.indexes, s)
	}
	var dirs []string
	for _, l := range o.FindLinks {
		switch {
		case strings.HasPrefix(l, "http://"), strings.HasPrefix(l, "https://"):
			s, err := f.creds.Strip(l)
			if err != nil {
				return nil, fmt.Errorf("--find-links: %w", err)
			}
			f.pages = append(f.pages, s)
		case strings.HasPrefix(l, "file://"):
			u, err := url.Parse(l)
			if err != nil {
				return nil, fmt.Errorf("--find-links %s: %w", l, err)
			}
			dirs = append(dirs, u.Path)
		case strings.Contains(l, "://"):
			return nil, fmt.Errorf("--find-links %s: only directories, file:// and http(s):// URLs are supported", Redact(l))
		default:
			dirs = append(dirs, l)
		}
	}
	local, err := ScanDirs(dirs)
	if err != nil {
		return nil, err
	}
	f.local = local
	return f, nil
}

// Sources describes where the finder looks, for messages.
func (f *Finder) Sources() []string {
	var out []string
	out = append(out, f.local.dirs...)
	out = append(out, f.pages...)
	out = append(out, f.indexes...)
	return out
}

// Candidates returns every artifact of a project that the sources offer,
// in source order (find-links first, then the indexes).
func (f *Finder) Candidates(ctx context.Context, name string) ([]Artifact, error) {
	n := pep503.Normalize(name)
	var out []Artifact
	out = append(out, f.local.All(n)...)
	if len(f.pages) > 0 {
		links, err := f.memo(ctx, "\x00links", f.linkPages)
		if err != nil {
			return nil, err
		}
		for _, a := range links {
			if a.Name == n {
				out = append(out, a)
			}
		}
	}
	if len(f.indexes) > 0 {
		arts, err := f.memo(ctx, n, func(ctx context.Context) ([]Artifact, error) { return f.projectPages(ctx, n) })
		if err != nil {
			return nil, err
		}
		out = append(out, arts...)
	}
	return out, nil
}

// memo runs fn once per key, whichever goroutine asks first.
func (f *Finder) memo(ctx context.Context, key string, fn func(context.Context) ([]Artifact, error)) ([]Artifact, error) {
	f.mu.Lock()
	l, ok := f.listings[key]
	if !ok {
		l = &listing{done: make(chan struct{})}
		f.listings[key] = l
		f.mu.Unlock()
		l.arts, l.err = fn(ctx)
		close(l.done)
		if l.err != nil {
			// A failure (a cancelled context, say) is not remembered.
			f.mu.Lock()
			delete(f.listings, key)
			f.mu.Unlock()
		}
		return l.arts, l.err
	}
	f.mu.Unlock()
	select {
	case <-l.done:
		return l.arts, l.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (f *Finder) linkPages(ctx context.Context) ([]Artifact, error) {
	var out []Artifact
	for _, p := range f.pages {
		// A link straight to a distribution file is a candidate itself.
		if u, err := url.Parse(p); err == nil {
			if a, ok := remoteArtifact(path.Base(u.Path), p); ok {
				a.Source = p
				out = append(out, a)
				continue
			}
		}
		body, ctype, found, err := f.page(ctx, p, "text/html")
		if err != nil {
			return nil, fmt.Errorf("reading --find-links page: %w", err)
		}
		if !found {
			return nil, fmt.Errorf("--find-links page %s was not found (404)", p)
		}
		arts, err := f.parsePage(p, ctype, body)
		if err != nil {
			return nil, err
		}
		out = append(out, arts...)
	}
	return out, nil
}

func (f *Finder) projectPages(ctx context.Context, name string) ([]Artifact, error) {
	var out []Artifact
	for _, idx := range f.indexes {
		p := idx + name + "/"
		body, ctype, found, err := f.page(ctx, p, acceptSimple)
		if err != nil {
			return nil, fmt.Errorf("reading the index: %w", err)
		}
		if !found {
			continue
		}
		arts, err := f.parsePage(p, ctype, body)
		if err != nil {
			return nil, err
		}
		for _, a := range arts {
			if a.Name == name {
				a.Source = idx
				out = append(out, a)
			}
		}
	}
	return out, nil
}

func (f *Finder) parsePage(pageURL, ctype string, body []byte) ([]Artifact, error) {
	base, err := url.Parse(pageURL)
	if err != nil {
		return nil, err
	}
	mt, _, _ := mime.ParseMediaType(ctype)
	var arts []Artifact
	if mt == mediaJSON || strings.HasSuffix(mt, "+json") || mt == "application/json" {
		arts, err = ParseSimpleJSON(base, body)
	} else {
		arts, err = ParseSimpleHTML(base, body)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pageURL, err)
	}
	for i := range arts {
		if arts[i].Source == "" {
			arts[i].Source = pageURL
		}
	}
	return arts, nil
}

// page GETs an index or find-links page, revalidating a cached copy with
// its ETag or Last-Modified. found is false for 404 and 410.
func (f *Finder) page(ctx context.Context, u, accept string) (body []byte, ctype string, found bool, err error) {
	h := http.Header{"Accept": {accept}}
	cached, ok := f.cache.loadPage(u)
	if ok {
		if cached.ETag != "" {
			h.Set("If-None-Match", cached.ETag)
		}
		if cached.LastModified != "" {
			h.Set("If-Modified-Since", cached.LastModified)
		}
	}
	resp, err := f.client.get(ctx, u, h, http.StatusNotModified, http.StatusNotFound, http.StatusGone)
	if err != nil {
		return nil, "", false, err
	}
	defer resp.Close()
	switch resp.StatusCode {
	case http.StatusNotFound, http.StatusGone:
		return nil, "", false, nil
	case http.StatusNotModified:
		if ok {
			return cached.Body, cached.ContentType, true, nil
		}
		return nil, "", false, fmt.Errorf("GET %s: 304 Not Modified to a request without validators", Redact(u))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxPage+1))
	if err != nil {
		return nil, "", false, fmt.Errorf("GET %s: reading the page: %w", Redact(u), err)
	}
	if len(data) > maxPage {
		return nil, "", false, fmt.Errorf("GET %s: the page is larger than %d MiB", Redact(u), maxPage>>20)
	}
	ctype = resp.Header.Get("Content-Type")
	e := &pageEntry{URL: u, ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"), ContentType: ctype, Body: data}
	if e.ETag != "" || e.LastModified != "" {
		// A page that cannot be cached costs a full fetch next time, no more.
		_ = f.cache.storePage(e)
	}
	return data, ctype, true, nil
}

// excluded explains why a candidate is not usable; "" when it is.
func (f *Finder) excluded(a Artifact, allowYanked bool) string {
	if a.Yanked && !allowYanked {
		if a.YankedReason != "" {
			return "yanked: " + a.YankedReason
		}
		return "yanked"
	}
	if a.RequiresPython != "" {
		spec, err := pep440.ParseSpecifierSet(a.RequiresPython)
		if err == nil && !spec.Contains(f.python, true) {
			return fmt.Sprintf("requires Python %s, not %s", a.RequiresPython, f.python)
		}
	}
	return ""
}

// Pinned returns the best artifact of name at exactly version (=== when
// exact) for the target: the best-ranked compatible wheel, else an sdist.
// Yanked files and files whose Requires-Python excludes the target are
// skipped. In hash-checking mode (allowed not empty) files whose stated
// hash is allowed are preferred, as pip prefers them.
func (f *Finder) Pinned(ctx context.Context, name, version string, exact bool, allowed []string) (Artifact, error) {
	var want pep440.Version
	if !exact {
		v, err := pep440.Parse(version)
		if err != nil {
			return Artifact{}, fmt.Errorf("%s==%s: %w", name, version, err)
		}
		want = v
	}
	all, err := f.Candidates(ctx, name)
	if err != nil {
		return Artifact{}, err
	}
	var matches []Artifact
	var notes []string
	for _, a := range all {
		if exact && a.Version.String() != version && !strings.EqualFold(a.Version.String(), version) || !exact && a.Version.Compare(want) != 0 {
			continue
		}
		if why := f.excluded(a, false); why != "" {
			notes = append(notes, fmt.Sprintf("%s (%s)", a.Filename, why))
			continue
		}
		matches = append(matches, a)
	}
	if len(allowed) > 0 {
		var known []Artifact
		for _, a := range matches {
			for _, h := range allowed {
				algo, hexsum, _ := strings.Cut(h, ":")
				if a.Hashes[strings.ToLower(algo)] == strings.ToLower(hexsum) {
					known = append(known, a)
					break
				}
			}
		}
		if len(known) > 0 {
			matches = known
		}
	}
	op := "=="
	if exact {
		op = "==="
	}
	best, ok := bestOf(matches, f.sup)
	if !ok {
		return Artifact{}, f.notFound(name, name+op+version, all, notes)
	}
	return best, nil
}

// Best returns the highest version allowed by req's specifier that has a
// compatible wheel or an sdist, skipping yanked files and files whose
// Requires-Python excludes the target; pre-releases only when nothing else
// matches, as pip does.
func (f *Finder) Best(ctx context.Context, req pep508.Requirement) (Artifact, error) {
	all, err := f.Candidates(ctx, req.Name)
	if err != nil {
		return Artifact{}, err
	}
	var notes []string
	var usable []Artifact
	for _, a := range all {
		if why := f.excluded(a, false); why != "" {
			if req.Specifier.Contains(a.Version, true) {
				notes = append(notes, fmt.Sprintf("%s (%s)", a.Filename, why))
			}
			continue
		}
		usable = append(usable, a)
	}
	for _, pre := range []bool{false, true} {
		byVersion := map[string][]Artifact{}
		var versions []pep440.Version
		for _, a := range usable {
			if a.Version.IsPrerelease() && !pre || !req.Specifier.Contains(a.Version, true) {
				continue
			}
			k := a.Version.String()
			if _, seen := byVersion[k]; !seen {
				versions = append(versions, a.Version)
			}
			byVersion[k] = append(byVersion[k], a)
		}
		sort.Slice(versions, func(i, j int) bool { return versions[i].Compare(versions[j]) > 0 })
		for _, v := range versions {
			if best, ok := bestOf(byVersion[v.String()], f.sup); ok {
				return best, nil
			}
		}
	}
	return Artifact{}, f.notFound(req.Name, req.String(), all, notes)
}

func (f *Finder) notFound(name, req string, all []Artifact, notes []string) error {
	e := &NotFoundError{Requirement: req, Dirs: f.Sources(), Excluded: notes}
	if len(e.Dirs) == 0 {
		e.Dirs = []string{"(no --find-links directory and --no-index)"}
	}
	for _, a := range all {
		if !containsString(e.Candidates, a.Filename) {
			e.Candidates = append(e.Candidates, a.Filename)
		}
	}
	if f.sup != nil {
		for i, t := range f.sup.Tags() {
			if i == 5 {
				break
			}
			e.TopTags = append(e.TopTags, t.String())
		}
	}
	return e
}

// Status says where Fetch would take a from: "local" (a file in a --find-links directory), "cached" (a remote file
// already in the cache, found by a sha256 its source or the lock states) or "download".
func (f *Finder) Status(a Artifact, allowed []string) string {
	if a.Path != "" {
		return "local"
	}
	shas := []string{a.Hashes["sha256"]}
	for _, h := range allowed {
		if s, ok := strings.CutPrefix(h, "sha256:"); ok {
			shas = append(shas, s)
		}
	}
	for _, s := range shas {
		if _, _, ok := f.cache.lookupArtifact(s, a.Filename, []string{"sha256"}); ok {
			return "cached"
		}
	}
	return "download"
}

// Fetch returns a local path of a: a local file as it is, a remote one from
// the cache or downloaded into it. The file is checked against the hashes
// and size its source states and, when allowed is not empty, against
// those the lock allows (pip's hash-checking mode).
func (f *Finder) Fetch(ctx context.Context, a Artifact, allowed []string) (string, error) {
	algos := needAlgos(a.Hashes, allowed)
	if a.Path != "" {
		sums, err := f.cache.fileDigests(a.Path, algos)
		if err != nil {
			return "", err
		}
		if err := verify(a, a.Path, sums, allowed); err != nil {
			return "", err
		}
		if a.Size >= 0 {
			if st, err := os.Stat(a.Path); err == nil && st.Size() != a.Size {
				return "", fmt.Errorf("%s is %d bytes, but its source says %d", a.Path, st.Size(), a.Size)
			}
		}
		return a.Path, nil
	}
	// A cached copy under any sha256 the lock or source names.
	var shas []string
	if s := a.Hashes["sha256"]; s != "" {
		shas = append(shas, s)
	}
	for _, h := range allowed {
		if algo, hexsum, _ := strings.Cut(h, ":"); strings.EqualFold(algo, "sha256") {
			shas = append(shas, strings.ToLower(hexsum))
		}
	}
	for _, s := range shas {
		if p, sums, ok := f.cache.lookupArtifact(s, a.Filename, algos); ok {
			if verify(a, p, sums, allowed) == nil {
				return p, nil
			}
		}
	}
	return f.download(ctx, a, allowed)
}

func verify(a Artifact, where string, sums map[string]string, allowed []string) error {
	if err := checkSourceHashes(a.Filename, sourceName(a), sums, a.Hashes); err != nil {
		return err
	}
	if err := CheckHashes(a.Filename, sums, allowed); err != nil {
		var hm *HashMismatchError
		if errors.As(err, &hm) {
			hm.File = where
		}
		return err
	}
	return nil
}

func sourceName(a Artifact) string {
	if a.Source == "" {
		return "its source"
	}
	return Redact(a.Source)
}

// download fetches a remote artifact into the cache, retrying a transfer
// that breaks off.
func (f *Finder) download(ctx context.Context, a Artifact, allowed []string) (path string, err error) {
	started := false
	defer func() {
		if started {
			f.report.Done(a, err)
		}
	}()
	var lastErr error
	for attempt := 0; attempt <= f.client.retries; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, f.client.backoff<<(attempt-1)); err != nil {
				return "", err
			}
		}
		p, retry, err := f.downloadOnce(ctx, a, allowed, &started)
		if err == nil {
			return p, nil
		}
		if !retry || ctx.Err() != nil {
			return "", err
		}
		lastErr = err
	}
	return "", lastErr
}

// downloadOnce makes one transfer. retry reports whether the failure was
// in the transfer itself (the request was already retried by the client).
// The reporter learns of the download, with its size, once the server
// answers; *started records that.
func (f *Finder) downloadOnce(ctx context.Context, a Artifact, allowed []string, started *bool) (string, bool, error) {
	resp, err := f.client.get(ctx, a.URL, http.Header{"Accept": {"*/*"}})
	if err != nil {
		var se *StatusError
		if errors.As(err, &se) && (se.Code == http.StatusNotFound || se.Code == http.StatusGone) {
			return "", false, fmt.Errorf("%s is listed by %s but missing (%s); the index is out of date", a.Filename, sourceName(a), se.Status)
		}
		return "", false, err
	}
	defer resp.Close()
	if f.report != nil && !*started {
		shown := a
		if shown.Size < 0 {
			shown.Size = resp.ContentLength
		}
		f.report.Start(shown)
		*started = true
	}
	tmp, err := f.cache.tempFile()
	if err != nil {
		return "", false, err
	}
	defer tmp.Abort()
	m, _ := newMultiHash(strongAlgos)
	var w io.Writer = io.MultiWriter(tmp, m)
	if f.report != nil {
		w = io.MultiWriter(w, reportWriter{f.report})
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		if ctx.Err() != nil {
			return "", false, ctx.Err()
		}
		return "", true, fmt.Errorf("downloading %s: %s", a.Filename, Redact(err.Error()))
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return "", true, fmt.Errorf("downloading %s: got %d of %d bytes", a.Filename, n, resp.ContentLength)
	}
	if a.Size >= 0 && n != a.Size {
		return "", false, fmt.Errorf("%s is %d bytes, but %s says %d", a.Filename, n, sourceName(a), a.Size)
	}
	sums := m.sums()
	if err := verify(a, a.Filename, sums, allowed); err != nil {
		return "", false, err
	}
	dst := f.cache.artifactPath(sums["sha256"], a.Filename)
	if err := tmp.CommitTo(dst); err != nil {
		return "", false, err
	}
	return dst, false, nil
}

type reportWriter struct{ r Reporter }

func (w reportWriter) Write(p []byte) (int, error) {
	w.r.Add(int64(len(p)))
	return len(p), nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Metadata returns the core metadata an index serves for a (PEP 658),
// checked against the hash the index states for it.
func (f *Finder) Metadata(ctx context.Context, a Artifact) ([]byte, error) {
	if a.CoreMetadata == nil || a.URL == "" {
		return nil, fmt.Errorf("%s: the index serves no metadata file for it", a.Filename)
	}
	resp, err := f.client.get(ctx, a.URL+".metadata", http.Header{"Accept": {"*/*"}})
	if err != nil {
		return nil, err
	}
	defer resp.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxPage))
	if err != nil {
		return nil, fmt.Errorf("reading the metadata of %s: %w", a.Filename, err)
	}
	m, _ := newMultiHash(strongAlgos)
	m.Write(data)
	if err := checkSourceHashes(a.Filename+".metadata", sourceName(a), m.sums(), a.CoreMetadata.Hashes); err != nil {
		return nil, err
	}
	return data, nil
}
