package audit

import (
	"context"
	"os"
	"testing"

	"github.com/venvpkg/venvpkg/internal/testutil"
)

func TestInterpreterPackage(t *testing.T) {
	ctx := context.Background()
	if pkg, ok := InterpreterPackage(ctx, "/usr/bin/python3.11", "/usr/bin/python3.11", "3.11"); !ok || pkg != "python3.11" {
		t.Errorf("InterpreterPackage(/usr/bin/python3.11) = %q, %v; want python3.11", pkg, ok)
	}
	testutil.NeedTool(t, "dpkg", "dpkg")
	// A file dpkg knows: /bin/sh's real path belongs to dash (Debian's /bin/sh).
	sh, err := os.Readlink("/bin/sh")
	if err != nil {
		t.Skipf("/bin/sh is not a link here: %v", err)
	}
	if pkg, ok := InterpreterPackage(ctx, "/usr/local/bin/nothing-here", "/bin/"+sh, "3.11"); !ok || pkg != "dash" {
		t.Errorf("InterpreterPackage(real path /bin/%s) = %q, %v; want dash", sh, pkg, ok)
	}
	if pkg, ok := InterpreterPackage(ctx, "/opt/python/bin/python3", "/opt/python/bin/python3.12", "3.12"); ok {
		t.Errorf("InterpreterPackage of a path no package owns = %q, true; want false", pkg)
	}
}
