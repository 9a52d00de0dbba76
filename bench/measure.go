package main

import (
	"bytes"
	"context"
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

// runOutput is run, also returning what the command printed.
func runOutput(ctx context.Context, dir string, env []string, argv ...string) (sample, string, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		text := out.String()
		if len(text) > 8000 {
			text = "…" + text[len(text)-8000:]
		}
		return sample{}, "", fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, text)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return sample{}, "", fmt.Errorf("%s: no rusage on this platform", argv[0])
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return sample{Wall: wall, CPU: cpu, RSS: ru.Maxrss * 1024}, out.String(), nil
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
