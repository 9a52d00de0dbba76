package cli

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/venvpkg/venvpkg/internal/testutil"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"venvpkg": func() {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			code := Execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
			stop()
			os.Exit(code)
		},
	})
}

// scriptTools are the programs the scripts' [!exec:…] conditions ask for, with their Debian packages.
var scriptTools = map[string]string{
	"dpkg-deb": "dpkg", "git": "git", "gpg": "gpg", "rpm": "rpm", "rpmbuild": "rpm", "rpmsign": "rpm", "script": "bsdutils", "truncate": "coreutils",
	"/usr/bin/python3.11": "python3.11", "/usr/share/python-wheels/setuptools-*.whl": "python3-setuptools-whl",
}

var execCondRE = regexp.MustCompile(`\[!exec:([^\]]+)\]`)

// needScriptTools makes the scripts' skips honest under CI: every program a script would skip without, and the
// interpreter and wheels of the python311 and pythonwheels conditions, must be present (testutil.NeedTool fails
// the test under CI=true and skips it elsewhere).
func needScriptTools(t *testing.T) {
	t.Helper()
	if !testutil.InCI() {
		return
	}
	scripts, err := filepath.Glob("testdata/script/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range scripts {
		data, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range execCondRE.FindAllStringSubmatch(string(data), -1) {
			seen[m[1]] = true
		}
	}
	for tool := range seen {
		pkg, ok := scriptTools[tool]
		if !ok {
			t.Fatalf("a script skips without %s: add it and its Debian package to scriptTools", tool)
		}
		testutil.NeedTool(t, tool, pkg)
	}
	testutil.NeedFile(t, "/usr/bin/python3.11", scriptTools["/usr/bin/python3.11"])
	testutil.NeedGlob(t, "/usr/share/python-wheels/setuptools-*.whl", scriptTools["/usr/share/python-wheels/setuptools-*.whl"])
}

// TestScripts runs the CLI scripts in testdata/script: each runs venvpkg
// commands and checks their exit status and output.
func TestScripts(t *testing.T) {
	root, err := testutil.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	needScriptTools(t)
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("REPO", root)
			env.Setenv("VENVPKG_CACHE_DIR", filepath.Join(env.WorkDir, ".venvpkg-cache"))
			env.Setenv("SOURCE_DATE_EPOCH", "1700000000")
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "python311":
				_, err := os.Stat("/usr/bin/python3.11")
				return err == nil, nil
			case "pythonwheels":
				m, _ := filepath.Glob("/usr/share/python-wheels/setuptools-*.whl")
				return len(m) > 0, nil
			}
			return false, nil
		},
	})
}
