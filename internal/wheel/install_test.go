package wheel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/venvpkg/venvpkg/internal/testutil"
)

const prefix = "/opt/venvs/app"

func stage(t *testing.T) (wheels, root string, dest Destination) {
	t.Helper()
	tmp := t.TempDir()
	wheels, root = filepath.Join(tmp, "wheels"), filepath.Join(tmp, "root")
	for _, d := range []string{wheels, root} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return wheels, root, Destination{Root: root, Scheme: testScheme(prefix), Python: prefix + "/bin/python", Installer: "venvpkg"}
}

func readStaged(t *testing.T, root, final string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, final))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func modeOf(t *testing.T, root, final string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(filepath.Join(root, final))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestInstallPurelib(t *testing.T) {
	wheels, root, dest := stage(t)
	files := merge(demoFiles("demo", "1.0", true), map[string]string{
		"demo/__init__.py":           "x = 1\n",
		"demo/tool.sh":               "#!/bin/sh\n",
		"demo/__pycache__/x.pyc":     "junk",
		"demo/data, with comma.txt":  "c\n",
		"demo-1.0.dist-info/top.txt": "demo\n",
	})
	whl := makeWheel(t, wheels, "demo-1.0-py3-none-any.whl", files, withMode("demo/tool.sh", 0o755), withoutRecordRow("demo/__pycache__/x.pyc"), withExtraRow("demo/,,"), withExtraRow("demo/__pycache__/gone.pyc,,"))
	dest.Requested = true
	got, err := Install(context.Background(), whl, dest)
	if err != nil {
		t.Fatal(err)
	}
	sp := dest.Scheme.Purelib
	want := []string{
		sp + "/demo-1.0.dist-info/INSTALLER", sp + "/demo-1.0.dist-info/METADATA", sp + "/demo-1.0.dist-info/RECORD",
		sp + "/demo-1.0.dist-info/REQUESTED", sp + "/demo-1.0.dist-info/WHEEL", sp + "/demo-1.0.dist-info/top.txt",
		sp + "/demo/__init__.py", sp + "/demo/data, with comma.txt", sp + "/demo/tool.sh",
	}
	if got.Name != "demo" || got.Version != "1.0" || !got.Pure {
		t.Errorf("Install = %+v, want demo 1.0 pure", got)
	}
	if !reflect.DeepEqual(got.Files, want) {
		t.Errorf("Install Files = %q, want %q", got.Files, want)
	}
	var staged []string
	for _, f := range want {
		staged = append(staged, strings.TrimPrefix(f, "/"))
	}
	sort.Strings(staged)
	files2 := regularFiles(t, root)
	sort.Strings(files2)
	if !reflect.DeepEqual(files2, staged) {
		t.Errorf("staged files = %q, want %q", files2, staged)
	}
	if m := modeOf(t, root, sp+"/demo/tool.sh"); m != 0o755 {
		t.Errorf("mode of tool.sh = %o, want 755", m)
	}
	if m := modeOf(t, root, sp+"/demo/__init__.py"); m != 0o644 {
		t.Errorf("mode of __init__.py = %o, want 644", m)
	}
	if m := modeOf(t, root, sp+"/demo"); m != 0o755 {
		t.Errorf("mode of demo/ = %o, want 755", m)
	}
	if s := readStaged(t, root, sp+"/demo-1.0.dist-info/INSTALLER"); s != "venvpkg\n" {
		t.Errorf("INSTALLER = %q, want %q", s, "venvpkg\n")
	}
	record := readStaged(t, root, sp+"/demo-1.0.dist-info/RECORD")
	wantRecord := strings.Join([]string{
		"demo-1.0.dist-info/INSTALLER," + recordHash([]byte("venvpkg\n")) + ",8",
		"demo-1.0.dist-info/METADATA," + recordHash(files["demo-1.0.dist-info/METADATA"]) + "," + strconv.Itoa(len(files["demo-1.0.dist-info/METADATA"])),
		"demo-1.0.dist-info/RECORD,,",
		"demo-1.0.dist-info/REQUESTED," + recordHash(nil) + ",0",
		"demo-1.0.dist-info/WHEEL," + recordHash(files["demo-1.0.dist-info/WHEEL"]) + "," + strconv.Itoa(len(files["demo-1.0.dist-info/WHEEL"])),
		"demo-1.0.dist-info/top.txt," + recordHash([]byte("demo\n")) + ",5",
		"demo/__init__.py," + recordHash([]byte("x = 1\n")) + ",6",
		`"demo/data, with comma.txt",` + recordHash([]byte("c\n")) + ",2",
		"demo/tool.sh," + recordHash([]byte("#!/bin/sh\n")) + ",10",
	}, "\n") + "\n"
	if record != wantRecord {
		t.Errorf("RECORD =\n%s\nwant\n%s", record, wantRecord)
	}
}

func TestInstallPlatlib(t *testing.T) {
	tests := []struct {
		name     string
		purelib  bool
		extra    map[string]string
		wantPure bool
		wantLib  string
	}{
		{"root is platlib", false, map[string]string{"ext.so": "ELF"}, false, "lib64"},
		{"root is purelib, platlib data", true, map[string]string{"plat-1.0.data/platlib/ext.so": "ELF"}, false, "lib"},
		{"Root-Is-Purelib TRUE", true, map[string]string{"mod.py": "x"}, true, "lib"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wheels, root, dest := stage(t)
			files := merge(demoFiles("plat", "1.0", tt.purelib), tt.extra)
			if tt.name == "Root-Is-Purelib TRUE" {
				files["plat-1.0.dist-info/WHEEL"] = []byte("Wheel-Version: 1.0\nRoot-Is-Purelib: TRUE\n")
			}
			got, err := Install(context.Background(), makeWheel(t, wheels, "plat-1.0-cp311-cp311-linux_x86_64.whl", files), dest)
			if err != nil {
				t.Fatal(err)
			}
			if got.Pure != tt.wantPure {
				t.Errorf("Pure = %v, want %v", got.Pure, tt.wantPure)
			}
			rec := prefix + "/" + tt.wantLib + "/python3.11/site-packages/plat-1.0.dist-info/RECORD"
			if _, err := os.Stat(filepath.Join(root, rec)); err != nil {
				t.Errorf("RECORD not at %s: %v", rec, err)
			}
			for _, f := range got.Files {
				if strings.HasSuffix(f, "ext.so") && f != prefix+"/lib64/python3.11/site-packages/ext.so" {
					t.Errorf("ext.so installed at %s, want platlib", f)
				}
			}
		})
	}
}

func TestInstallDataScriptsEntryPoints(t *testing.T) {
	wheels, root, dest := stage(t)
	files := merge(demoFiles("Fancy_Pkg", "2.0", true), map[string]string{
		"fancy/__init__.py":                              "def main():\n    print('console')\n    return 3\nclass App:\n    @staticmethod\n    def run():\n        print('gui')\n",
		"Fancy_Pkg-2.0.data/scripts/fix-me":              "#!python -u\nprint('fixed')\n",
		"Fancy_Pkg-2.0.data/scripts/crlf":                "#!pythonw\r\nprint(1)\r\n",
		"Fancy_Pkg-2.0.data/scripts/keep.sh":             "#!/bin/sh\necho keep\n",
		"Fancy_Pkg-2.0.data/scripts/fancy":               "#!python\nshadowed by the entry point\n",
		"Fancy_Pkg-2.0.data/scripts/fancy-script.py":     "shadowed\n",
		"Fancy_Pkg-2.0.data/headers/fancy.h":             "int fancy;\n",
		"Fancy_Pkg-2.0.data/data/share/fancy/a.txt":      "data\n",
		"Fancy_Pkg-2.0.data/purelib/fancy_extra.py":      "y = 2\n",
		"Fancy_Pkg-2.0.data/platlib/fancy_native.py":     "z = 3\n",
		"Fancy_Pkg-2.0.dist-info/entry_points.txt":       "[console_scripts]\nfancy = fancy:main\n\n[gui_scripts]\nfancy-gui = fancy:App.run [gui]\n[other]\nnot-a-script = fancy\n",
		"Fancy_Pkg-2.0.dist-info/licenses/LICENSE":       "MIT\n",
		"Fancy_Pkg-2.0.dist-info/sboms/bom.json":         "{}\n",
		"Fancy_Pkg-2.0.data/scripts/fancy.pya":           "shadowed\n",
		"Fancy_Pkg-2.0.data/scripts/fancy-gui.exe":       "shadowed\n",
		"Fancy_Pkg-2.0.data/scripts/not-shadowed-fancy":  "x\n",
		"Fancy_Pkg-2.0.data/data/share/fancy/deep/b.txt": "deep\n",
	})
	files["Fancy_Pkg-2.0.dist-info/METADATA"] = []byte("Metadata-Version: 2.1\nName: fancy.pkg\nVersion: 2.0\n")
	// Larger than the script reader's buffer, in the body and in the first line.
	bigBody := strings.Repeat("# padding line\n", 20000)
	files["Fancy_Pkg-2.0.data/scripts/big"] = []byte("#!python\n" + bigBody)
	files["Fancy_Pkg-2.0.data/scripts/longline"] = []byte("#!python " + strings.Repeat("x", 100000) + "\nprint()\n")
	whl := makeWheel(t, wheels, "Fancy_Pkg-2.0-py3-none-any.whl", files)
	got, err := Install(context.Background(), whl, dest)
	if err != nil {
		t.Fatal(err)
	}
	if got.Pure {
		t.Errorf("Pure = true with platlib data, want false")
	}
	bin := prefix + "/bin/"
	checks := []struct{ final, content string }{
		{bin + "fix-me", "#!" + prefix + "/bin/python\nprint('fixed')\n"},
		{bin + "crlf", "#!" + prefix + "/bin/python\nprint(1)\r\n"},
		{bin + "keep.sh", "#!/bin/sh\necho keep\n"},
		{bin + "big", "#!" + prefix + "/bin/python\n" + bigBody},
		{bin + "longline", "#!" + prefix + "/bin/python\nprint()\n"},
		{bin + "not-shadowed-fancy", "x\n"},
		{prefix + "/include/site/python3.11/Fancy-Pkg/fancy.h", "int fancy;\n"},
		{prefix + "/share/fancy/a.txt", "data\n"},
		{prefix + "/share/fancy/deep/b.txt", "deep\n"},
		{dest.Scheme.Purelib + "/fancy_extra.py", "y = 2\n"},
		{dest.Scheme.Platlib + "/fancy_native.py", "z = 3\n"},
		{dest.Scheme.Purelib + "/Fancy_Pkg-2.0.dist-info/licenses/LICENSE", "MIT\n"},
		{dest.Scheme.Purelib + "/Fancy_Pkg-2.0.dist-info/sboms/bom.json", "{}\n"},
	}
	for _, c := range checks {
		if s := readStaged(t, root, c.final); s != c.content {
			t.Errorf("%s = %q, want %q", c.final, s, c.content)
		}
	}
	for _, s := range []string{"fix-me", "crlf", "keep.sh", "fancy", "fancy-gui"} {
		if m := modeOf(t, root, bin+s); m != 0o755 {
			t.Errorf("mode of bin/%s = %o, want 755", s, m)
		}
	}
	for _, s := range []string{"fancy-script.py", "fancy.pya", "fancy-gui.exe", "not-a-script"} {
		if _, err := os.Lstat(filepath.Join(root, bin, s)); err == nil {
			t.Errorf("bin/%s exists, want it dropped", s)
		}
	}
	if _, err := os.Stat(filepath.Join(root, dest.Scheme.Purelib, "Fancy_Pkg-2.0.data")); err == nil {
		t.Errorf("the .data directory was created in site-packages")
	}
	checkGolden(t, "console.golden", readStaged(t, root, bin+"fancy"))
	checkGolden(t, "gui.golden", readStaged(t, root, bin+"fancy-gui"))

	// RECORD describes the files as installed.
	rec, err := parseRecord(strings.NewReader(readStaged(t, root, dest.Scheme.Purelib+"/Fancy_Pkg-2.0.dist-info/RECORD")))
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]recordRow{}
	for _, r := range rec {
		paths[r.Path] = r
	}
	for _, f := range got.Files {
		rel, _ := filepath.Rel(dest.Scheme.Purelib, f)
		r, ok := paths[rel]
		if !ok {
			t.Errorf("RECORD has no row for %s (%s)", f, rel)
			continue
		}
		if strings.HasSuffix(rel, "/RECORD") {
			continue
		}
		data := readStaged(t, root, f)
		if r.Hash != recordHash([]byte(data)) || r.Size != int64(len(data)) {
			t.Errorf("RECORD row %s = %s,%d, want %s,%d", rel, r.Hash, r.Size, recordHash([]byte(data)), len(data))
		}
	}
	if len(paths) != len(got.Files) {
		t.Errorf("RECORD has %d rows, want %d (one per installed file)", len(paths), len(got.Files))
	}
	if _, ok := paths["../../../bin/fix-me"]; !ok {
		t.Errorf("RECORD lacks ../../../bin/fix-me: %v", rec)
	}
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	testutil.Golden(t, filepath.Join("testdata", name), []byte(got))
}

func TestShebang(t *testing.T) {
	long := "/opt/venvs/" + strings.Repeat("x", 120) + "/bin/python"
	tests := []struct{ name, python, golden string }{
		{"plain", "/opt/venvs/app/bin/python", "shebang-plain.golden"},
		{"space", "/opt/my venvs/app/bin/python", "shebang-space.golden"},
		{"long", long, "shebang-long.golden"},
		{"exactly 127", "/" + strings.Repeat("p", 124), "shebang-127.golden"},
		{"128", "/" + strings.Repeat("p", 125), "shebang-128.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGolden(t, tt.golden, shebang(tt.python))
		})
	}
}

// TestWrappersRun executes generated scripts with the target interpreter,
// including through the /bin/sh trampoline used for long paths.
func TestWrappersRun(t *testing.T) {
	py := "/usr/bin/python3.11"
	testutil.NeedFile(t, py, "python3.11")
	for _, spaced := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "trampoline"}[spaced], func(t *testing.T) {
			tmp := t.TempDir()
			venvDir := filepath.Join(tmp, "v")
			if spaced {
				venvDir = filepath.Join(tmp, "a dir with spaces", strings.Repeat("long", 30))
			}
			if err := os.MkdirAll(filepath.Join(venvDir, "bin"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(py, filepath.Join(venvDir, "bin", "python")); err != nil {
				t.Fatal(err)
			}
			files := merge(demoFiles("runme", "1.0", true), map[string]string{
				"runme/__init__.py":                    "import sys\ndef main():\n    print('args', sys.argv[1:])\n    return 4\nclass A:\n    class B:\n        @staticmethod\n        def go():\n            print('deep')\n",
				"runme-1.0.dist-info/entry_points.txt": "[console_scripts]\nrunme = runme:main\n[gui_scripts]\nrunme-deep = runme:A.B.go\n",
				"runme-1.0.data/scripts/hello":         "#!python\nimport sys\nprint('hello', sys.argv[1:])\n",
			})
			whl := makeWheel(t, tmp, "runme-1.0-py3-none-any.whl", files)
			dest := Destination{Scheme: testScheme(venvDir), Python: filepath.Join(venvDir, "bin", "python")}
			if _, err := Install(context.Background(), whl, dest); err != nil {
				t.Fatal(err)
			}
			run := func(script string, wantCode int, want string) {
				cmd := exec.Command(filepath.Join(venvDir, "bin", script), "a b", "c")
				cmd.Env = append(os.Environ(), "PYTHONPATH="+dest.Scheme.Purelib)
				out, err := cmd.CombinedOutput()
				code := 0
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					code = ee.ExitCode()
				} else if err != nil {
					t.Fatalf("running %s: %v: %s", script, err, out)
				}
				if code != wantCode || string(out) != want {
					t.Errorf("%s exited %d with %q, want %d with %q", script, code, out, wantCode, want)
				}
			}
			run("runme", 4, "args ['a b', 'c']\n")
			run("runme-deep", 0, "deep\n")
			run("hello", 0, "hello ['a b', 'c']\n")
		})
	}
}

func TestInstallConflict(t *testing.T) {
	wheels, root, dest := stage(t)
	a := makeWheel(t, wheels, "a-1.0-py3-none-any.whl", merge(demoFiles("a", "1.0", true), map[string]string{"shared/x.py": "a\n"}))
	b := makeWheel(t, wheels, "b-1.0-py3-none-any.whl", merge(demoFiles("b", "1.0", true), map[string]string{"b.py": "b\n", "shared/x.py": "b\n"}))
	if _, err := Install(context.Background(), a, dest); err != nil {
		t.Fatal(err)
	}
	before := regularFiles(t, root)
	_, err := Install(context.Background(), b, dest)
	if err == nil || !strings.Contains(err.Error(), "b-1.0-py3-none-any.whl") || !strings.Contains(err.Error(), "installed by a-1.0.dist-info") {
		t.Fatalf("Install(b) = %v, want an error naming b-1.0-py3-none-any.whl and a-1.0.dist-info", err)
	}
	if after := regularFiles(t, root); !reflect.DeepEqual(before, after) {
		t.Errorf("files after the failed install = %q, want %q (rolled back)", after, before)
	}
	if s := readStaged(t, root, dest.Scheme.Purelib+"/shared/x.py"); s != "a\n" {
		t.Errorf("shared/x.py = %q, want a's content", s)
	}
}

func TestInstallCanceled(t *testing.T) {
	wheels, root, dest := stage(t)
	whl := makeWheel(t, wheels, "c-1.0-py3-none-any.whl", merge(demoFiles("c", "1.0", true), map[string]string{"c.py": "c\n"}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Install(ctx, whl, dest)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Install with a canceled context = %v, want context.Canceled", err)
	}
	if files := regularFiles(t, root); len(files) != 0 {
		t.Errorf("canceled install left %q", files)
	}
}

func TestInstallNewerMinorWheelVersion(t *testing.T) {
	wheels, _, dest := stage(t)
	files := merge(demoFiles("n", "1.0", true), map[string]string{"n.py": ""})
	files["n-1.0.dist-info/WHEEL"] = []byte("Wheel-Version: 1.9\nRoot-Is-Purelib: true\n")
	if _, err := Install(context.Background(), makeWheel(t, wheels, "n-1.0-py3-none-any.whl", files), dest); err != nil {
		t.Errorf("Install(Wheel-Version 1.9) = %v, want success", err)
	}
}

func TestSameVersion(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"1.0", "1.0", true},
		{"1.0", "1.0.0", true},
		{"1.0.post1", "1.0-post1", true},
		{"1.0_post1", "1.0.post1", true},
		{"1.0RC1", "1.0rc1", true},
		{"1.0", "1.1", false},
		{"1.0+local", "1.0", false},
		{"weird_ver", "weird-ver", true},
		{"weird_ver", "other", false},
	}
	for _, tt := range tests {
		if got := sameVersion(tt.a, tt.b); got != tt.want {
			t.Errorf("sameVersion(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestReadMetadata(t *testing.T) {
	wheels, _, _ := stage(t)
	files := demoFiles("Meta.Pkg", "3.1", true)
	files["Meta.Pkg-3.1.dist-info/METADATA"] = []byte("Metadata-Version: 2.1\nName: Meta.Pkg\nVersion: 3.1\nSummary: folded\n  summary\nRequires-Python: >=3.8\nRequires-Dist: a>=1\nrequires-dist: b; extra == \"x\"\n\nBody: not a header\n")
	// The dist-info directory is named like the filename, escaped.
	files["Meta_Pkg-3.1.dist-info/METADATA"] = files["Meta.Pkg-3.1.dist-info/METADATA"]
	files["Meta_Pkg-3.1.dist-info/WHEEL"] = files["Meta.Pkg-3.1.dist-info/WHEEL"]
	delete(files, "Meta.Pkg-3.1.dist-info/METADATA")
	delete(files, "Meta.Pkg-3.1.dist-info/WHEEL")
	m, err := ReadMetadata(makeWheel(t, wheels, "Meta_Pkg-3.1-py3-none-any.whl", files))
	if err != nil {
		t.Fatal(err)
	}
	want := &Metadata{Name: "Meta.Pkg", Version: "3.1", RequiresPython: ">=3.8", RequiresDist: []string{"a>=1", `b; extra == "x"`}, Summary: "folded summary", Description: "Body: not a header\n"}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("ReadMetadata = %+v, want %+v", m, want)
	}
}

func TestParseFilename(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // "dist|version|build|tags" or "error"
	}{
		{"simple", "pip-23.0.1-py3-none-any.whl", "pip|23.0.1|||py3-none-any"},
		{"build tag", "simplewheel-2.0-1-py2.py3-none-any.whl", "simplewheel|2.0|1||py2-none-any py3-none-any"},
		{"compressed platform", "numpy-1.26.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "numpy|1.26.0|||cp311-cp311-manylinux_2_17_x86_64 cp311-cp311-manylinux2014_x86_64"},
		{"underscore name", "typing_extensions-4.7.1-py3-none-any.whl", "typing_extensions|4.7.1|||py3-none-any"},
		{"local version", "foo-1.0+local.1-py3-none-any.whl", "foo|1.0+local.1|||py3-none-any"},
		{"build tag not digit", "foo-1.0-a1-py3-none-any.whl", "error"},
		{"too few parts", "foo-1.0-py3-any.whl", "error"},
		{"too many parts", "foo-1.0-1-2-py3-none-any.whl", "error"},
		{"not whl", "foo-1.0-py3-none-any.zip", "error"},
		{"empty name", "-1.0-py3-none-any.whl", "error"},
		{"path", "../foo-1.0-py3-none-any.whl", "error"},
		{"bad version", "foo-1 0-py3-none-any.whl", "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFilename(tt.in)
			got := "error"
			if err == nil {
				var ts []string
				for _, x := range f.Tags {
					ts = append(ts, x.String())
				}
				got = f.Distribution + "|" + f.Version + "|" + f.Build + "||" + strings.Join(ts, " ")
			}
			if got != tt.want {
				t.Errorf("ParseFilename(%q) = %q (%v), want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseEntryPoints(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // "group:name=module:attr;..." or "error: substring"
	}{
		{"basic", "[console_scripts]\nfoo = pkg.mod:obj.attr\n", "console_scripts:foo=pkg.mod:obj.attr"},
		{"other groups are not code", "[pytest11]\nplug = some-plugin thing\n", "pytest11:plug=some-plugin thing"},
		{"extras comments case", "# c\n; c\n[gui_scripts]\n Foo=pkg:main [x, y]\n", "gui_scripts:Foo=pkg:main"},
		{"no attr", "[console_scripts]\nfoo = pkg\n", "console_scripts:foo=pkg"},
		{"colon in name", "[gui_scripts]\na:b = pkg:f\n", "gui_scripts:a:b=pkg:f"},
		{"before section", "foo = a:b\n", "error: before any [section]"},
		{"no equals", "[x]\nfoo\n", "error: is not name = value"},
		{"injection", "[console_scripts]\nfoo = os;import sys:x\n", "error: not a dotted Python name"},
		{"unterminated section", "[x\n", "error: unterminated section"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eps, err := parseEntryPoints([]byte(tt.in))
			var got string
			if err != nil {
				got = "error: " + err.Error()
			} else {
				var parts []string
				for _, ep := range eps {
					if ep.Attr != "" {
						parts = append(parts, ep.Group+":"+ep.Name+"="+ep.Module+":"+ep.Attr)
					} else {
						parts = append(parts, ep.Group+":"+ep.Name+"="+ep.Value)
					}
				}
				got = strings.Join(parts, ";")
			}
			if strings.HasPrefix(tt.want, "error: ") && strings.Contains(got, strings.TrimPrefix(tt.want, "error: ")) {
				return
			}
			if got != tt.want {
				t.Errorf("parseEntryPoints(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseRecordRoundTrip(t *testing.T) {
	rows := []recordRow{
		{Path: "a.py", Hash: "sha256=abc", Size: 3},
		{Path: `we"ird, name.py`, Hash: "sha256=def", Size: 0},
		{Path: "x-1.0.dist-info/RECORD", Size: -1},
	}
	got, err := parseRecord(strings.NewReader(string(writeRecord(rows))))
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		got[i].Line = 0
	}
	if !reflect.DeepEqual(got, rows) {
		t.Errorf("parseRecord(writeRecord(%v)) = %v", rows, got)
	}
}

// TestInstallModesIgnoreUmask checks that files and directories get exactly
// 0644, 0755 and 0755 even under a restrictive umask.
func TestInstallModesIgnoreUmask(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	wheels, root, dest := stage(t)
	files := merge(demoFiles("um", "1.0", true), map[string]string{"um/a.py": "a", "um/b.py": "b", "um/x.sh": "x", "um/y.sh": "y"})
	whl := makeWheel(t, wheels, "um-1.0-py3-none-any.whl", files, withMode("um/x.sh", 0o755), withMode("um/y.sh", 0o755))
	if _, err := Install(context.Background(), whl, dest); err != nil {
		t.Fatal(err)
	}
	sp := dest.Scheme.Purelib
	for final, want := range map[string]os.FileMode{
		sp + "/um/a.py": 0o644, sp + "/um/b.py": 0o644, sp + "/um/x.sh": 0o755, sp + "/um/y.sh": 0o755,
		sp + "/um": 0o755, sp: 0o755, prefix: 0o755,
	} {
		if m := modeOf(t, root, final); m != want {
			t.Errorf("mode of %s = %o, want %o", final, m, want)
		}
	}
}

func TestInstallArchiveHash(t *testing.T) {
	wheels, root, dest := stage(t)
	whl := makeWheel(t, wheels, "h-1.0-py3-none-any.whl", merge(demoFiles("h", "1.0", true), map[string]string{"h.py": ""}))
	data, err := os.ReadFile(whl)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	dest.SHA256 = strings.Repeat("0", 64)
	if _, err := Install(context.Background(), whl, dest); err == nil || !strings.Contains(err.Error(), "sha256 of the wheel is "+hex.EncodeToString(sum[:])) {
		t.Errorf("Install with a wrong SHA256 = %v, want a mismatch naming the actual digest", err)
	}
	if files := regularFiles(t, root); len(files) != 0 {
		t.Errorf("install with a wrong hash wrote %q", files)
	}
	dest.SHA256 = strings.ToUpper(hex.EncodeToString(sum[:]))
	if _, err := Install(context.Background(), whl, dest); err != nil {
		t.Errorf("Install with the right SHA256 = %v", err)
	}
}
