package env

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestEpoch(t *testing.T) {
	for _, c := range []struct {
		val  string
		want int64
		ok   bool
		err  bool
	}{
		{"", 0, false, false},
		{"1700000000", 1700000000, true, false},
		{" 0 ", 0, true, false},
		{"-1", 0, false, true},
		{"17e8", 0, false, true},
		{"yesterday", 0, false, true},
	} {
		t.Setenv(SourceDateEpoch.Name, c.val)
		got, ok, err := Epoch()
		if (err != nil) != c.err || ok != c.ok || ok && !got.Equal(time.Unix(c.want, 0)) {
			t.Errorf("SOURCE_DATE_EPOCH=%q: got %v %v %v", c.val, got, ok, err)
		}
		if err != nil && !strings.Contains(err.Error(), c.val) {
			t.Errorf("error %q does not name the value %q", err, c.val)
		}
	}
}

func TestBoolAndList(t *testing.T) {
	for val, want := range map[string]bool{"1": true, "TRUE": true, "yes": true, "on": true, "0": false, "": false, "no": false, "off": false} {
		t.Setenv(PipNoIndex.Name, val)
		if got := PipNoIndex.Bool(); got != want {
			t.Errorf("PIP_NO_INDEX=%q: got %v", val, got)
		}
	}
	t.Setenv(PipFindLinks.Name, " /a  https://b/c\t/d ")
	if got := strings.Join(PipFindLinks.List(), "|"); got != "/a|https://b/c|/d" {
		t.Errorf("PIP_FIND_LINKS list: %q", got)
	}
}

func TestCache(t *testing.T) {
	t.Setenv(CacheDir.Name, "/x/cache")
	if got := Cache(); got != "/x/cache" {
		t.Errorf("Cache() = %q", got)
	}
	t.Setenv(CacheDir.Name, "")
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if got := Cache(); runtime.GOOS == "linux" && got != "/xdg/venvpkg" {
		t.Errorf("Cache() with XDG_CACHE_HOME = %q", got)
	}
}

// TestDocumented keeps the configuration reference true: every variable of
// the table is listed there.
func TestDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range All {
		if v == TestPauseAt {
			continue // a test hook, described in docs/security.md
		}
		if !strings.Contains(string(doc), v.Name) {
			t.Errorf("docs/configuration.md does not mention %s (%s)", v.Name, v.Doc)
		}
	}
}
