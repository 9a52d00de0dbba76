package venv

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/interp"
	"github.com/venvpkg/venvpkg/internal/testutil"
	"github.com/venvpkg/venvpkg/internal/wheel"
)

const debianPython = "/usr/bin/python3.11"

// debian311 describes Debian 12's /usr/bin/python3.11 as the probe would.
func debian311() *interp.Info {
	return &interp.Info{
		Executable:     debianPython,
		RealPath:       debianPython,
		Implementation: "cpython",
		Version:        "3.11.2",
		VersionXY:      "3.11",
		Major:          3,
		Minor:          11,
		SOABI:          "cpython-311-x86_64-linux-gnu",
		ExtSuffix:      ".cpython-311-x86_64-linux-gnu.so",
		CacheTag:       "cpython-311",
		Platform:       "linux-x86_64",
		Machine:        "x86_64",
		PlatLibDir:     "lib",
		BasePrefix:     "/usr",
		Stdlib:         "/usr/lib/python3.11",
	}
}

func needPython(t *testing.T) {
	t.Helper()
	testutil.NeedFile(t, debianPython, "python3.11")
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		opts   Options
	}{
		{name: "default", prefix: "/opt/venvs/demo-app"},
		{name: "prompt", prefix: "/opt/venvs/demo-app", opts: Options{Prompt: `it's "my" app!`, SystemSitePackages: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if err := Create(context.Background(), root, tt.prefix, debian311(), tt.opts); err != nil {
				t.Fatalf("Create: %v", err)
			}
			dir := filepath.Join(root, tt.prefix)
			for _, f := range []string{"pyvenv.cfg", "bin/activate", "bin/activate.fish", "bin/activate.csh"} {
				got, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(got, []byte(root)) {
					t.Errorf("%s names the staging root %s:\n%s", f, root, got)
				}
				golden := filepath.Join("testdata", tt.name+"."+filepath.Base(f)+".golden")
				testutil.Golden(t, golden, got)
			}
		})
	}
}

func TestConfig(t *testing.T) {
	py310 := debian311()
	py310.Version, py310.VersionXY, py310.Minor = "3.10.13", "3.10", 10
	py310.Executable = "/root/.pyenv/versions/3.10.13/bin/python3.10"
	linked := debian311()
	linked.Executable = "/usr/bin/python3"
	tests := []struct {
		name string
		py   *interp.Info
		opts Options
		want string
	}{
		{
			name: "3.11",
			py:   debian311(),
			want: "home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.2\n" +
				"executable = /usr/bin/python3.11\ncommand = /usr/bin/python3.11 -m venv --without-pip /opt/app\n",
		},
		{
			name: "3.11 via a link",
			py:   linked,
			want: "home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.2\n" +
				"executable = /usr/bin/python3.11\ncommand = /usr/bin/python3 -m venv --without-pip /opt/app\n",
		},
		{
			name: "3.11 prompt and system site",
			py:   debian311(),
			opts: Options{Prompt: "it's", SystemSitePackages: true},
			want: "home = /usr/bin\ninclude-system-site-packages = true\nversion = 3.11.2\nprompt = \"it's\"\n" +
				"executable = /usr/bin/python3.11\ncommand = /usr/bin/python3.11 -m venv --without-pip --system-site-packages --prompt=\"it's\" /opt/app\n",
		},
		{
			name: "3.10 has no executable or command",
			py:   py310,
			opts: Options{Prompt: "app"},
			want: "home = /root/.pyenv/versions/3.10.13/bin\ninclude-system-site-packages = false\nversion = 3.10.13\nprompt = 'app'\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Config("/opt/app/", tt.py, tt.opts); got != tt.want {
				t.Errorf("Config(%q) =\n%s\nwant\n%s", tt.name, got, tt.want)
			}
		})
	}
}

func TestPyRepr(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "plain", in: "app", want: "'app'"},
		{name: "single quote", in: "it's", want: `"it's"`},
		{name: "both quotes", in: `it's "x"`, want: `'it\'s "x"'`},
		{name: "backslash", in: `a\b`, want: `'a\\b'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pyRepr(tt.in); got != tt.want {
				t.Errorf("pyRepr(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestPythonAgreesWithPyRepr(t *testing.T) {
	needPython(t)
	for _, s := range []string{"app", "it's", `it's "x"`, `a\b`, "é"} {
		out, err := exec.Command(debianPython, "-I", "-c", "import sys; sys.stdout.write(repr(sys.argv[1]))", s).Output()
		if err != nil {
			t.Fatal(err)
		}
		if got := pyRepr(s); got != string(out) {
			t.Errorf("pyRepr(%q) = %s, want %s as Python's repr", s, got, out)
		}
	}
}

func TestScheme(t *testing.T) {
	lib64 := debian311()
	lib64.PlatLibDir = "lib64"
	ft := debian311()
	ft.Version, ft.VersionXY, ft.Minor, ft.GILDisabled = "3.13.0", "3.13", 13, true
	tests := []struct {
		name string
		py   *interp.Info
		want wheel.Scheme
	}{
		{name: "debian", py: debian311(), want: wheel.Scheme{
			Purelib: "/opt/app/lib/python3.11/site-packages",
			Platlib: "/opt/app/lib/python3.11/site-packages",
			Headers: "/opt/app/include/site/python3.11",
			Scripts: "/opt/app/bin",
			Data:    "/opt/app",
		}},
		{name: "platlibdir lib64", py: lib64, want: wheel.Scheme{
			Purelib: "/opt/app/lib/python3.11/site-packages",
			Platlib: "/opt/app/lib64/python3.11/site-packages",
			Headers: "/opt/app/include/site/python3.11",
			Scripts: "/opt/app/bin",
			Data:    "/opt/app",
		}},
		{name: "free-threaded", py: ft, want: wheel.Scheme{
			Purelib: "/opt/app/lib/python3.13t/site-packages",
			Platlib: "/opt/app/lib/python3.13t/site-packages",
			Headers: "/opt/app/include/site/python3.13",
			Scripts: "/opt/app/bin",
			Data:    "/opt/app",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Scheme("/opt/app/", tt.py); got != tt.want {
				t.Errorf("Scheme(%q) = %+v, want %+v", "/opt/app/", got, tt.want)
			}
		})
	}
}

func TestCreateErrors(t *testing.T) {
	nonEmpty := t.TempDir()
	if err := os.WriteFile(filepath.Join(nonEmpty, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	relPy := debian311()
	relPy.Executable = "python3"
	old := debian311()
	old.Version, old.VersionXY, old.Minor = "3.6.15", "3.6", 6
	tests := []struct {
		name   string
		prefix string
		py     *interp.Info
		opts   Options
		want   string
	}{
		{name: "relative prefix", prefix: "venv", py: debian311(), want: "is not absolute"},
		{name: "not empty", prefix: nonEmpty, py: debian311(), want: "is not empty"},
		{name: "relative interpreter", prefix: "/opt/x", py: relPy, want: "interpreter path"},
		{name: "old python", prefix: "/opt/x", py: old, want: "not supported"},
		{name: "newline in prefix", prefix: "/opt/x\ny", py: debian311(), want: "control characters"},
		{name: "no interpreter", prefix: "/opt/x", want: "no interpreter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if tt.name == "not empty" {
				root = ""
			}
			err := Create(context.Background(), root, tt.prefix, tt.py, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Create(%q) = %v, want an error containing %q", tt.prefix, err, tt.want)
			}
		})
	}
}

// entry describes one path of a tree: its type and, for a link, its target.
func treeEntries(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out = append(out, "link "+rel+" -> "+target)
		case d.IsDir():
			out = append(out, "dir  "+rel)
		default:
			info, err := d.Info()
			if err != nil {
				return err
			}
			out = append(out, "file "+rel+" "+info.Mode().Perm().String())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestLayoutMatchesPythonVenv(t *testing.T) {
	tests := []struct {
		name   string
		python string
	}{
		{name: "debian 3.11", python: debianPython},
		{name: "3.10", python: "/root/.pyenv/versions/3.10.13/bin/python3.10"},
		{name: "3.12", python: "/root/.pyenv/versions/3.12.1/bin/python3.12"},
		{name: "3.13", python: "/root/.pyenv/versions/3.13.0/bin/python3.13"},
		{name: "3.13 via python3", python: "/root/.pyenv/versions/3.13.0/bin/python3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := os.Stat(tt.python); err != nil {
				t.Skipf("%s is not installed: %v", tt.python, err)
			}
			py, err := interp.Probe(context.Background(), tt.python, t.TempDir())
			if err != nil {
				t.Fatalf("Probe(%s): %v", tt.python, err)
			}
			tmp := t.TempDir()
			ours, ref := filepath.Join(tmp, "ours"), filepath.Join(tmp, "ref")
			if err := Create(context.Background(), "", ours, py, Options{}); err != nil {
				t.Fatalf("Create: %v", err)
			}
			cmd := exec.Command(tt.python, "-I", "-m", "venv", "--without-pip", ref)
			if out, err := cmd.CombinedOutput(); err != nil {
				testutil.Missing(t, "python3.11-venv", tt.python+" -m venv", fmt.Errorf("%w\n%s", err, out))
			}
			// Activate.ps1 is for PowerShell; the .gitignore of 3.13 and later
			// is for environments inside a git checkout. Create makes neither.
			var want []string
			for _, e := range treeEntries(t, ref) {
				if !strings.Contains(e, "Activate.ps1") && !strings.Contains(e, ".gitignore") {
					want = append(want, e)
				}
			}
			got := treeEntries(t, ours)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("Create made\n%s\npython -m venv made\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			gotCfg, err := os.ReadFile(filepath.Join(ours, "pyvenv.cfg"))
			if err != nil {
				t.Fatal(err)
			}
			wantCfg, err := os.ReadFile(filepath.Join(ref, "pyvenv.cfg"))
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.ReplaceAll(string(wantCfg), ref, ours); string(gotCfg) != want {
				t.Errorf("pyvenv.cfg =\n%s\npython -m venv wrote\n%s", gotCfg, want)
			}
		})
	}
}

// cleanEnv is the environment without variables that steer Python.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PYTHON") || strings.HasPrefix(kv, "VIRTUAL_ENV") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func TestPythonUsesEnvironment(t *testing.T) {
	needPython(t)
	dir := filepath.Join(t.TempDir(), "app")
	if err := Create(context.Background(), "", dir, debian311(), Options{}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	cmd := exec.Command(filepath.Join(dir, "bin", "python"), "-c",
		"import sys; print(sys.prefix); print(sys.base_prefix); print('\\n'.join(sys.path))")
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if lines[0] != dir || lines[1] != "/usr" {
		t.Errorf("sys.prefix, sys.base_prefix = %q, %q, want %q, %q", lines[0], lines[1], dir, "/usr")
	}
	path := lines[2:]
	site := filepath.Join(dir, "lib", "python3.11", "site-packages")
	if !contains(path, site) {
		t.Errorf("sys.path = %q, want it to contain %s", path, site)
	}
	if contains(path, "/usr/lib/python3/dist-packages") {
		t.Errorf("sys.path = %q, want no /usr/lib/python3/dist-packages", path)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestActivateBash(t *testing.T) {
	needPython(t)
	testutil.NeedTool(t, "bash", "bash")
	root := t.TempDir()
	prefix := "/opt/venvs/it's app"
	if err := Create(context.Background(), root, prefix, debian311(), Options{}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	script := `PS1='$ '; OLDPATH="$PATH"; export PYTHONHOME=/nowhere
source "$1/bin/activate"
echo "env=$VIRTUAL_ENV"
echo "prompt=$VIRTUAL_ENV_PROMPT|$PS1"
echo "path=${PATH%%:*}"
echo "home=${PYTHONHOME-unset}"
deactivate
echo "after=${VIRTUAL_ENV-unset} ${PYTHONHOME} $PS1"
[ "$PATH" = "$OLDPATH" ] && echo "path restored"
declare -F deactivate >/dev/null || echo "deactivate gone"
`
	cmd := exec.Command("bash", "-c", script, "bash", filepath.Join(root, prefix))
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	want := "env=" + prefix + "\n" +
		"prompt=(it's app) |(it's app) $ \n" +
		"path=" + prefix + "/bin\n" +
		"home=unset\n" +
		"after=unset /nowhere $ \n" +
		"path restored\n" +
		"deactivate gone\n"
	if string(out) != want {
		t.Errorf("activating in bash printed\n%s\nwant\n%s", out, want)
	}
}

func TestActivateFishAndCsh(t *testing.T) {
	root := t.TempDir()
	prefix := "/opt/venvs/it's app!"
	if err := Create(context.Background(), root, prefix, debian311(), Options{}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	tests := []struct {
		name   string
		shell  string
		script string
	}{
		{
			name:  "fish",
			shell: "fish",
			script: `function fish_prompt; echo -n '$ '; end
set -l oldpath $PATH
source $VENV/bin/activate.fish
echo "env=$VIRTUAL_ENV"
echo "prompt=$VIRTUAL_ENV_PROMPT"
echo "path=$PATH[1]"
deactivate
set -q VIRTUAL_ENV; or echo "after=unset"
test (string join : $PATH) = (string join : $oldpath); and echo "path restored"
functions -q deactivate; or echo "deactivate gone"
`,
		},
		{
			name:  "tcsh",
			shell: "tcsh",
			script: `set prompt='$ '
set oldpath="$PATH"
source "$VENV/bin/activate.csh"
echo "env=$VIRTUAL_ENV"
echo "prompt=$VIRTUAL_ENV_PROMPT"
echo "path=$PATH" | cut -d: -f1
deactivate
if (! $?VIRTUAL_ENV) echo "after=unset"
if ("$PATH" == "$oldpath") echo "path restored"
alias deactivate | grep -q . || echo "deactivate gone"
`,
		},
	}
	want := "env=" + prefix + "\nprompt=(it's app!) \npath=" + prefix + "/bin\nafter=unset\npath restored\ndeactivate gone\n"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testutil.NeedTool(t, tt.shell, tt.shell)
			script := filepath.Join(t.TempDir(), "test."+tt.name)
			if err := os.WriteFile(script, []byte(tt.script), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(tt.shell, script)
			cmd.Env = append(cleanEnv(), "VENV="+filepath.Join(root, prefix))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", tt.shell, err, out)
			}
			if string(out) != want {
				t.Errorf("activating in %s printed\n%s\nwant\n%s", tt.shell, out, want)
			}
		})
	}
}
