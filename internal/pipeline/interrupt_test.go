package pipeline_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/venvpkg/venvpkg/internal/env"
	"github.com/venvpkg/venvpkg/internal/testutil"
)

// interruptEnv holds what every run of the interrupt test shares.
type interruptEnv struct {
	bin, proj, wheels, cache string
}

// setupInterrupt builds the venvpkg binary and a project (in-tree backend,
// one dependency wheel) that builds in well under a second.
func setupInterrupt(t *testing.T) interruptEnv {
	t.Helper()
	testutil.NeedFile(t, python, "python3.11")
	root, err := testutil.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	e := interruptEnv{
		bin:    filepath.Join(base, "venvpkg"),
		proj:   filepath.Join(base, "proj"),
		wheels: filepath.Join(base, "wheels"),
		cache:  filepath.Join(base, "cache"),
	}
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command(gobin, "build", "-o", e.bin, "./cmd/venvpkg")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, d := range []string{e.proj, e.wheels} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, text := range map[string]string{
		"pyproject.toml":   hostileProject,
		"backend.py":       inTreeBackend,
		"requirements.txt": "bad==1.0\n",
	} {
		if err := os.WriteFile(filepath.Join(e.proj, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	good := hostileWheel{members: baseMembers()}
	if err := os.WriteFile(filepath.Join(e.wheels, badWheel), good.bytes(t), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

// command returns venvpkg build for the project with TMPDIR and --out in
// fresh directories.
func (e interruptEnv) command(t *testing.T, extraEnv ...string) (cmd *exec.Cmd, tmp, out string) {
	t.Helper()
	dir := t.TempDir()
	tmp, out = filepath.Join(dir, "tmp"), filepath.Join(dir, "out")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(e.bin, "build", e.proj, "-v", "--python", python, "--no-index", "--find-links", e.wheels, "--out", out)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "VENVPKG_CACHE_DIR="+e.cache, "SOURCE_DATE_EPOCH=1700000000")
	cmd.Env = append(cmd.Env, extraEnv...)
	return cmd, tmp, out
}

var stageDone = regexp.MustCompile(`^  (.+): done in `)

// TestInterrupt stops a build with SIGINT or SIGTERM at the start of every
// stage (found from a full build's -v log, so new stages are covered) and
// in the middle of the PEP 517 backend's run. Each interrupted build must
// exit non-zero saying it was cancelled, and leave TMPDIR empty and no
// package or partial file in --out.
func TestInterrupt(t *testing.T) {
	e := setupInterrupt(t)

	cmd, tmp, out := e.command(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("full build: %v\n%s", err, stderr.String())
	}
	var stages []string
	for _, line := range strings.Split(stderr.String(), "\n") {
		if m := stageDone.FindStringSubmatch(line); m != nil {
			stages = append(stages, m[1])
		}
	}
	if len(stages) < 4 {
		t.Fatalf("found stages %q in the -v log, want the build's stages:\n%s", stages, stderr.String())
	}
	if left := treeEntries(t, tmp); len(left) != 0 {
		t.Errorf("successful build left %q in TMPDIR", left)
	}
	if debs, _ := filepath.Glob(filepath.Join(out, "*.deb")); len(debs) != 1 {
		t.Fatalf("successful build wrote %q, want one .deb", debs)
	}

	signals := []syscall.Signal{syscall.SIGINT, syscall.SIGTERM}
	for i, stage := range stages {
		sig := signals[i%len(signals)]
		t.Run(fmt.Sprintf("%s/%s", stage, sig), func(t *testing.T) {
			cmd, tmp, out := e.command(t, env.TestPauseAt.Name+"="+stage)
			interruptAt(t, cmd, sig, func(line string) bool { return line == "paused at "+stage },
				fmt.Sprintf("venvpkg: error: %s: context canceled", stage))
			checkNothingLeft(t, tmp, out)
			for _, p := range treeEntries(t, e.cache) {
				if strings.HasPrefix(filepath.Base(p), ".pending-") {
					t.Errorf("interrupted build left %s in the cache", p)
				}
			}
		})
	}

	// In the middle of a subprocess: the backend has made its own
	// temporary directory and sleeps; venvpkg must kill it and remove
	// what it made.
	for _, sig := range signals {
		t.Run("inside the build backend/"+sig.String(), func(t *testing.T) {
			mark := filepath.Join(t.TempDir(), "backend-started")
			cmd, tmp, out := e.command(t, "VENVPKG_TEST_BACKEND_STALL="+mark)
			interruptAt(t, cmd, sig, func(string) bool {
				_, err := os.Stat(mark)
				return err == nil
			}, "context canceled")
			checkNothingLeft(t, tmp, out)
		})
	}
}

// interruptAt starts cmd, sends sig once ready reports true for a line
// of its stderr (or, for a ready that ignores the line, once it turns true
// on any line or on a poll), waits for the exit and checks the status and
// that the last line of stderr contains want.
func interruptAt(t *testing.T, cmd *exec.Cmd, sig syscall.Signal, ready func(line string) bool, want string) {
	t.Helper()
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		pw.Close()
		exited <- err
	}()
	lines := make(chan string)
	var all strings.Builder
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	sent := false
	last := ""
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case line, ok := <-lines:
			if !ok {
				done = true
				break
			}
			all.WriteString(line + "\n")
			if strings.TrimSpace(line) != "" {
				last = line
			}
			if !sent && ready(line) {
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				sent = true
			}
		case <-tick.C:
			if !sent && ready("") {
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				sent = true
			}
		}
	}
	err := <-exited
	if !sent {
		t.Fatalf("the build ended (%v) before the point to interrupt it:\n%s", err, all.String())
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Errorf("interrupted build exited with %v, want a non-zero status\n%s", err, all.String())
	}
	if !strings.Contains(last, want) {
		t.Errorf("last line of stderr = %q, want it to contain %q\n%s", last, want, all.String())
	}
}

// checkNothingLeft requires TMPDIR to be empty and --out to hold nothing.
func checkNothingLeft(t *testing.T, tmp, out string) {
	t.Helper()
	if left := treeEntries(t, tmp); len(left) != 0 {
		t.Errorf("interrupted build left %q in TMPDIR", left)
	}
	if _, err := os.Stat(out); err == nil {
		if left := treeEntries(t, out); len(left) != 0 {
			t.Errorf("interrupted build left %q in --out", left)
		}
	}
}
