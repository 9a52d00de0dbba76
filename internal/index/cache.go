package index

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/venvpkg/venvpkg/internal/atomicfile"
)

// Cache is venvpkg's download cache, shared by every build of a user:
//
//	artifacts/sha256/<ab>/<sha256>/<file name>   downloaded wheels and sdists, by content
//	built/<sdist sha256>/<interpreter key>/<wheel> wheels built from sdists
//	pages/<sha256 of URL>.json                   index pages with their HTTP validators
//	tmp/                                         files being written
//
// Every file is written to tmp/ and renamed into place, so two builds that
// fetch the same file at once each leave one complete copy, and a reader
// never sees a partial file. Artifacts are hashed again whenever they are
// reused; a corrupt one is removed and fetched anew.
type Cache struct {
	Dir string
}

// NewCache returns the cache rooted at dir.
func NewCache(dir string) *Cache { return &Cache{Dir: dir} }

func (c *Cache) artifactPath(sha, filename string) string {
	return filepath.Join(c.Dir, "artifacts", "sha256", sha[:2], sha, filename)
}

func validSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// lookupArtifact returns the cached file with this sha256 and name and its
// digests in at least algos, hashing it again unless it is unchanged since
// it was last hashed (fileDigests); a file that no longer matches is
// removed.
func (c *Cache) lookupArtifact(sha, filename string, algos []string) (string, map[string]string, bool) {
	if c == nil || !validSHA256(sha) {
		return "", nil, false
	}
	p := c.artifactPath(sha, filename)
	sums, err := c.fileDigests(p, algos)
	if err != nil {
		return "", nil, false
	}
	if sums["sha256"] != sha {
		os.Remove(p)
		return "", nil, false
	}
	return p, sums, true
}

// tempFile creates a file in the cache's tmp directory, to be committed
// to its place once complete. When the place was filled meanwhile (another
// build), the rename replaces it with identical content.
func (c *Cache) tempFile() (*atomicfile.File, error) {
	return atomicfile.CreateTemp(filepath.Join(c.Dir, "tmp"), 0o644)
}

// pageEntry is a cached index page.
type pageEntry struct {
	URL          string `json:"url"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	ContentType  string `json:"content_type"`
	Body         []byte `json:"body"`
}

func (c *Cache) pagePath(url string) string {
	sum := sha256.Sum256([]byte(url))
	return filepath.Join(c.Dir, "pages", hex.EncodeToString(sum[:])+".json")
}

func (c *Cache) loadPage(url string) (*pageEntry, bool) {
	if c == nil {
		return nil, false
	}
	data, err := os.ReadFile(c.pagePath(url))
	if err != nil {
		return nil, false
	}
	var e pageEntry
	if json.Unmarshal(data, &e) != nil || e.URL != url {
		return nil, false
	}
	return &e, true
}

func (c *Cache) storePage(e *pageEntry) error {
	if c == nil {
		return nil
	}
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	f, err := c.tempFile()
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.CommitTo(c.pagePath(e.URL))
}

// BuiltWheel returns the wheel built earlier from the sdist with this
// sha256 for the interpreter key, if any.
func (c *Cache) BuiltWheel(sdistSHA, interpKey string) (string, bool) {
	if c == nil || !validSHA256(sdistSHA) {
		return "", false
	}
	m, _ := filepath.Glob(filepath.Join(c.Dir, "built", sdistSHA, interpKey, "*.whl"))
	if len(m) != 1 {
		return "", false
	}
	return m[0], true
}

// StoreBuiltWheel copies a wheel built from the sdist with this sha256 into
// the cache and returns the cached path.
func (c *Cache) StoreBuiltWheel(sdistSHA, interpKey, wheelPath string) (string, error) {
	if !validSHA256(sdistSHA) {
		return "", fmt.Errorf("invalid sdist sha256 %q", sdistSHA)
	}
	in, err := os.Open(wheelPath)
	if err != nil {
		return "", err
	}
	defer in.Close()
	f, err := c.tempFile()
	if err != nil {
		return "", err
	}
	defer f.Abort()
	if _, err := io.Copy(f, in); err != nil {
		return "", fmt.Errorf("caching the built wheel %s: %w", filepath.Base(wheelPath), err)
	}
	dst := filepath.Join(c.Dir, "built", sdistSHA, interpKey, filepath.Base(wheelPath))
	if err := f.CommitTo(dst); err != nil {
		return "", err
	}
	return dst, nil
}

// Clean removes the whole cache directory.
func (c *Cache) Clean() error {
	if err := os.RemoveAll(c.Dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing cache %s: %w", c.Dir, err)
	}
	return nil
}

// Artifacts lists the cached artifact files, sorted.
func (c *Cache) Artifacts() ([]string, error) {
	var out []string
	root := filepath.Join(c.Dir, "artifacts")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == root {
			return filepath.SkipDir
		}
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// HashMismatchError says a file's digest is not one the lock (or the
// index) allows.
type HashMismatchError struct {
	File     string   // file name or path
	Algo     string   // "sha256"
	Expected []string // allowed digests of Algo
	Actual   string
	From     string // "the lock" or the index that stated the hash
}

func (e *HashMismatchError) Error() string {
	return fmt.Sprintf("hash mismatch for %s: %s expects %s %s, got %s %s; the file changed or the pin is wrong (regenerate the lock from a trusted source)",
		e.File, e.From, e.Algo, strings.Join(e.Expected, " or "), e.Algo, e.Actual)
}

// CheckHashes verifies computed digests against allowed "algo:hex" values
// (pip's semantics: the file passes when any allowed digest matches).
// md5 and sha1 are refused.
func CheckHashes(file string, sums map[string]string, allowed []string) error {
	if len(allowed) == 0 {
		return nil
	}
	byAlgo := map[string][]string{}
	var algos []string
	for _, h := range allowed {
		algo, hexsum, ok := strings.Cut(h, ":")
		if !ok {
			return fmt.Errorf("%s: hash %q is not algorithm:hex", file, h)
		}
		algo = strings.ToLower(algo)
		if algo == "md5" || algo == "sha1" {
			return fmt.Errorf("%s: %s hashes are too weak and are refused; use sha256", file, algo)
		}
		if !containsString(strongAlgos, algo) {
			return fmt.Errorf("%s: unknown hash algorithm %q; use sha256", file, algo)
		}
		if _, ok := byAlgo[algo]; !ok {
			algos = append(algos, algo)
		}
		byAlgo[algo] = append(byAlgo[algo], strings.ToLower(hexsum))
		if sums[algo] == strings.ToLower(hexsum) {
			return nil
		}
	}
	algo := algos[0]
	if _, ok := byAlgo["sha256"]; ok {
		algo = "sha256"
	}
	return &HashMismatchError{File: file, Algo: algo, Expected: byAlgo[algo], Actual: sums[algo], From: "the lock"}
}

// checkSourceHashes verifies digests an index or lock file states for a
// file; algorithms venvpkg does not compute are ignored.
func checkSourceHashes(file, from string, sums, stated map[string]string) error {
	for _, algo := range strongAlgos {
		want, ok := stated[algo]
		if ok && sums[algo] != want {
			return &HashMismatchError{File: file, Algo: algo, Expected: []string{want}, Actual: sums[algo], From: from}
		}
	}
	return nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
