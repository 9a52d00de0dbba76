package pipeline_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/pipeline"
	"github.com/venvpkg/venvpkg/internal/testutil"
	"github.com/venvpkg/venvpkg/internal/testutil/chroot"
	"github.com/venvpkg/venvpkg/internal/testutil/debwheel"
	"github.com/venvpkg/venvpkg/internal/testutil/pyvenv"
)

// backendPackages are the Debian packages whose wheels hold the build
// backends of the corpus (poetry-core, hatchling with hatch-vcs, flit_core)
// and their requirements; setuptools and wheel come from pythonWheels.
var backendPackages = []string{
	"flit", // ships flit_core too
	"python3-hatch-vcs",
	"python3-hatchling",
	"python3-packaging",
	"python3-pathspec",
	"python3-pluggy",
	"python3-poetry-core",
	"python3-setuptools-scm",
	"python3-typing-extensions",
}

// corpusProject is one project shape of testdata/projects and what its
// package must say and do.
type corpusProject struct {
	dir     string            // under testdata/projects
	git     string            // made a git repository tagged with this when set
	control map[string]string // expected control fields
	license string            // expected License line of the copyright file
	run     []string          // a command to run in the chroot
	output  string            // what it must print
}

var corpus = []corpusProject{
	{dir: "setuppy-only",
		control: map[string]string{"Package": "corpus-setuppy", "Version": "2.0.1-1", "Maintainer": "Setup Author <setup@example.org>",
			"Homepage": "https://setuppy.example.org", "Description": "A project declared in setup.py alone"},
		license: "MIT",
		run:     []string{"/opt/venvs/corpus-setuppy/bin/corpus-setuppy"}, output: "corpus-setuppy 2.0.1"},
	{dir: "setupcfg",
		control: map[string]string{"Package": "corpus-setupcfg", "Version": "1.2-1", "Maintainer": "Cfg Author <cfg@example.org>",
			"Homepage": "https://setupcfg.example.org", "Description": "Metadata in setup.cfg"},
		license: "Apache-2.0",
		run:     []string{"/opt/venvs/corpus-setupcfg/bin/corpus-setupcfg"}, output: "corpus-setupcfg hello from package data"},
	{dir: "pep621",
		control: map[string]string{"Package": "corpus-pep621", "Version": "3.0.0-1", "Maintainer": "Pep Author <pep@example.org>",
			"Homepage": "https://pep621.example.org", "Description": "Declared in [project]"},
		license: "BSD-3-Clause",
		run:     []string{"/opt/venvs/corpus-pep621/bin/corpus-pep621"}, output: "corpus-pep621 runs"},
	{dir: "poetry",
		control: map[string]string{"Package": "corpus-poetry", "Version": "0.9.0-1", "Maintainer": "Poetry Author <poetry@example.org>",
			"Homepage": "https://poetry.example.org", "Description": "Declared in [tool.poetry] alone"},
		license: "MIT",
		run:     []string{"/opt/venvs/corpus-poetry/bin/corpus-poetry"}, output: "corpus-poetry runs"},
	{dir: "hatch-vcs", git: "v1.4.2",
		control: map[string]string{"Package": "corpus-hatchvcs", "Version": "1.4.2-1", "Maintainer": "Hatch Author <hatch@example.org>",
			"Homepage": "https://hatchvcs.example.org/src", "Description": "Versioned by its git tags"},
		license: "MIT",
		run:     []string{"/opt/venvs/corpus-hatchvcs/bin/corpus-hatchvcs"}, output: "corpus-hatchvcs 1.4.2"},
	{dir: "flit",
		control: map[string]string{"Package": "corpus-flit", "Version": "3.1.4-1", "Maintainer": "Flit Author <flit@example.org>",
			"Homepage": "https://flit.example.org/docs", "Description": "A module built by flit_core, its description and version read from here."},
		run: []string{"/opt/venvs/corpus-flit/bin/corpus-flit"}, output: "corpus-flit 3.1.4"},
	{dir: "dirnames",
		control: map[string]string{"Package": "corpus-dirnames", "Version": "1.0-1", "Maintainer": "Dir Author <dir@example.org>",
			"Homepage": "", "Description": "Packages named build, dist and venv"},
		run: []string{"/opt/venvs/corpus-dirnames/bin/corpus-dirnames"}, output: "corpus-dirnames build dist venv node_modules"},
	{dir: "dynamic",
		control: map[string]string{"Package": "corpus-dynamic", "Version": "5.0-1", "Maintainer": "Dyn Author <dyn@example.org>",
			"Homepage": "https://dynamic.example.org", "Description": "Described in setup.py, not in pyproject.toml"},
		run: []string{"/opt/venvs/corpus-dynamic/bin/corpus-dynamic"}, output: "corpus-dynamic runs"},
	{dir: "setuppy-deps",
		control: map[string]string{"Package": "corpus-setuppy-deps", "Version": "0.4-1", "Maintainer": "Deps Author <deps@example.org>",
			"Homepage": "", "Description": "Its dependencies are declared in setup.py only"},
		run: []string{"/opt/venvs/corpus-setuppy-deps/bin/corpus-setuppy-deps", "--name", "chroot"}, output: "corpus-setuppy-deps greets chroot with click 8.1.3"},
}

// TestCorpus builds one project of each shape people write — setup.py
// only, setup.cfg with setup.py, [project], [tool.poetry] only, hatchling
// with hatch-vcs from a git repository, flit_core, packages named build,
// dist and venv, dynamic description and URLs, dependencies declared only
// in setup.py — and checks each package against pip: the installed tree
// equals pip's install of `pip wheel --no-deps --no-build-isolation .` of
// the same tree, file for file (bytecode, INSTALLER and RECORD row order
// aside), its control fields carry the wheel's metadata, and its console
// script runs in a clean chroot (one for the whole corpus). Backends come
// from Debian; hatchling's requirement editables, which Debian 12 lacks,
// is offered only as an sdist, which venvpkg builds as pip does.
func TestCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("corpus test skipped in -short mode")
	}
	needTools(t)
	testutil.NeedTool(t, "git", "git")
	ctx := context.Background()
	backends := filepath.Join(testutil.CacheDir(), "corpus-wheels")
	if _, err := debwheel.Repack(ctx, testutil.CacheDir(), backends, backendPackages...); err != nil {
		t.Fatalf("repacking the build backends from Debian: %v", err)
	}
	webapp := webappWheels(t) // click, for setuppy-deps
	sdists := t.TempDir()
	tarGz(t, filepath.Join(sdists, "editables-0.3.tar.gz"), "editables-0.3", map[string]string{
		"pyproject.toml": "[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n\n" +
			"[project]\nname = \"editables\"\nversion = \"0.3\"\n\n[tool.setuptools]\npy-modules = [\"editables\"]\n",
		"editables.py": "\"\"\"A stand-in for editables 0.3, which hatchling requires and imports only for editable builds.\"\"\"\n",
		"PKG-INFO":     "Metadata-Version: 2.1\nName: editables\nVersion: 0.3\n",
	})
	links := []string{backends, sdists, webapp, pythonWheels}

	// pip's side: one environment with every backend, installed by pip
	// from the same wheels and sdist.
	pip := pyvenv.New(t, python)
	args := []string{"install", "--no-index"}
	for _, l := range links {
		args = append(args, "--find-links", l)
	}
	pip.Pip(t, append(args, "setuptools", "wheel", "poetry-core", "hatchling", "hatch-vcs", "flit-core")...)
	clickWheel := testutil.NeedGlob(t, filepath.Join(webapp, "click-*.whl"), "python3-click")[0]

	out := t.TempDir() // outlives the subtests: the chroot installs every package
	var debs []string
	for _, p := range corpus {
		t.Run(p.dir, func(t *testing.T) {
			src := filepath.Join(t.TempDir(), p.dir)
			copyTree(t, repoPath(t, "testdata/projects/"+p.dir), src)
			if p.git != "" {
				for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "release"}, {"tag", p.git}} {
					cmd := exec.Command("git", append([]string{"-C", src}, args...)...)
					cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_COMMITTER_NAME=T",
						"GIT_COMMITTER_EMAIL=t@example.org", "GIT_AUTHOR_DATE=2024-01-02T03:04:05Z", "GIT_COMMITTER_DATE=2024-01-02T03:04:05Z")
					if out, err := cmd.CombinedOutput(); err != nil {
						t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
					}
				}
			}

			pipWheel := pip.BuildWheel(t, src, t.TempDir())
			pipVenv := filepath.Join(t.TempDir(), "pipvenv")
			run(t, python, "-m", "venv", "--without-pip", pipVenv)
			install := []string{"-m", "pip", "--python", filepath.Join(pipVenv, "bin", "python"), "install",
				"--no-deps", "--no-index", "--no-compile", "--disable-pip-version-check", pipWheel}
			if p.dir == "setuppy-deps" {
				install = append(install, clickWheel)
			}
			run(t, python, install...)

			res := runBuild(t, pipeline.Options{ProjectDir: src, FindLinks: links, NoIndex: true, OutDir: filepath.Join(out, p.dir)})
			if len(res.Packages) != 1 {
				t.Fatalf("packages = %v, want one", res.Packages)
			}
			deb := res.Packages[0]
			debs = append(debs, deb)
			prefix := "/opt/venvs/" + p.control["Package"]
			x := t.TempDir()
			run(t, "dpkg-deb", "-x", deb, x)
			compareTrees(t, snapshot(t, pipVenv, pipVenv), snapshot(t, filepath.Join(x, prefix), prefix))

			for field, want := range p.control {
				got := strings.TrimSpace(run(t, "dpkg-deb", "-f", deb, field))
				if field == "Description" {
					got, _, _ = strings.Cut(got, "\n")
				}
				if got != want {
					t.Errorf("control field %s = %q, want %q (from the wheel's METADATA)", field, got, want)
				}
			}
			copyright, err := os.ReadFile(filepath.Join(x, "usr/share/doc", p.control["Package"], "copyright"))
			if err != nil {
				t.Fatal(err)
			}
			if p.license != "" && !strings.Contains(string(copyright), "\nLicense: "+p.license+"\n") {
				t.Errorf("copyright does not name the licence %s:\n%s", p.license, copyright)
			}
		})
	}
	// From a tarball of the same tree, without .git, the version comes
	// from setuptools-scm's pretend-version variable, which reaches the
	// backend (docs/configuration.md).
	t.Run("hatch-vcs-tarball", func(t *testing.T) {
		src := filepath.Join(t.TempDir(), "hatch-vcs")
		copyTree(t, repoPath(t, "testdata/projects/hatch-vcs"), src)
		t.Setenv("SETUPTOOLS_SCM_PRETEND_VERSION", "1.4.3")
		res := runBuild(t, pipeline.Options{ProjectDir: src, FindLinks: links, NoIndex: true, OutDir: t.TempDir(), NoCompile: true})
		if res.Version != "1.4.3" || res.Project.Version != "1.4.3" {
			t.Errorf("built version %s (wheel %s), want 1.4.3 from SETUPTOOLS_SCM_PRETEND_VERSION", res.Version, res.Project.Version)
		}
	})
	if t.Failed() {
		return
	}

	c := chroot.New(t)
	c.InstallDebs(t, debs...)
	for _, p := range corpus {
		if got := c.Run(t, p.run...); !strings.Contains(got, p.output) {
			t.Errorf("%s printed %q, want %q", strings.Join(p.run, " "), got, p.output)
		}
	}
}

// compareTrees reports the entries only one snapshot has and those that
// differ.
func compareTrees(t *testing.T, pip, ours map[string]string) {
	t.Helper()
	var missing, extra, differ []string
	for p, va := range pip {
		vb, ok := ours[p]
		switch {
		case !ok:
			missing = append(missing, p)
		case va != vb:
			differ = append(differ, p+"\n  pip:     "+short(va)+"\n  venvpkg: "+short(vb))
		}
	}
	for p := range ours {
		if _, ok := pip[p]; !ok {
			extra = append(extra, p)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	sort.Strings(differ)
	if len(missing)+len(extra)+len(differ) > 0 {
		t.Errorf("installed trees differ:\nonly pip: %v\nonly venvpkg: %v\ndifferent:\n%s", missing, extra, strings.Join(differ, "\n"))
	}
}
