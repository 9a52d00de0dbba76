package pipeline_test

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/payload"
	"github.com/venvpkg/venvpkg/internal/pipeline"
)

// TestDifferentialPip installs the web app (Flask, MarkupSafe's C extension,
// and the app's own wheel) once with pip into a venv made by `python -m venv`
// and once with venvpkg, then compares the two trees file by file. Allowed
// differences: bytecode, INSTALLER, REQUESTED, direct_url.json, RECORD row
// order, the text of the activate scripts and pyvenv.cfg's command line, and
// the boilerplate of entry-point wrappers (their shebang, import and call
// must match); venvpkg's SBOM (sbom.cdx.json) is venvpkg's own addition.
func TestDifferentialPip(t *testing.T) {
	if testing.Short() {
		t.Skip("differential test skipped in -short mode")
	}
	needTools(t)
	wheels := webappWheels(t)
	project := repoPath(t, "testdata/webapp")

	// pip's side: the project's wheel built by pip (setuptools from Debian's
	// wheel directory), then everything installed without dependencies.
	pipWheels := t.TempDir()
	run(t, python, "-m", "pip", "wheel", "--no-deps", "--no-index", "--find-links", pythonWheels,
		"--wheel-dir", pipWheels, copyOf(t, project))
	pipVenv := filepath.Join(t.TempDir(), "pipvenv")
	run(t, python, "-m", "venv", "--without-pip", pipVenv)
	args := []string{"-m", "pip", "--python", filepath.Join(pipVenv, "bin", "python"), "install",
		"--no-deps", "--no-index", "--no-compile", "--disable-pip-version-check"}
	whls, _ := filepath.Glob(filepath.Join(wheels, "*.whl"))
	projWhl, _ := filepath.Glob(filepath.Join(pipWheels, "webapp-*.whl"))
	if len(projWhl) != 1 {
		t.Fatalf("pip wheel wrote %v, want one webapp wheel", projWhl)
	}
	run(t, python, append(append(args, whls...), projWhl[0])...)

	// venvpkg's side, at a prefix of the same length so nothing shifts.
	prefix := filepath.Join(filepath.Dir(pipVenv), "vpkvenv")
	res := runBuild(t, pipeline.Options{ProjectDir: project, FindLinks: []string{wheels, pythonWheels}, NoIndex: true,
		OutDir: t.TempDir(), Prefix: prefix, NoCompile: true})
	x := t.TempDir()
	run(t, "dpkg-deb", "-x", res.Packages[0], x)
	ours := filepath.Join(x, prefix)

	a := snapshot(t, pipVenv, pipVenv)
	compareTrees(t, a, snapshot(t, ours, prefix))
	if len(a) < 200 {
		t.Errorf("pip's tree has only %d entries; the comparison looked at too little", len(a))
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func copyOf(t *testing.T, dir string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(dir))
	copyTree(t, dir, dst)
	return dst
}

func short(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

var (
	skipNames  = map[string]bool{"INSTALLER": true, "REQUESTED": true, "direct_url.json": true}
	wrapperKey = regexp.MustCompile(`(?m)^(#!.*|from \S+ import \S+|\s*sys\.exit\(.*\))$`)
)

// snapshot describes every entry below dir as path → kind, mode and content,
// with the venv's own path written as $VENV.
func snapshot(t *testing.T, dir, venvPath string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		base := d.Name()
		switch {
		case rel == ".":
			return nil
		case d.IsDir() && base == "__pycache__":
			return filepath.SkipDir
		case strings.HasSuffix(base, ".pyc"), skipNames[base], strings.HasPrefix(rel, "bin/activate"),
			rel == "bin/Activate.ps1", rel == "pyvenv.cfg", rel == payload.SBOMName:
			return nil
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "link " + strings.ReplaceAll(target, venvPath, "$VENV")
		case info.IsDir():
			out[rel] = "dir"
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			data = bytes.ReplaceAll(data, []byte(venvPath), []byte("$VENV"))
			content := string(data)
			switch {
			case base == "RECORD":
				content = normaliseRecord(content)
			case strings.HasPrefix(rel, "bin/") && strings.Contains(content, "sys.exit("):
				content = strings.Join(wrapperKey.FindAllString(content, -1), "\n")
			}
			exec := info.Mode()&0o111 != 0
			out[rel] = "file exec=" + map[bool]string{true: "y", false: "n"}[exec] + " " + content
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// normaliseRecord sorts RECORD rows, drops the rows of files the comparison
// skips, and keeps only the path of entry-point wrappers (whose text may
// differ).
func normaliseRecord(s string) string {
	var rows []string
	for _, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if line == "" {
			continue
		}
		path := line
		if i := strings.Index(line, ","); i >= 0 {
			path = line[:i]
		}
		base := path[strings.LastIndex(path, "/")+1:]
		if skipNames[base] || strings.HasSuffix(base, ".pyc") {
			continue
		}
		if strings.Contains(path, "/bin/") {
			line = path
		}
		rows = append(rows, line)
	}
	sort.Strings(rows)
	return strings.Join(rows, "\n")
}
