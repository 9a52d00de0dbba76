package service_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/venvpkg/venvpkg/internal/logging"
	"github.com/venvpkg/venvpkg/internal/pipeline"
	"github.com/venvpkg/venvpkg/internal/testutil"
	"github.com/venvpkg/venvpkg/internal/testutil/nspawn"
)

// The tests in this file install packages venvpkg built into containers booted with systemd as PID 1
// (internal/testutil/nspawn), where the units really start, restart and stop.

const (
	python       = "/usr/bin/python3.11"
	pythonWheels = "/usr/share/python-wheels"
)

// needSystemd skips the test in -short mode and when not root, and checks the host tools the build and the
// containers need.
func needSystemd(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("real-systemd test skipped in -short mode")
	}
	testutil.NeedRoot(t, "booting containers")
	testutil.NeedTool(t, "dpkg-deb", "dpkg")
	testutil.NeedFile(t, python, "python3.11")
	testutil.NeedGlob(t, filepath.Join(pythonWheels, "setuptools-*.whl"), "python3-setuptools-whl")
}

// copyProject copies the module's directory rel (testdata/...) to a temporary directory and returns the copy.
func copyProject(t *testing.T, rel string) string {
	t.Helper()
	root, err := testutil.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), filepath.Base(rel))
	if out, err := exec.Command("cp", "-a", filepath.Join(root, rel), dst).CombinedOutput(); err != nil {
		t.Fatalf("copying %s: %v\n%s", rel, err, out)
	}
	return dst
}

// editFile replaces old by new in the file p (old must occur), or appends new when old is empty.
func editFile(t *testing.T, p, old, new string) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if old == "" {
		data = append(data, new...)
	} else {
		if !bytes.Contains(data, []byte(old)) {
			t.Fatalf("%s lacks %q", p, old)
		}
		data = bytes.Replace(data, []byte(old), []byte(new), 1)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// buildPackages builds the project in dir in the given formats and returns the packages by suffix (".deb",
// ".rpm").
func buildPackages(t *testing.T, dir string, formats []string, findLinks ...string) map[string]string {
	t.Helper()
	var log bytes.Buffer
	res, err := pipeline.Run(context.Background(), pipeline.Options{
		ProjectDir: dir, FindLinks: append(findLinks, pythonWheels), NoIndex: true, Python: python,
		OutDir: t.TempDir(), CacheDir: t.TempDir(), Formats: formats, Log: logging.NewLogger(&log, logging.LevelDebug),
	})
	if err != nil {
		t.Fatalf("building %s: %v\n%s", dir, err, log.String())
	}
	pkgs := map[string]string{}
	for _, p := range res.Packages {
		pkgs[filepath.Ext(p)] = p
	}
	return pkgs
}

// greeterProject is testdata/service-app at version with a second service run by a second user: the two
// services need state, log and runtime directories of their own.
func greeterProject(t *testing.T, version string) string {
	t.Helper()
	dir := copyProject(t, "testdata/service-app")
	py := filepath.Join(dir, "pyproject.toml")
	editFile(t, py, `version = "1.0.0"`, `version = "`+version+`"`)
	editFile(t, py, "", `
[tool.venvpkg.services.second]
command = "greeter --bind 127.0.0.1:18742 --config /etc/greeter/app.conf"
listen = "127.0.0.1:18742"
user = "greeter-second"
group = "greeter"
`)
	return dir
}

// greeterUnits are the two services' units, sockets first.
var greeterUnits = []string{"greeter-greeter.socket", "greeter-second.socket", "greeter-greeter.service", "greeter-second.service"}

// greeterPorts maps each greeter service to its port.
var greeterPorts = map[string]string{"greeter-greeter": "18741", "greeter-second": "18742"}

var greeterPid = regexp.MustCompile(`greeter (\S+) pid (\d+)\n`)

// get requests http://127.0.0.1:<port>/ inside the container with curl and returns the body, or an error for
// anything but 200.
func get(c *nspawn.Container, port string) (string, error) {
	return c.RunErr("curl", "--silent", "--show-error", "--fail-with-body", "--max-time", "10", "http://127.0.0.1:"+port+"/")
}

// answer waits up to limit for the service on port to answer from a process other than notPid and returns the
// version and pid it reports.
func answer(t *testing.T, c *nspawn.Container, port, notPid string, limit time.Duration) (version, pid string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	var last string
	for {
		body, err := get(c, port)
		if err == nil {
			if m := greeterPid.FindStringSubmatch(body); m != nil && m[2] != notPid {
				return m[1], m[2]
			}
			last = body
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing answered on port %s from a new process within %s; last: %s", port, limit, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// unitStates returns "<ActiveState> <UnitFileState>" of each unit.
func unitStates(t *testing.T, c *nspawn.Container, units []string) map[string]string {
	t.Helper()
	states := map[string]string{}
	for _, u := range units {
		out, _ := c.RunErr("systemctl", "show", "--property=ActiveState,UnitFileState", u)
		var active, file string
		for _, l := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(l, "ActiveState="); ok {
				active = v
			} else if v, ok := strings.CutPrefix(l, "UnitFileState="); ok {
				file = v
			}
		}
		states[u] = strings.TrimSpace(active + " " + file)
	}
	return states
}

func expectStates(t *testing.T, c *nspawn.Container, when string, units []string, want string) {
	t.Helper()
	for u, got := range unitStates(t, c, units) {
		if got != want {
			t.Errorf("%s: %s is %q, want %q", when, u, got, want)
		}
	}
}

// noFailedUnits fails the test when systemd has a failed unit.
func noFailedUnits(t *testing.T, c *nspawn.Container, when string) {
	t.Helper()
	if out := c.Run(t, "systemctl", "list-units", "--failed", "--no-legend", "--plain"); strings.TrimSpace(out) != "" {
		t.Errorf("%s: failed units:\n%s", when, out)
	}
}

// bothAnswer checks that both greeter services answer with version, each several times (they count requests in
// their state directories, so a service that cannot write there fails), and returns the pid of each.
func bothAnswer(t *testing.T, c *nspawn.Container, when, version string) map[string]string {
	t.Helper()
	pids := map[string]string{}
	for unit, port := range greeterPorts {
		got, pid := answer(t, c, port, "", 20*time.Second)
		if got != version {
			t.Errorf("%s: %s answers as version %s, want %s", when, unit, got, version)
		}
		pids[unit] = pid
	}
	// Both again, after both have started: each must still write its own directories.
	for unit, port := range greeterPorts {
		body, err := get(c, port)
		if err != nil {
			t.Errorf("%s: %s no longer answers after the other service started: %v", when, unit, err)
			continue
		}
		dir := "/var/lib/greeter/" + strings.TrimPrefix(unit, "greeter-")
		if !strings.Contains(body, "state "+dir+"/requests requests ") {
			t.Errorf("%s: %s does not count requests in %s:\n%s", when, unit, dir, body)
		}
	}
	return pids
}

// leftovers lists what of the package is still in the container.
func leftovers(t *testing.T, c *nspawn.Container, pkg string) []string {
	t.Helper()
	var left []string
	for _, p := range []string{"/opt/venvs/" + pkg, "/var/lib/" + pkg, "/var/log/" + pkg, "/run/" + pkg, "/etc/" + pkg, "/usr/lib/sysusers.d/" + pkg + ".conf"} {
		if c.Exists(p) {
			left = append(left, p)
		}
	}
	find := []string{"find"}
	for _, d := range []string{"/etc/systemd/system", "/usr/lib/systemd/system", "/var/lib/systemd/deb-systemd-helper-enabled", "/var/lib/systemd/deb-systemd-helper-masked"} {
		if c.Exists(d) {
			find = append(find, d)
		}
	}
	out := c.Run(t, append(find, "-name", pkg+"*")...)
	left = append(left, strings.Fields(out)...)
	if out := c.Run(t, "systemctl", "list-units", "--all", "--no-legend", "--plain", pkg+"*"); strings.TrimSpace(out) != "" {
		left = append(left, "units: "+strings.TrimSpace(out))
	}
	return left
}

// TestLifecycleSystemd walks a .deb with two services of different users through install, a crash, upgrade,
// downgrade, remove and purge under a running systemd, then the .rpm's scriptlets as far as rpm drives them in a
// Debian container.
func TestLifecycleSystemd(t *testing.T) {
	needSystemd(t)
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	tree := nspawn.Tree(t)
	v1 := buildPackages(t, greeterProject(t, "1.0.0"), []string{"deb", "rpm"})
	v2 := buildPackages(t, greeterProject(t, "2.0.0"), []string{"deb", "rpm"})

	t.Run("deb", func(t *testing.T) {
		c := nspawn.Boot(t, tree, nspawn.Options{})
		c.CopyIn(t, v1[".deb"], "/tmp/greeter_1.deb")
		c.CopyIn(t, v2[".deb"], "/tmp/greeter_2.deb")

		c.Run(t, "apt-get", "install", "-y", "/tmp/greeter_1.deb")
		expectStates(t, c, "after installing v1", greeterUnits, "active enabled")
		pids := bothAnswer(t, c, "after installing v1", "1.0.0")
		for dir, owner := range map[string]string{"/var/lib/greeter/greeter": "greeter", "/var/lib/greeter/second": "greeter-second",
			"/var/log/greeter/second": "greeter-second", "/var/lib/greeter": "root"} {
			if got := strings.TrimSpace(c.Run(t, "stat", "-c", "%U", dir)); got != owner {
				t.Errorf("%s belongs to %s, want %s", dir, got, owner)
			}
		}

		// A crash: systemd restarts the service after RestartSec (3 s); the socket stays open meanwhile.
		main := strings.TrimSpace(c.Run(t, "systemctl", "show", "--property=MainPID", "--value", "greeter-greeter.service"))
		if main != pids["greeter-greeter"] {
			t.Errorf("the service answers from pid %s, systemd's main pid is %s", pids["greeter-greeter"], main)
		}
		c.Run(t, "kill", "-9", main)
		killed := time.Now()
		_, newPid := answer(t, c, greeterPorts["greeter-greeter"], main, 20*time.Second)
		t.Logf("greeter-greeter came back as pid %s %.1f s after pid %s was killed", newPid, time.Since(killed).Seconds(), main)
		if n := strings.TrimSpace(c.Run(t, "systemctl", "show", "--property=NRestarts", "--value", "greeter-greeter.service")); n != "1" {
			t.Errorf("NRestarts = %s after one crash, want 1", n)
		}
		expectStates(t, c, "after the crash", greeterUnits, "active enabled")

		c.Run(t, "apt-get", "install", "-y", "/tmp/greeter_2.deb")
		expectStates(t, c, "after upgrading to v2", greeterUnits, "active enabled")
		bothAnswer(t, c, "after upgrading to v2", "2.0.0")

		c.Run(t, "dpkg", "-i", "/tmp/greeter_1.deb")
		expectStates(t, c, "after downgrading to v1", greeterUnits, "active enabled")
		bothAnswer(t, c, "after downgrading to v1", "1.0.0")
		noFailedUnits(t, c, "after the downgrade")

		c.Run(t, "apt-get", "remove", "-y", "greeter")
		for _, port := range greeterPorts {
			if body, err := get(c, port); err == nil {
				t.Errorf("after removing, port %s still answers:\n%s", port, body)
			}
		}
		c.Run(t, "apt-get", "purge", "-y", "greeter")
		if left := leftovers(t, c, "greeter"); len(left) > 0 {
			t.Errorf("after purging, left: %v", left)
		}
		noFailedUnits(t, c, "after purging")
	})

	t.Run("rpm", func(t *testing.T) {
		c := nspawn.Boot(t, tree, nspawn.Options{})
		c.CopyIn(t, v1[".rpm"], "/tmp/greeter-1.rpm")
		c.CopyIn(t, v2[".rpm"], "/tmp/greeter-2.rpm")
		// Debian's rpm has no Debian packages in its database: --nodeps for python3.11.
		c.Run(t, "rpm", "-i", "--nodeps", "/tmp/greeter-1.rpm")
		// %post applies the preset policy; Debian's presets enable what they do not name.
		expectStates(t, c, "after rpm -i", greeterUnits, "inactive enabled")
		c.Run(t, "systemctl", "start", "greeter-greeter.socket", "greeter-second.socket")
		bothAnswer(t, c, "after starting the sockets", "1.0.0")

		// The old package's %postun try-restarts the services on the new files.
		c.Run(t, "rpm", "-U", "--nodeps", "/tmp/greeter-2.rpm")
		expectStates(t, c, "after rpm -U", greeterUnits, "active enabled")
		bothAnswer(t, c, "after rpm -U", "2.0.0")
		c.Run(t, "rpm", "-U", "--nodeps", "--oldpackage", "/tmp/greeter-1.rpm")
		bothAnswer(t, c, "after rpm -U --oldpackage", "1.0.0")

		c.Run(t, "rpm", "-e", "greeter")
		for _, port := range greeterPorts {
			if body, err := get(c, port); err == nil {
				t.Errorf("after rpm -e, port %s still answers:\n%s", port, body)
			}
		}
		// RPM keeps state and logs on erase (there is no purge): everything else must be gone.
		var left []string
		for _, l := range leftovers(t, c, "greeter") {
			if l != "/var/lib/greeter" && l != "/var/log/greeter" {
				left = append(left, l)
			}
		}
		if len(left) > 0 {
			t.Errorf("after rpm -e, left: %v", left)
		}
		noFailedUnits(t, c, "after rpm -e")
	})
}
