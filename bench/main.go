// Command bench measures how fast venvpkg packages a realistic web service and compares it with what people use
// today, on the same machine, in one run: a user's script (python3 -m venv, pip install --no-index
// --find-links, dpkg-deb -b with zstd), dh-virtualenv with its defaults and with -Zzstd, and the floor — tar of
// the final tree piped to zstd -T0, plus the time to merely unzip the wheels.
//
// The workload is a Flask application locked to 30-odd wheels repacked from Debian's python3-* packages
// (internal/testutil/debwheel), several with C extensions, measured at 1×, 2× and 4× its size (the larger scales
// add renamed clones of every wheel). Runs are interleaved: each round runs every tool once. For each tool it
// records wall time, CPU time (user+system of the whole process tree, from wait4's rusage), peak RSS of the
// largest process and the size of the package written, and writes the medians, minima, maxima and ratios with
// a description of the machine to docs/benchmarks.md and a chart to docs/benchmarks.svg.
//
//	go run ./bench                # the full benchmark (tens of minutes on two cores)
//	go run ./bench -tiny          # a smoke run on the six-wheel web app of the tests
//
// Only Debian's mirror is reached: apt-get for the python3-* packages (cached in .cache/test/debs) and, when
// missing, for dh-virtualenv and debhelper.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/venvpkg/venvpkg/internal/testutil"
)

// config holds the command line.
type config struct {
	Runs       int
	Scales     []int
	DhMaxScale int // dh-virtualenv runs only at scales up to this (it is slow); 0 disables it
	Tiny       bool
	Work       string // scratch directory; a temporary one when empty
	Cache      string // Debian package cache shared with the tests
	Markdown   string
	SVG        string
	Python     string
	Module     string // venvpkg's module root, to build the binary under test
	Profile    string // write CPU profiles of a cold and a warm in-process build with this path prefix, then stop
	Results    string // JSON of every measurement, written with the report
	Render     bool   // only render the report again from Results (after editing bench/notes.md)
	Log        func(format string, args ...any)
}

func main() {
	if len(os.Args) > 2 && os.Args[1] == measureChildArg {
		measureChild(os.Args[2:])
	}
	cfg := config{Log: func(format string, args ...any) { fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...) }}
	var scales string
	flag.IntVar(&cfg.Runs, "runs", 3, "rounds; each round runs every tool once (interleaved)")
	flag.StringVar(&scales, "scales", "1,2,4", "workload sizes, as multiples of the base workload")
	flag.IntVar(&cfg.DhMaxScale, "dh-max-scale", 1, "largest scale at which dh-virtualenv runs (0: never)")
	flag.BoolVar(&cfg.Tiny, "tiny", false, "smoke run: the six-wheel web app, one round, scale 1, no dh-virtualenv")
	flag.StringVar(&cfg.Work, "work", "", "scratch directory (default: a temporary directory, removed afterwards)")
	flag.StringVar(&cfg.Cache, "cache", "", "cache of downloaded .debs (default: the tests' cache, .cache/test)")
	flag.StringVar(&cfg.Markdown, "md", "docs/benchmarks.md", "markdown report to write")
	flag.StringVar(&cfg.SVG, "svg", "docs/benchmarks.svg", "chart to write")
	flag.StringVar(&cfg.Results, "json", "bench/results.json", "measurements to write (or read with -render)")
	flag.BoolVar(&cfg.Render, "render", false, "do not measure: render the report from -json again (after editing bench/notes.md)")
	flag.StringVar(&cfg.Python, "python", "/usr/bin/python3.11", "interpreter of the virtualenvs")
	flag.StringVar(&cfg.Profile, "cpuprofile", "", "only profile: write PREFIX-cold.pprof and PREFIX-warm.pprof of in-process builds of the first scale")
	flag.Parse()
	var err error
	if cfg.Scales, err = parseScales(scales); err != nil {
		fmt.Fprintf(os.Stderr, "bench: -scales: %v\n", err)
		os.Exit(2)
	}
	if cfg.Tiny {
		cfg.Runs, cfg.Scales, cfg.DhMaxScale = 1, []int{1}, 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := bench(ctx, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func parseScales(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// tools in the order of the report.
const (
	toolCold   = "venvpkg build, cold cache"
	toolWarm   = "venvpkg build, warm (one-line change)"
	toolPip    = "venv + pip + dpkg-deb -Zzstd"
	toolDh     = "dh-virtualenv (defaults: xz)"
	toolDhZstd = "dh-virtualenv -Zzstd"
	toolDpkg   = "dpkg-deb -Zzstd of venvpkg's tree"
	toolFloor  = "floor: tar | zstd -T0"
	toolUnzip  = "unzip the wheels"
)

var toolOrder = []string{toolCold, toolWarm, toolBundledCold, toolBundledWarm, toolPip, toolDh, toolDhZstd, toolDpkg, toolFloor, toolUnzip}

// result holds every measurement of one bench run.
type result struct {
	Machine   machine
	Runs      int
	Workloads []*workload
	Stats     map[int]map[string]stats // scale → tool → summary
	Started   time.Time
	Took      time.Duration
}

func bench(ctx context.Context, cfg config) (err error) {
	start := time.Now()
	if cfg.Module == "" {
		if cfg.Module, err = testutil.ModuleRoot(); err != nil {
			return err
		}
	}
	if cfg.Render {
		res, err := readResults(cfg)
		if err != nil {
			return err
		}
		return writeReports(cfg, res)
	}
	if cfg.Cache == "" {
		cfg.Cache = testutil.CacheDir()
	}
	if cfg.Work == "" {
		tmp, err := os.MkdirTemp("", "venvpkg-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		cfg.Work = tmp
	}
	if err := os.MkdirAll(cfg.Work, 0o755); err != nil {
		return err
	}
	if err := ensureTools(ctx, cfg); err != nil {
		return err
	}
	bin := filepath.Join(cfg.Work, "venvpkg")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/venvpkg")
	build.Dir = cfg.Module
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/venvpkg: %w\n%s", err, out)
	}
	pkgs := fullPackages
	if cfg.Tiny {
		pkgs = tinyPackages
	}
	cfg.Log("repacking %d Debian packages into wheels", len(pkgs))
	base, err := baseWheels(ctx, cfg.Cache, filepath.Join(cfg.Work, "base-wheels"), pkgs)
	if err != nil {
		return err
	}
	bundled, err := prepareBundled(ctx, cfg)
	if err != nil {
		return err
	}
	res := &result{Runs: cfg.Runs, Stats: map[int]map[string]stats{}, Started: start.UTC()}
	res.Machine = describeMachine(ctx, cfg.Python)
	for _, scale := range cfg.Scales {
		w, err := prepareWorkload(filepath.Join(cfg.Work, fmt.Sprintf("scale%d", scale)), scale, base)
		if err != nil {
			return fmt.Errorf("preparing the %d× workload: %w", scale, err)
		}
		res.Workloads = append(res.Workloads, w)
		if cfg.Profile != "" {
			cache := filepath.Join(cfg.Work, "profile-cache")
			if err := profileBuild(ctx, cfg, w, cache, cfg.Profile+"-cold.pprof"); err != nil {
				return err
			}
			if err := editLine(w.Project, 1); err != nil {
				return err
			}
			return profileBuild(ctx, cfg, w, cache, cfg.Profile+"-warm.pprof")
		}
		cfg.Log("scale %d×: %d wheels, %d files, %.1f MB unpacked", scale, len(w.WheelList), w.Files, float64(w.Bytes)/1e6)
		st, err := benchScale(ctx, cfg, bin, w, bundled)
		if err != nil {
			return fmt.Errorf("%d× workload: %w", scale, err)
		}
		res.Stats[scale] = st
		// Write what there is after every scale, so an interrupted run still leaves a report.
		res.Machine.LoadAfter = loadAverage()
		res.Took = time.Since(start)
		if err := writeReports(cfg, res); err != nil {
			return err
		}
	}
	return nil
}

// ensureTools checks for the programs the baselines need and installs dh-virtualenv from Debian when it is
// missing and wanted.
func ensureTools(ctx context.Context, cfg config) error {
	for _, t := range []string{"dpkg-deb", "tar", "zstd", "unzip", cfg.Python} {
		if _, err := exec.LookPath(t); err != nil {
			return fmt.Errorf("%s is missing; install it with apt-get (scripts/test-deps lists the packages): %w", t, err)
		}
	}
	if cfg.DhMaxScale == 0 {
		return nil
	}
	// dh_shlibdeps fails unless the workload's numpy finds its BLAS and LAPACK libraries on the host, as
	// dh-virtualenv's users install them (venvpkg only warns and leaves them out of Depends).
	_, dhErr := exec.LookPath("dh_virtualenv")
	_, blasErr := os.Stat("/usr/lib/x86_64-linux-gnu/libblas.so.3")
	_, lapackErr := os.Stat("/usr/lib/x86_64-linux-gnu/liblapack.so.3")
	if dhErr == nil && blasErr == nil && lapackErr == nil {
		return nil
	}
	cfg.Log("installing dh-virtualenv, debhelper and numpy's BLAS and LAPACK libraries from Debian")
	cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "-qq", "--no-install-recommends",
		"dh-virtualenv", "debhelper", "python3-virtualenv", "libblas3", "liblapack3")
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get install dh-virtualenv (root and Debian's mirror are needed; or pass -dh-max-scale 0): %w\n%s", err, out)
	}
	return nil
}

// benchScale runs every tool cfg.Runs times on w, interleaved, and summarises the samples.
func benchScale(ctx context.Context, cfg config, bin string, w *workload, bundled *bundledInputs) (map[string]stats, error) {
	samples := map[string][]sample{}
	skipped := map[string]string{}
	dh := cfg.DhMaxScale >= w.Scale
	if !dh {
		why := fmt.Sprintf("not run at %d× (-dh-max-scale %d)", w.Scale, cfg.DhMaxScale)
		skipped[toolDh], skipped[toolDhZstd] = why, why
	}
	var tree string // the payload of venvpkg's package, for the floor
	for round := 1; round <= cfg.Runs; round++ {
		dir := filepath.Join(w.Dir, fmt.Sprintf("round%d", round))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		step := func(tool string, fn func(dir string) (sample, error)) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			d := filepath.Join(dir, slug(tool))
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
			s, err := fn(d)
			if err != nil {
				return fmt.Errorf("%s: %w", tool, err)
			}
			cfg.Log("%d× round %d: %-40s %8.2fs wall %8.2fs cpu %6.0f MB rss", w.Scale, round, tool, s.Wall.Seconds(), s.CPU.Seconds(), float64(s.RSS)/1e6)
			samples[tool] = append(samples[tool], s)
			return nil
		}
		cache := filepath.Join(dir, "venvpkg-cache")
		var coldDeb string
		if err := step(toolCold, func(d string) (sample, error) {
			s, deb, err := runVenvpkg(ctx, cfg, bin, w, cache, d)
			coldDeb = deb
			return s, err
		}); err != nil {
			return nil, err
		}
		if tree == "" {
			tree = filepath.Join(w.Dir, "tree")
			if out, err := exec.CommandContext(ctx, "dpkg-deb", "-x", coldDeb, tree).CombinedOutput(); err != nil {
				return nil, fmt.Errorf("dpkg-deb -x %s: %w\n%s", coldDeb, err, out)
			}
			// The same tree with venvpkg's control member, for dpkg-deb -b.
			if out, err := exec.CommandContext(ctx, "dpkg-deb", "-R", coldDeb, tree+"-deb").CombinedOutput(); err != nil {
				return nil, fmt.Errorf("dpkg-deb -R %s: %w\n%s", coldDeb, err, out)
			}
		}
		if err := editLine(w.Project, round); err != nil {
			return nil, err
		}
		if err := step(toolWarm, func(d string) (sample, error) {
			s, _, err := runVenvpkg(ctx, cfg, bin, w, cache, d)
			return s, err
		}); err != nil {
			return nil, err
		}
		project, err := bundledProject(w)
		if err != nil {
			return nil, err
		}
		bundledCache := filepath.Join(dir, "venvpkg-bundled-cache")
		if err := step(toolBundledCold, func(d string) (sample, error) {
			return runBundled(ctx, bin, w, bundled, project, bundledCache, d)
		}); err != nil {
			return nil, err
		}
		if err := editLine(project, round+100); err != nil {
			return nil, err
		}
		if err := step(toolBundledWarm, func(d string) (sample, error) {
			return runBundled(ctx, bin, w, bundled, project, bundledCache, d)
		}); err != nil {
			return nil, err
		}
		if err := step(toolPip, func(d string) (sample, error) { return runPip(ctx, cfg, w, d) }); err != nil {
			return nil, err
		}
		if dh {
			if err := step(toolDh, func(d string) (sample, error) { return runDh(ctx, cfg, w, d, "") }); err != nil {
				return nil, err
			}
			if err := step(toolDhZstd, func(d string) (sample, error) { return runDh(ctx, cfg, w, d, "-Zzstd") }); err != nil {
				return nil, err
			}
		}
		if err := step(toolDpkg, func(d string) (sample, error) {
			out := filepath.Join(d, "tree.deb")
			s, err := run(ctx, d, nil, "dpkg-deb", "--root-owner-group", "-Zzstd", "-b", tree+"-deb", out)
			s.Size = fileSize(out)
			return s, err
		}); err != nil {
			return nil, err
		}
		if err := step(toolFloor, func(d string) (sample, error) {
			out := filepath.Join(d, "tree.tar.zst")
			s, err := run(ctx, d, nil, "bash", "-c", `set -o pipefail; tar -C "$1" --sort=name -cf - . | zstd -T0 -q -o "$2"`, "floor", tree, out)
			s.Size = fileSize(out)
			return s, err
		}); err != nil {
			return nil, err
		}
		if err := step(toolUnzip, func(d string) (sample, error) {
			out := filepath.Join(d, "unzipped")
			s, err := run(ctx, d, nil, "bash", "-c", `for w in "$1"/*.whl; do unzip -q -o -d "$2" "$w" || exit 1; done`, "unzip", w.Wheels, out)
			return s, err
		}); err != nil {
			return nil, err
		}
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
	}
	out := map[string]stats{}
	for _, t := range toolOrder {
		st := summarise(samples[t])
		st.Skipped = skipped[t]
		out[t] = st
	}
	return out, nil
}

func slug(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

// runVenvpkg builds the workload's project with the venvpkg binary and cache directory given.
func runVenvpkg(ctx context.Context, cfg config, bin string, w *workload, cache, dir string) (sample, string, error) {
	out := filepath.Join(dir, "out")
	env := []string{"VENVPKG_CACHE_DIR=" + cache, "SOURCE_DATE_EPOCH=1700000000"}
	s, log, err := runOutput(ctx, dir, env, bin, "build", w.Project, "-v", "--no-index",
		"--find-links", w.Wheels, "--find-links", "/usr/share/python-wheels", "--python", cfg.Python, "--out", out)
	if err != nil {
		return s, "", err
	}
	s.Stages = stageTimes(log)
	debs, _ := filepath.Glob(filepath.Join(out, "*.deb"))
	if len(debs) != 1 {
		return s, "", fmt.Errorf("venvpkg wrote %d packages into %s, want one", len(debs), out)
	}
	s.Size = fileSize(debs[0])
	return s, debs[0], nil
}

// pipScript is what a user scripts without venvpkg: a virtualenv at the final path inside a staging root, pip
// installing the lock and the project offline, a control file and dpkg-deb with the same compressor.
const pipScript = `set -eu
root="$1/root"; prefix=/opt/venvs/benchapp
"$PYTHON" -m venv "$root$prefix"
"$root$prefix/bin/pip" install -q --no-index --find-links "$WHEELS" --find-links /usr/share/python-wheels \
	-r "$PROJECT/requirements.txt" "$PROJECT"
mkdir -p "$root/DEBIAN"
printf 'Package: benchapp\nVersion: 1.0.0-1\nArchitecture: amd64\nMaintainer: venvpkg bench <bench@example.invalid>\nDepends: python3.11\nDescription: the bench web service\n' > "$root/DEBIAN/control"
dpkg-deb --root-owner-group -Zzstd -b "$root" "$1/benchapp_1.0.0-1_amd64.deb" >/dev/null
`

func runPip(ctx context.Context, cfg config, w *workload, dir string) (sample, error) {
	env := []string{"PYTHON=" + cfg.Python, "WHEELS=" + w.Wheels, "PROJECT=" + w.Project, "PIP_DISABLE_PIP_VERSION_CHECK=1"}
	s, err := run(ctx, dir, env, "bash", "-c", pipScript, "pip", dir)
	s.Size = fileSize(filepath.Join(dir, "benchapp_1.0.0-1_amd64.deb"))
	return s, err
}

// runDh packages the workload with dh-virtualenv through dpkg-buildpackage from a fresh copy of the project
// with a minimal debian/ directory; builddebArgs go to dpkg-deb (e.g. -Zzstd).
func runDh(ctx context.Context, cfg config, w *workload, dir, builddebArgs string) (sample, error) {
	src := filepath.Join(dir, "benchapp")
	if out, err := exec.CommandContext(ctx, "cp", "-a", w.Project, src).CombinedOutput(); err != nil {
		return sample{}, fmt.Errorf("cp: %w\n%s", err, out)
	}
	rules := "#!/usr/bin/make -f\n%:\n\tdh $@ --with python-virtualenv\n\n" +
		"override_dh_virtualenv:\n\tdh_virtualenv --python " + cfg.Python +
		" --extra-pip-arg=--no-index --extra-pip-arg=--find-links=" + w.Wheels +
		" --extra-pip-arg=--find-links=/usr/share/python-wheels\n"
	if builddebArgs != "" {
		rules += "\noverride_dh_builddeb:\n\tdh_builddeb -- " + builddebArgs + "\n"
	}
	debian := map[string]string{
		"control": "Source: benchapp\nSection: python\nPriority: optional\nMaintainer: venvpkg bench <bench@example.invalid>\n" +
			"Build-Depends: debhelper-compat (= 13), dh-virtualenv\nStandards-Version: 4.6.2\n\n" +
			"Package: benchapp\nArchitecture: any\nDepends: ${shlibs:Depends}, ${misc:Depends}, python3.11\n" +
			"Description: the bench web service\n packaged by dh-virtualenv for venvpkg's benchmark.\n",
		"changelog": "benchapp (1.0.0-1) unstable; urgency=medium\n\n  * Bench build.\n\n -- venvpkg bench <bench@example.invalid>  Sat, 01 Jan 2000 00:00:00 +0000\n",
		"rules":     rules,
	}
	for rel, body := range debian {
		p := filepath.Join(src, "debian", rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return sample{}, err
		}
		mode := os.FileMode(0o644)
		if rel == "rules" {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			return sample{}, err
		}
	}
	s, err := run(ctx, src, []string{"PIP_DISABLE_PIP_VERSION_CHECK=1"}, "dpkg-buildpackage", "-b", "-us", "-uc")
	if err != nil {
		return s, err
	}
	debs, _ := filepath.Glob(filepath.Join(dir, "benchapp_*.deb"))
	if len(debs) != 1 {
		return s, errors.New("dpkg-buildpackage wrote no benchapp_*.deb")
	}
	s.Size = fileSize(debs[0])
	return s, nil
}
