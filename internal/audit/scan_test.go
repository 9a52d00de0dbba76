package audit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeTree creates files (final path → content) below a new root; a
// content starting with "->" makes a symlink to the rest.
func writeTree(t *testing.T, tree map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for rel, body := range tree {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(body, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestScan(t *testing.T) {
	const staging = "/tmp/venvpkg-build-123/root"
	const tmp = "/tmp/venvpkg-work-9"
	// A needle that straddles the boundary between the first two chunks.
	straddle := strings.Repeat("x", chunkSize-7) + staging + strings.Repeat("y", 100)
	// A needle at the very end of a file longer than one chunk.
	atEnd := strings.Repeat("z", 3*chunkSize+5) + tmp

	tests := []struct {
		name      string
		tree      map[string]string
		forbidden []string
		want      []Leak
	}{
		{
			name:      "clean payload",
			tree:      map[string]string{"opt/app/bin/app": "#!/opt/app/bin/python\n", "opt/app/bin/python": "->/usr/bin/python3.11"},
			forbidden: []string{staging, tmp},
		},
		{
			name: "shebang, pyc and symlink leak",
			tree: map[string]string{
				"opt/app/bin/app":               "#!" + staging + "/opt/app/bin/python\n",
				"opt/app/lib/m.cpython-311.pyc": "\x00\x01" + tmp + "/m.py\x00",
				"opt/app/bin/python":            "->" + staging + "/usr/bin/python3.11",
				"opt/app/ok.txt":                "fine",
			},
			forbidden: []string{staging, tmp},
			want: []Leak{
				{Path: "/opt/app/bin/app", Found: []string{staging}},
				{Path: "/opt/app/bin/python", Found: []string{staging}},
				{Path: "/opt/app/lib/m.cpython-311.pyc", Found: []string{tmp}},
			},
		},
		{
			name:      "needle across a chunk boundary",
			tree:      map[string]string{"data/big.bin": straddle},
			forbidden: []string{staging},
			want:      []Leak{{Path: "/data/big.bin", Found: []string{staging}}},
		},
		{
			name:      "needle at the end of a long file",
			tree:      map[string]string{"data/big.bin": atEnd},
			forbidden: []string{staging, tmp},
			want:      []Leak{{Path: "/data/big.bin", Found: []string{tmp}}},
		},
		{
			name:      "both needles in one file",
			tree:      map[string]string{"f": tmp + " and " + staging},
			forbidden: []string{staging, "", tmp, staging},
			want:      []Leak{{Path: "/f", Found: []string{staging, tmp}}},
		},
		{
			name:      "no forbidden strings",
			tree:      map[string]string{"f": staging},
			forbidden: []string{""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeTree(t, tt.tree)
			err := Scan(root, tt.forbidden)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Scan(%v) = %v, want nil", tt.forbidden, err)
				}
				return
			}
			var le *LeakError
			if !errors.As(err, &le) {
				t.Fatalf("Scan(%v) = %v, want a *LeakError", tt.forbidden, err)
			}
			if !slices.EqualFunc(le.Leaks, tt.want, func(a, b Leak) bool {
				return a.Path == b.Path && slices.Equal(a.Found, b.Found)
			}) {
				t.Errorf("Scan(%v) leaks = %+v, want %+v", tt.forbidden, le.Leaks, tt.want)
			}
		})
	}
}

func TestScanErrorListsFirstTwenty(t *testing.T) {
	tree := map[string]string{}
	for i := range 25 {
		tree[fmt.Sprintf("f%02d", i)] = "/tmp/build"
	}
	err := Scan(writeTree(t, tree), []string{"/tmp/build"})
	if err == nil {
		t.Fatal("Scan found no leaks, want 25")
	}
	msg := err.Error()
	for _, want := range []string{"25 files in the payload name build paths", "/f00 contains \"/tmp/build\"", "/f19 contains", "... and 5 more"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Scan error %q does not contain %q", msg, want)
		}
	}
	if strings.Contains(msg, "/f20") {
		t.Errorf("Scan error %q lists more than 20 files", msg)
	}
}
