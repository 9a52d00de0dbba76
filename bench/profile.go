package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"

	"github.com/venvpkg/venvpkg/internal/logging"
	"github.com/venvpkg/venvpkg/internal/pipeline"
)

// profileBuild builds w's project in this process under the CPU profiler, writing the profile to out: the
// Go side of a build (the installer, the deb writer, the audit) for `go tool pprof`. The interpreter
// processes it starts are not in the profile; their share is the wall time the profile does not account for.
func profileBuild(ctx context.Context, cfg config, w *workload, cache, out string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	dir, err := os.MkdirTemp(cfg.Work, "profile-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	_, err = pipeline.Run(ctx, pipeline.Options{
		ProjectDir: w.Project, FindLinks: []string{w.Wheels, "/usr/share/python-wheels"}, NoIndex: true,
		Python: cfg.Python, OutDir: filepath.Join(dir, "out"), CacheDir: cache,
		Log: logging.NewLogger(os.Stderr, logging.LevelDebug),
	})
	pprof.StopCPUProfile()
	if err != nil {
		return fmt.Errorf("profiled build: %w", err)
	}
	return nil
}
