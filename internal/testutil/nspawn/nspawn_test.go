package nspawn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBoot boots the services tree twice at once, checks systemd is PID 1
// with no failed unit, that a file written in one container is neither in
// the other nor in the cached tree, and that powering off removes the
// containers' cgroups.
func TestBoot(t *testing.T) {
	if testing.Short() {
		t.Skip("booting containers skipped in -short mode")
	}
	dir := Tree(t)
	a := Boot(t, dir, Options{})
	b := Boot(t, dir, Options{Hostname: "second"})
	if got := strings.TrimSpace(a.Run(t, "cat", "/proc/1/comm")); got != "systemd" {
		t.Errorf("PID 1 of the container is %q, want systemd", got)
	}
	if got := strings.TrimSpace(b.Run(t, "hostname")); got != "second" {
		t.Errorf("hostname = %q, want second", got)
	}
	a.WriteFile(t, "/etc/venvpkg-test", []byte("a\n"), 0o600)
	if !a.Exists("/etc/venvpkg-test") || b.Exists("/etc/venvpkg-test") {
		t.Errorf("a file written in one container: in it %t, in the other %t; want true, false", a.Exists("/etc/venvpkg-test"), b.Exists("/etc/venvpkg-test"))
	}
	if _, err := os.Stat(filepath.Join(dir, "etc/venvpkg-test")); err == nil {
		t.Errorf("a file written in a container reached the cached tree %s", dir)
	}
	if out := a.Run(t, "ip", "-o", "link"); strings.Contains(out, "host0") || !strings.Contains(out, "lo:") {
		t.Errorf("the container's links are not loopback only:\n%s", out)
	}
	cgroups := append(append([]string{}, a.cgroups...), b.cgroups...)
	a.Stop(t)
	b.Stop(t)
	for _, cg := range cgroups {
		if _, err := os.Stat(cg); err == nil {
			t.Errorf("cgroup %s is left after poweroff", cg)
		}
	}
	for _, root := range cgroupRoots() {
		for _, left := range []string{"payload", "supervisor"} {
			if _, err := os.Stat(filepath.Join(root, left)); err == nil {
				t.Errorf("nspawn made %s/%s outside the container's own cgroup", root, left)
			}
		}
	}
}

// TestVeth boots a container linked to the host and reaches its loopback
// services' neighbour: the host answers pings on HostAddr.
func TestVeth(t *testing.T) {
	if testing.Short() {
		t.Skip("booting containers skipped in -short mode")
	}
	c := Boot(t, Tree(t), Options{Veth: true})
	if out := c.Run(t, "ip", "-o", "addr", "show", "host0"); !strings.Contains(out, c.Addr+"/30") {
		t.Errorf("host0 lacks %s:\n%s", c.Addr, out)
	}
}
