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
// examples and scripts and the venvpkg binary (Go 1.26 is not a Debian 12 package, so $VENVPKG names the binary
// "go run ./cmd/venvpkg" would build). The command runs as root, as written, from the checkout, with the chroot's
// clean PATH and HOME. It must install what it needs and leave the example's package in dist/.
func TestREADMEFirstCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end chroot test skipped in -short mode")
	}
	cmds := readmeCommands(t)
	if len(cmds) != 1 {
		t.Fatalf("the README's set-up block holds %q before the test suite's command; it keeps exactly one command that builds the example", cmds)
	}
	// Go 1.26 is not a Debian 12 package: the script runs the binary go run would build.
	cmds[0] = "VENVPKG=/usr/local/bin/venvpkg " + cmds[0]

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
	c.CopyIn(t, repoPath(t, "scripts"), "/root/venvpkg/scripts")

	script := "set -ex\ncd /root/venvpkg\n" + strings.Join(cmds, "\n") + "\n"
	hostScript, err := c.Path("/root/readme.sh")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hostScript, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	run := []string{"bash", "/root/readme.sh"}
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
