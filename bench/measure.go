package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"time"
)

// sample is one measured run of one tool.
type sample struct {
	Wall time.Duration
	CPU  time.Duration // user + system of the process and every descendant it waited for
	RSS  int64         // peak resident set of the largest single process in the tree, bytes
	Size int64         // bytes of the package (or archive) written, 0 when none
	// Stages are venvpkg's own stage times, from its -v log ("building project: done in 1.2s").
	Stages map[string]time.Duration `json:",omitempty"`
}

// run executes argv in dir with env added and measures it through the rusage wait4 returns, which covers the
// process and every descendant it reaped. Output goes to a buffer that is returned in the error on failure.
func run(ctx context.Context, dir string, env []string, argv ...string) (sample, error) {
	s, _, err := runOutput(ctx, dir, env, argv...)
	return s, err
}

// runOutput is run, also returning what the command printed. The command runs under a fresh copy of the bench
// binary (measureChild): Linux carries a process's peak RSS across execve into the new program's rusage, and Go
// starts children from the bench's own address space, so a command started directly would report at least the
// bench's peak (over 100 MB once the wheels are generated). The child is small when it starts the command.
func runOutput(ctx context.Context, dir string, env []string, argv ...string) (sample, string, error) {
	self, err := os.Executable()
	if err != nil {
		return sample{}, "", err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return sample{}, "", err
	}
	defer r.Close()
	cmd := exec.CommandContext(ctx, self, append([]string{measureChildArg}, argv...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.ExtraFiles = []*os.File{w}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Start()
	w.Close()
	if err == nil {
		err = cmd.Wait()
	}
	wall := time.Since(start)
	if err != nil {
		text := out.String()
		if len(text) > 8000 {
			text = "…" + text[len(text)-8000:]
		}
		return sample{}, "", fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, text)
	}
	var ru childUsage
	if err := json.NewDecoder(r).Decode(&ru); err != nil {
		return sample{}, "", fmt.Errorf("%s: reading its resource usage: %w", argv[0], err)
	}
	return sample{Wall: wall, CPU: ru.CPU, RSS: ru.MaxRSS}, out.String(), nil
}

// measureChildArg makes the bench binary run a command and report its rusage (runOutput).
const measureChildArg = "-measure-child"

// childUsage is what measureChild reports on file descriptor 3.
type childUsage struct {
	CPU    time.Duration // user+system time of the command and every descendant it reaped
	MaxRSS int64         // bytes, of the largest process
}

// measureChild runs argv, passing its exit status on, and writes its rusage as JSON to file descriptor 3.
func measureChild(argv []string) {
	report := os.NewFile(3, "usage")
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(127)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		fmt.Fprintln(os.Stderr, "no rusage on this platform")
		os.Exit(127)
	}
	json.NewEncoder(report).Encode(childUsage{
		CPU:    time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		MaxRSS: ru.Maxrss * 1024,
	})
	os.Exit(cmd.ProcessState.ExitCode())
}

// stageTimes reads the "<stage>: done in <duration>" lines of a venvpkg -v log.
func stageTimes(log string) map[string]time.Duration {
	st := map[string]time.Duration{}
	for _, line := range strings.Split(log, "\n") {
		name, d, ok := strings.Cut(strings.TrimSpace(line), ": done in ")
		if !ok {
			continue
		}
		if v, err := time.ParseDuration(strings.TrimSpace(d)); err == nil {
			st[name] += v
		}
	}
	return st
}

// stats summarises the samples of one tool at one scale.
type stats struct {
	N                int
	Wall, WallMin    time.Duration
	WallMax          time.Duration
	CPU              time.Duration
	RSS              int64
	Size             int64
	Missing, Skipped string                   // why there are no samples
	Stages           map[string]time.Duration `json:",omitempty"` // median of each of venvpkg's stages
}

func summarise(ss []sample) stats {
	if len(ss) == 0 {
		return stats{}
	}
	median := func(get func(sample) int64) int64 {
		v := make([]int64, len(ss))
		for i, s := range ss {
			v[i] = get(s)
		}
		sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	st := stats{
		N:    len(ss),
		Wall: time.Duration(median(func(s sample) int64 { return int64(s.Wall) })),
		CPU:  time.Duration(median(func(s sample) int64 { return int64(s.CPU) })),
		RSS:  median(func(s sample) int64 { return s.RSS }),
		Size: median(func(s sample) int64 { return s.Size }),
	}
	for name := range ss[0].Stages {
		if st.Stages == nil {
			st.Stages = map[string]time.Duration{}
		}
		st.Stages[name] = time.Duration(median(func(s sample) int64 { return int64(s.Stages[name]) }))
	}
	st.WallMin, st.WallMax = ss[0].Wall, ss[0].Wall
	for _, s := range ss {
		st.WallMin = min(st.WallMin, s.Wall)
		st.WallMax = max(st.WallMax, s.Wall)
	}
	return st
}

func fileSize(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return fi.Size()
}
