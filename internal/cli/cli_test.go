package cli

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
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

// TestScripts runs the CLI scripts in testdata/script: each runs venvpkg
// commands and checks their exit status and output.
func TestScripts(t *testing.T) {
	root, err := testutil.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
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
