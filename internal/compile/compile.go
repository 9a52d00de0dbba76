// Package compile byte-compiles Python sources of a staged tree with the
// target interpreter, writing PEP 3147 __pycache__/<name>.<cache tag>.pyc
// files whose code objects name the files' final paths and whose
// invalidation mode is PEP 552's checked hash, so the bytecode neither
// depends on file times nor names the staging root.
//
// A pool of long-lived interpreter processes runs an embedded worker
// script that reads one request per line on stdin and answers one line on
// stdout. The interpreter runs without user site-packages, without writing
// bytecode for its own imports, without the caller's PYTHON* variables and
// with a fixed hash seed, so the output is the same bytes whatever the
// staging root, the worker count or the host environment.
package compile

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/venvpkg/venvpkg/internal/interp"
)

//go:embed worker.py
var workerScript string

// Failure is a file that could not be compiled, such as one with a syntax
// error. Installers skip such files (pip swallows the errors), so they are
// warnings, not errors.
type Failure struct {
	Path    string // final path of the source
	Message string // the interpreter's message, naming the final path
}

func (f Failure) String() string {
	return f.Path + ": " + f.Message
}

// Result counts the files compiled and lists those that failed.
type Result struct {
	Compiled int
	Failed   []Failure // in the order of the files given
}

// Compile byte-compiles files, given by their final absolute paths, whose
// sources lie under the staging root root (at filepath.Join(root, file)).
// Each .pyc lands at <root><dir>/__pycache__/<name>.<cache tag>.pyc, with
// co_filename set to the final path, checked-hash invalidation and
// optimisation level 0. workers interpreter processes share the work
// (at least one, at most one per file). A file that does not compile is
// reported in Result.Failed; an error means the work could not be done.
func Compile(ctx context.Context, py *interp.Info, root string, files []string, workers int) (*Result, error) {
	return CompileProgress(ctx, py, root, files, workers, nil)
}

// CompileProgress is Compile that calls done(1) as each file is compiled (or fails to), from any goroutine; the
// build's progress display counts with it. done may be nil.
func CompileProgress(ctx context.Context, py *interp.Info, root string, files []string, workers int, done func(int)) (*Result, error) {
	if py == nil || py.Executable == "" {
		return nil, errors.New("compiling bytecode: no interpreter given")
	}
	for _, f := range files {
		if !filepath.IsAbs(f) {
			return nil, fmt.Errorf("compiling bytecode: %q is not a final absolute path", f)
		}
		if strings.ContainsAny(f, "\n\r") {
			return nil, fmt.Errorf("compiling bytecode: %q contains a line break", f)
		}
	}
	if strings.ContainsAny(root, "\n\r") {
		return nil, fmt.Errorf("compiling bytecode: staging root %q contains a line break", root)
	}
	if len(files) == 0 {
		return &Result{}, nil
	}
	workers = max(1, min(workers, len(files)))

	errs := make([]string, len(files)) // "" when compiled
	jobs := make(chan int)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(jobs)
		for i := range files {
			select {
			case jobs <- i:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for range workers {
		g.Go(func() error {
			return runWorker(gctx, py.Executable, root, files, jobs, errs, done)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	res := &Result{}
	for i, msg := range errs {
		if msg == "" {
			res.Compiled++
			continue
		}
		res.Failed = append(res.Failed, Failure{Path: files[i], Message: msg})
	}
	return res, nil
}

// runWorker starts one interpreter and feeds it the files whose indexes
// arrive on jobs until the channel closes, recording each outcome in errs.
func runWorker(ctx context.Context, python, root string, files []string, jobs <-chan int, errs []string, done func(int)) error {
	cmd := exec.CommandContext(ctx, python, "-s", "-B", "-c", workerScript)
	cmd.Env = workerEnv()
	cmd.Dir = "/"
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("compiling bytecode: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("compiling bytecode: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("compiling bytecode: starting %s: %w", python, err)
	}
	replies := bufio.NewReader(stdout)
	requests := bufio.NewWriter(stdin)

	fail := func(step string, err error) error {
		_ = stdin.Close()
		waitErr := cmd.Wait()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if waitErr != nil {
			err = fmt.Errorf("%w (%v)", err, waitErr)
		}
		return fmt.Errorf("compiling bytecode with %s: %s: %w\n%s", python, step, err, strings.TrimSpace(stderr.String()))
	}

	for i := range jobs {
		fmt.Fprintf(requests, "%s\n%s\n", filepath.Join(root, files[i]), files[i])
		if err := requests.Flush(); err != nil {
			return fail("sending "+files[i], err)
		}
		msg, err := readReply(replies)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("the interpreter exited early")
			}
			return fail("compiling "+files[i], err)
		}
		errs[i] = msg
		if done != nil {
			done(1)
		}
	}
	if err := stdin.Close(); err != nil {
		return fail("closing input", err)
	}
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("compiling bytecode with %s: %w\n%s", python, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// readReply reads one answer of the worker: "" for "ok", else the message.
func readReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\n")
	if line == "ok" {
		return "", nil
	}
	var n int
	if _, err := fmt.Sscanf(line, "error %d", &n); err != nil || n <= 0 {
		return "", fmt.Errorf("unexpected reply %q", line)
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(r, msg); err != nil {
		return "", err
	}
	return string(msg), nil
}

// workerEnv is the caller's environment without the variables that steer
// Python, plus a fixed hash seed so frozenset constants marshal in the same
// order in every process.
func workerEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PYTHON") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "PYTHONHASHSEED=0")
}
