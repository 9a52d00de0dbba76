package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const servicesBase = `[project]
name = "myapp"
version = "1.0"
`

// project writes pyproject.toml with content and the given extra files
// into a new project directory and returns its path.
func project(t *testing.T, content string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, body := range files {
		fp := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(fp), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(fp, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestServicesAndConfig(t *testing.T) {
	dir := project(t, servicesBase+`
[tool.venvpkg.services.web]
command = "gunicorn -c /etc/myapp/gunicorn.conf.py 'myapp:create_app()'"
listen = "/run/myapp/web.sock"
environment-file = true
supervisor = true

[tool.venvpkg.services.web.systemd]
Type = "notify"
LimitNOFILE = 65536
Environment = ["A=1", "B=2"]
CapabilityBoundingSet = ""
ProtectHome = []

[tool.venvpkg.services.worker]
command = "celery -A myapp worker"
user = "myapp-worker"
group = "myapp"
restart = "always"

[tool.venvpkg.config]
"/etc/myapp/gunicorn.conf.py" = { source = "deploy/gunicorn.conf.py", mode = "0640", group = "myapp" }
"/etc/myapp/.env" = { source = "deploy/.env" }
`, map[string]string{"deploy/gunicorn.conf.py": "workers = 4\n", "deploy/.env": "SECRET=x\n"})
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Services) != 2 || c.Services[0].Name != "web" || c.Services[1].Name != "worker" {
		t.Fatalf("Services = %+v, want web and worker", c.Services)
	}
	web, worker := c.Services[0], c.Services[1]
	checks := []struct{ name, got, want string }{
		{"web user", web.User, "myapp"},
		{"web group", web.Group, "myapp"},
		{"web restart", web.Restart, "on-failure"},
		{"worker user", worker.User, "myapp-worker"},
		{"worker group", worker.Group, "myapp"},
		{"worker restart", worker.Restart, "always"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	wantDirectives := []Directive{
		{Key: "CapabilityBoundingSet", Value: ""},
		{Key: "Environment", Value: "A=1"}, {Key: "Environment", Value: "B=2"},
		{Key: "LimitNOFILE", Value: "65536"},
		{Key: "ProtectHome", Remove: true},
		{Key: "Type", Value: "notify"},
	}
	if !reflect.DeepEqual(web.Systemd, wantDirectives) {
		t.Errorf("web systemd = %v, want %v", web.Systemd, wantDirectives)
	}
	if len(c.ConfigFiles) != 2 {
		t.Fatalf("ConfigFiles = %+v, want two", c.ConfigFiles)
	}
	env, gconf := c.ConfigFiles[0], c.ConfigFiles[1]
	if gconf.Path != "/etc/myapp/gunicorn.conf.py" || gconf.Mode != 0o640 || gconf.Owner != "root" || gconf.Group != "myapp" || gconf.Source != filepath.Join(dir, "deploy/gunicorn.conf.py") {
		t.Errorf("gunicorn.conf.py entry = %+v", gconf)
	}
	if env.Mode != 0o644 || env.Group != "root" {
		t.Errorf(".env entry = %+v, want 0644 root:root", env)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "deploy/.env looks like a secret") {
		t.Errorf("Warnings = %q, want one about deploy/.env", c.Warnings)
	}
}

func TestServicesAndConfigErrors(t *testing.T) {
	files := map[string]string{"deploy/app.conf": "x\n", "deploy/dir/keep": ""}
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.conf"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, toml string
		link       string // deploy/link → this target, when set
		want       []string
	}{
		{"service without command", "[tool.venvpkg.services.web]\nuser = \"myapp\"\n",
			"", []string{"pyproject.toml: [tool.venvpkg.services.web]: command is missing"}},
		{"unknown service key", "[tool.venvpkg.services.web]\ncommand = \"x\"\nlisten_on = \"1\"\n",
			"", []string{`unknown key "listen_on" in [tool.venvpkg.services.web]`, "known keys: command,"}},
		{"bad restart", "[tool.venvpkg.services.web]\ncommand = \"x\"\nrestart = \"sometimes\"\n",
			"", []string{"[tool.venvpkg.services.web]: restart \"sometimes\" is not one of"}},
		{"bad listen", "[tool.venvpkg.services.web]\ncommand = \"x\"\nlisten = \"localhost\"\n",
			"", []string{"[tool.venvpkg.services.web]: listen:", "neither an absolute unix socket path nor host:port"}},
		{"bad port", "[tool.venvpkg.services.web]\ncommand = \"x\"\nlisten = \"127.0.0.1:99999\"\n",
			"", []string{"port \"99999\""}},
		{"bad user", "[tool.venvpkg.services.web]\ncommand = \"x\"\nuser = \"My User\"\n",
			"", []string{"[tool.venvpkg.services.web]: user:", "not a valid user or group name"}},
		{"root user", "[tool.venvpkg.services.web]\ncommand = \"x\"\nuser = \"root\"\n",
			"", []string{"must not run as root"}},
		{"shell syntax", "[tool.venvpkg.services.web]\ncommand = \"app > /tmp/log\"\n",
			"", []string{"[tool.venvpkg.services.web]: command:", "shell syntax"}},
		{"bad directive", "[tool.venvpkg.services.web]\ncommand = \"x\"\n[tool.venvpkg.services.web.systemd]\n\"exec start\" = \"x\"\n",
			"", []string{"[tool.venvpkg.services.web.systemd]", "not a systemd directive name"}},
		{"config source missing", "[tool.venvpkg.config]\n\"/etc/myapp/app.conf\" = { source = \"deploy/missing.conf\" }\n",
			"", []string{`pyproject.toml: [tool.venvpkg.config] "/etc/myapp/app.conf": source "deploy/missing.conf" does not exist in the project directory`}},
		{"config without source", "[tool.venvpkg.config]\n\"/etc/myapp/app.conf\" = { mode = \"0600\" }\n",
			"", []string{`[tool.venvpkg.config] "/etc/myapp/app.conf": source is missing`}},
		{"config source absolute", "[tool.venvpkg.config]\n\"/etc/myapp/app.conf\" = { source = \"/etc/passwd\" }\n",
			"", []string{`source "/etc/passwd" is absolute`}},
		{"config source escapes", "[tool.venvpkg.config]\n\"/etc/myapp/app.conf\" = { source = \"../x/secret.conf\" }\n",
			"", []string{`source "../x/secret.conf" is outside the project directory`}},
		{"config source symlink outside", "[tool.venvpkg.config]\n\"/etc/myapp/app.conf\" = { source = \"deploy/link\" }\n",
			filepath.Join(outside, "secret.conf"), []string{`source "deploy/link" is outside the project directory`}},
		{"config source directory", "[tool.venvpkg.config]\n\"/etc/myapp/app.conf\" = { source = \"deploy/dir\" }\n",
			"", []string{"is not a regular file"}},
		{"config outside /etc", "[tool.venvpkg.config]\n\"/opt/myapp/app.conf\" = { source = \"deploy/app.conf\" }\n",
			"", []string{`"/opt/myapp/app.conf": configuration files are installed under /etc`}},
		{"config bad mode", "[tool.venvpkg.config]\n\"/etc/myapp/app.conf\" = { source = \"deploy/app.conf\", mode = \"4755\" }\n",
			"", []string{`mode "4755" is not an octal permission`}},
		{"config unknown key", "[tool.venvpkg.config]\n\"/etc/myapp/app.conf\" = { source = \"deploy/app.conf\", perms = \"0600\" }\n",
			"", []string{`pyproject.toml:5: unknown key "perms" in an entry of [tool.venvpkg.config]`, "known keys: group, mode, owner, source"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := project(t, servicesBase+tt.toml, files)
			if tt.link != "" {
				if err := os.Symlink(tt.link, filepath.Join(dir, "deploy/link")); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Load(dir)
			if err == nil {
				t.Fatalf("Load succeeded, want an error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
