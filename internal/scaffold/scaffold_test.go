package scaffold

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"

	"github.com/venvpkg/venvpkg/internal/testutil"
)

var pythons = []string{"/usr/bin/python3.9", "/usr/bin/python3.11", "/usr/bin/python3.12"}

func noGit(context.Context, string) string { return "" }

func gitUser(_ context.Context, key string) string {
	return map[string]string{"user.name": "Git User", "user.email": "git@acme.example"}[key]
}

// copyDir copies a testdata project to a temporary directory, so Write can be tried on it.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "init.golden.diff" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func TestMake(t *testing.T) {
	tests := []struct {
		name      string
		git       func(context.Context, string) string
		wantNotes []string
		wantKeys  map[string]string
	}{
		{"gunicorn", noGit, nil, map[string]string{"maintainer": "Acme Ops <ops@acme.example>", "python": "/usr/bin/python3.12", "lock": "requirements.txt"}},
		{"poetry", noGit, nil, map[string]string{"maintainer": "Jane Roe <jane@acme.example>", "python": "/usr/bin/python3.12", "lock": "poetry.lock"}},
		{"setuppy", gitUser, []string{"lock the dependencies"}, map[string]string{"maintainer": "Git User <git@acme.example>", "python": "/usr/bin/python3.12"}},
		{"bare", noGit, []string{"set maintainer", `satisfies requires-python ">=3.13"`, "lock the dependencies"}, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := filepath.Join("testdata", tt.name)
			dir := copyDir(t, src)
			plan, err := Make(context.Background(), dir, Options{Pythons: pythons, Git: tt.git})
			if err != nil {
				t.Fatalf("Make: %v", err)
			}
			diff := plan.Diff()
			golden := filepath.Join(src, "init.golden.diff")
			testutil.Golden(t, golden, []byte(diff))
			for _, w := range tt.wantNotes {
				if !slices.ContainsFunc(plan.Notes, func(n string) bool { return strings.Contains(n, w) }) {
					t.Errorf("notes %q lack %q", plan.Notes, w)
				}
			}
			if len(tt.wantNotes) == 0 && len(plan.Notes) > 0 {
				t.Errorf("unexpected notes %q", plan.Notes)
			}
			// The old file is a prefix of the new one: nothing of it changes.
			if !strings.HasPrefix(string(plan.After), strings.TrimSuffix(string(plan.Before), "\n")) {
				t.Error("the plan changes the existing file instead of appending to it")
			}
			if err := plan.Write(); err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(plan.File)
			if err != nil {
				t.Fatal(err)
			}
			if !plan.Created && st.Mode().Perm() != 0o640 {
				t.Errorf("mode after Write = %v, want the file's own 0640", st.Mode().Perm())
			}
			// What was written is valid TOML with the keys planned.
			var doc struct {
				Tool struct {
					Venvpkg map[string]any `toml:"venvpkg"`
				} `toml:"tool"`
			}
			data, _ := os.ReadFile(plan.File)
			if err := toml.Unmarshal(data, &doc); err != nil {
				t.Fatalf("the written pyproject.toml is not TOML: %v\n%s", err, data)
			}
			for k, v := range tt.wantKeys {
				if doc.Tool.Venvpkg[k] != v {
					t.Errorf("[tool.venvpkg] %s = %v, want %q", k, doc.Tool.Venvpkg[k], v)
				}
			}
			// A second run refuses: the table exists now.
			_, err = Make(context.Background(), dir, Options{Pythons: pythons, Git: tt.git})
			if !errors.Is(err, ErrExists) {
				t.Errorf("second Make error = %v, want ErrExists", err)
			}
		})
	}
}

func TestChoosePython(t *testing.T) {
	tests := []struct{ req, want string }{
		{"", "/usr/bin/python3.12"},
		{">=3.8,<3.12", "/usr/bin/python3.11"},
		{"~=3.9.0", "/usr/bin/python3.9"},
		{">=3.11.4", "/usr/bin/python3.12"},
	}
	for _, tt := range tests {
		got, err := choosePython(pythons, tt.req)
		if err != nil || got != tt.want {
			t.Errorf("choosePython(%q) = %q, %v; want %q", tt.req, got, err, tt.want)
		}
	}
	if _, err := choosePython(pythons, ">=3.13"); err == nil {
		t.Error("choosePython(>=3.13) found an interpreter among 3.9, 3.11 and 3.12")
	}
}
