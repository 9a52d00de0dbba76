package pybuild

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestKeptEnv builds the setuptools project three times with a kept
// build environment: the second build reuses it (a file left in it
// survives), the wheels equal a fresh environment's, and a replaced
// build requirement wheel makes the environment anew.
func TestKeptEnv(t *testing.T) {
	py := probe(t)
	needSetuptools(t)
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	wheels := t.TempDir()
	setuptools, _ := filepath.Glob(filepath.Join(debianWheels, "setuptools-*.whl"))
	data, err := os.ReadFile(setuptools[0])
	if err != nil {
		t.Fatal(err)
	}
	copied := filepath.Join(wheels, filepath.Base(setuptools[0]))
	if err := os.WriteFile(copied, data, 0o644); err != nil {
		t.Fatal(err)
	}
	envs := t.TempDir()
	project, err := filepath.Abs(filepath.Join("testdata", "setuptools-project"))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Dir(envs)) // a relative cache directory works too
	build := func(kept bool) []byte {
		t.Helper()
		f := &Frontend{Python: py, Find: finder(wheels, debianWheels), TempDir: t.TempDir()}
		if kept {
			f.EnvCacheDir = filepath.Base(envs)
		}
		src := filepath.Join(t.TempDir(), "setuptools-project")
		if err := os.CopyFS(src, os.DirFS(project)); err != nil {
			t.Fatal(err)
		}
		got, err := f.BuildWheel(context.Background(), src, t.TempDir())
		if err != nil {
			t.Fatalf("BuildWheel: %v", err)
		}
		data, err := os.ReadFile(got)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	ref := build(false)
	if got := build(true); !bytes.Equal(got, ref) {
		t.Error("the wheel built in a new kept environment differs from a fresh environment's")
	}
	marker := func() string {
		m, _ := filepath.Glob(filepath.Join(envs, "*", "env", "marker"))
		if len(m) > 0 {
			return m[0]
		}
		return ""
	}
	// setuptools before 70.1 asks for wheel in get_requires_for_build_wheel:
	// build_wheel then runs in a second kept environment with both.
	manifests, _ := filepath.Glob(filepath.Join(envs, "*", "manifest.json"))
	if len(manifests) != 1 && len(manifests) != 2 {
		t.Fatalf("kept environments: %v, want one or two", manifests)
	}
	for _, m := range manifests {
		if err := os.WriteFile(filepath.Join(filepath.Dir(m), "env", "marker"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := build(true); !bytes.Equal(got, ref) {
		t.Error("the wheel built in a reused environment differs from a fresh environment's")
	}
	if marker() == "" {
		t.Error("the second build made the kept environment anew; want it reused")
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(copied, later, later); err != nil {
		t.Fatal(err)
	}
	if got := build(true); !bytes.Equal(got, ref) {
		t.Error("the wheel built after replacing setuptools differs")
	}
	if marker() != "" {
		t.Error("a replaced build requirement wheel did not make the environment anew")
	}
}
