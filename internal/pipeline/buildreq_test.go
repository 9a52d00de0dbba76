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

// setuptoolsSdist is an sdist of a setuptools project with one module whose
// own build needs buildRequires.
func setuptoolsSdist(t *testing.T, dir, name, module, code string, buildRequires ...string) {
	t.Helper()
	reqs := `"setuptools>=61"`
	for _, r := range buildRequires {
		reqs += `, "` + r + `"`
	}
	tarGz(t, filepath.Join(dir, name+"-0.1.tar.gz"), name+"-0.1", map[string]string{
		"pyproject.toml": "[build-system]\nrequires = [" + reqs + "]\nbuild-backend = \"setuptools.build_meta\"\n\n[project]\nname = \"" + name +
			"\"\nversion = \"0.1\"\n\n[tool.setuptools]\npy-modules = [\"" + module + "\"]\n",
		module + ".py": code,
		"PKG-INFO":     "Metadata-Version: 2.1\nName: " + name + "\nVersion: 0.1\n",
	})
}

// TestBuildRequirementsFromSdists: the project's build backend exists
// only as an sdist, whose own build needs another sdist; venvpkg builds
// both (innermost first), caches them, and a second build reuses them. A
// cycle of build requirements is an error naming the chain.
func TestBuildRequirementsFromSdists(t *testing.T) {
	needTools(t)
	sdists := t.TempDir()
	// mybackend re-exports setuptools' backend; helperlib is needed only to
	// build mybackend.
	setuptoolsSdist(t, sdists, "mybackend", "mybackend", "from setuptools.build_meta import *\n", "helperlib")
	setuptoolsSdist(t, sdists, "helperlib", "helperlib", "")
	setuptoolsSdist(t, sdists, "cyc-a", "cyc_a", "", "cyc-b")
	setuptoolsSdist(t, sdists, "cyc-b", "cyc_b", "", "cyc-a")

	proj := filepath.Join(t.TempDir(), "app")
	testutil.WriteTree(t, proj, map[string]string{
		"pyproject.toml": "[build-system]\nrequires = [\"setuptools>=61\", \"mybackend\"]\nbuild-backend = \"mybackend\"\n\n[project]\nname = \"app\"\nversion = \"1.0\"\n" +
			"authors = [{name = \"t\", email = \"t@example.invalid\"}]\n\n[tool.setuptools]\npy-modules = [\"app\"]\n",
		"app.py": "",
	})
	cache := t.TempDir()
	var log bytes.Buffer
	opts := pipeline.Options{ProjectDir: proj, Python: python, FindLinks: []string{sdists, pythonWheels}, NoIndex: true,
		OutDir: t.TempDir(), CacheDir: cache, NoCompile: true, Log: logging.NewLogger(&log, logging.LevelDebug)}
	if _, err := pipeline.Run(context.Background(), opts); err != nil {
		t.Fatalf("build: %v\n%s", err, log.String())
	}
	inner, outer := strings.Index(log.String(), "building helperlib-0.1.tar.gz from its sdist"), strings.Index(log.String(), "building mybackend-0.1.tar.gz from its sdist")
	if inner < 0 || outer < 0 || outer > inner {
		t.Errorf("the log does not show mybackend's sdist build, then helperlib's within it:\n%s", log.String())
	}
	for _, name := range []string{"mybackend", "helperlib"} {
		if built, _ := filepath.Glob(filepath.Join(cache, "built", "*", "*", name+"-0.1-*.whl")); len(built) != 1 {
			t.Errorf("built-wheel cache holds %v, want one %s wheel", built, name)
		}
	}

	log.Reset()
	opts.OutDir = t.TempDir()
	if _, err := pipeline.Run(context.Background(), opts); err != nil {
		t.Fatalf("second build: %v\n%s", err, log.String())
	}
	if strings.Contains(log.String(), "from its sdist") || !strings.Contains(log.String(), "mybackend-0.1.tar.gz: using the wheel built earlier") {
		t.Errorf("the second build did not reuse the wheels built from sdists:\n%s", log.String())
	}

	testutil.WriteTree(t, proj, map[string]string{
		"pyproject.toml": "[build-system]\nrequires = [\"setuptools>=61\", \"cyc-a\"]\nbuild-backend = \"setuptools.build_meta\"\n\n[project]\nname = \"app\"\nversion = \"1.0\"\n" +
			"authors = [{name = \"t\", email = \"t@example.invalid\"}]\n\n[tool.setuptools]\npy-modules = [\"app\"]\n",
	})
	log.Reset()
	opts.OutDir = t.TempDir()
	_, err := pipeline.Run(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "build requirement cycle: cyc-a → cyc-b → cyc-a;") {
		t.Errorf("build with a build requirement cycle: error %v, want one naming cyc-a → cyc-b → cyc-a", err)
	}
	if entries, _ := os.ReadDir(opts.OutDir); len(entries) != 0 {
		t.Errorf("the failed build left %d entries in --out", len(entries))
	}
}
