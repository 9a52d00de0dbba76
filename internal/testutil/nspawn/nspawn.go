package nspawn

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/venvpkg/venvpkg/internal/testutil"
)

// env is the whole environment of every command run inside a container.
var env = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root",
	"LC_ALL=C",
	"DEBIAN_FRONTEND=noninteractive",
	"DEBCONF_NONINTERACTIVE_SEEN=true",
}

// Options change how a container is booted.
type Options struct {
	// Hostname of the container; default: its machine name.
	Hostname string
	// Veth gives the container a virtual Ethernet link to the host instead of loopback only: the host side has
	// HostAddr, the container's host0 has Addr (both in one /30), so the host reaches the container and the
	// container reaches servers the host runs on HostAddr.
	Veth bool
}

// Container is one booted container: systemd is its PID 1.
type Container struct {
	// Name is the machine name given to systemd-nspawn.
	Name string
	// Leader is the host PID of the container's PID 1.
	Leader int
	// Addr and HostAddr are the container's and the host's address on the veth link (Options.Veth).
	Addr, HostAddr string

	cmd     *exec.Cmd
	exited  chan error
	cgroups []string
	mu      sync.Mutex
	console bytes.Buffer
	stopped bool
}

// cgroupRoots are the hierarchies nspawn puts the container in: the unified one (cgroup v2, alone or in the
// hybrid layout) and systemd's named v1 hierarchy in the hybrid layout.
func cgroupRoots() []string {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return []string{"/sys/fs/cgroup"}
	}
	var roots []string
	for _, r := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd"} {
		if _, err := os.Stat(filepath.Join(r, "cgroup.procs")); err == nil {
			roots = append(roots, r)
		}
	}
	return roots
}

// Boot starts a container on the tree directory dir (see Tree) and waits until its systemd has finished booting;
// the container is powered off when the test ends. The boot must leave no failed unit.
func Boot(t testing.TB, dir string, opts Options) *Container {
	t.Helper()
	testutil.NeedRoot(t, "booting a container")
	testutil.NeedTool(t, "systemd-nspawn", "systemd-container")
	testutil.NeedTool(t, "nsenter", "util-linux")
	testutil.NeedTool(t, "ip", "iproute2")
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatal(err)
	}
	c := &Container{Name: "vp" + hex.EncodeToString(rnd[:]), exited: make(chan error, 1)}
	for _, root := range cgroupRoots() {
		cg := filepath.Join(root, "venvpkg-nspawn-"+c.Name)
		if err := os.Mkdir(cg, 0o755); err != nil {
			t.Fatalf("creating the container's cgroup: %v", err)
		}
		c.cgroups = append(c.cgroups, cg)
	}
	t.Cleanup(func() {
		if err := c.stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("console of container %s:\n%s", c.Name, c.Console())
		}
	})
	args := []string{
		"-D", dir, "--boot", "--register=no", "--keep-unit", "--volatile=overlay", "--console=read-only",
		"--machine=" + c.Name, "--hostname=" + cmp.Or(opts.Hostname, c.Name),
	}
	if opts.Veth {
		args = append(args, "--network-veth")
	} else {
		args = append(args, "--private-network")
	}
	// The shell joins the container's own cgroups, then becomes systemd-nspawn; nspawn makes its payload/
	// and supervisor/ cgroups below them.
	script := `for cg in $VENVPKG_CGROUPS; do echo $$ >"$cg/cgroup.procs" || exit 1; done; exec systemd-nspawn "$@"`
	c.cmd = exec.Command("sh", append([]string{"-c", script, "sh"}, args...)...)
	c.cmd.Env = append(os.Environ(), "VENVPKG_CGROUPS="+strings.Join(c.cgroups, " "), "SYSTEMD_LOG_COLOR=0")
	c.cmd.Stdout = c
	c.cmd.Stderr = c
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting systemd-nspawn: %v", err)
	}
	go func() { c.exited <- c.cmd.Wait() }()
	if err := c.waitBoot(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if opts.Veth {
		if err := c.linkUp(); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// Write collects the console output.
func (c *Container) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.console.Write(p)
}

// Console returns what the container printed on its console so far.
func (c *Container) Console() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.console.String()
}

// waitBoot finds the container's PID 1 among nspawn's children and waits for systemd to report the boot done.
func (c *Container) waitBoot(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for c.Leader == 0 {
		select {
		case err := <-c.exited:
			c.exited <- err
			return fmt.Errorf("systemd-nspawn exited during boot (%v):\n%s", err, c.Console())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("container %s: no systemd among systemd-nspawn's children after %s:\n%s", c.Name, limit, c.Console())
		}
		c.Leader = leader(c.cmd.Process.Pid)
		if c.Leader == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	var out string
	var err error
	for time.Now().Before(deadline) {
		out, err = c.RunErr("systemctl", "is-system-running", "--wait")
		state := strings.TrimSpace(out)
		if state == "running" {
			return nil
		}
		if state == "degraded" {
			failed, _ := c.RunErr("systemctl", "--failed", "--no-legend", "--plain")
			return fmt.Errorf("container %s booted degraded; failed units:\n%s", c.Name, failed)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("container %s did not finish booting within %s: %v\n%s\nconsole:\n%s", c.Name, limit, err, out, c.Console())
}

// leader returns the child of nspawn (pid) that runs systemd, or 0.
func leader(pid int) int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, field := range strings.Fields(string(data)) {
			child, err := strconv.Atoi(field)
			if err != nil {
				continue
			}
			if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", child)); err == nil && strings.TrimSpace(string(comm)) == "systemd" {
				return child
			}
		}
	}
	return 0
}

// linkUp gives both ends of the veth link addresses of a random /30 in 10.231.0.0/16 and brings them up.
func (c *Container) linkUp() error {
	// A /30 no interface of the host has an address in (another container's link, say).
	for try := 0; ; try++ {
		var rnd [2]byte
		if _, err := rand.Read(rnd[:]); err != nil {
			return err
		}
		_, subnet, err := net.ParseCIDR(fmt.Sprintf("10.231.%d.%d/30", rnd[0], rnd[1]&^3))
		if err != nil {
			return err
		}
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			return fmt.Errorf("listing the host's addresses: %w", err)
		}
		taken := false
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && subnet.Contains(ipn.IP) {
				taken = true
			}
		}
		if taken && try < 20 {
			continue
		}
		ip := subnet.IP.To4()
		c.HostAddr = net.IPv4(ip[0], ip[1], ip[2], ip[3]+1).String()
		c.Addr = net.IPv4(ip[0], ip[1], ip[2], ip[3]+2).String()
		break
	}
	hostIf := "ve-" + c.Name
	for _, args := range [][]string{
		{"addr", "add", c.HostAddr + "/30", "dev", hostIf},
		{"link", "set", hostIf, "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	for _, args := range [][]string{
		{"ip", "addr", "add", c.Addr + "/30", "dev", "host0"},
		{"ip", "link", "set", "host0", "up"},
	} {
		if _, err := c.RunErr(args...); err != nil {
			return err
		}
	}
	// The link needs a moment before it carries packets.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := c.RunErr("ping", "-c1", "-W1", c.HostAddr)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("container %s cannot reach the host at %s: %w", c.Name, c.HostAddr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Run runs args inside the container and returns its combined output, failing the test with it on error.
func (c *Container) Run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := c.RunErr(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// RunErr runs args inside the container (all its namespaces, its root) with a fixed environment and returns the
// combined output; the error names the command and includes the output.
func (c *Container) RunErr(args ...string) (string, error) {
	return c.RunContext(context.Background(), args...)
}

// RunContext is RunErr with a context that can stop the command.
func (c *Container) RunContext(ctx context.Context, args ...string) (string, error) {
	if len(args) == 0 {
		return "", errors.New("running in the container: no command given")
	}
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(c.Leader), "-a", "--"}, args...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("running %q in container %s: %w\n%s", strings.Join(args, " "), c.Name, err, out)
	}
	return string(out), nil
}

// Path maps p, an absolute path inside the container, to a host path of the same file (through the leader's
// /proc/<pid>/root, so it sees the container's overlay).
func (c *Container) Path(p string) string {
	return filepath.Join(fmt.Sprintf("/proc/%d/root", c.Leader), filepath.Clean("/"+p))
}

// WriteFile writes data to the absolute container path p with mode perm, creating parent directories.
func (c *Container) WriteFile(t testing.TB, p string, data []byte, perm os.FileMode) {
	t.Helper()
	hp := c.Path(p)
	if err := os.MkdirAll(filepath.Dir(hp), 0o755); err != nil {
		t.Fatalf("container %s: %v", c.Name, err)
	}
	if err := os.WriteFile(hp, data, perm); err != nil {
		t.Fatalf("container %s: %v", c.Name, err)
	}
	if err := os.Chmod(hp, perm); err != nil {
		t.Fatalf("container %s: %v", c.Name, err)
	}
}

// CopyIn copies the host file hostPath to the absolute container path p, keeping its mode.
func (c *Container) CopyIn(t testing.TB, hostPath, p string) {
	t.Helper()
	data, err := os.ReadFile(hostPath)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(hostPath)
	if err != nil {
		t.Fatal(err)
	}
	c.WriteFile(t, p, data, info.Mode().Perm())
}

// Exists reports whether the absolute container path p exists (a dangling symlink does).
func (c *Container) Exists(p string) bool {
	_, err := os.Lstat(c.Path(p))
	return err == nil
}

// Stop powers the container off (systemctl poweroff inside), waits for systemd-nspawn to exit and removes the
// container's cgroups. Boot registers it for the end of the test; calling it earlier is allowed.
func (c *Container) Stop(t testing.TB) {
	t.Helper()
	if err := c.stop(); err != nil {
		t.Fatal(err)
	}
}

func (c *Container) stop() error {
	if c.stopped {
		return nil
	}
	c.stopped = true
	var errs []error
	if c.cmd != nil && c.cmd.Process != nil {
		if c.Leader != 0 {
			if _, err := c.RunErr("systemctl", "poweroff"); err != nil {
				errs = append(errs, err)
			}
		}
		select {
		case <-c.exited:
		case <-time.After(30 * time.Second):
			errs = append(errs, fmt.Errorf("container %s did not power off within 30s; killing it", c.Name))
			if c.Leader != 0 {
				_ = syscall.Kill(c.Leader, syscall.SIGKILL)
			}
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
	}
	for _, cg := range c.cgroups {
		if err := removeCgroup(cg); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeCgroup removes the cgroup directory cg and every cgroup below it, deepest first, waiting a little for
// exiting processes to leave them.
func removeCgroup(cg string) error {
	var dirs []string
	err := filepath.WalkDir(cg, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing cgroup %s: %w", cg, err)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		var rerr error
		for try := 0; try < 50; try++ {
			if rerr = syscall.Rmdir(dirs[i]); rerr == nil || errors.Is(rerr, os.ErrNotExist) {
				rerr = nil
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if rerr != nil {
			procs, _ := os.ReadFile(filepath.Join(dirs[i], "cgroup.procs"))
			return fmt.Errorf("removing cgroup %s: %w (processes: %s)", dirs[i], rerr, strings.Fields(string(procs)))
		}
	}
	return nil
}
