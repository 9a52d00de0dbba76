package pipeline_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/index/indextest"
	"github.com/venvpkg/venvpkg/internal/logging"
	"github.com/venvpkg/venvpkg/internal/pipeline"
	"github.com/venvpkg/venvpkg/internal/testutil"
)

// TestConfigErrorsBeforeAnyWork gives the build one configuration mistake at a time. Each must be reported in the
// first stage: the package index (a test server counting requests) sees no request, the interpreter (a wrapper that
// leaves a mark when run) is never started, and the cache stays empty. The same project without a mistake does all
// three, so the test would notice a check that comes too late.
func TestConfigErrorsBeforeAnyWork(t *testing.T) {
	testutil.NeedFile(t, python, "python3.11")
	testutil.NeedFile(t, pythonWheels, "python3-pip-whl")
	testutil.NeedTool(t, "dpkg-deb", "dpkg")
	srv := indextest.New(t, pythonWheels)

	const good = `[project]
name = "app"
version = "1.0"
dependencies = ["wheel"]
requires-python = ">=3.8"

[build-system]
requires = []
build-backend = "backend"
backend-path = ["."]

[tool.venvpkg]
maintainer = "Test <test@example.org>"
`
	tests := []struct {
		name    string
		project func(string) string            // edits pyproject.toml
		opts    func(*pipeline.Options)        // edits the options
		want    string                         // in the error
		setup   func(t *testing.T, dir string) // prepares the directory
	}{
		{name: "no mistake"},
		{name: "no maintainer", project: func(s string) string { return strings.Replace(s, `maintainer = "Test <test@example.org>"`, "", 1) },
			want: "no maintainer"},
		{name: "invalid version", project: func(s string) string { return strings.Replace(s, `version = "1.0"`, `version = "1.0-final-x"`, 1) },
			want: `[project] version: invalid version "1.0-final-x"`},
		{name: "invalid requires-python", project: func(s string) string { return strings.Replace(s, `">=3.8"`, `">=3.8,,"`, 1) },
			want: "[project] requires-python"},
		{name: "invalid dependency", project: func(s string) string { return strings.Replace(s, `["wheel"]`, `["wheel>>1"]`, 1) },
			want: "[project] dependencies"},
		{name: "depends not in Debian syntax", project: func(s string) string { return s + "depends = [\"libpq5 >= 15\"]\n" },
			want: `[tool.venvpkg] depends: "libpq5 >= 15" is not a Debian relation`},
		{name: "service without command", project: func(s string) string { return s + "\n[tool.venvpkg.services.web]\nuser = \"app\"\n" },
			want: "[tool.venvpkg.services"},
		{name: "unknown format", opts: func(o *pipeline.Options) { o.Formats = []string{"apk"} }, want: "apk"},
		{name: "signing key missing", opts: func(o *pipeline.Options) { o.Formats = []string{"rpm"}; o.SignKey = "/nonexistent/key.asc" },
			want: "loading the RPM signing key"},
		{name: "lock file missing", opts: func(o *pipeline.Options) { o.Lock = "/nonexistent/requirements.txt" }, want: "the lock file"},
		{name: "index URL not http", opts: func(o *pipeline.Options) { o.IndexURL = "ftp://example.org/simple/" }, want: "index URL"},
		{name: "find-links missing", opts: func(o *pipeline.Options) { o.FindLinks = []string{"/nonexistent/wheels"} }, want: "--find-links"},
		{name: "output is a file", opts: func(o *pipeline.Options) { o.OutDir = filepath.Join(o.ProjectDir, "requirements.txt", "dist") },
			want: "is not a directory"},
		{name: "vulnerability database missing", opts: func(o *pipeline.Options) { o.VulnDB = "/nonexistent/osv" }, want: "--vuln-db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proj, cache, out := t.TempDir(), t.TempDir(), filepath.Join(t.TempDir(), "out")
			mark := filepath.Join(t.TempDir(), "python-ran")
			wrapper := filepath.Join(t.TempDir(), "python3.11")
			script := "#!/bin/sh\ntouch " + mark + "\nexec " + python + " \"$@\"\n"
			pyproject := good
			if tt.project != nil {
				pyproject = tt.project(good)
			}
			for name, text := range map[string]string{
				"pyproject.toml": pyproject, "backend.py": inTreeBackend, "requires-dist.txt": "wheel\n",
				"requirements.txt": "wheel==0.38.4\n",
			} {
				if err := os.WriteFile(filepath.Join(proj, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			o := pipeline.Options{ProjectDir: proj, Python: wrapper, IndexURL: srv.IndexURL(), OutDir: out, CacheDir: cache, NoCompile: true}
			if tt.opts != nil {
				tt.opts(&o)
			}
			var log bytes.Buffer
			o.Log = logging.NewLogger(&log, logging.LevelDebug)
			before := srv.Requests()
			_, err := pipeline.Run(context.Background(), o)
			requests := srv.Requests() - before
			_, ranErr := os.Stat(mark)
			cached, _ := os.ReadDir(cache)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("build: %v\nlog:\n%s", err, log.String())
				}
				if requests == 0 || ranErr != nil || len(cached) == 0 {
					t.Fatalf("a good build made %d requests, ran the interpreter: %v, cached %d entries; the test cannot tell early from late", requests, ranErr == nil, len(cached))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("build error = %v, want one containing %q\nlog:\n%s", err, tt.want, log.String())
			}
			if requests != 0 {
				t.Errorf("the index received %d requests before the configuration error", requests)
			}
			if ranErr == nil {
				t.Errorf("the interpreter was started before the configuration error")
			}
			if len(cached) != 0 {
				t.Errorf("the cache holds %d entries after the configuration error", len(cached))
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("--out %s exists after the configuration error", out)
			}
		})
	}
}
