package index

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/venvpkg/venvpkg/internal/atomicfile"
)

// strongAlgos are the hash algorithms venvpkg computes and accepts.
var strongAlgos = []string{"sha256", "sha384", "sha512"}

// needAlgos lists the algorithms a file's digests must include to be
// checked against its source's hashes and the lock's: sha256 (the
// cache's key) and every other strong one named.
func needAlgos(stated map[string]string, allowed []string) []string {
	need := []string{"sha256"}
	add := func(algo string) {
		if containsString(strongAlgos, algo) && !containsString(need, algo) {
			need = append(need, algo)
		}
	}
	for algo := range stated {
		add(algo)
	}
	for _, h := range allowed {
		if algo, _, ok := strings.Cut(h, ":"); ok {
			add(strings.ToLower(algo))
		}
	}
	slices.Sort(need)
	return need
}

// hashFile returns the hex digests of the file at p in the given
// algorithms, computed in one pass.
func hashFile(p string, algos []string) (map[string]string, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return hashOpen(f, algos)
}

func hashOpen(f *os.File, algos []string) (map[string]string, error) {
	m, err := newMultiHash(algos)
	if err != nil {
		return nil, fmt.Errorf("hashing %s: %w", f.Name(), err)
	}
	if _, err := io.Copy(m, f); err != nil {
		return nil, fmt.Errorf("hashing %s: %w", f.Name(), err)
	}
	return m.sums(), nil
}

// multiHash computes digests in several algorithms in one pass.
type multiHash struct {
	hs map[string]hash.Hash
	w  io.Writer
}

func newMultiHash(algos []string) (*multiHash, error) {
	m := &multiHash{hs: map[string]hash.Hash{}}
	var ws []io.Writer
	for _, a := range algos {
		var h hash.Hash
		switch a {
		case "sha256":
			h = sha256.New()
		case "sha384":
			h = sha512.New384()
		case "sha512":
			h = sha512.New()
		default:
			return nil, fmt.Errorf("unknown hash algorithm %q", a)
		}
		m.hs[a] = h
		ws = append(ws, h)
	}
	m.w = io.MultiWriter(ws...)
	return m, nil
}

func (m *multiHash) Write(p []byte) (int, error) { return m.w.Write(p) }

func (m *multiHash) sums() map[string]string {
	out := map[string]string{}
	for a, h := range m.hs {
		out[a] = hex.EncodeToString(h.Sum(nil))
	}
	return out
}

// SHA256File returns the hex sha256 of the file at p.
func SHA256File(p string) (string, error) {
	sums, err := hashFile(p, []string{"sha256"})
	return sums["sha256"], err
}

// timeNow is time.Now; tests move it on.
var timeNow = time.Now

// digestMemo is what the cache remembers of a file's digests: the file's
// identity and times when they were computed.
type digestMemo struct {
	Path string            `json:"path"`
	Stat string            `json:"stat"`
	Sums map[string]string `json:"sums"`
}

// statKey identifies a file's content as git's index does: device, inode,
// size, modification and change time. Writing a file, renaming another
// onto its path or changing its mode changes the change time, which no
// unprivileged program can set. It is "" for a file too recent to be
// remembered: its times may not have ticked since its last write.
func statKey(st os.FileInfo, now time.Time) string {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok || !st.Mode().IsRegular() {
		return ""
	}
	ctime := time.Unix(int64(s.Ctim.Sec), int64(s.Ctim.Nsec))
	if now.Sub(ctime) < 2*time.Second || now.Sub(st.ModTime()) < 2*time.Second {
		return ""
	}
	return fmt.Sprintf("%d %d %d %d %d", s.Dev, s.Ino, st.Size(), st.ModTime().UnixNano(), ctime.UnixNano())
}

// fileDigests returns the digests of the file at p in at least the given
// algorithms. With a cache, a file hashed before and not changed since
// (statKey) is not read again: a warm build does not re-read every wheel.
func (c *Cache) fileDigests(p string, algos []string) (map[string]string, error) {
	if c == nil {
		return hashFile(p, algos)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	key := statKey(st, timeNow())
	name := sha256.Sum256([]byte(abs))
	memoPath := filepath.Join(c.Dir, "digests", hex.EncodeToString(name[:16])+".json")
	var memo digestMemo
	if key != "" {
		if data, err := os.ReadFile(memoPath); err == nil && json.Unmarshal(data, &memo) == nil &&
			memo.Path == abs && memo.Stat == key && hasAll(memo.Sums, algos) {
			return memo.Sums, nil
		}
	}
	if memo.Path == abs && memo.Stat == key {
		// Remembered in fewer algorithms: compute the union (in a copy:
		// the caller's slice stays as it was).
		algos = slices.Clone(algos)
		for a := range memo.Sums {
			if !containsString(algos, a) {
				algos = append(algos, a)
			}
		}
	}
	sums, err := hashOpen(f, algos)
	if err != nil || key == "" {
		return sums, err
	}
	data, err := json.Marshal(digestMemo{Path: abs, Stat: key, Sums: sums})
	if err == nil {
		// Remembering is an optimisation: a cache that cannot be written
		// costs a re-read next time, not the build.
		_ = atomicfile.WriteFile(memoPath, data, 0o644)
	}
	return sums, nil
}

func hasAll(sums map[string]string, algos []string) bool {
	for _, a := range algos {
		if sums[a] == "" {
			return false
		}
	}
	return true
}

// SHA256 returns the hex sha256 of the file at p, remembered in the
// cache like the digests Fetch checks.
func (f *Finder) SHA256(p string) (string, error) {
	sums, err := f.cache.fileDigests(p, []string{"sha256"})
	return sums["sha256"], err
}
