package cli

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/venvpkg/venvpkg/internal/format/registry"
	"github.com/venvpkg/venvpkg/internal/lock"
	"github.com/venvpkg/venvpkg/internal/logging"
	"github.com/venvpkg/venvpkg/internal/pipeline"
)

func newBuildCmd() *cobra.Command {
	var (
		o       pipeline.Options
		formats string
		quiet   bool
		verbose int
		retries int
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "build [PROJECT_DIR]",
		Short: "Build the project and its locked virtualenv into a package",
		Long: `Build the Python project in PROJECT_DIR (default ".") and every requirement of its
lock into a virtualenv at its final prefix (default /opt/venvs/<name>) and write
the package to --out.

The lock is a PEP 751 pylock.toml, uv's uv.lock, Poetry's poetry.lock, or a
requirements file with exact pins (==) as pip-compile, uv export and pip freeze
write it. It is taken from ` + lock.SearchOrder() + `.
Artifacts come from --find-links and the indexes, are checked against the
lock's hashes and cached in $VENVPKG_CACHE_DIR, else $XDG_CACHE_HOME/venvpkg,
else ~/.cache/venvpkg (venvpkg cache dir prints it).`,
		Example: `  venvpkg build ./myapp --lock requirements.txt --find-links ./wheels --no-index \
      --python /usr/bin/python3.11 --out dist`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.ProjectDir = args[0]
			}
			for _, f := range strings.Split(formats, ",") {
				if f = strings.TrimSpace(f); f != "" {
					o.Formats = append(o.Formats, f)
				}
			}
			level := logging.LevelInfo
			switch {
			case quiet:
				level = logging.LevelQuiet
			case verbose > 1:
				return fmt.Errorf("-v given %d times: -v already prints every step and the build backend's output; there is no more detailed level", verbose)
			case verbose > 0:
				level = logging.LevelDebug
			}
			o.Retries = retries
			if retries <= 0 {
				o.Retries = -1 // none; 0 would mean the default
			}
			if asJSON && level == logging.LevelInfo {
				level = logging.LevelWarn // stdout is the JSON document; stderr keeps only warnings and errors
			}
			o.Log = logging.NewLogger(cmd.ErrOrStderr(), level)
			res, err := pipeline.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			switch {
			case asJSON && res.Plan != nil:
				return writeJSON(cmd.OutOrStdout(), res.Plan)
			case asJSON:
				return writeJSON(cmd.OutOrStdout(), buildReport(res))
			case res.Plan != nil:
				return printPlan(cmd.OutOrStdout(), res.Plan)
			}
			for _, p := range res.Packages {
				fmt.Fprintln(cmd.OutOrStdout(), p)
			}
			for _, r := range res.Reports {
				fmt.Fprintln(cmd.OutOrStdout(), r)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Lock, "lock", "", "lock file: pylock.toml, uv.lock, poetry.lock or a requirements file; default: "+lock.DefaultSearch())
	f.StringArrayVar(&o.FindLinks, "find-links", nil, "directory or URL of an HTML page of links to wheels and sdists (repeatable; default $PIP_FIND_LINKS, [tool.venvpkg] find-links)")
	f.BoolVar(&o.NoIndex, "no-index", false, "use only --find-links, no package index")
	f.StringVar(&o.IndexURL, "index-url", "", "simple API index (PEP 503/691) (default $PIP_INDEX_URL, [tool.venvpkg] index-url, else https://pypi.org/simple/)")
	f.StringArrayVar(&o.ExtraIndexURLs, "extra-index-url", nil, "another index to search (repeatable; default $PIP_EXTRA_INDEX_URL, [tool.venvpkg] extra-index-urls)")
	f.BoolVar(&o.RequireHashes, "require-hashes", false, "require a --hash for every requirement of the lock (pip's hash-checking mode)")
	f.BoolVar(&o.AllowPartialLock, "allow-partial-lock", false, "build even when the lock misses requirements of the project or its dependencies, or conflicts with them (each is a warning)")
	f.DurationVar(&o.Timeout, "timeout", 0, "network timeout for connecting and for a stalled transfer (default 60s)")
	f.IntVar(&retries, "retries", 4, "retries of a failed request (connection errors, 5xx, 429), with exponential backoff")
	f.StringVar(&o.Python, "python", "", "absolute path of the target interpreter (default [tool.venvpkg] python, else /usr/bin/python3)")
	f.StringVar(&o.PythonDist, "python-dist", "", "bundle a relocatable CPython at <prefix>/python: a python-build-standalone archive (path or URL, with #sha256=<hex>) or a CPython prefix directory (default [tool.venvpkg] python-dist)")
	f.StringVar(&o.OutDir, "out", "dist", "output directory")
	f.StringVar(&formats, "format", "deb", "package formats, comma-separated, all from one staged virtualenv: "+strings.Join(registry.Names(), ", "))
	f.StringVar(&o.BaseImage, "base-image", "", "base of --format oci and docker-archive images: an OCI image layout directory, an oci-archive or docker-archive file, or scratch")
	f.StringVar(&o.Prefix, "prefix", "", "install prefix of the virtualenv (default /opt/venvs/<name>)")
	f.StringVar(&o.Version, "version", "", "override the project's version (PEP 440)")
	f.StringVar(&o.Release, "release", "", "package release (default [tool.venvpkg] release, else 1)")
	f.BoolVar(&o.NoCompile, "no-compile", false, "do not compile bytecode")
	f.BoolVar(&o.NoTreeCache, "no-tree-cache", false, "install and compile every wheel afresh instead of reusing cached trees (same output, slower)")
	f.StringVar(&o.SignKey, "sign-key", "", "OpenPGP private key that signs .rpm packages (default $VENVPKG_SIGN_KEY; passphrase from $VENVPKG_SIGN_PASSPHRASE or a prompt)")
	f.StringVar(&o.VulnDB, "vuln-db", "", "check the payload against this vulnerability database (OSV directory or zip, PyPA advisory records) and refuse a vulnerable package (docs/sbom.md)")
	f.StringVar(&o.VulnFailOn, "vuln-fail-on", "any", "with --vuln-db, refuse the package for a finding at or above: any, low, medium, high, critical, or never")
	f.BoolVar(&o.Report, "report", false, "write an HTML report of each package beside it (<package>.html; see venvpkg report)")
	f.BoolVar(&o.Strict, "strict", false, "treat shared libraries that no package provides as errors")
	f.IntVarP(&o.Jobs, "jobs", "j", 0, "parallel installs and compile workers (default: number of CPUs)")
	f.IntVar(&o.WheelLimits.MaxEntries, "wheel-max-entries", 0, "refuse a wheel with more entries (default 200000)")
	f.Int64Var(&o.WheelLimits.MaxTotalSize, "wheel-max-size", 0, "refuse a wheel that expands to more bytes (default 4 GiB)")
	f.Int64Var(&o.WheelLimits.MaxRatio, "wheel-max-ratio", 0, "refuse a wheel member over 1 MiB compressed more than this many times (default 200)")
	f.BoolVar(&o.DryRun, "dry-run", false, "resolve every pin to the artifact it would use and print the plan (interpreter, artifacts, services, package files); download, build and write nothing")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON on stdout: the plan with --dry-run, else the packages written (path, size), version, Depends and warnings")
	f.BoolVarP(&quiet, "quiet", "q", false, "print only errors")
	f.CountVarP(&verbose, "verbose", "v", "print every step, which shared library became which dependency, and the build backend's output")
	_ = cmd.RegisterFlagCompletionFunc("format", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		var vals []string
		for _, f := range registry.All {
			vals = append(vals, f.Name()+"\t"+f.Describe())
		}
		return append(vals, "deb,rpm\tboth, from one staged virtualenv"), cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// builtPackage is one written package in build --json's output.
type builtPackage struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
	SBOM string `json:"sbom,omitempty"`
}

// buildOutput is build --json's document.
type buildOutput struct {
	Name     string         `json:"name"`
	Version  string         `json:"version"`
	Arch     string         `json:"arch"`
	Depends  []string       `json:"depends"`
	Packages []builtPackage `json:"packages"`
	Reports  []string       `json:"reports,omitempty"`
	Warnings []string       `json:"warnings"`
}

func buildReport(res *pipeline.Result) buildOutput {
	out := buildOutput{Name: res.Name, Version: res.Version, Arch: res.Arch, Depends: res.Depends, Reports: res.Reports, Warnings: res.Warnings}
	if out.Depends == nil {
		out.Depends = []string{}
	}
	if out.Warnings == nil {
		out.Warnings = []string{}
	}
	for i, p := range res.Packages {
		bp := builtPackage{Path: p, Size: -1}
		if st, err := os.Stat(p); err == nil {
			bp.Size = st.Size()
		}
		if i < len(res.SBOMs) {
			bp.SBOM = res.SBOMs[i]
		}
		out.Packages = append(out.Packages, bp)
	}
	return out
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printPlan prints a dry run's plan for a person.
func printPlan(w io.Writer, p *pipeline.Plan) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	name := p.Project
	if name == "" {
		name = "(named by the built wheel)"
	}
	version := p.Version
	if version == "" {
		version = "(the version the built wheel gives)"
	}
	fmt.Fprintf(tw, "project\t%s %s\n", name, version)
	kind := "system"
	if p.Interpreter.Bundled {
		kind = "bundled"
	}
	fmt.Fprintf(tw, "interpreter\t%s (CPython %s, %s, %s)\n", p.Interpreter.Path, p.Interpreter.Version, p.Interpreter.Platform, kind)
	fmt.Fprintf(tw, "wheel tags\t%s, ...\n", strings.Join(p.Interpreter.Tags, ", "))
	fmt.Fprintf(tw, "lock\t%s\n", p.Lock)
	fmt.Fprintf(tw, "\nartifact\tversion\tfile\twhere\tfrom\n")
	for _, a := range p.Artifacts {
		status := a.Status
		if a.Sdist {
			status += ", built"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.Name, a.Version, a.File, status, a.From)
	}
	if len(p.Artifacts) == 0 {
		fmt.Fprintf(tw, "(none: the lock pins nothing)\n")
	}
	if len(p.Services) > 0 {
		fmt.Fprintf(tw, "\nservice\tuser\tlisten\tcommand\n")
		for _, s := range p.Services {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.User, cmp.Or(s.Listen, "-"), s.Command)
		}
	}
	for _, c := range p.ConfigFiles {
		fmt.Fprintf(tw, "config file\t%s\n", c)
	}
	fmt.Fprintln(tw)
	for _, pk := range p.Packages {
		fmt.Fprintf(tw, "would write\t%s\n", pk)
	}
	return tw.Flush()
}
