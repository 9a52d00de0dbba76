package pipeline_test

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"github.com/venvpkg/venvpkg/internal/logging"
	"github.com/venvpkg/venvpkg/internal/pipeline"
)

// TestVerboseNamesLibraryDependencies: -v says why each library dependency is there (the newcomer issue's "which
// shared library became which dependency and why"): for the web app, whose only ELF file is MarkupSafe's C
// extension, the C library and the versioned libc6 it became.
func TestVerboseNamesLibraryDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the web app (-short)")
	}
	needTools(t)
	var log bytes.Buffer
	_, err := pipeline.Run(context.Background(), pipeline.Options{
		ProjectDir: repoPath(t, "testdata/webapp"), Python: python, FindLinks: []string{webappWheels(t), pythonWheels},
		NoIndex: true, NoCompile: true, OutDir: t.TempDir(), CacheDir: t.TempDir(), Log: logging.NewLogger(&log, logging.LevelDebug),
	})
	if err != nil {
		t.Fatalf("pipeline.Run: %v\nlog:\n%s", err, log.String())
	}
	want := regexp.MustCompile(`(?m)^  the payload's ELF objects link the C library, which Debian's libc6 provides: depends on libc6 \(>= 2\.[0-9]+\)$`)
	if !want.Match(log.Bytes()) {
		t.Errorf("the -v log does not say why libc6 is a dependency (want %s):\n%s", want, log.String())
	}
}
