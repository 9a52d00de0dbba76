package fleet_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/venvpkg/venvpkg/internal/config"
	"github.com/venvpkg/venvpkg/internal/fleet"
	"github.com/venvpkg/venvpkg/internal/logging"
	"github.com/venvpkg/venvpkg/internal/pipeline"
	"github.com/venvpkg/venvpkg/internal/repo"
	"github.com/venvpkg/venvpkg/internal/sign"
	"github.com/venvpkg/venvpkg/internal/testutil"
	"github.com/venvpkg/venvpkg/internal/testutil/chroot"
)

const (
	python       = "/usr/bin/python3.11"
	pythonWheels = "/usr/share/python-wheels"
	v1, v2       = "1.0.0-1", "2.0.0-1"
)

// v2Conf is the default configuration fleet-app 2.0.0 ships, changed from 1.0.0's.
const v2Conf = "# fleet-app 2 configuration: the greeting it answers with.\ngreeting = hello from fleet-app 2\n"

// releases are the builds of fleet-app every end-to-end test rolls out: 1.0.0 (Project is its source, for the
// generated role and module), 2.0.0 with a changed default configuration, and 3.0.0, whose server answers every
// request with 503: it installs and starts, and fails an HTTP health check.
type releases struct {
	Project        string
	V1, V2, Broken string
}

var (
	releasesOnce sync.Once
	releasesDir  string
	built        releases
	releasesErr  error
)

// TestMain removes the releases shared by the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if releasesDir != "" {
		os.RemoveAll(releasesDir)
	}
	os.Exit(code)
}

// fleetReleases builds the releases once per test binary (each build takes tens of seconds).
func fleetReleases(t *testing.T) releases {
	t.Helper()
	releasesOnce.Do(func() {
		releasesDir, releasesErr = os.MkdirTemp("", "venvpkg-fleet-releases-")
		if releasesErr != nil {
			return
		}
		var debs [3]string
		for i, r := range []struct{ version, conf, broken string }{{"1.0.0", "", ""}, {"2.0.0", v2Conf, ""}, {"3.0.0", "", "503"}} {
			dir := filepath.Join(releasesDir, r.version)
			if releasesErr = copyProject(dir, r.version, r.conf, r.broken); releasesErr != nil {
				return
			}
			if debs[i], releasesErr = buildDeb(dir, filepath.Join(releasesDir, "out-"+r.version)); releasesErr != nil {
				return
			}
		}
		built = releases{Project: filepath.Join(releasesDir, "1.0.0"), V1: debs[0], V2: debs[1], Broken: debs[2]}
	})
	if releasesErr != nil {
		t.Fatal(releasesErr)
	}
	return built
}

// copyProject copies testdata/fleet-app to dst as version, optionally replacing its default configuration and
// making its server answer with the HTTP status broken instead of 200.
func copyProject(dst, version, conf, broken string) error {
	root, err := testutil.ModuleRoot()
	if err != nil {
		return err
	}
	src := filepath.Join(root, "testdata", "fleet-app")
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		return fmt.Errorf("copying %s: %w: %s", src, err, out)
	}
	edits := []struct{ file, old, new string }{{"pyproject.toml", `version = "1.0.0"`, `version = "` + version + `"`}}
	if broken != "" {
		edits = append(edits, struct{ file, old, new string }{"src/fleet_app/server.py", "self.send_response(200)", "self.send_response(" + broken + ")"})
	}
	for _, e := range edits {
		p := filepath.Join(dst, e.file)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !bytes.Contains(data, []byte(e.old)) {
			return fmt.Errorf("%s has no %q to replace", p, e.old)
		}
		if err := os.WriteFile(p, bytes.Replace(data, []byte(e.old), []byte(e.new), 1), 0o644); err != nil {
			return err
		}
	}
	if conf != "" {
		if err := os.WriteFile(filepath.Join(dst, "deploy", "app.conf"), []byte(conf), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// buildDeb builds the project in dir into outDir and returns the .deb.
func buildDeb(dir, outDir string) (string, error) {
	var log bytes.Buffer
	res, err := pipeline.Run(context.Background(), pipeline.Options{
		ProjectDir: dir, FindLinks: []string{pythonWheels}, NoIndex: true, Python: python,
		OutDir: outDir, CacheDir: filepath.Join(outDir, "cache"), Log: logging.NewLogger(&log, logging.LevelDebug),
	})
	if err != nil {
		return "", fmt.Errorf("building %s: %w\n%s", dir, err, log.String())
	}
	return res.Packages[0], nil
}

// host is one chroot acting as a managed host.
type host struct {
	name string
	c    *chroot.Chroot
}

func (h host) version(t *testing.T) string {
	t.Helper()
	out, err := h.c.RunErr("dpkg-query", "--show", "--showformat=${Version}", "fleet-app")
	if err != nil {
		return "not installed"
	}
	return out
}

func (h host) read(t *testing.T, p string) string {
	t.Helper()
	hp, err := h.c.Path(p)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(hp)
	if err != nil {
		t.Fatalf("%s: %v", h.name, err)
	}
	return string(data)
}

// seedArchives hard-links (or copies) the shared apt archive cache into the
// chroot so Debian packages are not downloaded three times.
func seedArchives(t *testing.T, c *chroot.Chroot) {
	t.Helper()
	cache := filepath.Join(testutil.CacheDir(), "chroot", "apt-archives")
	debs, _ := filepath.Glob(filepath.Join(cache, "*.deb"))
	dst, err := c.Path("/var/cache/apt/archives")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range debs {
		target := filepath.Join(dst, filepath.Base(d))
		if os.Link(d, target) == nil {
			continue
		}
		data, err := os.ReadFile(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var recapRE = regexp.MustCompile(`(?m)^(h[123])\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)`)

// recap returns host → changed count from the PLAY RECAP.
func recap(t *testing.T, out string) map[string]string {
	t.Helper()
	changed := map[string]string{}
	for _, m := range recapRE.FindAllStringSubmatch(out, -1) {
		changed[m[1]] = m[3]
	}
	return changed
}

// TestRolloutChroots rolls fleet-app out to three Debian chroots through
// Ansible's chroot connection from a repository venvpkg published and
// served over HTTP on 127.0.0.1: v1 everywhere, a second run that changes
// nothing, v2 in batches of one with the admin's templated configuration
// kept, a rollback to v1, a failing health check on the first host that
// stops the rollout before the other hosts are touched, and a rollback of
// that host with the configuration written as a drop-in. The inventory
// sets only the connection: the role's defaults choose the health check
// (http, replaced by the command check where systemd is not running).
func TestRolloutChroots(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end rollout skipped in -short mode")
	}
	testutil.NeedRoot(t, "the rollout test makes chroots")
	testutil.NeedFile(t, python, "python3.11")
	testutil.NeedFile(t, pythonWheels, "python3-setuptools-whl")
	testutil.NeedTool(t, "ansible-playbook", "ansible")
	testutil.NeedTool(t, "dpkg-deb", "dpkg")
	ctx := context.Background()

	// The two releases: 2.0.0 also changes the packaged default configuration.
	rel := fleetReleases(t)
	dir1, deb1, deb2 := rel.Project, rel.V1, rel.V2

	// A signed repository holding both, published by venvpkg and served on the loopback address.
	kp, err := sign.Generate("fleet test repository", "repo@example.org", sign.Ed25519, nil, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := sign.NewSigner(kp.Private, nil)
	if err != nil {
		t.Fatal(err)
	}
	repoDir := t.TempDir()
	if _, err := repo.Publish(ctx, repo.Dir{Root: repoDir}, []string{deb1, deb2}, repo.Options{Signer: signer}); err != nil {
		t.Fatalf("publishing: %v", err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(repoDir)))
	defer srv.Close()

	// The role, generated from the project, and the admin's edit: the
	// greeting comes from the inventory.
	cfg, err := config.Load(dir1)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := fleet.NewSpec(cfg, fleet.Options{RepoURL: srv.URL, PublicKey: kp.Public})
	if err != nil {
		t.Fatal(err)
	}
	files, err := fleet.Ansible(spec)
	if err != nil {
		t.Fatal(err)
	}
	deploy := t.TempDir()
	if err := fleet.Write(deploy, files); err != nil {
		t.Fatal(err)
	}
	tmpl := filepath.Join(deploy, "roles/fleet_app/templates/etc/fleet-app/app.conf.j2")
	seeded, err := os.ReadFile(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	edited := bytes.Replace(seeded, []byte("greeting = hello from fleet-app\n"), []byte("greeting = {{ fleet_app_greeting }}\n"), 1)
	if bytes.Equal(edited, seeded) {
		t.Fatalf("the seeded template has no greeting line to edit:\n%s", seeded)
	}
	if err := os.WriteFile(tmpl, edited, 0o644); err != nil {
		t.Fatal(err)
	}

	// Three clean hosts with the Python Ansible's modules need.
	hosts := make([]host, 3)
	var inv strings.Builder
	inv.WriteString("fleet_app:\n  hosts:\n")
	for i := range hosts {
		h := host{name: fmt.Sprintf("h%d", i+1), c: chroot.New(t)}
		seedArchives(t, h.c)
		h.c.Run(t, "apt-get", "install", "-y", "--no-install-recommends", "python3-apt", "python3.11")
		hosts[i] = h
		fmt.Fprintf(&inv, "    %s:\n      ansible_host: %s\n      fleet_app_greeting: hello from %s\n", h.name, h.c.Dir, h.name)
	}
	inv.WriteString(`  vars:
    ansible_connection: community.general.chroot
    ansible_python_interpreter: /usr/bin/python3
    ansible_become: false
`)
	invFile := filepath.Join(deploy, "inventory", "chroots.yml")
	if err := os.WriteFile(invFile, []byte(inv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	play := func(wantOK bool, extra ...string) string {
		t.Helper()
		return playbook(t, deploy, invFile, home, []string{"ANSIBLE_REMOTE_TEMP=/tmp/.ansible"}, wantOK, extra...)
	}
	check := func(version, appVersion string) {
		t.Helper()
		for _, h := range hosts {
			if got := h.version(t); got != version {
				t.Errorf("%s runs fleet-app %s, want %s", h.name, got, version)
			}
			want := "greeting = hello from " + h.name + "\n"
			if conf := h.read(t, "/etc/fleet-app/app.conf"); !strings.Contains(conf, want) {
				t.Errorf("%s: /etc/fleet-app/app.conf lacks the admin's %q:\n%s", h.name, want, conf)
			}
			out := h.c.Run(t, "/opt/venvs/fleet-app/bin/fleet-app", "--check")
			if !strings.Contains(out, "hello from "+h.name+"\nfleet-app "+appVersion) {
				t.Errorf("%s: fleet-app --check printed %q, want version %s and the admin's greeting", h.name, out, appVersion)
			}
			st := h.c.Run(t, "stat", "-c", "%U:%G %a", "/etc/fleet-app/app.conf")
			if strings.TrimSpace(st) != "root:fleet-app 640" {
				t.Errorf("%s: /etc/fleet-app/app.conf is %s, want root:fleet-app 640", h.name, st)
			}
		}
	}

	// v1 everywhere.
	out := play(true, "-e", "fleet_app_version="+v1)
	check(v1, "1.0.0")
	// No systemd runs in a chroot: the default HTTP check gives way to the command check, which passes.
	if got := okOn(out, "TASK [fleet_app : Run the health command]"); strings.Join(got, " ") != "h1 h2 h3" {
		t.Errorf("the health command passed on %v, want h1 h2 h3:\n%s", got, out)
	}
	for _, h := range hosts {
		key := h.read(t, "/etc/apt/keyrings/fleet-app.asc")
		if key != string(bytes.TrimSpace(kp.Public))+"\n" {
			t.Errorf("%s: /etc/apt/keyrings/fleet-app.asc is not the repository key", h.name)
		}
		src := h.read(t, "/etc/apt/sources.list.d/fleet-app.list")
		if want := "deb [signed-by=/etc/apt/keyrings/fleet-app.asc] " + srv.URL + "/apt stable main\n"; src != want {
			t.Errorf("%s: sources.list.d/fleet-app.list = %q, want %q", h.name, src, want)
		}
	}

	// The same run again changes nothing and restarts nothing.
	out = play(true, "-e", "fleet_app_version="+v1)
	for _, h := range hosts {
		if c := recap(t, out)[h.name]; c != "0" {
			t.Errorf("second run: %s changed=%s, want 0", h.name, c)
		}
	}
	if strings.Contains(out, "RUNNING HANDLER") {
		t.Errorf("second run ran a handler:\n%s", out)
	}

	// v2 in batches of one, with a template the admin changed meanwhile:
	// the template is applied, and dpkg keeps the admin's file over the
	// changed default.
	if err := os.WriteFile(tmpl, append(edited, "# rolled out as {{ fleet_app_version }}\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	out = play(true, "-e", "fleet_app_version="+v2)
	check(v2, "2.0.0")
	for _, h := range hosts {
		if conf := h.read(t, "/etc/fleet-app/app.conf"); !strings.HasSuffix(conf, "\n# rolled out as "+v2+"\n") {
			t.Errorf("%s: the changed template was not applied in the upgrade:\n%s", h.name, conf)
		}
		if c := recap(t, out)[h.name]; c != "2" {
			t.Errorf("upgrade: %s changed=%s, want 2 (the package and the configuration)", h.name, c)
		}
	}
	if n := strings.Count(out, "PLAY [Roll out fleet-app]"); n != 3 {
		t.Errorf("the upgrade ran %d batches, want 3 (serial: 1):\n%s", n, out)
	}
	if n := strings.Count(out, "RUNNING HANDLER [fleet_app : Restart fleet-app]"); n != 3 {
		t.Errorf("the restart handler ran %d times in the upgrade, want once per batch:\n%s", n, out)
	}
	if got := order(out, "TASK [fleet_app : Install the pinned version with apt]"); strings.Join(got, " ") != "h1 h2 h3" {
		t.Errorf("the upgrade installed on %v in that order, want h1 h2 h3 one at a time", got)
	}
	if dist := hosts[0].read(t, "/etc/fleet-app/app.conf.dpkg-dist"); !strings.Contains(dist, "hello from fleet-app 2") {
		t.Errorf("h1: app.conf.dpkg-dist is not v2's default:\n%s", dist)
	}

	// Back to v1 with the same play.
	play(true, "-e", "fleet_app_version="+v1)
	check(v1, "1.0.0")
	for _, h := range hosts {
		if conf := h.read(t, "/etc/fleet-app/app.conf"); !strings.HasSuffix(conf, "\n# rolled out as "+v1+"\n") {
			t.Errorf("%s: the template was not applied in the rollback:\n%s", h.name, conf)
		}
	}

	// A health check failing on the first host stops the rollout there.
	out = play(false, "-e", "fleet_app_version="+v2, "-e", "fleet_app_health_retries=1", "-e", "fleet_app_health_delay=0",
		"-e", `{"fleet_app_health_command": ["/opt/venvs/fleet-app/bin/fleet-app", "--check", "--config", "/nonexistent"]}`)
	if got := hosts[0].version(t); got != v2 {
		t.Errorf("h1 runs %s after the failed rollout, want %s (installed, then its health check failed)", got, v2)
	}
	for _, h := range hosts[1:] {
		if got := h.version(t); got != v1 {
			t.Errorf("%s runs %s after the rollout failed on h1, want it untouched at %s", h.name, got, v1)
		}
		if strings.Contains(out, "["+h.name+"]") {
			t.Errorf("the failed rollout ran tasks on %s:\n%s", h.name, out)
		}
	}
	if !strings.Contains(out, "TASK [fleet_app : Run the health command]") || !regexp.MustCompile(`FAILED - RETRYING|fatal: \[h1\]`).MatchString(out) {
		t.Errorf("the failed rollout does not show h1's health check failing:\n%s", out)
	}

	// Rolling h1 back with the drop-in style: the template goes to
	// app.conf.d/50-site.conf and the file written before stays as it was.
	before := hosts[1].read(t, "/etc/fleet-app/app.conf")
	play(true, "-e", "fleet_app_version="+v1, "-e", "fleet_app_config_style=dropin")
	for _, h := range hosts {
		if got := h.version(t); got != v1 {
			t.Errorf("%s runs %s after the rollback, want %s", h.name, got, v1)
		}
		if d := h.read(t, "/etc/fleet-app/app.conf.d/50-site.conf"); !strings.Contains(d, "greeting = hello from "+h.name+"\n") {
			t.Errorf("%s: the drop-in lacks the admin's greeting:\n%s", h.name, d)
		}
		st := h.c.Run(t, "stat", "-c", "%U:%G %a", "/etc/fleet-app/app.conf.d/50-site.conf")
		if strings.TrimSpace(st) != "root:fleet-app 640" {
			t.Errorf("%s: the drop-in is %s, want root:fleet-app 640", h.name, st)
		}
	}
	if after := hosts[1].read(t, "/etc/fleet-app/app.conf"); after != before {
		t.Errorf("h2: the drop-in style rewrote app.conf:\n%s\nwas:\n%s", after, before)
	}
}

// order returns the hosts that report on task, in the order they do.
func order(out, task string) []string {
	var hosts []string
	for _, block := range strings.Split(out, "\nTASK [")[1:] {
		if !strings.HasPrefix("TASK ["+block, task) {
			continue
		}
		for _, m := range regexp.MustCompile(`(?m)^(?:ok|changed|skipping|fatal): \[(h\d)\]`).FindAllStringSubmatch(block, -1) {
			hosts = append(hosts, m[1])
		}
	}
	return hosts
}

// okOn returns the hosts that report ok on task.
func okOn(out, task string) []string {
	var hosts []string
	for _, block := range strings.Split(out, "\nTASK [")[1:] {
		if !strings.HasPrefix("TASK ["+block, task) {
			continue
		}
		for _, m := range regexp.MustCompile(`(?m)^ok: \[(h\d)\]`).FindAllStringSubmatch(block, -1) {
			hosts = append(hosts, m[1])
		}
	}
	return hosts
}

// playbook runs ansible-playbook on site.yml in deploy with the inventory invFile, HOME home and the extra
// environment env, and fails the test unless it succeeds (wantOK) or fails (!wantOK); it returns the output.
func playbook(t *testing.T, deploy, invFile, home string, env []string, wantOK bool, extra ...string) string {
	t.Helper()
	args := append([]string{"-i", invFile, "site.yml"}, extra...)
	cmd := exec.Command("ansible-playbook", args...)
	cmd.Dir = deploy
	cmd.Env = append(os.Environ(), "HOME="+home, "ANSIBLE_NOCOLOR=1", "ANSIBLE_FORCE_COLOR=0",
		"ANSIBLE_RETRY_FILES_ENABLED=0", "ANSIBLE_LOCAL_TEMP="+filepath.Join(home, "tmp"),
		"ANSIBLE_STDOUT_CALLBACK=default", "ANSIBLE_HOST_KEY_CHECKING=0",
		// Facts are gathered once per host and kept for the later plays and runs (each batch is a play).
		"ANSIBLE_GATHERING=smart", "ANSIBLE_CACHE_PLUGIN=jsonfile", "ANSIBLE_CACHE_PLUGIN_CONNECTION="+filepath.Join(home, "facts"))
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("ansible-playbook %s (%.0f s):\n%s", strings.Join(extra, " "), time.Since(start).Seconds(), lastLines(out.String(), 12))
	if wantOK && err != nil {
		t.Fatalf("ansible-playbook %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	if !wantOK && err == nil {
		t.Fatalf("ansible-playbook %s succeeded, want a failure:\n%s", strings.Join(args, " "), out.String())
	}
	return out.String()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
