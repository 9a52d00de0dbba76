package pipeline_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/testutil/chroot"
)

// readmeCommands returns the commands of the README's first code block that come before the test suite's.
func readmeCommands(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(repoPath(t, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(data), "```sh\n")
	if ok {
		block, _, ok = strings.Cut(block, "```")
	}
	if !ok {
		t.Fatal("README.md has no ```sh block")
	}
	var cmds []string
	for _, line := range strings.Split(block, "\n") {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "scripts/test") {
			break
		}
		if line != "" && !strings.HasPrefix(line, "#") {
			cmds = append(cmds, line)
		}
	}
	return cmds
}

// TestREADMEFirstCommands runs the README's first commands as a new user would on a fresh Debian 12 machine: a
// clean bookworm chroot (debootstrap's minbase: no Python, no /usr/share/python-wheels) holding only the checkout's
// examples and the venvpkg binary (Go 1.26 is not a Debian 12 package, so "go run ./cmd/venvpkg" becomes the binary
// it builds). The commands run as root, so "sudo " is dropped; everything else runs as written, from the checkout,
// with the chroot's clean PATH and HOME, answering "y" where apt asks as the user would. They must leave the
// example's package in dist/.
func TestREADMEFirstCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end chroot test skipped in -short mode")
	}
	cmds := readmeCommands(t)
	var build bool
	for i, c := range cmds {
		c = strings.TrimPrefix(c, "sudo ")
		if strings.HasPrefix(c, "go run ./cmd/venvpkg ") {
			c = "venvpkg " + strings.TrimPrefix(c, "go run ./cmd/venvpkg ")
			build = true
		}
		cmds[i] = c
	}
	if !build {
		t.Fatalf("the README's first commands %q do not build with go run ./cmd/venvpkg", cmds)
	}

	bin := filepath.Join(t.TempDir(), "venvpkg")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, "./cmd/venvpkg")
	cmd.Dir = repoPath(t, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	c := chroot.New(t)
	for _, p := range []string{"/usr/bin/python3.11", "/usr/share/python-wheels"} {
		if _, err := c.RunErr("test", "-e", p); err == nil {
			t.Fatalf("the clean chroot already has %s; it must come from the README's commands", p)
		}
	}
	c.CopyIn(t, bin, "/usr/local/bin/venvpkg")
	c.CopyIn(t, repoPath(t, "examples"), "/root/venvpkg/examples")

	script := "set -ex\ncd /root/venvpkg\n" + strings.Join(cmds, "\n") + "\n"
	hostScript, err := c.Path("/root/readme.sh")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hostScript, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	run := []string{"sh", "-c", "yes | sh /root/readme.sh"}
	out, err := c.RunWithAptCache(run...)
	if err != nil && (strings.Contains(out, "Unable to locate package") || strings.Contains(out, "404")) {
		// A fresh machine has current package lists; the cached chroot's may be stale.
		c.Run(t, "apt-get", "update")
		out, err = c.RunWithAptCache(run...)
	}
	if err != nil {
		t.Fatalf("the README's commands failed on a fresh machine:\n%s\n%v", script, err)
	}
	c.Run(t, "test", "-f", "/root/venvpkg/dist/hello_1.0.0-1_all.deb")
	t.Logf("%s", out)
}
