package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/venvpkg/venvpkg/internal/pipeline"
	"github.com/venvpkg/venvpkg/internal/testutil"
	"github.com/venvpkg/venvpkg/internal/testutil/chroot"
)

// greeterPort is where testdata/service-app listens (its pyproject.toml).
const greeterPort = "18741"

// rpmlintFilters are the rpmlint tags docs/lintian.md justifies for a
// virtualenv package; any other error fails TestServicePackages.
var rpmlintFilters = []string{
	"dir-or-file-in-opt",         // the virtualenv lives in /opt/venvs/<name> by design
	"non-readable",               // the fixture's configuration is 0640 root:greeter on purpose
	"no-signature",               // packages are signed when published, not here
	"no-group-tag",               // Group is obsolete on Fedora/RHEL; openSUSE's list does not apply
	"non-standard-gid",           // the configuration file belongs to the service's group
	"symlink-should-be-relative", // bin/python links to the absolute target interpreter
}

// debPackageOf names the Debian package of each command needCommands is given.
var debPackageOf = map[string]string{"rpm": "rpm", "rpmlint": "rpmlint", "lintian": "lintian", "systemd-analyze": "systemd"}

func needCommands(t *testing.T, cmds ...string) {
	t.Helper()
	for _, c := range cmds {
		testutil.NeedTool(t, c, debPackageOf[c])
	}
}

func runCmd(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// buildGreeter copies testdata/service-app to a fresh directory, lets edit
// change it, and builds it in the given formats.
func buildGreeter(t *testing.T, formats []string, edit func(dir string)) *pipeline.Result {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "greeter")
	copyTree(t, repoPath(t, "testdata/service-app"), dir)
	if edit != nil {
		edit(dir)
	}
	return runBuild(t, pipeline.Options{ProjectDir: dir, FindLinks: []string{pythonWheels}, NoIndex: true, OutDir: t.TempDir(), Formats: formats})
}

func pkgPath(t *testing.T, res *pipeline.Result, suffix string) string {
	t.Helper()
	for _, p := range res.Packages {
		if strings.HasSuffix(p, suffix) {
			return p
		}
	}
	t.Fatalf("no %s package among %v", suffix, res.Packages)
	return ""
}

// TestServicePackages builds the service fixture as .deb and .rpm from one
// staged virtualenv, twice from different directories, and reads both
// back with the formats' own tools: rpm (query, digest check, install
// into an empty root), rpmlint, lintian and systemd-analyze.
func TestServicePackages(t *testing.T) {
	needTools(t)
	needCommands(t, "rpm", "rpmlint", "lintian", "systemd-analyze")
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	res := buildGreeter(t, []string{"deb", "rpm"}, nil)
	again := buildGreeter(t, []string{"deb", "rpm"}, nil)
	deb, rpm := pkgPath(t, res, ".deb"), pkgPath(t, res, ".rpm")
	if got := filepath.Base(rpm); got != "greeter-1.0.0-1.noarch.rpm" {
		t.Errorf("rpm file = %s, want greeter-1.0.0-1.noarch.rpm", got)
	}
	for i, p := range res.Packages {
		if a, b := sha256File(t, p), sha256File(t, again.Packages[i]); a != b {
			t.Errorf("two builds of %s differ: %s vs %s", filepath.Base(p), a, b)
		}
	}

	t.Run("rpm query", func(t *testing.T) {
		info := runCmd(t, "rpm", "-qp", "--info", rpm)
		for _, re := range []string{
			`Name\s+: greeter\n`, `Version\s+: 1\.0\.0\n`, `Release\s+: 1\n`, `Architecture: noarch\n`,
			`License\s+: MIT\n`, `URL\s+: https://example\.org/greeter\n`,
			`Summary\s+: Small HTTP service packaged by venvpkg's service tests\n`,
			`Build Host\s*: reproducible\n`, `Packager\s+: venvpkg tests <greeter@example\.org>\n`,
		} {
			if !regexp.MustCompile(re).MatchString(info) {
				t.Errorf("rpm -qp --info lacks %s:\n%s", re, info)
			}
		}
		host, _ := os.Hostname()
		if host != "" && host != "reproducible" && strings.Contains(info, host) {
			t.Errorf("rpm -qp --info names the build host %q:\n%s", host, info)
		}
		list := runCmd(t, "rpm", "-qp", "--list", rpm)
		for _, want := range []string{
			"/opt/venvs/greeter/bin/greeter", "/opt/venvs/greeter/pyvenv.cfg",
			"/usr/lib/systemd/system/greeter.service", "/usr/lib/systemd/system/greeter.socket",
			"/usr/lib/sysusers.d/greeter.conf", "/etc/greeter/app.conf", "/etc/supervisord.d/greeter.ini",
			"/usr/share/doc/greeter/examples/nginx.conf",
		} {
			if !strings.Contains(list, want+"\n") {
				t.Errorf("rpm -qp --list lacks %s", want)
			}
		}
		for _, shared := range []string{"/opt", "/opt/venvs", "/usr/lib/systemd/system", "/etc", "/lib/systemd/system/greeter.service"} {
			if strings.Contains("\n"+list, "\n"+shared+"\n") {
				t.Errorf("rpm -qp --list holds %s, which the package must not own", shared)
			}
		}
		conf := runCmd(t, "rpm", "-qp", "--configfiles", rpm)
		if conf != "/etc/greeter/app.conf\n/etc/supervisord.d/greeter.ini\n" {
			t.Errorf("rpm -qp --configfiles = %q", conf)
		}
		flags := runCmd(t, "rpm", "-qp", "--qf", `[%{FILENAMES} %{FILEFLAGS:fflags} %{FILEMODES:perms} %{FILEGROUPNAME}\n]`, rpm)
		if !strings.Contains(flags, "/etc/greeter/app.conf cn -rw-r----- greeter\n") {
			t.Errorf("app.conf is not %%config(noreplace) 0640 group greeter:\n%s", flags)
		}
		scripts := runCmd(t, "rpm", "-qp", "--scripts", rpm)
		for _, want := range []string{
			"preinstall scriptlet", "useradd --system --gid greeter",
			"systemctl --no-reload preset greeter.socket greeter.service",
			"systemctl --no-reload disable --now greeter.socket greeter.service",
			"systemctl try-restart greeter.service",
		} {
			if !strings.Contains(scripts, want) {
				t.Errorf("rpm -qp --scripts lacks %q:\n%s", want, scripts)
			}
		}
		if req := runCmd(t, "rpm", "-qp", "--requires", rpm); !strings.Contains(req, "/usr/bin/python3.11\n") {
			t.Errorf("rpm -qp --requires lacks the interpreter:\n%s", req)
		}
		if out := runCmd(t, "rpm", "-K", rpm); !strings.Contains(out, "digests OK") {
			t.Errorf("rpm -K: %s", out)
		}
	})

	t.Run("rpm install into an empty root", func(t *testing.T) {
		// An empty root has no /bin/sh for the scriptlets, hence --noscripts.
		root := t.TempDir()
		runCmd(t, "rpm", "-i", "--root", root, "--nodeps", "--noscripts", rpm)
		for _, p := range []string{"opt/venvs/greeter/bin/greeter", "usr/lib/systemd/system/greeter.service", "etc/greeter/app.conf", "usr/lib/sysusers.d/greeter.conf"} {
			if _, err := os.Stat(filepath.Join(root, p)); err != nil {
				t.Errorf("after rpm -i --root: %v", err)
			}
		}
		if out := runCmd(t, "rpm", "--root", root, "-q", "greeter"); strings.TrimSpace(out) != "greeter-1.0.0-1.noarch" {
			t.Errorf("rpm -q greeter = %q", out)
		}
	})

	t.Run("rpmlint", func(t *testing.T) {
		cfg := filepath.Join(t.TempDir(), "rpmlint.toml")
		if err := os.WriteFile(cfg, []byte(fmt.Sprintf("Filters = [%s]\n", quoteAll(rpmlintFilters))), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("rpmlint", "-c", cfg, rpm).CombinedOutput()
		if bytes.Contains(out, []byte(": E: ")) || err != nil {
			t.Errorf("rpmlint reports errors (%v):\n%s", err, out)
		}
	})

	t.Run("lintian", func(t *testing.T) {
		// The fixture builds with xz: bookworm's lintian (2.116) predates
		// data.tar.zst and calls it malformed-deb-archive (docs/lintian.md).
		out, _ := exec.Command("lintian", "--tag-display-limit", "0", deb).CombinedOutput()
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "E: ") {
				t.Errorf("lintian: %s", l)
			}
		}
		if t.Failed() {
			t.Logf("lintian output:\n%s", out)
		}
	})

	t.Run("deb control", func(t *testing.T) {
		dir := t.TempDir()
		runCmd(t, "dpkg-deb", "-e", deb, dir)
		conf, err := os.ReadFile(filepath.Join(dir, "conffiles"))
		if err != nil || string(conf) != "/etc/greeter/app.conf\n/etc/supervisor/conf.d/greeter.conf\n" {
			t.Errorf("conffiles = %q (%v)", conf, err)
		}
		for _, s := range []string{"preinst", "postinst", "prerm", "postrm"} {
			if _, err := os.Stat(filepath.Join(dir, s)); err != nil {
				t.Errorf("the .deb has no %s: %v", s, err)
			}
		}
		listing := runCmd(t, "dpkg-deb", "-c", deb)
		if !regexp.MustCompile(`-rw-r----- root/greeter\s+\d+ \S+ \S+ \./etc/greeter/app\.conf\n`).MatchString(listing) {
			t.Errorf("app.conf is not 0640 root:greeter in the .deb:\n%s", listing)
		}
	})

	t.Run("systemd-analyze verify", func(t *testing.T) {
		root := t.TempDir()
		runCmd(t, "dpkg-deb", "-x", deb, root)
		// The units hang off systemd's own targets: give the root a copy.
		runCmd(t, "cp", "-a", "/lib/systemd/system/.", filepath.Join(root, "lib/systemd/system"))
		units := []string{filepath.Join(root, "lib/systemd/system/greeter.service"), filepath.Join(root, "lib/systemd/system/greeter.socket")}
		out, err := exec.Command("systemd-analyze", append([]string{"verify", "--man=no", "--root=" + root}, units...)...).CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) != 0 {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	})
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// greeterV2 turns the fixture into version 2.0.0: legacy.py is gone and
// added.py is new.
func greeterV2(t *testing.T) func(string) {
	return func(dir string) {
		py := filepath.Join(dir, "pyproject.toml")
		data, err := os.ReadFile(py)
		if err != nil {
			t.Fatal(err)
		}
		data = bytes.Replace(data, []byte(`version = "1.0.0"`), []byte(`version = "2.0.0"`), 1)
		if err := os.WriteFile(py, data, 0o644); err != nil {
			t.Fatal(err)
		}
		pkgDir := filepath.Join(dir, "src/greeter")
		if err := os.Remove(filepath.Join(pkgDir, "legacy.py")); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(pkgDir, "added.py"), []byte("ADDED = True\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestServiceLifecycleChroot installs the service package into a clean
// Debian chroot (systemd is not PID 1 there) and walks it through install,
// a conffile edit, upgrade, downgrade, supervisord, remove and purge.
func TestServiceLifecycleChroot(t *testing.T) {
	if testing.Short() {
		t.Skip("chroot test skipped in -short mode")
	}
	needTools(t)
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	v1 := pkgPath(t, buildGreeter(t, []string{"deb"}, nil), ".deb")
	v2 := pkgPath(t, buildGreeter(t, []string{"deb"}, greeterV2(t)), ".deb")
	c := chroot.New(t)
	site := "/opt/venvs/greeter/lib/python3.11/site-packages/greeter"
	exists := func(p string) bool {
		hp, err := c.Path(p)
		if err != nil {
			t.Fatal(err)
		}
		_, err = os.Lstat(hp)
		return err == nil
	}
	expect := func(when string, paths map[string]bool) {
		t.Helper()
		for p, want := range paths {
			if got := exists(p); got != want {
				t.Errorf("%s: %s exists = %t, want %t", when, p, got, want)
			}
		}
	}
	conffile, err := c.Path("/etc/greeter/app.conf")
	if err != nil {
		t.Fatal(err)
	}
	version := func() string {
		return strings.TrimSpace(c.Run(t, "dpkg-query", "-W", "-f=${Version}", "greeter"))
	}

	// Install v1: the user, units, conffile and enablement are in place;
	// service actions are skipped without error (no systemd running).
	c.InstallDebs(t, v1)
	c.Run(t, "getent", "passwd", "greeter")
	expect("after installing v1", map[string]bool{
		"/lib/systemd/system/greeter.service": true, "/lib/systemd/system/greeter.socket": true,
		"/usr/lib/sysusers.d/greeter.conf": true, "/etc/greeter/app.conf": true,
		"/etc/supervisor/conf.d/greeter.conf":                         true,
		"/etc/systemd/system/multi-user.target.wants/greeter.service": true,
		"/etc/systemd/system/sockets.target.wants/greeter.socket":     true,
		"/var/lib/greeter": true, site + "/legacy.py": true, site + "/added.py": false,
	})
	if got := strings.TrimSpace(c.Run(t, "stat", "-c", "%a %U %G", "/etc/greeter/app.conf")); got != "640 root greeter" {
		t.Errorf("app.conf is %q, want 640 root greeter", got)
	}
	if got := strings.TrimSpace(c.Run(t, "stat", "-c", "%U", "/var/lib/greeter")); got != "greeter" {
		t.Errorf("/var/lib/greeter belongs to %q, want greeter", got)
	}
	if got := c.Run(t, "dpkg-query", "-W", "-f=${Conffiles}", "greeter"); !strings.Contains(got, "/etc/greeter/app.conf ") {
		t.Errorf("dpkg does not know app.conf as a conffile: %q", got)
	}

	// The administrator edits the conffile; upgrade to v2 keeps the edit.
	edited := "greeting = hello from the administrator\n"
	if err := os.WriteFile(conffile, []byte(edited), 0o640); err != nil {
		t.Fatal(err)
	}
	c.InstallDebs(t, v2)
	if v := version(); v != "2.0.0-1" {
		t.Errorf("after the upgrade dpkg has greeter %s, want 2.0.0-1", v)
	}
	expect("after upgrading to v2", map[string]bool{
		site + "/legacy.py": false, site + "/__pycache__/legacy.cpython-311.pyc": false, site + "/added.py": true,
		"/opt/venvs/greeter/lib/python3.11/site-packages/greeter-2.0.0.dist-info": true,
		"/opt/venvs/greeter/lib/python3.11/site-packages/greeter-1.0.0.dist-info": false,
	})
	if data, _ := os.ReadFile(conffile); string(data) != edited {
		t.Errorf("the upgrade replaced the edited conffile:\n%s", data)
	}

	// Downgrade to v1 with dpkg (apt refuses downgrades under -y).
	c.CopyIn(t, v1, "/tmp/greeter_v1.deb")
	c.Run(t, "dpkg", "-i", "/tmp/greeter_v1.deb")
	if v := version(); v != "1.0.0-1" {
		t.Errorf("after the downgrade dpkg has greeter %s, want 1.0.0-1", v)
	}
	expect("after downgrading to v1", map[string]bool{site + "/legacy.py": true, site + "/added.py": false})
	if data, _ := os.ReadFile(conffile); string(data) != edited {
		t.Errorf("the downgrade replaced the edited conffile:\n%s", data)
	}

	supervisorEndToEnd(t, c)

	// Bytecode written at run time, which the package does not ship.
	c.Run(t, "/opt/venvs/greeter/bin/python", "-O", "-c", "import greeter.server")
	expect("after running python -O", map[string]bool{site + "/__pycache__/server.cpython-311.opt-1.pyc": true})

	out := c.Run(t, "dpkg", "-r", "greeter")
	if strings.Contains(out, "not empty") || strings.Contains(out, "warning") {
		t.Errorf("dpkg -r warned:\n%s", out)
	}
	if left := c.Files(t, "/opt/venvs/greeter"); len(left) != 0 {
		t.Errorf("after dpkg -r, left under the prefix: %v", left)
	}
	expect("after removing", map[string]bool{"/etc/greeter/app.conf": true, "/lib/systemd/system/greeter.service": false})

	c.Run(t, "dpkg", "-P", "greeter")
	expect("after purging", map[string]bool{
		"/opt/venvs/greeter": false, "/etc/greeter": false, "/var/lib/greeter": false, "/var/log/greeter": false,
		"/etc/supervisor/conf.d/greeter.conf":                         false,
		"/etc/systemd/system/multi-user.target.wants/greeter.service": false,
		"/etc/systemd/system/sockets.target.wants/greeter.socket":     false,
	})
	c.Run(t, "getent", "passwd", "greeter") // users stay, as Debian does
}

// supervisorEndToEnd runs Debian's supervisord in the chroot with the
// packaged program file and a temporary main configuration: the service
// answers on loopback with the environment file applied, comes back after
// being killed, and stops cleanly.
func supervisorEndToEnd(t *testing.T, c *chroot.Chroot) {
	t.Helper()
	url := "http://127.0.0.1:" + greeterPort + "/"
	if body, err := get(url); err == nil {
		t.Fatalf("something already answers on %s, so the test cannot tell the service apart:\n%s", url, body)
	}
	if _, err := c.RunErr("apt-get", "install", "-y", "--no-install-recommends", "supervisor"); err != nil {
		c.Run(t, "apt-get", "update")
		c.Run(t, "apt-get", "install", "-y", "--no-install-recommends", "supervisor")
	}
	files := map[string]string{
		"/etc/default/greeter": "GREETER_MESSAGE=from-the-environment-file\n",
		"/tmp/supervisord.conf": `[unix_http_server]
file=/tmp/supervisor.sock

[supervisord]
nodaemon=true
logfile=/tmp/supervisord.log
pidfile=/tmp/supervisord.pid
childlogdir=/tmp

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix:///tmp/supervisor.sock

[include]
files = /etc/supervisor/conf.d/greeter.conf
`,
	}
	for p, body := range files {
		hp, err := c.Path(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(hp, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctl := func(args ...string) string {
		return c.Run(t, append([]string{"supervisorctl", "-c", "/tmp/supervisord.conf"}, args...)...)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var log bytes.Buffer
	cmd := exec.CommandContext(ctx, "chroot", c.Dir, "supervisord", "-c", "/tmp/supervisord.conf")
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting supervisord: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			_, _ = c.RunErr("supervisorctl", "-c", "/tmp/supervisord.conf", "shutdown")
			select {
			case <-exited:
			case <-time.After(30 * time.Second):
				cancel()
				<-exited
			}
		}
		if t.Failed() {
			t.Logf("supervisord output:\n%s", log.String())
		}
	}()

	first := waitAnswer(t, url, "", 30*time.Second)
	for _, want := range []string{"hello from the administrator\n", "message from-the-environment-file\n", "greeter 1.0.0 pid "} {
		if !strings.Contains(first.body, want) {
			t.Errorf("the service answered %q, want it to contain %q", first.body, want)
		}
	}
	uid := strings.TrimSpace(c.Run(t, "id", "-u", "greeter"))
	status, err := os.ReadFile("/proc/" + first.pid + "/status")
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(?m)^Uid:\s+(\d+)`).FindSubmatch(status); m == nil || string(m[1]) != uid {
		t.Errorf("the service does not run as greeter (uid %s):\n%s", uid, status)
	}
	pid, err := strconv.Atoi(first.pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("killing the service (pid %s): %v", first.pid, err)
	}
	// supervisord restarts it; the issue allows 10 s.
	second := waitAnswer(t, url, first.pid, 10*time.Second)
	t.Logf("the service came back as pid %s after pid %s was killed", second.pid, first.pid)

	if out := ctl("stop", "greeter"); !strings.Contains(out, "stopped") {
		t.Errorf("supervisorctl stop greeter: %s", out)
	}
	if body, err := get(url); err == nil {
		t.Errorf("the service still answers after supervisorctl stop:\n%s", body)
	}
	ctl("shutdown")
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Errorf("supervisord exited with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("supervisord did not exit after shutdown")
	}
}

type answer struct{ body, pid string }

var pidLine = regexp.MustCompile(`greeter \S+ pid (\d+)`)

// waitAnswer polls url until the service answers from a process other
// than notPid, failing the test after limit.
func waitAnswer(t *testing.T, url, notPid string, limit time.Duration) answer {
	t.Helper()
	deadline := time.Now().Add(limit)
	var last string
	for time.Now().Before(deadline) {
		body, err := get(url)
		if err == nil {
			if m := pidLine.FindStringSubmatch(body); m != nil && m[1] != notPid {
				return answer{body: body, pid: m[1]}
			}
			last = body
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not answer from a new process within %s; last: %s", url, limit, last)
	return answer{}
}

func get(url string) (string, error) {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", url, resp.Status)
	}
	return string(body), nil
}
