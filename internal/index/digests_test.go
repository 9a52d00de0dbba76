package index

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestFileDigestsRemembered: an unchanged file's digests come from the
// cache; a change of content that keeps the size and the modification
// time is still seen (the change time moved), and a file written in the
// last two seconds is never remembered.
func TestFileDigestsRemembered(t *testing.T) {
	c := NewCache(t.TempDir())
	p := filepath.Join(t.TempDir(), "demo-1.0-py3-none-any.whl")
	if err := os.WriteFile(p, []byte("first content"), 0o644); err != nil {
		t.Fatal(err)
	}
	memos := func() int {
		es, _ := os.ReadDir(filepath.Join(c.Dir, "digests"))
		return len(es)
	}
	first, err := c.fileDigests(p, []string{"sha256"})
	if err != nil {
		t.Fatal(err)
	}
	if memos() != 0 {
		t.Fatal("a file written just now was remembered")
	}
	defer func() { timeNow = time.Now }()
	timeNow = func() time.Time { return time.Now().Add(time.Hour) }
	if _, err := c.fileDigests(p, []string{"sha256"}); err != nil || memos() != 1 {
		t.Fatalf("digests of an older file not remembered (%v, %d memos)", err, memos())
	}
	// The memo answers: corrupt it to prove it is read.
	es, _ := os.ReadDir(filepath.Join(c.Dir, "digests"))
	memo := filepath.Join(c.Dir, "digests", es[0].Name())
	data, _ := os.ReadFile(memo)
	forged := []byte(string(data[:len(data)-3]) + "0\"}}")
	if err := os.WriteFile(memo, forged, 0o644); err != nil {
		t.Fatal(err)
	}
	got, _ := c.fileDigests(p, []string{"sha256"})
	if got["sha256"] == first["sha256"] {
		t.Fatal("the remembered digests were not used")
	}
	// Same size, same modification time, other content.
	st, _ := os.Stat(p)
	if err := os.WriteFile(p, []byte("other content"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	want, _ := hashFile(p, []string{"sha256", "sha512"})
	got, err = c.fileDigests(p, []string{"sha256", "sha512"})
	if err != nil || got["sha256"] != want["sha256"] || got["sha512"] != want["sha512"] {
		t.Fatalf("after a change of content: %v, %v; want %v", got, err, want)
	}
	// Asked for more algorithms than remembered: computed, then remembered.
	if got, _ := c.fileDigests(p, []string{"sha384"}); got["sha384"] == "" || got["sha256"] != want["sha256"] {
		t.Fatalf("sha384 not computed: %v", got)
	}
}

func TestNeedAlgos(t *testing.T) {
	got := needAlgos(map[string]string{"sha512": "x", "md5": "y"}, []string{"SHA384:ab", "sha256:cd", "bogus"})
	want := []string{"sha256", "sha384", "sha512"}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("needAlgos = %v, want %v", got, want)
	}
}
