package audit

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestMinimumVersions builds a C extension that calls dlopen (in libc
// since glibc 2.34, as GLIBC_2.34) and zlib, and expects the versions
// dpkg-shlibdeps would derive from this host's symbols files, and rpm's
// ELF requirements.
func TestMinimumVersions(t *testing.T) {
	if _, err := os.Stat(filepath.Join(DefaultDpkgInfoDir, "libc6:amd64.symbols")); err != nil {
		t.Skip("needs Debian's libc6 symbols file (amd64)")
	}
	root := t.TempDir()
	ext := filepath.Join(root, "opt/venvs/demo/lib/python3.11/site-packages/dl.cpython-311-x86_64-linux-gnu.so")
	cc(t, ext, "#include <dlfcn.h>\n#include <zlib.h>\nvoid *f(void){return dlopen(zlibVersion(), RTLD_NOW);}\n", "-lz")
	report, err := SharedLibraries(context.Background(), root, ShlibOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := report.Dependency("libc6"); got != "libc6 (>= 2.34)" {
		t.Errorf("Dependency(libc6) = %q, want libc6 (>= 2.34)", got)
	}
	if got := report.Dependency("zlib1g"); got == "zlib1g" || got[:len("zlib1g (>= ")] != "zlib1g (>= " {
		t.Errorf("Dependency(zlib1g) = %q, want a minimum version from zlib1g's symbols file", got)
	}
	if got := report.Dependency("libfoo"); got != "libfoo" {
		t.Errorf("Dependency(libfoo) = %q, want it unversioned", got)
	}
	for _, want := range []string{"libc.so.6()(64bit)", "libc.so.6(GLIBC_2.34)(64bit)", "libz.so.1()(64bit)"} {
		if !slices.Contains(report.RPMRequires, want) {
			t.Errorf("RPMRequires = %q, want %s among them", report.RPMRequires, want)
		}
	}
}

func TestSymbolsFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("libdemo1:amd64.symbols", `libdemo.so.1 libdemo1 #MINVER#
| libdemo1 (>> 2.0), libdemo1 (<< 2.1)
* Build-Depends-Package: libdemo-dev
 demo_open@DEMO_1 1.0
 demo_read@DEMO_1 1.2
 (arch=amd64)demo_fast@DEMO_2 2.0~rc1
 (c++)"demo::x()@Base" 1.5
 demo_close@Base 1:0.9
`)
	write("libold2.shlibs", "libold 2 libold2 (>= 2.4)\nudeb: libold 2 libold2-udeb\n")
	sf, err := readSymbolsFile(dir, "libdemo1")
	if err != nil || sf == nil {
		t.Fatalf("readSymbolsFile = %v, %v", sf, err)
	}
	b := sf.libs["libdemo.so.1"]
	if b == nil || b.dep != "libdemo1 #MINVER#" {
		t.Fatalf("block = %+v, want dependency libdemo1 #MINVER#", b)
	}
	want := map[string]string{"demo_open@DEMO_1": "1.0", "demo_read@DEMO_1": "1.2", "demo_fast@DEMO_2": "2.0~rc1", "demo_close@Base": "1:0.9"}
	for k, v := range want {
		if b.symbols[k] != v {
			t.Errorf("symbols[%s] = %q, want %q", k, b.symbols[k], v)
		}
	}
	if len(b.symbols) != len(want) {
		t.Errorf("symbols = %v, want only %v (patterns skipped)", b.symbols, want)
	}
	if b.nodes["DEMO_1"] != "1.0" || b.nodes["DEMO_2"] != "2.0~rc1" {
		t.Errorf("nodes = %v", b.nodes)
	}
	if sf, err := readSymbolsFile(dir, "libold2"); sf != nil || err != nil {
		t.Errorf("readSymbolsFile(no file) = %v, %v; want nil, nil", sf, err)
	}
	if got := shlibsDependency(dir, "libold2", "libold.so.2"); got != "libold2 (>= 2.4)" {
		t.Errorf("shlibsDependency = %q", got)
	}
	for in, want := range map[string][2]string{"libfoo.so.1": {"libfoo", "1"}, "libfoo-1.2.so": {"libfoo", "1.2"}, "libz.so.1.2.13": {"libz", "1.2.13"}} {
		if a, b := splitSoname(in); a != want[0] || b != want[1] {
			t.Errorf("splitSoname(%q) = %q, %q; want %q", in, a, b, want)
		}
	}
}

// TestMinimumVersionsNode: Debian's symbols file bumps sysconf@GLIBC_2.2.5
// to 2.34 for objects built against its own headers; an object that
// imports it needs only its version node, so a python-build-standalone
// interpreter (which calls sysconf) still installs on glibc 2.31.
func TestMinimumVersionsNode(t *testing.T) {
	if _, err := os.Stat(filepath.Join(DefaultDpkgInfoDir, "libc6:amd64.symbols")); err != nil {
		t.Skip("needs Debian's libc6 symbols file (amd64)")
	}
	root := t.TempDir()
	cc(t, filepath.Join(root, "opt/venvs/demo/lib/sc.so"), "#include <unistd.h>\nlong f(void){return sysconf(_SC_PAGESIZE);}\n")
	report, err := SharedLibraries(context.Background(), root, ShlibOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := report.Dependency("libc6"); got != "libc6 (>= 2.2.5)" {
		t.Errorf("Dependency(libc6) = %q, want libc6 (>= 2.2.5)", got)
	}
}
