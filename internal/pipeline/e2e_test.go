package pipeline_test

import (
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/pipeline"
	"github.com/venvpkg/venvpkg/internal/testutil/chroot"
)

// TestEndToEndChroot builds the example and the multi-wheel web app (Flask
// with MarkupSafe's C extension), installs both with apt into a clean Debian
// bookworm chroot that has no Python yet, runs their console scripts,
// imports every top-level module, then removes and purges them and expects
// nothing left under their prefixes. The example is built with
// --python /usr/bin/python3, the path most people type: apt installs only
// what Depends names (python3.11, not the python3 package that owns
// /usr/bin/python3), so its scripts run only if the virtualenv links to
// /usr/bin/python3.11.
func TestEndToEndChroot(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end chroot test skipped in -short mode")
	}
	needTools(t)
	wheels := webappWheels(t)
	out := t.TempDir()
	hello := runBuild(t, pipeline.Options{ProjectDir: repoPath(t, "examples/hello"), Python: "/usr/bin/python3", FindLinks: []string{pythonWheels}, NoIndex: true, OutDir: out})
	web := runBuild(t, pipeline.Options{ProjectDir: repoPath(t, "testdata/webapp"), FindLinks: []string{wheels, pythonWheels}, NoIndex: true, OutDir: out})

	if web.Arch == "all" {
		t.Errorf("webapp Architecture = all, want the host's (markupsafe has a C extension)")
	}
	if hello.Arch != "all" {
		t.Errorf("hello Architecture = %s, want all", hello.Arch)
	}
	c := chroot.New(t)
	if _, err := c.RunErr("test", "-e", "/usr/bin/python3.11"); err == nil {
		t.Fatal("the clean chroot already has python3.11; the test must show that Depends brings it")
	}
	c.InstallDebs(t, append(hello.Packages, web.Packages...)...)
	if _, err := c.RunErr("test", "-e", "/usr/bin/python3"); err == nil {
		t.Error("installing the packages brought /usr/bin/python3; the test must show the venv does without it")
	}
	if got := strings.TrimSpace(c.Run(t, "readlink", "/opt/venvs/hello/bin/python3.11")); got != "/usr/bin/python3.11" {
		t.Errorf("hello's bin/python3.11 links to %q, want /usr/bin/python3.11 (what Depends: python3.11 provides)", got)
	}

	got := c.Run(t, "/opt/venvs/hello/bin/hello", "--name", "chroot")
	if !strings.Contains(got, "Hello, chroot, from hello 1.0.0!") || !strings.Contains(got, "at /opt/venvs/hello") {
		t.Errorf("hello printed %q", got)
	}
	got = c.Run(t, "/opt/venvs/webapp/bin/webapp")
	for _, want := range []string{"flask 2.2.2", "markupsafe 2.1.2", "markupsafe-speedups c", "prefix /opt/venvs/webapp"} {
		if !strings.Contains(got, want) {
			t.Errorf("webapp output lacks %q:\n%s", want, got)
		}
	}
	// Every top-level module of every installed distribution imports.
	importAll := `import importlib, importlib.metadata as md, sys
names = set()
for d in md.distributions():
    top = d.read_text("top_level.txt")
    if top:
        names.update(n for n in top.split() if n and not n.startswith("_"))
    else:
        names.update(str(f).split("/")[0].removesuffix(".py") for f in d.files or [] if "/" in str(f) and not str(f).startswith(("..", d._path.name)))
for n in sorted(names):
    importlib.import_module(n)
print("imported", len(names), "modules:", " ".join(sorted(names)))
`
	for _, venv := range []string{"/opt/venvs/hello", "/opt/venvs/webapp"} {
		out := c.Run(t, venv+"/bin/python", "-c", importAll)
		t.Logf("%s: %s", venv, strings.TrimSpace(out))
	}
	// The payload's bytecode is used as it is: importing writes nothing.
	c.Run(t, "/opt/venvs/webapp/bin/python", "-c", "import flask, jinja2, werkzeug, click, itsdangerous, markupsafe")

	for _, name := range []string{"hello", "webapp"} {
		c.Run(t, "dpkg", "-r", name)
		c.Run(t, "dpkg", "-P", name)
		if left := c.Files(t, "/opt/venvs/"+name); len(left) != 0 {
			t.Errorf("after dpkg -P %s, left under the prefix: %v", name, left)
		}
	}
}
