// Package testutil holds helpers shared by venvpkg's tests: where the test cache lives, how to find the module
// root, and how a test stops when a tool it needs is missing (NeedTool, NeedFile, NeedGlob, NeedRoot: a skip, but a
// failure naming the Debian package under CI=true). Its subpackages build the fixtures end-to-end tests need: wheels
// repacked from Debian's python3-* packages (debwheel), throwaway virtualenvs (pyvenv), clean Debian chroots
// (chroot) and containers booted with systemd as PID 1 (nspawn).
package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// CacheEnv names the environment variable that overrides where tests cache downloads and built fixtures.
const CacheEnv = "VENVPKG_TEST_CACHE"

// CacheDir returns $VENVPKG_TEST_CACHE when set, else <module root>/.cache/test. When neither the variable is set
// nor a module root can be found from the working directory, it falls back to <os temp dir>/venvpkg-test-cache.
// The directory is not created.
func CacheDir() string {
	if d := os.Getenv(CacheEnv); d != "" {
		return d
	}
	root, err := ModuleRoot()
	if err != nil {
		return filepath.Join(os.TempDir(), "venvpkg-test-cache")
	}
	return filepath.Join(root, ".cache", "test")
}

// ModuleRoot walks up from the working directory to the first directory holding a go.mod file.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("finding the module root: no go.mod in the working directory or above it; run from inside the venvpkg checkout or set %s", CacheEnv)
		}
		dir = parent
	}
}

// WriteTree writes files (slash-separated path relative to dir → content) under dir, making directories as needed.
func WriteTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
