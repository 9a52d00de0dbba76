package pipeline_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/logging"
	"github.com/venvpkg/venvpkg/internal/pipeline"
	"github.com/venvpkg/venvpkg/internal/testutil"
)

// distWheel is a wheel of name (as its metadata spells it) and version whose METADATA carries the given fields.
func distWheel(t *testing.T, dir, name, version string, fields ...string) {
	t.Helper()
	norm := strings.ToLower(strings.ReplaceAll(name, "-", "_"))
	distInfo := norm + "-" + version + ".dist-info"
	meta := "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n" + strings.Join(fields, "")
	w := hostileWheel{members: []member{
		{name: norm + "/__init__.py", data: []byte("")},
		{name: distInfo + "/METADATA", data: []byte(meta)},
		{name: distInfo + "/WHEEL", data: []byte("Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")},
	}}
	if err := os.WriteFile(filepath.Join(dir, norm+"-"+version+"-py3-none-any.whl"), w.bytes(t), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLockClosure builds a project that requires flask>=2.2 with locks that are incomplete or inconsistent. Flask
// and its dependencies are wheels with the Requires-Dist of the real 2.2.2 releases. The build must stop after the
// project's wheel is built, before anything is installed, listing every problem; --allow-partial-lock builds anyway
// with a warning for each.
func TestLockClosure(t *testing.T) {
	testutil.NeedFile(t, python, "python3.11")
	testutil.NeedTool(t, "dpkg-deb", "dpkg")
	wheels := t.TempDir()
	distWheel(t, wheels, "Flask", "2.2.2", "Requires-Python: >=3.7\n",
		"Requires-Dist: Werkzeug (>=2.2.2)\n", "Requires-Dist: Jinja2 (>=3.0)\n", "Requires-Dist: itsdangerous (>=2.0)\n",
		"Requires-Dist: click (>=8.0)\n", "Requires-Dist: importlib-metadata (>=3.6.0) ; python_version < \"3.10\"\n",
		"Requires-Dist: asgiref (>=3.2) ; extra == 'async'\n")
	distWheel(t, wheels, "Werkzeug", "2.2.2", "Requires-Dist: MarkupSafe (>=2.1.1)\n")
	distWheel(t, wheels, "Werkzeug", "2.0.3")
	distWheel(t, wheels, "Jinja2", "3.1.2", "Requires-Dist: MarkupSafe (>=2.0)\n")
	distWheel(t, wheels, "itsdangerous", "2.1.2")
	distWheel(t, wheels, "click", "8.1.3", "Requires-Dist: colorama ; platform_system == \"Windows\"\n")
	distWheel(t, wheels, "MarkupSafe", "2.1.2", "Requires-Python: >=3.7\n")
	distWheel(t, wheels, "MarkupSafe", "3.0.0", "Requires-Python: >=3.12\n")
	distWheel(t, wheels, "six", "1.16.0")

	complete := "click==8.1.3\nflask==2.2.2\nitsdangerous==2.1.2\njinja2==3.1.2\nmarkupsafe==2.1.2\nwerkzeug==2.2.2\n"
	tests := []struct {
		name    string
		lock    string
		partial bool
		want    []string // lines of the error; none: the build succeeds
		warn    []string
	}{
		{name: "flask alone", lock: "flask==2.2.2\n", want: []string{
			"Flask 2.2.2 requires Werkzeug>=2.2.2, which the lock does not pin (needed by app → Flask)",
			"Flask 2.2.2 requires Jinja2>=3.0, which the lock does not pin (needed by app → Flask)",
			"Flask 2.2.2 requires itsdangerous>=2.0, which the lock does not pin (needed by app → Flask)",
			"Flask 2.2.2 requires click>=8.0, which the lock does not pin (needed by app → Flask)",
		}},
		{name: "conflict and excluded interpreter", lock: strings.NewReplacer("werkzeug==2.2.2", "werkzeug==2.0.3", "markupsafe==2.1.2", "markupsafe==3.0.0").Replace(complete), want: []string{
			"Flask 2.2.2 requires Werkzeug>=2.2.2, but the lock pins Werkzeug 2.0.3 (requirements.txt:6) (needed by app → Flask)",
			"MarkupSafe 3.0.0 requires Python >=3.12, which excludes the target interpreter's 3.11.2 (requirements.txt:5) (needed by app → Flask → Jinja2 → MarkupSafe)",
		}},
		{name: "extra named in the lock", lock: strings.Replace(complete, "flask==2.2.2", "flask[async]==2.2.2", 1), want: []string{
			"Flask 2.2.2 requires asgiref>=3.2, which the lock does not pin (needed by app → Flask)",
		}},
		{name: "complete with an unused pin", lock: complete + "six==1.16.0\n",
			warn: []string{"six 1.16.0 (requirements.txt:7) is pinned but nothing installed requires it"}},
		{name: "partial on purpose", lock: "flask==2.2.2\n", partial: true, warn: []string{
			"the lock's completeness is not enforced (--allow-partial-lock)",
			"Flask 2.2.2 requires click>=8.0, which the lock does not pin (needed by app → Flask)",
		}},
	}
	cache := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proj := t.TempDir()
			for name, text := range map[string]string{
				"pyproject.toml":    hostileProject,
				"backend.py":        inTreeBackend,
				"requires-dist.txt": "flask>=2.2\n",
				"requirements.txt":  tt.lock,
			} {
				if err := os.WriteFile(filepath.Join(proj, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out := filepath.Join(t.TempDir(), "out")
			var log bytes.Buffer
			res, err := pipeline.Run(context.Background(), pipeline.Options{
				ProjectDir: proj, Python: python, FindLinks: []string{wheels}, NoIndex: true, OutDir: out, CacheDir: cache,
				NoCompile: true, AllowPartialLock: tt.partial, Log: logging.NewLogger(&log, logging.LevelDebug),
			})
			if tt.want == nil {
				if err != nil {
					t.Fatalf("build: %v\nlog:\n%s", err, log.String())
				}
				for _, w := range tt.warn {
					if !containsPrefix(res.Warnings, proj+"/", w) {
						t.Errorf("warnings %q lack %q", res.Warnings, w)
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("build succeeded, want the lock refused\nlog:\n%s", log.String())
			}
			lines := strings.Split(strings.ReplaceAll(err.Error(), proj+"/", ""), "\n")
			if want := "the lock does not install what the project needs (requirements.txt):"; lines[0] != want {
				t.Errorf("error starts %q, want %q", lines[0], want)
			}
			if got := lines[1 : len(lines)-1]; strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if strings.Contains(log.String(), "installing") {
				t.Errorf("the build installed wheels before refusing the lock:\n%s", log.String())
			}
			if entries, _ := os.ReadDir(out); len(entries) != 0 {
				t.Errorf("--out holds %d entries after the refused build", len(entries))
			}
		})
	}
}

// containsPrefix reports whether a line of list, with dir removed, starts with prefix.
func containsPrefix(list []string, dir, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(strings.ReplaceAll(s, dir, ""), prefix) {
			return true
		}
	}
	return false
}
