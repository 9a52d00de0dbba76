package service_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/venvpkg/venvpkg/internal/testutil"
	"github.com/venvpkg/venvpkg/internal/testutil/debwheel"
	"github.com/venvpkg/venvpkg/internal/testutil/nspawn"
)

// webWheels returns a directory with the wheels of testdata/webapp and of gunicorn, repacked from Debian's
// python3-* packages.
func webWheels(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(testutil.CacheDir(), "gunicorn-webapp-wheels")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := debwheel.Repack(context.Background(), testutil.CacheDir(), dir, append([]string{"python3-gunicorn"}, debwheel.WebAppPackages...)...); err != nil {
		t.Fatalf("repacking wheels from Debian: %v", err)
	}
	return dir
}

// webProject is testdata/webapp at version, served by gunicorn as a socket-activated service on a unix socket
// with venvpkg's default unit (only Type=notify added, which gunicorn supports). Its /version page names the
// version, the worker's pid and whether markupsafe's C extension is in use.
func webProject(t *testing.T, version string) string {
	t.Helper()
	dir := copyProject(t, "testdata/webapp")
	py := filepath.Join(dir, "pyproject.toml")
	editFile(t, py, `version = "1.0.0"`, `version = "`+version+`"`)
	editFile(t, py, `    "markupsafe>=2.1",`, `    "markupsafe>=2.1",
    "gunicorn>=20",
    "setuptools",`)
	editFile(t, py, "", `
[tool.venvpkg.services.web]
command = "gunicorn --workers 2 --graceful-timeout 20 webapp.wsgi:app"
listen = "/run/webapp/web.sock"

[tool.venvpkg.services.web.systemd]
Type = "notify"
`)
	// gunicorn 20.1 imports pkg_resources, which setuptools provides.
	editFile(t, filepath.Join(dir, "requirements.txt"), "", "gunicorn==20.1.0\n    # via webapp (pyproject.toml)\nsetuptools==66.1.1\n    # via webapp (pyproject.toml)\n")
	wsgi := `"""WSGI entry point of webapp for gunicorn, written by venvpkg's real-systemd tests."""
import importlib.metadata
import os

from webapp import create_app
from webapp.cli import speedups

VERSION = importlib.metadata.version("webapp")
app = create_app()


@app.route("/version")
def version():
    return f"webapp {VERSION} pid {os.getpid()} markupsafe {speedups()}\n"
`
	if err := os.WriteFile(filepath.Join(dir, "src/webapp/wsgi.py"), []byte(wsgi), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// requestLoop is run by python3 inside the container: GET /version through nginx on loopback, one request at a
// time, until the stop file exists and 20 more requests were answered (or, with a unit to crash, 20 requests
// after the crash); bounded to 3000 requests and 120 s. With a unit, after 20 requests it kills the unit's main
// process with SIGKILL and waits until systemd has noticed, so the following requests arrive while the service
// is down. It prints every result as JSON: [status, body or error].
const requestLoop = `
import http.client, json, os, subprocess, sys, time
host, stop, unit = sys.argv[1], sys.argv[2], sys.argv[3]
results, after, deadline = [], None, time.monotonic() + 120
while len(results) < 3000 and time.monotonic() < deadline:
    conn = http.client.HTTPConnection("127.0.0.1", 80, timeout=60)
    try:
        conn.request("GET", "/version", headers={"Host": host})
        r = conn.getresponse()
        results.append([r.status, r.read().decode().strip()])
    except Exception as e:
        results.append([0, repr(e)])
    finally:
        conn.close()
    if unit and len(results) == 20:
        pid = subprocess.run(["systemctl", "show", "--property=MainPID", "--value", unit], capture_output=True, text=True).stdout.strip()
        os.kill(int(pid), 9)
        while subprocess.run(["systemctl", "is-active", "--quiet", unit]).returncode == 0:
            time.sleep(0.01)
        results.append([-1, "killed " + pid])
        after = len(results)
    if not unit and after is None and os.path.exists(stop):
        after = len(results)
    if after is not None and len(results) >= after + 20:
        break
    time.sleep(0.005)
print(json.dumps(results))
`

var versionLine = regexp.MustCompile(`^webapp (\S+) pid (\d+) markupsafe (\S+)$`)

type loopResult struct {
	requests, failed int
	versions         []string // the distinct versions in the order they answered
	errors           []string
	killed           bool
}

func parseLoop(t *testing.T, out string) loopResult {
	t.Helper()
	var raw [][2]any
	if err := json.Unmarshal([]byte(out[strings.LastIndex(out, "\n[")+1:]), &raw); err != nil {
		t.Fatalf("reading the request loop's results: %v\n%s", err, out)
	}
	var r loopResult
	for _, x := range raw {
		status, _ := x[0].(float64)
		body, _ := x[1].(string)
		if status == -1 {
			r.killed = true
			continue
		}
		r.requests++
		m := versionLine.FindStringSubmatch(body)
		if status != 200 || m == nil {
			r.failed++
			r.errors = append(r.errors, strconv.Itoa(int(status))+" "+body)
			continue
		}
		if len(r.versions) == 0 || r.versions[len(r.versions)-1] != m[1] {
			r.versions = append(r.versions, m[1])
		}
	}
	return r
}

// TestGunicornBehindNginx serves the web app with gunicorn, socket-activated on a unix socket, behind Debian's
// nginx with the site venvpkg generates, all in one container under systemd. A loop of requests through nginx
// sees no failure while apt-get upgrades v1 to v2 (and switches from v1 to v2), nor while the service is
// killed and restarted by systemd. The default unit, with markupsafe's C extension loaded, rates 2.0 or better
// in systemd-analyze security.
func TestGunicornBehindNginx(t *testing.T) {
	needSystemd(t)
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	tree := nspawn.Tree(t)
	wheels := webWheels(t)
	v1 := buildPackages(t, webProject(t, "1.0.0"), []string{"deb"}, wheels)[".deb"]
	v2 := buildPackages(t, webProject(t, "2.0.0"), []string{"deb"}, wheels)[".deb"]

	c := nspawn.Boot(t, tree, nspawn.Options{})
	c.CopyIn(t, v1, "/tmp/webapp_1.deb")
	c.CopyIn(t, v2, "/tmp/webapp_2.deb")
	c.WriteFile(t, "/tmp/loop.py", []byte(requestLoop), 0o644)
	c.Run(t, "apt-get", "install", "-y", "/tmp/webapp_1.deb")

	// The site venvpkg generates, as its comments say to install it: nginx's user joins the service's group.
	c.Run(t, "cp", "/usr/share/doc/webapp/examples/nginx.conf", "/etc/nginx/sites-available/webapp")
	c.Run(t, "ln", "-s", "/etc/nginx/sites-available/webapp", "/etc/nginx/sites-enabled/webapp")
	c.Run(t, "rm", "/etc/nginx/sites-enabled/default")
	c.Run(t, "usermod", "--append", "--groups", "webapp", "www-data")
	c.Run(t, "systemctl", "start", "nginx.service")
	host := "webapp-web.example.org"
	first := c.Run(t, "curl", "--silent", "--show-error", "--fail", "--max-time", "30", "-H", "Host: "+host, "http://127.0.0.1/version")
	m := versionLine.FindStringSubmatch(strings.TrimSpace(first))
	if m == nil || m[1] != "1.0.0" || m[3] != "c" {
		t.Fatalf("through nginx, /version answered %q; want webapp 1.0.0 with markupsafe's C extension", first)
	}
	if index := c.Run(t, "curl", "--silent", "--fail", "-H", "Host: "+host, "http://127.0.0.1/"); !strings.Contains(index, "&lt;venvpkg&gt;") {
		t.Errorf("the index page does not escape its name:\n%s", index)
	}

	t.Run("hardened", func(t *testing.T) {
		maps := c.Run(t, "cat", "/proc/"+m[2]+"/maps")
		if !strings.Contains(maps, "markupsafe/_speedups") {
			t.Errorf("worker %s has not loaded markupsafe's C extension", m[2])
		}
		out := c.Run(t, "systemd-analyze", "security", "--no-pager", "webapp-web.service")
		sm := regexp.MustCompile(`Overall exposure level for webapp-web\.service: ([0-9.]+) (\S+)`).FindStringSubmatch(out)
		if sm == nil {
			t.Fatalf("systemd-analyze security printed no overall exposure level:\n%s", out)
		}
		score, err := strconv.ParseFloat(sm[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("systemd-analyze security webapp-web.service: %s %s", sm[1], sm[2])
		if score > 2.0 {
			t.Errorf("the default web unit's exposure is %.1f (%s), want 2.0 or less:\n%s", score, sm[2], out)
		}
	})

	t.Run("upgrade", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		type res struct {
			out string
			err error
		}
		done := make(chan res, 1)
		go func() {
			out, err := c.RunContext(ctx, "python3", "/tmp/loop.py", host, "/tmp/upgraded", "")
			done <- res{out, err}
		}()
		time.Sleep(500 * time.Millisecond) // the loop is under way
		c.Run(t, "apt-get", "install", "-y", "/tmp/webapp_2.deb")
		c.WriteFile(t, "/tmp/upgraded", nil, 0o644)
		r := <-done
		if r.err != nil {
			t.Fatal(r.err)
		}
		got := parseLoop(t, r.out)
		t.Logf("during the upgrade: %d requests, %d failed, versions %v", got.requests, got.failed, got.versions)
		if got.failed > 0 {
			t.Errorf("%d of %d requests failed during the upgrade: %v", got.failed, got.requests, got.errors)
		}
		if strings.Join(got.versions, " ") != "1.0.0 2.0.0" {
			t.Errorf("the answers' versions went %v during the upgrade, want 1.0.0 then 2.0.0", got.versions)
		}
	})

	t.Run("crash", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		out, err := c.RunContext(ctx, "python3", "/tmp/loop.py", host, "", "webapp-web.service")
		if err != nil {
			t.Fatal(err)
		}
		got := parseLoop(t, out)
		t.Logf("around the crash: %d requests, %d failed, versions %v", got.requests, got.failed, got.versions)
		if !got.killed {
			t.Fatalf("the loop did not kill the service:\n%s", out)
		}
		if got.failed > 0 {
			t.Errorf("%d of %d requests failed around the crash: %v", got.failed, got.requests, got.errors)
		}
		if n := strings.TrimSpace(c.Run(t, "systemctl", "show", "--property=NRestarts", "--value", "webapp-web.service")); n != "1" {
			t.Errorf("NRestarts = %s after one crash, want 1", n)
		}
	})
	noFailedUnits(t, c, "at the end")
}
