package service

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/config"
	"github.com/venvpkg/venvpkg/internal/testutil"
)

// specs are the golden cases: a package with two services (a web service
// on a unix socket with systemd overrides and supervisord, a worker with
// its own user), a lone service named like its package listening on TCP,
// and a package without services.
func specs() map[string]Spec {
	return map[string]Spec{
		"two-services": {
			Package:  "myapp",
			Prefix:   "/opt/venvs/myapp",
			Summary:  "Order service",
			Homepage: "https://myapp.example.org",
			Services: []config.Service{
				{
					Name:            "web",
					Command:         `gunicorn -c /etc/myapp/gunicorn.conf.py "myapp.wsgi:create_app()" --log-level info`,
					User:            "myapp",
					Group:           "myapp",
					Listen:          "/run/myapp/web.sock",
					EnvironmentFile: true,
					Restart:         "on-failure",
					Supervisor:      true,
					Systemd: []config.Directive{
						{Key: "ExecReload", Value: "/bin/kill -s HUP $MAINPID"},
						{Key: "LimitNOFILE", Value: "65536"},
						{Key: "ProtectHome", Remove: true},
						{Key: "Type", Value: "notify"},
					},
				},
				{
					Name:        "worker",
					Command:     "celery -A myapp worker --concurrency 4 --logfile=%n.log",
					Description: "myapp background jobs",
					User:        "myapp-worker",
					Group:       "myapp",
					Restart:     "always",
				},
			},
		},
		"single-tcp": {
			Package: "hello",
			Prefix:  "/opt/venvs/hello",
			Summary: "Hello service",
			Services: []config.Service{{
				Name:            "hello",
				Command:         "hello-server --bind 127.0.0.1:8000 --greeting 'it'\\''s me'",
				User:            "hello",
				Group:           "hello",
				Listen:          "127.0.0.1:8000",
				EnvironmentFile: true,
				Restart:         "on-failure",
				Supervisor:      true,
			}},
		},
		"no-services": {
			Package: "tool",
			Prefix:  "/opt/venvs/tool",
			Summary: "A command-line tool",
		},
	}
}

// tree renders an Output as golden files: the payload at its paths, the
// scripts under DEBIAN/ (deb) or SCRIPTLETS/ (rpm), and an index listing
// every file's mode, owner and configuration flag.
func tree(out *Output, f *Flavour) map[string]string {
	m := map[string]string{}
	var index strings.Builder
	for _, file := range out.Files {
		m[strings.TrimPrefix(file.Path, "/")] = string(file.Data)
		fmt.Fprintf(&index, "%s %04o %s:%s config=%t\n", file.Path, file.Mode, file.Owner, file.Group, file.Config)
	}
	m["INDEX"] = index.String()
	names := [4]string{"preinst", "postinst", "prerm", "postrm"}
	dir := "DEBIAN/"
	if f == RPM {
		names = [4]string{"pre", "post", "preun", "postun"}
		dir = "SCRIPTLETS/"
	}
	for i, s := range []string{out.Scripts.PreInstall, out.Scripts.PostInstall, out.Scripts.PreRemove, out.Scripts.PostRemove} {
		if s != "" {
			m[dir+names[i]] = s
		}
	}
	return m
}

func TestGolden(t *testing.T) {
	for name, spec := range specs() {
		for _, f := range []*Flavour{Deb, RPM} {
			t.Run(name+"/"+f.Name, func(t *testing.T) {
				out, err := Generate(spec, f)
				if err != nil {
					t.Fatal(err)
				}
				got := tree(out, f)
				files := map[string][]byte{}
				for p, data := range got {
					files[p] = []byte(data)
				}
				testutil.GoldenDir(t, filepath.Join("testdata", "golden", name+"-"+f.Name), files)
			})
		}
	}
}

// TestScriptsParse runs every generated script through sh -n.
func TestScriptsParse(t *testing.T) {
	for name, spec := range specs() {
		for _, f := range []*Flavour{Deb, RPM} {
			out, err := Generate(spec, f)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range []string{out.Scripts.PreInstall, out.Scripts.PostInstall, out.Scripts.PreRemove, out.Scripts.PostRemove} {
				if s == "" {
					continue
				}
				cmd := exec.Command("sh", "-n")
				cmd.Stdin = strings.NewReader(s)
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("%s/%s script %d does not parse: %v\n%s\n%s", name, f, i, err, b, s)
				}
			}
		}
	}
}

// TestSystemdAnalyzeVerify checks every generated unit with systemd's own
// parser in an alternate root that holds the programs the units run.
func TestSystemdAnalyzeVerify(t *testing.T) {
	testutil.NeedTool(t, "systemd-analyze", "systemd")
	for name, spec := range specs() {
		for _, f := range []*Flavour{Deb, RPM} {
			out, err := Generate(spec, f)
			if err != nil {
				t.Fatal(err)
			}
			root := t.TempDir()
			// systemd's own units (the targets the generated ones hang
			// off) and the programs they run must exist in the root.
			if err := os.MkdirAll(filepath.Join(root, "usr/lib/systemd"), 0o755); err != nil {
				t.Fatal(err)
			}
			if b, err := exec.Command("cp", "-a", "/lib/systemd/system", filepath.Join(root, "usr/lib/systemd/")).CombinedOutput(); err != nil {
				t.Fatalf("copying the host's units: %v\n%s", err, b)
			}
			for _, l := range []string{"lib", "bin"} {
				if err := os.Symlink("usr/"+l, filepath.Join(root, l)); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, "usr/bin/kill"), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			var units []string
			for _, file := range out.Files {
				p := filepath.Join(root, file.Path)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, file.Data, 0o644); err != nil {
					t.Fatal(err)
				}
				if strings.HasSuffix(p, ".service") || strings.HasSuffix(p, ".socket") {
					units = append(units, p)
				}
			}
			for _, svc := range spec.Services {
				argv, err := Command(spec.Prefix, svc)
				if err != nil {
					t.Fatal(err)
				}
				p := filepath.Join(root, argv[0])
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if len(units) == 0 {
				continue
			}
			cmd := exec.Command("systemd-analyze", append([]string{"verify", "--man=no", "--root=" + root}, units...)...)
			b, err := cmd.CombinedOutput()
			if err != nil || bytes.Contains(b, []byte("nknown")) || bytes.Contains(b, []byte("gnoring")) {
				t.Errorf("%s/%s: systemd-analyze verify: %v\n%s", name, f, err, b)
			}
		}
	}
}

// TestRPMScriptletConditions runs the erase/upgrade scriptlets with a
// systemctl that records its arguments, for each value of $1, against a
// prefix in a temporary directory, and checks they act only as
// %systemd_preun and %systemd_postun_with_restart do.
func TestRPMScriptletConditions(t *testing.T) {
	tests := []struct {
		name       string
		script     func(Scripts) string
		arg        string
		wantCalls  string
		wantPrefix bool // the prefix still exists afterwards
		wantPyc    bool // the bytecode written at run time is still there
	}{
		{"preun upgrade does nothing", func(s Scripts) string { return s.PreRemove }, "1", "", true, true},
		{"preun erase disables, stops and removes bytecode", func(s Scripts) string { return s.PreRemove }, "0", "--no-reload disable --now myapp-web.socket myapp-web.service myapp-worker.service\n", true, false},
		{"postun erase cleans the prefix", func(s Scripts) string { return s.PostRemove }, "0", "", false, false},
		{"postun upgrade keeps the prefix", func(s Scripts) string { return s.PostRemove }, "1", "", true, true},
		{"post install presets", func(s Scripts) string { return s.PostInstall }, "1", "--no-reload preset myapp-web.socket myapp-web.service myapp-worker.service\n", true, true},
		{"post upgrade does not preset", func(s Scripts) string { return s.PostInstall }, "2", "", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			spec := specs()["two-services"]
			spec.Prefix = filepath.Join(dir, "prefix")
			out, err := Generate(spec, RPM)
			if err != nil {
				t.Fatal(err)
			}
			pyc := filepath.Join(spec.Prefix, "lib", "pkg", "__pycache__", "m.cpython-311.opt-1.pyc")
			if err := os.MkdirAll(filepath.Dir(pyc), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(pyc, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			bin := filepath.Join(dir, "bin")
			log := filepath.Join(dir, "calls")
			stubs := map[string]string{
				"systemctl": "#!/bin/sh\necho \"$*\" >>" + log + "\n",
				// The %post creates state directories: record instead.
				"install": "#!/bin/sh\n",
			}
			if err := os.MkdirAll(bin, 0o755); err != nil {
				t.Fatal(err)
			}
			for n, body := range stubs {
				if err := os.WriteFile(filepath.Join(bin, n), []byte(body), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command("sh", "-s", tt.arg)
			// The erase removes /run/myapp: keep it inside the test's directory.
			cmd.Stdin = strings.NewReader(strings.ReplaceAll(tt.script(out.Scripts), " /run/myapp", " "+dir+"/run/myapp"))
			cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin"}
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("scriptlet with $1=%s: %v\n%s", tt.arg, err, b)
			}
			calls, _ := os.ReadFile(log)
			// daemon-reload runs only when systemd is the running init.
			got := strings.ReplaceAll(string(calls), "daemon-reload\n", "")
			if got != tt.wantCalls {
				t.Errorf("systemctl calls = %q, want %q", got, tt.wantCalls)
			}
			_, err = os.Stat(spec.Prefix)
			if has := err == nil; has != tt.wantPrefix {
				t.Errorf("prefix exists = %t, want %t", has, tt.wantPrefix)
			}
			_, err = os.Stat(pyc)
			if has := err == nil; has != tt.wantPyc {
				t.Errorf("%s exists = %t, want %t", pyc, has, tt.wantPyc)
			}
		})
	}
}

func TestGenerateErrors(t *testing.T) {
	tests := []struct {
		name, command, want string
	}{
		{"relative program", "bin/app --x", "relative path"},
		{"shell syntax", "app | tee log", "shell syntax"},
		{"unterminated quote", "app 'x", "unterminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := Spec{Package: "p1", Prefix: "/opt/venvs/p1", Services: []config.Service{{Name: "s", Command: tt.command, User: "p1", Group: "p1"}}}
			_, err := Generate(spec, Deb)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "service s") {
				t.Fatalf("Generate(%q) error = %v, want one naming service s and containing %q", tt.command, err, tt.want)
			}
		})
	}
}

// unitText returns the generated file at p.
func unitText(t *testing.T, out *Output, p string) string {
	t.Helper()
	for _, f := range out.Files {
		if f.Path == p {
			return string(f.Data)
		}
	}
	t.Fatalf("Generate wrote no %s", p)
	return ""
}

// TestDirectoriesPerUser checks that services of different users get
// state, log and runtime directories of their own (systemd gives each
// directory to the User= of the unit it starts), while services of one
// user share the package's.
func TestDirectoriesPerUser(t *testing.T) {
	svc := func(name, user string) config.Service {
		return config.Service{Name: name, Command: "app", User: user, Group: "myapp", Restart: "on-failure"}
	}
	tests := []struct {
		name     string
		services []config.Service
		want     map[string]string // unit → directory name
	}{
		{"different users", []config.Service{svc("web", "myapp"), svc("worker", "myapp-worker")},
			map[string]string{"myapp-web": "myapp/web", "myapp-worker": "myapp/worker"}},
		{"one user", []config.Service{svc("web", "myapp"), svc("worker", "myapp")},
			map[string]string{"myapp-web": "myapp", "myapp-worker": "myapp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Generate(Spec{Package: "myapp", Prefix: "/opt/venvs/myapp", Services: tt.services}, Deb)
			if err != nil {
				t.Fatal(err)
			}
			for unit, dir := range tt.want {
				text := unitText(t, out, "/lib/systemd/system/"+unit+".service")
				for _, want := range []string{
					"\nStateDirectory=" + dir + "\n", "\nLogsDirectory=" + dir + "\n", "\nRuntimeDirectory=" + dir + "\n",
					"\nWorkingDirectory=/var/lib/" + dir + "\n",
				} {
					if !strings.Contains(text, want) {
						t.Errorf("%s.service lacks %q:\n%s", unit, strings.TrimSpace(want), text)
					}
				}
				svcName := strings.TrimPrefix(unit, "myapp-")
				for _, d := range []string{"/var/lib/" + dir, "/var/log/" + dir} {
					if !strings.Contains(out.Scripts.PostInstall, "install -d -o "+map[string]string{"web": "myapp", "worker": tt.services[1].User}[svcName]+" -g myapp -m 0750 "+d+"\n") {
						t.Errorf("postinst does not create %s for %s:\n%s", d, unit, out.Scripts.PostInstall)
					}
				}
			}
		})
	}
}

// TestSocketOutlivesService checks that the socket unit is not bound to
// its service's restarts (PartOf= would close and reopen it on every
// restart, refusing the connections that arrive meanwhile).
func TestSocketOutlivesService(t *testing.T) {
	out, err := Generate(specs()["two-services"], Deb)
	if err != nil {
		t.Fatal(err)
	}
	sock := unitText(t, out, "/lib/systemd/system/myapp-web.socket")
	for _, bad := range []string{"PartOf=", "BindsTo=", "StopWhenUnneeded="} {
		if strings.Contains(sock, bad) {
			t.Errorf("myapp-web.socket has %s, which stops it with its service:\n%s", bad, sock)
		}
	}
}

// TestPurgeRemovesRuntimeDir runs the purge branch of the postrm in a
// root made of temporary directories (the script's absolute paths are
// rewritten into it) and checks /run/<pkg> is gone with /var/lib and
// /var/log.
func TestPurgeRemovesRuntimeDir(t *testing.T) {
	out, err := Generate(specs()["two-services"], Deb)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	script := out.Scripts.PostRemove
	for _, p := range []string{"/var/lib/myapp", "/var/log/myapp", "/run/myapp", "/etc/myapp", "/opt/venvs/myapp"} {
		script = strings.ReplaceAll(script, " "+p, " "+root+p)
		if err := os.MkdirAll(filepath.Join(root, p, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "run/myapp/web.sock"), nil, 0o660); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-s", "purge")
	cmd.Stdin = strings.NewReader(script)
	cmd.Env = []string{"PATH=" + t.TempDir() + ":/usr/bin:/bin"} // no deb-systemd-helper
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("postrm purge: %v\n%s", err, b)
	}
	for _, p := range []string{"/var/lib/myapp", "/var/log/myapp", "/run/myapp", "/etc/myapp"} {
		if _, err := os.Lstat(filepath.Join(root, p)); err == nil {
			t.Errorf("postrm purge left %s", p)
		}
	}
}

// TestDirectiveValues checks that an empty value is written as the empty
// assignment systemd reads as "none" (CapabilityBoundingSet=), and that
// a removed directive is left out.
func TestDirectiveValues(t *testing.T) {
	spec := Spec{Package: "p1", Prefix: "/opt/venvs/p1", Services: []config.Service{{
		Name: "p1", Command: "app", User: "p1", Group: "p1", Restart: "on-failure",
		Systemd: []config.Directive{
			{Key: "AmbientCapabilities", Value: ""},
			{Key: "ProtectHome", Remove: true},
			{Key: "SystemCallFilter", Value: "@system-service"},
			{Key: "SystemCallFilter", Value: "~@privileged"},
		},
	}}}
	out, err := Generate(spec, Deb)
	if err != nil {
		t.Fatal(err)
	}
	text := unitText(t, out, "/lib/systemd/system/p1.service")
	for _, want := range []string{"\nAmbientCapabilities=\n", "\nCapabilityBoundingSet=\n", "\nSystemCallFilter=@system-service\nSystemCallFilter=~@privileged\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("p1.service lacks %q:\n%s", strings.TrimSpace(want), text)
		}
	}
	if strings.Contains(text, "ProtectHome") {
		t.Errorf("p1.service keeps the removed ProtectHome:\n%s", text)
	}
}
