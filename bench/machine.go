package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
)

// machine describes where the benchmark ran.
type machine struct {
	CPU        string
	Cores      int
	MemoryGB   float64
	Kernel     string
	OS         string
	Go         string
	Tools      []string // "name version" of every program compared
	LoadBefore string
	LoadAfter  string
}

func describeMachine(ctx context.Context, python string) machine {
	m := machine{Cores: runtime.NumCPU(), Go: runtime.Version(), LoadBefore: loadAverage()}
	m.CPU = firstMatch("/proc/cpuinfo", "model name")
	if kb, err := strconv.ParseFloat(strings.Fields(firstMatch("/proc/meminfo", "MemTotal") + " 0")[0], 64); err == nil {
		m.MemoryGB = kb / 1024 / 1024
	}
	if out, err := exec.CommandContext(ctx, "uname", "-r").Output(); err == nil {
		m.Kernel = strings.TrimSpace(string(out))
	}
	m.OS = strings.Trim(firstMatch("/etc/os-release", "PRETTY_NAME"), `"`)
	version := func(name string, argv ...string) {
		out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
		if err != nil {
			return
		}
		line := strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
		m.Tools = append(m.Tools, name+": "+line)
	}
	version("python", python, "--version")
	version("pip", python, "-m", "pip", "--version")
	version("dpkg-deb", "dpkg-query", "-W", "-f=${Version}", "dpkg")
	version("dh-virtualenv", "dpkg-query", "-W", "-f=${Version}", "dh-virtualenv")
	version("debhelper", "dpkg-query", "-W", "-f=${Version}", "debhelper")
	version("zstd", "zstd", "--version")
	version("tar", "tar", "--version")
	return m
}

// firstMatch returns the value of the first "key: value" or "key=value" line of a file that starts with key.
func firstMatch(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, key) {
			continue
		}
		if _, v, ok := strings.Cut(line, ":"); ok && !strings.Contains(line[:len(key)+1], "=") {
			return strings.TrimSpace(v)
		}
		if _, v, ok := strings.Cut(line, "="); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// loadAverage is the first three fields of /proc/loadavg: other work on the machine skews every number.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
