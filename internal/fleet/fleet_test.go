package fleet

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/config"
	"github.com/venvpkg/venvpkg/internal/testutil"
)

// project writes a pyproject.toml and its files into a temporary
// directory and loads it.
func project(t *testing.T, pyproject string, files map[string]string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	files["pyproject.toml"] = pyproject
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func testKey(t *testing.T) []byte {
	t.Helper()
	key, err := os.ReadFile("testdata/repo.pub.asc")
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// specs are the golden cases: the fleet-app fixture; a package with a
// dotted name, a unix-socket service, a service that does not listen and
// configuration files full of Jinja2 and EPP syntax; and a package with no
// services or configuration.
func specs(t *testing.T) map[string]*Spec {
	t.Helper()
	root, err := testutil.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	fleetApp, err := config.Load(filepath.Join(root, "testdata/fleet-app"))
	if err != nil {
		t.Fatal(err)
	}
	multi := project(t, `
[project]
name = "Multi.Tool"
version = "2.1rc1"
description = "Two services,\n one package"
license = "Apache-2.0"
authors = [{name = "Ops", email = "ops@example.org"}]
[tool.venvpkg]
prefix = "/srv/multi"
release = "3"
[tool.venvpkg.services.web]
command = "gunicorn multi.wsgi"
listen = "/run/multi.tool/web.sock"
[tool.venvpkg.services.worker]
command = "multi-worker --queue default"
user = "worker"
[tool.venvpkg.config]
"/etc/multi.tool/web.ini" = { source = "conf/web.ini", mode = "0600", owner = "worker", group = "worker" }
"/etc/multi.tool/templates.conf" = { source = "conf/templates.conf" }
`, map[string]string{
		"conf/web.ini":        "[web]\nbanner = {{ not a variable }} {% raw %}x{% endraw %} <%= not ruby %>\n",
		"conf/templates.conf": "path = /srv/{# literal #}\nno newline at the end",
	})
	bare := project(t, `
[project]
name = "bare"
version = "0.3.post1"
`, map[string]string{})
	out := map[string]*Spec{}
	for name, c := range map[string]struct {
		cfg *config.Config
		o   Options
	}{
		"fleet-app": {fleetApp, Options{RepoURL: "https://packages.example.org/", PublicKey: testKey(t)}},
		"multi":     {multi, Options{RepoURL: "http://10.0.0.5:8080/repo", Suite: "prod", Component: "services", PublicKey: testKey(t)}},
		"bare":      {bare, Options{RepoURL: "file:///srv/repo", Version: "0.4", Release: "2", PublicKey: testKey(t)}},
	} {
		s, err := NewSpec(c.cfg, c.o)
		if err != nil {
			t.Fatalf("%s: NewSpec: %v", name, err)
		}
		out[name] = s
	}
	return out
}

// checkGolden compares the generated files with testdata/golden/<dir>,
// file by file, and fails on files missing from either side.
func checkGolden(t *testing.T, dir string, files []File) {
	t.Helper()
	got := map[string][]byte{}
	for _, f := range files {
		got[f.Path] = f.Data
	}
	testutil.GoldenDir(t, filepath.Join("testdata", "golden", dir), got)
}

func TestGolden(t *testing.T) {
	for name, spec := range specs(t) {
		t.Run(name, func(t *testing.T) {
			a, err := Ansible(spec)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join(name, "ansible"), a)
			p, err := Puppet(spec)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join(name, "puppet"), p)
			// The same spec gives the same bytes.
			again, err := Ansible(spec)
			if err != nil {
				t.Fatal(err)
			}
			for i := range a {
				if !bytes.Equal(a[i].Data, again[i].Data) || a[i].Path != again[i].Path {
					t.Errorf("second generation of %s differs", a[i].Path)
				}
			}
		})
	}
}

// toolPackages are the Debian packages of the tools the fleet tests run.
var toolPackages = map[string]string{"ansible-playbook": "ansible", "ansible-lint": "ansible-lint", "puppet": "puppet"}

func need(t *testing.T, tool string) {
	t.Helper()
	testutil.NeedTool(t, tool, toolPackages[tool])
}

func run(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ANSIBLE_NOCOLOR=1", "NO_COLOR=1", "ANSIBLE_LOCAL_TEMP="+t.TempDir(), "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("%s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

// TestAnsibleLint runs ansible-playbook --syntax-check and ansible-lint's
// production profile on every generated role and playbook.
func TestAnsibleLint(t *testing.T) {
	need(t, "ansible-playbook")
	for name, spec := range specs(t) {
		t.Run(name, func(t *testing.T) {
			files, err := Ansible(spec)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := Write(dir, files); err != nil {
				t.Fatal(err)
			}
			run(t, dir, "ansible-playbook", "-i", "inventory/hosts.yml", "--syntax-check", "site.yml")
			need(t, "ansible-lint")
			out := run(t, dir, "ansible-lint", "--offline", "--nocolor", "-p", "--profile", "production", "site.yml", "roles", "inventory")
			if !strings.Contains(out, "Passed") {
				t.Errorf("ansible-lint did not pass:\n%s", out)
			}
		})
	}
}

// TestPuppetValidate runs puppet parser validate on the manifests and
// puppet epp validate on the templates of every case at once (puppet
// starts slowly), checks metadata.json is JSON, and renders the seeded EPP
// templates of the multi case, expecting the packaged defaults back.
func TestPuppetValidate(t *testing.T) {
	need(t, "puppet")
	dir := t.TempDir()
	var pp, epp []string
	all := specs(t)
	for name, spec := range all {
		files, err := Puppet(spec)
		if err != nil {
			t.Fatal(err)
		}
		if err := Write(filepath.Join(dir, name), files); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			switch filepath.Ext(f.Path) {
			case ".pp":
				pp = append(pp, filepath.Join(name, f.Path))
			case ".epp":
				epp = append(epp, filepath.Join(name, f.Path))
			}
		}
		run(t, dir, "python3", "-m", "json.tool", filepath.Join(name, Ident(spec.Package), "metadata.json"))
	}
	sort.Strings(pp)
	sort.Strings(epp)
	run(t, dir, append([]string{"puppet", "parser", "validate"}, pp...)...)
	run(t, dir, append([]string{"puppet", "epp", "validate"}, epp...)...)

	// puppet epp render prints "--- <file>" before each file's output and
	// ends output without a newline with one.
	multi := all["multi"]
	var render []string
	for _, c := range multi.Configs {
		render = append(render, filepath.Join("multi", "multi_tool", "templates", relPath(c.Path)+".epp"))
	}
	out := run(t, dir, append([]string{"puppet", "epp", "render"}, render...)...)
	for i, c := range multi.Configs {
		header := "--- " + render[i] + "\n"
		start := strings.Index(out, header)
		if start < 0 {
			t.Fatalf("puppet epp render printed no %q:\n%s", header, out)
		}
		got := out[start+len(header):]
		if i+1 < len(render) {
			got, _, _ = strings.Cut(got, "--- "+render[i+1]+"\n")
		}
		want := string(c.Default)
		if !strings.HasSuffix(want, "\n") {
			want += "\n"
		}
		if got != want {
			t.Errorf("EPP renders %s as %q, want the packaged default %q", c.Path, got, want)
		}
	}
}

// TestTemplatesRenderDefaults renders every seeded template with Jinja2
// (as Ansible does, keeping the trailing newline) and
// expects the packaged default back byte for byte.
func TestTemplatesRenderDefaults(t *testing.T) {
	spec := specs(t)["multi"]
	a, err := Ansible(spec)
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string][]byte{}
	for _, f := range a {
		byPath[f.Path] = f.Data
	}
	for _, c := range spec.Configs {
		j := byPath["roles/multi_tool/templates"+c.Path+".j2"]
		if j == nil {
			t.Fatalf("no templates for %s", c.Path)
		}
		t.Run("jinja2"+c.Path, func(t *testing.T) {
			testutil.NeedTool(t, "python3", "python3")
			cmd := exec.Command("python3", "-c", `import sys, jinja2
env = jinja2.Environment(keep_trailing_newline=True, trim_blocks=True)
sys.stdout.write(env.from_string(sys.stdin.read()).render())`)
			cmd.Stdin = bytes.NewReader(j)
			out, err := cmd.Output()
			if err != nil {
				testutil.Missing(t, "python3-jinja2", "python3's jinja2", err)
			}
			if !bytes.Equal(out, c.Default) {
				t.Errorf("Jinja2 renders %s as %q, want the packaged default %q", c.Path, out, c.Default)
			}
		})
	}
}

func TestNewSpecErrors(t *testing.T) {
	cfg := project(t, "[project]\nname = \"app\"\nversion = \"1.0\"\n", map[string]string{})
	dyn := project(t, "[project]\nname = \"app\"\ndynamic = [\"version\"]\n", map[string]string{})
	key := testKey(t)
	tests := []struct {
		name string
		cfg  *config.Config
		o    Options
		want string
	}{
		{"no repository", cfg, Options{PublicKey: key}, "pass --repo-url"},
		{"bad URL", cfg, Options{RepoURL: "https://x/{{ evil }}", PublicKey: key}, "is not valid"},
		{"ftp URL", cfg, Options{RepoURL: "ftp://x/repo", PublicKey: key}, "is not valid"},
		{"no key", cfg, Options{RepoURL: "https://x"}, "pass --key"},
		{"private key", cfg, Options{RepoURL: "https://x", PublicKey: []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----\n")}, "never the private key"},
		{"dynamic version", dyn, Options{RepoURL: "https://x", PublicKey: key}, "pass --version"},
		{"bad version", cfg, Options{RepoURL: "https://x", PublicKey: key, Version: "one"}, `version "one"`},
		{"bad release", cfg, Options{RepoURL: "https://x", PublicKey: key, Release: "1 2"}, "release"},
		{"bad suite", cfg, Options{RepoURL: "https://x", PublicKey: key, Suite: "a b"}, `suite "a b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSpec(tt.cfg, tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewSpec() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestIdent(t *testing.T) {
	tests := []struct{ name, pkg, want string }{
		{"plain", "app", "app"},
		{"dash", "my-app", "my_app"},
		{"dot", "multi.tool", "multi_tool"},
		{"plus", "libfoo++", "libfoo__"},
		{"digit first", "3to2", "pkg_3to2"},
		{"upper", "MyApp", "myapp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Ident(tt.pkg); got != tt.want {
				t.Errorf("Ident(%q) = %q, want %q", tt.pkg, got, tt.want)
			}
		})
	}
}
