package testutil

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// recorder stands in for a testing.TB and records how the helper stopped the test. Its Skip and Fatal return
// instead of ending the goroutine, so one test can look at every outcome.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                      {}
func (r *recorder) Skip(args ...any)             { r.skipped = fmt.Sprint(args...) }
func (r *recorder) Skipf(f string, args ...any)  { r.skipped = fmt.Sprintf(f, args...) }
func (r *recorder) Fatalf(f string, args ...any) { r.failed = fmt.Sprintf(f, args...) }

func TestNeed(t *testing.T) {
	tests := []struct {
		name     string
		ci       string
		check    func(tb testing.TB)
		wantSkip bool
		wantFail bool
		wantText string
	}{
		{"present tool", "true", func(tb testing.TB) { NeedTool(tb, "sh", "dash") }, false, false, ""},
		{"present file", "true", func(tb testing.TB) { NeedFile(tb, "/", "base-files") }, false, false, ""},
		{"missing tool skips", "", func(tb testing.TB) { NeedTool(tb, "venvpkg-no-such-tool", "venvpkg-pkg") }, true, false, "apt-get install venvpkg-pkg"},
		{"missing tool fails under CI", "true", func(tb testing.TB) { NeedTool(tb, "venvpkg-no-such-tool", "venvpkg-pkg") }, false, true, "apt-get install venvpkg-pkg"},
		{"CI=1 counts", "1", func(tb testing.TB) { NeedTool(tb, "venvpkg-no-such-tool", "venvpkg-pkg") }, false, true, "venvpkg-no-such-tool"},
		{"CI=false skips", "false", func(tb testing.TB) { NeedTool(tb, "venvpkg-no-such-tool", "venvpkg-pkg") }, true, false, "venvpkg-no-such-tool"},
		{"missing file fails under CI", "true", func(tb testing.TB) { NeedFile(tb, "/nonexistent/python3.99", "python3.99") }, false, true, "apt-get install python3.99"},
		{"empty glob skips", "", func(tb testing.TB) { NeedGlob(tb, "/nonexistent/*.whl", "python3-wheel-whl") }, true, false, "python3-wheel-whl"},
		{"empty glob fails under CI", "true", func(tb testing.TB) { NeedGlob(tb, "/nonexistent/*.whl", "python3-wheel-whl") }, false, true, "no file matches /nonexistent/*.whl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(CIEnv, tt.ci)
			r := &recorder{TB: t}
			tt.check(r)
			if (r.skipped != "") != tt.wantSkip || (r.failed != "") != tt.wantFail {
				t.Fatalf("skipped=%q failed=%q, want skip %v fail %v", r.skipped, r.failed, tt.wantSkip, tt.wantFail)
			}
			if got := r.skipped + r.failed; !strings.Contains(got, tt.wantText) {
				t.Errorf("message %q does not name %q", got, tt.wantText)
			}
		})
	}
}

func TestNeedRoot(t *testing.T) {
	for _, ci := range []string{"", "true"} {
		t.Setenv(CIEnv, ci)
		r := &recorder{TB: t}
		NeedRoot(r, "debootstrap")
		switch {
		case isRoot() && (r.skipped != "" || r.failed != ""):
			t.Errorf("CI=%q as root: skipped=%q failed=%q, want neither", ci, r.skipped, r.failed)
		case !isRoot() && ci == "" && r.skipped == "":
			t.Errorf("CI=%q as a user: not skipped", ci)
		case !isRoot() && ci != "" && r.failed == "":
			t.Errorf("CI=%q as a user: not failed", ci)
		}
	}
}

func isRoot() bool { return os.Geteuid() == 0 }
