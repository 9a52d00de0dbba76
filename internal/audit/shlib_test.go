package audit

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/testutil"
)

// cc compiles source into a shared object at out with gcc.
func cc(t *testing.T, out, source string, args ...string) {
	t.Helper()
	testutil.NeedTool(t, "gcc", "gcc")
	dir := t.TempDir()
	src := filepath.Join(dir, "src.c")
	if err := os.WriteFile(src, []byte(source), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	cmdArgs := append([]string{"-shared", "-fPIC", "-o", out, src, "-Wl,--no-as-needed"}, args...)
	cmd := exec.CommandContext(context.Background(), "gcc", cmdArgs...)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		t.Fatalf("gcc %s: %v: %s", strings.Join(cmdArgs, " "), err, output.String())
	}
}

const libpq = "/usr/lib/x86_64-linux-gnu/libpq.so.5"

func TestSharedLibraries(t *testing.T) {
	root := t.TempDir()
	site := filepath.Join(root, "opt/venvs/demo/lib/python3.11/site-packages")

	// A C extension linking zlib and libm: zlib1g is a dependency, libm is
	// part of libc6 and dropped.
	cc(t, filepath.Join(site, "zext.cpython-311-x86_64-linux-gnu.so"),
		"#include <zlib.h>\n#include <math.h>\ndouble f(double x){return sqrt(x)+zlibVersion()[0];}\n", "-lz", "-lm")

	// A library that exists only while building: its soname is unresolved.
	outside := filepath.Join(t.TempDir(), "libvenvpkgmissing.so.1")
	cc(t, outside, "int missing(void){return 1;}\n", "-Wl,-soname,libvenvpkgmissing.so.1")
	cc(t, filepath.Join(site, "missing/_ext.cpython-311-x86_64-linux-gnu.so"),
		"int missing(void);\nint g(void){return missing();}\n", outside)

	// A vendored library, as auditwheel puts it in <name>.libs/ with a
	// hashed file name and its own DT_SONAME.
	vendored := filepath.Join(site, "vend.libs/libvend-1a2b3c4d.so.2")
	cc(t, vendored, "int vend(void){return 2;}\n", "-Wl,-soname,libvend-1a2b3c4d.so.2")
	cc(t, filepath.Join(site, "vend/_ext.cpython-311-x86_64-linux-gnu.so"),
		"int vend(void);\nint h(void){return vend();}\n", vendored)

	wantDepends := []string{"zlib1g"}
	if _, err := os.Stat(libpq); err == nil {
		cc(t, filepath.Join(site, "pq/_pq.cpython-311-x86_64-linux-gnu.so"),
			"int PQlibVersion(void);\nint v(void){return PQlibVersion();}\n", libpq)
		wantDepends = []string{"libpq5", "zlib1g"}
	} else {
		t.Logf("%s not installed (apt-get install libpq5); skipping its case", libpq)
	}

	// Files that are not ELF objects are ignored.
	if err := os.WriteFile(filepath.Join(site, "notes.txt"), []byte("\x7fEL"), 0o644); err != nil {
		t.Fatal(err)
	}

	report, err := SharedLibraries(context.Background(), root, ShlibOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !report.HasELF {
		t.Error("SharedLibraries: HasELF = false, want true")
	}
	if !slices.Equal(report.Depends, wantDepends) {
		t.Errorf("SharedLibraries: Depends = %q, want %q", report.Depends, wantDepends)
	}
	zneed := Need{Package: "zlib1g", Soname: "libz.so.1", Files: []string{"/opt/venvs/demo/lib/python3.11/site-packages/zext.cpython-311-x86_64-linux-gnu.so"}}
	wantNeeds := []Need{zneed}
	if len(wantDepends) == 2 {
		wantNeeds = []Need{{Package: "libpq5", Soname: "libpq.so.5", Files: []string{"/opt/venvs/demo/lib/python3.11/site-packages/pq/_pq.cpython-311-x86_64-linux-gnu.so"}}, zneed}
	}
	if !slices.EqualFunc(report.Needs, wantNeeds, func(a, b Need) bool {
		return a.Package == b.Package && a.Soname == b.Soname && slices.Equal(a.Files, b.Files)
	}) {
		t.Errorf("SharedLibraries: Needs = %+v, want %+v", report.Needs, wantNeeds)
	}
	wantUnresolved := []Unresolved{{
		Soname: "libvenvpkgmissing.so.1",
		Files:  []string{"/opt/venvs/demo/lib/python3.11/site-packages/missing/_ext.cpython-311-x86_64-linux-gnu.so"},
		Reason: "not found on the build host",
	}}
	if !slices.EqualFunc(report.Unresolved, wantUnresolved, func(a, b Unresolved) bool {
		return a.Soname == b.Soname && a.Reason == b.Reason && slices.Equal(a.Files, b.Files)
	}) {
		t.Errorf("SharedLibraries: Unresolved = %+v, want %+v", report.Unresolved, wantUnresolved)
	}
	var ue *UnresolvedError
	if err := report.Err(); !errors.As(err, &ue) || !strings.Contains(err.Error(), "libvenvpkgmissing.so.1 (not found on the build host), needed by /opt/venvs/demo/") {
		t.Errorf("report.Err() = %v, want an *UnresolvedError naming libvenvpkgmissing.so.1", err)
	}

	t.Run("interpreter needs are provided", func(t *testing.T) {
		const python = "/usr/bin/python3.11"
		testutil.NeedFile(t, python, "python3.11")
		needs, err := interpreterNeeds(python)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(needs, "libz.so.1") {
			t.Skipf("%s does not link zlib (needs %v)", python, needs)
		}
		report, err := SharedLibraries(context.Background(), root, ShlibOptions{Interpreter: python, Provided: []string{"libvenvpkg*"}})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(report.Depends, "zlib1g") {
			t.Errorf("SharedLibraries with Interpreter %s: Depends = %q, want zlib1g dropped", python, report.Depends)
		}
		if len(report.Unresolved) != 0 {
			t.Errorf("SharedLibraries with Provided libvenvpkg*: Unresolved = %+v, want none", report.Unresolved)
		}
	})
}

func TestSharedLibrariesPurePython(t *testing.T) {
	root := writeTree(t, map[string]string{
		"opt/venvs/demo/bin/app":          "#!/opt/venvs/demo/bin/python\n",
		"opt/venvs/demo/bin/python":       "->/usr/bin/python3.11",
		"opt/venvs/demo/lib/demo/init.py": "",
	})
	report, err := SharedLibraries(context.Background(), root, ShlibOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if report.HasELF || len(report.Depends) != 0 || len(report.Unresolved) != 0 {
		t.Errorf("SharedLibraries of a pure-Python payload = %+v, want no ELF, no depends, nothing unresolved", report)
	}
	if err := report.Err(); err != nil {
		t.Errorf("report.Err() = %v, want nil", err)
	}
}

func TestUsrMergeTwin(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "lib to usr", in: "/lib/x86_64-linux-gnu/libz.so.1", want: "/usr/lib/x86_64-linux-gnu/libz.so.1"},
		{name: "usr to lib", in: "/usr/lib/x86_64-linux-gnu/libz.so.1", want: "/lib/x86_64-linux-gnu/libz.so.1"},
		{name: "lib64", in: "/lib64/ld-linux-x86-64.so.2", want: "/usr/lib64/ld-linux-x86-64.so.2"},
		{name: "no twin", in: "/opt/lib/libx.so", want: ""},
		{name: "prefix is not a directory", in: "/library/x", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := usrMergeTwin(tt.in); got != tt.want {
				t.Errorf("usrMergeTwin(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
