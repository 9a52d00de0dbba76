package wheel

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/testutil"
)

// The differential test installs the same wheels with pip (23.0.1 on
// Debian 12, the target platform) and with Install into two venvs created
// the same way, then compares the trees file by file.
//
// Known, intended differences, which the comparison accounts for:
//   - Entry-point wrappers: pip 23 writes distlib's template (a coding line,
//     "import re" and an argv[0] rewrite that only matters on Windows); ours
//     imports the same name from the same module and exits with the same
//     call. The wrappers are compared on those lines and by running them.
//   - INSTALLER, direct_url.json and *.pyc are not compared; RECORD is
//     compared as a set of rows, with the hashes of wrappers left out.
//   - pip 23 leaves a .data/scripts file non-executable unless the zip marks
//     it executable, and keeps a RECORD row for a script it drops because an
//     entry point shares its name; we make every script 0755 and record only
//     what we install. The synthetic wheels here avoid both cases, which
//     TestInstallDataScriptsEntryPoints covers.
const targetPython = "/usr/bin/python3.11"

func requirePip(t *testing.T) {
	t.Helper()
	testutil.NeedFile(t, targetPython, "python3.11")
	if out, err := exec.Command(targetPython, "-m", "pip", "--version").CombinedOutput(); err != nil {
		testutil.Missing(t, "python3-pip", "pip for "+targetPython, fmt.Errorf("%w: %s", err, out))
	}
}

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.CommandContext(context.Background(), name, args...)
	cmd.Env = append(os.Environ(), "PIP_CONFIG_FILE=/dev/null", "PIP_NO_INPUT=1", "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
	return out
}

// differentialWheels writes the synthetic wheels compared against pip.
func differentialWheels(t *testing.T, dir string) []string {
	fancy := merge(demoFiles("Fancy_Pkg", "2.0", true), map[string]string{
		"fancy/__init__.py":                          "import sys\ndef main():\n    print('console', sys.argv[1:])\n    return 3\nclass App:\n    @staticmethod\n    def run():\n        print('gui')\n",
		"fancy/data, with comma.txt":                 "comma\n",
		"Fancy_Pkg-2.0.data/scripts/fix-me":          "#!python -u\nprint('fixed')\n",
		"Fancy_Pkg-2.0.data/scripts/crlf":            "#!pythonw\r\nprint(1)\r\n",
		"Fancy_Pkg-2.0.data/scripts/keep.sh":         "#!/bin/sh\necho keep\n",
		"Fancy_Pkg-2.0.data/headers/fancy.h":         "int fancy;\n",
		"Fancy_Pkg-2.0.data/headers/sub/inner.h":     "int inner;\n",
		"Fancy_Pkg-2.0.data/data/share/fancy/a.txt":  "data\n",
		"Fancy_Pkg-2.0.data/purelib/fancy_extra.py":  "y = 2\n",
		"Fancy_Pkg-2.0.data/platlib/fancy_native.py": "z = 3\n",
		"Fancy_Pkg-2.0.dist-info/entry_points.txt":   "[console_scripts]\nfancy = fancy:main\n\n[gui_scripts]\nfancy-gui = fancy:App.run [gui]\n",
		"Fancy_Pkg-2.0.dist-info/licenses/LICENSE":   "MIT\n",
	})
	fancy["Fancy_Pkg-2.0.dist-info/METADATA"] = []byte("Metadata-Version: 2.1\nName: fancy.pkg\nVersion: 2.0\n")
	plat := merge(demoFiles("platroot", "1.0", false), map[string]string{
		"platroot/__init__.py":                   "",
		"platroot/tool":                          "#!/bin/sh\n",
		"platroot-1.0.data/purelib/pure_part.py": "",
	})
	return []string{
		makeWheel(t, dir, "Fancy_Pkg-2.0-py3-none-any.whl", fancy,
			withMode("Fancy_Pkg-2.0.data/scripts/fix-me", 0o755), withMode("Fancy_Pkg-2.0.data/scripts/crlf", 0o755),
			withMode("Fancy_Pkg-2.0.data/scripts/keep.sh", 0o755)),
		makeWheel(t, dir, "platroot-1.0-cp311-cp311-linux_x86_64.whl", plat, withMode("platroot/tool", 0o755)),
	}
}

func TestDifferentialPip(t *testing.T) {
	requirePip(t)
	tmp := t.TempDir()
	whls, _ := filepath.Glob("/usr/share/python-wheels/*.whl")
	whls = append(whls, differentialWheels(t, tmp)...)
	for i, whl := range whls {
		t.Run(filepath.Base(whl), func(t *testing.T) {
			dir := filepath.Join(tmp, string(rune('a'+i)))
			// Same basename, so the prompt in the activate scripts matches.
			a, b := filepath.Join(dir, "pip", "venv"), filepath.Join(dir, "our", "venv")
			run(t, targetPython, "-m", "venv", "--without-pip", a)
			run(t, targetPython, "-m", "venv", "--without-pip", b)
			run(t, targetPython, "-m", "pip", "--python", filepath.Join(a, "bin", "python"), "install", "--no-deps", "--no-index",
				"--no-compile", "--disable-pip-version-check", "--no-warn-script-location", whl)

			var paths map[string]string
			out := run(t, filepath.Join(b, "bin", "python"), "-c", "import json, sysconfig; print(json.dumps(sysconfig.get_paths()))")
			if err := json.Unmarshal(out, &paths); err != nil {
				t.Fatal(err)
			}
			dest := Destination{
				Scheme: Scheme{Purelib: paths["purelib"], Platlib: paths["platlib"], Scripts: paths["scripts"], Data: paths["data"],
					Headers: filepath.Join(b, "include", "site", "python3.11")},
				Python:    filepath.Join(b, "bin", "python"),
				Installer: "pip",
				Requested: true,
			}
			if _, err := Install(context.Background(), whl, dest); err != nil {
				t.Fatal(err)
			}
			wantWrappers := map[string]int{"pip": 3, "wheel": 1, "Fancy_Pkg": 2}
			name, _, _ := strings.Cut(filepath.Base(whl), "-")
			if n := compareTrees(t, a, b); n != wantWrappers[name] {
				t.Errorf("compared %d entry-point wrappers, want %d", n, wantWrappers[name])
			}
		})
	}
}

type node struct {
	mode    fs.FileMode
	content string // with the venv directory replaced by <VENV>
}

func snapshot(t *testing.T, root string) map[string]node {
	t.Helper()
	m := map[string]node{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		base := d.Name()
		if base == "__pycache__" {
			return filepath.SkipDir
		}
		if strings.HasSuffix(base, ".pyc") || strings.HasSuffix(filepath.Dir(rel), ".dist-info") && (base == "INSTALLER" || base == "direct_url.json") {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		n := node{mode: fi.Mode().Type() | fi.Mode().Perm()&0o111}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			n.content = strings.ReplaceAll(target, root, "<VENV>")
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			n.content = strings.ReplaceAll(string(b), root, "<VENV>")
		}
		m[rel] = n
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// wrapperKey keeps the lines of an entry-point wrapper that decide what it
// runs: the shebang, the import and the call.
func wrapperKey(s string) string {
	var keep []string
	for i, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if i == 0 || strings.HasPrefix(line, "from ") || strings.HasPrefix(line, "sys.exit(") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

// compareTrees reports differences and returns how many wrappers it compared.
func compareTrees(t *testing.T, a, b string) int {
	t.Helper()
	ta, tb := snapshot(t, a), snapshot(t, b)
	wrappers := map[string]bool{}
	var records []string
	for rel, na := range ta {
		nb, ok := tb[rel]
		if !ok {
			t.Errorf("pip installed %s; Install did not", rel)
			continue
		}
		if na.mode != nb.mode {
			t.Errorf("%s: mode %v with pip, %v with Install", rel, na.mode, nb.mode)
		}
		switch {
		case strings.HasSuffix(filepath.Dir(rel), ".dist-info") && filepath.Base(rel) == "RECORD":
			records = append(records, rel)
		case na.content == nb.content:
		case filepath.Dir(rel) == "bin" && strings.Contains(na.content, "sys.exit(") && wrapperKey(na.content) == wrapperKey(nb.content):
			wrappers[rel] = true
			runBoth(t, a, b, rel)
		default:
			t.Errorf("%s differs:\npip:\n%s\nInstall:\n%s", rel, na.content, nb.content)
		}
	}
	for rel := range tb {
		if _, ok := ta[rel]; !ok {
			t.Errorf("Install installed %s; pip did not", rel)
		}
	}
	if len(records) != 1 {
		t.Fatalf("found RECORD files %q, want one", records)
	}
	ra := recordSet(t, a, records[0], wrappers)
	rb := recordSet(t, b, records[0], wrappers)
	if strings.Join(ra, "\n") != strings.Join(rb, "\n") {
		t.Errorf("RECORD differs:\npip:\n%s\nInstall:\n%s", strings.Join(ra, "\n"), strings.Join(rb, "\n"))
	}
	return len(wrappers)
}

// recordSet returns RECORD's rows sorted, without INSTALLER, direct_url.json
// and bytecode rows. The hash and size of wrappers are blanked, and so are
// those of files naming the venv (rewritten scripts) after checking them
// against the file.
func recordSet(t *testing.T, root, recordRel string, wrappers map[string]bool) []string {
	t.Helper()
	content, err := os.ReadFile(filepath.Join(root, recordRel))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(content)).ReadAll()
	if err != nil {
		t.Fatalf("RECORD: %v", err)
	}
	siteDir := filepath.Dir(filepath.Dir(recordRel))
	var out []string
	for _, r := range rows {
		p := r[0]
		if strings.HasSuffix(p, ".pyc") || strings.HasSuffix(p, ".dist-info/INSTALLER") || strings.HasSuffix(p, ".dist-info/direct_url.json") {
			continue
		}
		rel := filepath.Clean(filepath.Join(siteDir, p))
		if wrappers[rel] {
			r = []string{p, "<wrapper>", ""}
		} else if data, err := os.ReadFile(filepath.Join(root, rel)); err == nil && bytes.Contains(data, []byte(root)) {
			if want := []string{p, recordHash(data), strconv.Itoa(len(data))}; !reflect.DeepEqual(r, want) {
				t.Errorf("%s: RECORD row %q, want %q", root, r, want)
			}
			r = []string{p, "<names the venv>", ""}
		}
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		w.Write(r)
		w.Flush()
		out = append(out, strings.TrimSpace(b.String()))
	}
	sort.Strings(out)
	return out
}

// runBoth runs a wrapper from each tree and compares what it prints.
func runBoth(t *testing.T, a, b, rel string) {
	t.Helper()
	outs := make([]string, 2)
	for i, root := range []string{a, b} {
		cmd := exec.Command(filepath.Join(root, rel), "--version")
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("running %s: %v", filepath.Join(root, rel), err)
		}
		outs[i] = strings.ReplaceAll(string(out), root, "<VENV>") + " exit " + string(rune('0'+code%10))
	}
	if outs[0] != outs[1] {
		t.Errorf("%s --version: pip's wrapper printed %q, ours %q", rel, outs[0], outs[1])
	}
}
