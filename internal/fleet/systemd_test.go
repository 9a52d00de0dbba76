package fleet_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/venvpkg/venvpkg/internal/config"
	"github.com/venvpkg/venvpkg/internal/fleet"
	"github.com/venvpkg/venvpkg/internal/repo"
	"github.com/venvpkg/venvpkg/internal/sign"
	"github.com/venvpkg/venvpkg/internal/testutil"
	"github.com/venvpkg/venvpkg/internal/testutil/nspawn"
)

// fleetURL is what fleet-app answers on inside a host (its pyproject.toml).
const fleetURL = "http://127.0.0.1:18751/"

// signedRepo publishes debs into a signed repository with venvpkg's publisher and returns its directory and
// public key.
func signedRepo(t *testing.T, debs ...string) (string, []byte) {
	t.Helper()
	kp, err := sign.Generate("fleet test repository", "repo@example.org", sign.Ed25519, nil, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := sign.NewSigner(kp.Private, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := repo.Publish(context.Background(), repo.Dir{Root: dir}, debs, repo.Options{Signer: signer}); err != nil {
		t.Fatalf("publishing: %v", err)
	}
	return dir, kp.Public
}

// serveOn serves dir over HTTP on addr:0 until the test ends and returns the URL.
func serveOn(t *testing.T, addr, dir string) string {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		t.Fatalf("listening on %s: %v", addr, err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir)), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}

// sshHost is a booted container reached over SSH on its veth address.
type sshHost struct {
	name string
	c    *nspawn.Container
	url  string // the repository as this host reaches it
}

func (h sshHost) version() string {
	out, err := h.c.RunErr("dpkg-query", "--show", "--showformat=${Version}", "fleet-app")
	if err != nil {
		return "not installed"
	}
	return out
}

// bootSSHHosts boots n containers linked to the host, with sshd accepting the public key pub for root, no
// Debian mirror (the containers reach only the host) and the repository in dir served on each link.
func bootSSHHosts(t *testing.T, n int, pub []byte, dir string) []sshHost {
	t.Helper()
	tree := nspawn.Tree(t)
	hosts := make([]sshHost, n)
	for i := range hosts {
		name := fmt.Sprintf("h%d", i+1)
		c := nspawn.Boot(t, tree, nspawn.Options{Hostname: name, Veth: true})
		c.WriteFile(t, "/root/.ssh/authorized_keys", pub, 0o600)
		c.Run(t, "rm", "-f", "/etc/apt/sources.list")
		c.Run(t, "systemctl", "start", "ssh.service")
		hosts[i] = sshHost{name: name, c: c, url: serveOn(t, c.HostAddr, dir)}
	}
	return hosts
}

// TestRolloutSystemd rolls fleet-app out with the generated Ansible role to three containers booted with
// systemd, over SSH, from a repository venvpkg published: v1 with the role's defaults (units enabled and
// started by the role, the HTTP health check really requesting the service), a second run that changes nothing,
// v2 in batches of one, a v3 whose service fails its health check stopping the rollout on the first host, and
// the rollback of that host to v2.
func TestRolloutSystemd(t *testing.T) {
	if testing.Short() {
		t.Skip("real-systemd rollout skipped in -short mode")
	}
	testutil.NeedRoot(t, "booting containers")
	testutil.NeedFile(t, python, "python3.11")
	for tool, pkg := range map[string]string{"ansible-playbook": "ansible", "ssh": "openssh-client", "ssh-keygen": "openssh-client", "dpkg-deb": "dpkg"} {
		testutil.NeedTool(t, tool, pkg)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	rel := fleetReleases(t)
	dir1 := rel.Project
	repoDir, pubKey := signedRepo(t, rel.V1, rel.V2, rel.Broken)

	home := t.TempDir()
	key := filepath.Join(home, "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "venvpkg-test", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	sshPub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	hosts := bootSSHHosts(t, 3, sshPub, repoDir)

	cfg, err := config.Load(dir1)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := fleet.NewSpec(cfg, fleet.Options{RepoURL: hosts[0].url, PublicKey: pubKey})
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
	// The inventory says only how to reach the hosts (and, since each reaches the repository on its own link,
	// where it is): every role variable keeps its default.
	var inv strings.Builder
	inv.WriteString("fleet_app:\n  hosts:\n")
	for _, h := range hosts {
		fmt.Fprintf(&inv, "    %s:\n      ansible_host: %s\n      fleet_app_repo_url: %s\n", h.name, h.c.Addr, h.url)
	}
	fmt.Fprintf(&inv, `  vars:
    ansible_user: root
    ansible_ssh_private_key_file: %s
    ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
    ansible_python_interpreter: /usr/bin/python3
`, key)
	invFile := filepath.Join(deploy, "inventory", "containers.yml")
	if err := os.WriteFile(invFile, []byte(inv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	play := func(wantOK bool, extra ...string) string {
		t.Helper()
		return playbook(t, deploy, invFile, home, []string{"ANSIBLE_PIPELINING=1"}, wantOK, extra...)
	}
	serving := func(h sshHost, version string) {
		t.Helper()
		if got := h.version(); got != version+"-1" {
			t.Errorf("%s has fleet-app %s, want %s-1", h.name, got, version)
		}
		body, err := h.c.RunErr("curl", "--silent", "--show-error", "--fail", "--max-time", "10", fleetURL)
		if err != nil || !strings.Contains(body, "fleet-app "+version+"\n") {
			t.Errorf("%s: fleet-app answers %q (%v), want version %s", h.name, body, err, version)
		}
		if out, _ := h.c.RunErr("systemctl", "is-enabled", "fleet-app.socket", "fleet-app.service"); out != "enabled\nenabled\n" {
			t.Errorf("%s: fleet-app's units are not both enabled:\n%s", h.name, out)
		}
	}

	// v1 with the role's defaults: systemd runs, so the units are enabled and started and the check is HTTP.
	// The first install and the run that must change nothing take all hosts in one batch; v2 goes in
	// site.yml's default batches of one.
	out := play(true, "-e", "fleet_app_version="+v1, "-e", "fleet_app_serial=3")
	for _, h := range hosts {
		serving(h, "1.0.0")
	}
	for _, task := range []string{"TASK [fleet_app : Enable and start the units]", "TASK [fleet_app : Check the services over HTTP]"} {
		if got := okOrChanged(out, task); strings.Join(got, " ") != "h1 h2 h3" {
			t.Errorf("%s ran on %v, want h1 h2 h3:\n%s", task, got, out)
		}
	}
	if strings.Contains(out, "TASK [fleet_app : Run the health command]\nok") {
		t.Errorf("the command health check ran where systemd runs:\n%s", out)
	}

	out = play(true, "-e", "fleet_app_version="+v1, "-e", "fleet_app_serial=3")
	for _, h := range hosts {
		if c := recap(t, out)[h.name]; c != "0" {
			t.Errorf("second run: %s changed=%s, want 0", h.name, c)
		}
	}

	out = play(true, "-e", "fleet_app_version="+v2)
	for _, h := range hosts {
		serving(h, "2.0.0")
	}
	if n := strings.Count(out, "PLAY [Roll out fleet-app]"); n != 3 {
		t.Errorf("the upgrade ran %d batches, want 3 (serial: 1)", n)
	}
	if got := order(out, "TASK [fleet_app : Check the services over HTTP]"); strings.Join(got, " ") != "h1 h2 h3" {
		t.Errorf("the upgrade checked health on %v, want h1 h2 h3 one at a time", got)
	}

	// v3 installs and starts on h1, answers 503, and the rollout stops there.
	out = play(false, "-e", "fleet_app_version=3.0.0-1", "-e", "fleet_app_health_retries=2", "-e", "fleet_app_health_delay=1")
	if got := hosts[0].version(); got != "3.0.0-1" {
		t.Errorf("h1 has %s after the failed rollout, want 3.0.0-1 (installed, then its health check failed)", got)
	}
	if !regexp.MustCompile(`(?m)^(failed|fatal): \[h1\].*"status": 503`).MatchString(out) {
		t.Errorf("the failed rollout does not show h1's HTTP check getting 503:\n%s", out)
	}
	for _, h := range hosts[1:] {
		if strings.Contains(out, "["+h.name+"]") {
			t.Errorf("the failed rollout ran tasks on %s", h.name)
		}
		serving(h, "2.0.0")
	}

	play(true, "-e", "fleet_app_version="+v2)
	for _, h := range hosts {
		serving(h, "2.0.0")
		if failed := h.c.Run(t, "systemctl", "list-units", "--failed", "--no-legend", "--plain"); strings.TrimSpace(failed) != "" {
			t.Errorf("%s: failed units after the rollback:\n%s", h.name, failed)
		}
	}
}

// okOrChanged returns the hosts that report ok or changed on task, sorted.
func okOrChanged(out, task string) []string {
	seen := map[string]bool{}
	for _, block := range strings.Split(out, "\nTASK [")[1:] {
		if !strings.HasPrefix("TASK ["+block, task) {
			continue
		}
		for _, m := range regexp.MustCompile(`(?m)^(?:ok|changed): \[(h\d)\]`).FindAllStringSubmatch(block, -1) {
			seen[m[1]] = true
		}
	}
	hosts := make([]string, 0, len(seen))
	for h := range seen {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	return hosts
}

// TestPuppetApplySystemd applies the generated Puppet module with puppet apply in a container booted with
// systemd, with Debian's puppetlabs-apt: it adds the signed repository, installs the pinned version, writes the
// configuration from the module's template (edited to use a fact) and starts the services, whose health check
// then runs.
func TestPuppetApplySystemd(t *testing.T) {
	if testing.Short() {
		t.Skip("real-systemd puppet apply skipped in -short mode")
	}
	testutil.NeedRoot(t, "booting a container")
	testutil.NeedTool(t, "dpkg-deb", "dpkg")
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	rel := fleetReleases(t)
	dir1 := rel.Project
	repoDir, pubKey := signedRepo(t, rel.V1, rel.V2)
	c := nspawn.Boot(t, nspawn.Tree(t), nspawn.Options{Hostname: "node1", Veth: true})
	c.Run(t, "rm", "-f", "/etc/apt/sources.list")
	url := serveOn(t, c.HostAddr, repoDir)

	cfg, err := config.Load(dir1)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := fleet.NewSpec(cfg, fleet.Options{RepoURL: url, PublicKey: pubKey})
	if err != nil {
		t.Fatal(err)
	}
	files, err := fleet.Puppet(spec)
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	if err := fleet.Write(mod, files); err != nil {
		t.Fatal(err)
	}
	tmpl := filepath.Join(mod, "fleet_app/templates/etc/fleet-app/app.conf.epp")
	data, err := os.ReadFile(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	edited := bytes.Replace(data, []byte("greeting = hello from fleet-app\n"), []byte("greeting = hello from <%= $facts['networking']['hostname'] %>\n"), 1)
	if bytes.Equal(edited, data) {
		t.Fatalf("the seeded template has no greeting line to edit:\n%s", data)
	}
	if err := os.WriteFile(tmpl, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(filepath.Join(mod, "fleet_app"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(mod, p)
		c.CopyIn(t, p, "/etc/puppet/code/modules/"+rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	apply := func(version string) string {
		t.Helper()
		manifest := fmt.Sprintf("class { 'fleet_app': version => '%s' }\n", version)
		c.WriteFile(t, "/tmp/site.pp", []byte(manifest), 0o644)
		// --detailed-exitcodes: 0 nothing changed, 2 changes applied, 4 or 6 failures.
		out, err := c.RunErr("puppet", "apply", "--detailed-exitcodes", "--color=false", "/tmp/site.pp")
		var exit *exec.ExitError
		if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 2) {
			t.Fatalf("puppet apply %s: %v", strings.TrimSpace(manifest), err)
		}
		return out
	}
	out := apply(v1)
	if !strings.Contains(out, "Exec[fleet-app.service health check]: Triggered 'refresh'") || strings.Contains(out, "Error:") {
		t.Errorf("puppet apply did not run the health check:\n%s", out)
	}
	if got := strings.TrimSpace(c.Run(t, "dpkg-query", "--show", "--showformat=${Version}", "fleet-app")); got != v1 {
		t.Errorf("puppet apply installed fleet-app %s, want %s", got, v1)
	}
	if conf := c.Run(t, "cat", "/etc/fleet-app/app.conf"); !strings.Contains(conf, "greeting = hello from node1\n") {
		t.Errorf("/etc/fleet-app/app.conf was not written from the template:\n%s", conf)
	}
	if st := strings.TrimSpace(c.Run(t, "stat", "-c", "%U:%G %a", "/etc/fleet-app/app.conf")); st != "root:fleet-app 640" {
		t.Errorf("/etc/fleet-app/app.conf is %s, want root:fleet-app 640", st)
	}
	if body := c.Run(t, "curl", "--silent", "--show-error", "--fail", "--max-time", "10", fleetURL); body != "hello from node1\nfleet-app 1.0.0\n" {
		t.Errorf("fleet-app answers %q after puppet apply", body)
	}
	if out, _ := c.RunErr("systemctl", "is-enabled", "fleet-app.socket", "fleet-app.service"); out != "enabled\nenabled\n" {
		t.Errorf("fleet-app's units are not both enabled after puppet apply:\n%s", out)
	}

	// Moving the pin upgrades and restarts.
	apply(v2)
	if body := c.Run(t, "curl", "--silent", "--show-error", "--fail", "--max-time", "10", fleetURL); body != "hello from node1\nfleet-app 2.0.0\n" {
		t.Errorf("fleet-app answers %q after puppet apply of %s", body, v2)
	}
}
