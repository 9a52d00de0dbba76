package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// CIEnv names the environment variable that CI services set to "true". Under it a test whose prerequisite is
// missing fails instead of skipping, so a green CI run means every check ran.
const CIEnv = "CI"

// InCI reports whether $CI says the tests run under continuous integration ("true" or "1").
func InCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv(CIEnv))
	return ci
}

// Missing stops the test because a prerequisite is absent: it skips it, or under CI fails it, naming the Debian
// package that provides what is missing. what describes the prerequisite ("rpm", "/usr/bin/python3.11 with pip").
func Missing(t testing.TB, debPackage, what string, err error) {
	t.Helper()
	msg := fmt.Sprintf("%s is missing; apt-get install %s (scripts/test-deps installs it)", what, debPackage)
	if err != nil {
		msg += ": " + err.Error()
	}
	if InCI() {
		t.Fatalf("%s=%s: %s", CIEnv, os.Getenv(CIEnv), msg)
		return
	}
	t.Skip(msg)
}

// NeedTool returns the path of command, looked up in $PATH (or as given when it holds a slash). When it is absent
// the test skips, or under CI fails, naming debPackage.
func NeedTool(t testing.TB, command, debPackage string) string {
	t.Helper()
	path, err := exec.LookPath(command)
	if err != nil {
		Missing(t, debPackage, command, err)
	}
	return path
}

// NeedFile checks that path exists (an interpreter, a directory of wheels, a loader). When it does not the test
// skips, or under CI fails, naming debPackage.
func NeedFile(t testing.TB, path, debPackage string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		Missing(t, debPackage, path, err)
	}
}

// NeedGlob returns the files matching pattern. When there are none the test skips, or under CI fails, naming
// debPackage.
func NeedGlob(t testing.TB, pattern, debPackage string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err == nil && len(m) == 0 {
		err = fmt.Errorf("no file matches %s", pattern)
	}
	if err != nil {
		Missing(t, debPackage, pattern, err)
	}
	return m
}

// NeedRoot skips the test when it does not run as root, or under CI fails it: CI must run the tests that need
// root (chroots, mounts, dnf --installroot). why says what needs it.
func NeedRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	msg := why + " needs root; run go test as root"
	if InCI() {
		t.Fatalf("%s=%s: %s", CIEnv, os.Getenv(CIEnv), msg)
		return
	}
	t.Skip(msg)
}
