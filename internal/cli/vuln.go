package cli

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/venvpkg/venvpkg/internal/config"
	"github.com/venvpkg/venvpkg/internal/env"
	"github.com/venvpkg/venvpkg/internal/interp"
	"github.com/venvpkg/venvpkg/internal/pep508"
	"github.com/venvpkg/venvpkg/internal/vuln"
)

// VulnDBEnv names the default vulnerability database of venvpkg vuln and
// venvpkg build --vuln-db.
var VulnDBEnv = env.VulnDB.Name

func newVulnCmd() *cobra.Command {
	var (
		db, failOn, project, python string
		asJSON                      bool
	)
	cmd := &cobra.Command{
		Use:   "vuln --db PATH TARGET...",
		Short: "Check locks, packages and repositories against a vulnerability database, offline",
		Long: `Check every Python distribution of the targets against a vulnerability database on
disk: a directory or a zip of OSV records (such as OSV's PyPI/all.zip) or a clone
of the PyPA advisory database (its YAML records).

A TARGET is a lock file (requirements.txt, pylock.toml, uv.lock, poetry.lock), a
project directory (its lock), a .deb or .rpm built by venvpkg (its SBOM, or its
.dist-info directories when it has none), or a repository written by venvpkg
publish (every package and version of every suite).

Ignores come from [[tool.venvpkg.ignore-vulnerabilities]] of --project, else of
the project the lock belongs to; they are reported, never hidden. The exit status
is 1 when a finding that is not ignored is at or above --fail-on (a finding
whose records give no severity counts at every level but never).`,
		Example: `  venvpkg vuln --db advisory-database/vulns requirements.txt
  venvpkg vuln --db PyPI-all.zip --fail-on high dist/myapp_1.4.0-1_amd64.deb
  venvpkg vuln --db PyPI-all.zip --json /srv/repo`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			th, err := vuln.ParseThreshold(failOn)
			if err != nil {
				return err
			}
			db = cmp.Or(db, env.VulnDB.String())
			if db == "" {
				return fmt.Errorf("--db is missing: give the directory or zip of OSV records to check against (or set $%s)", VulnDBEnv)
			}
			d, err := vuln.Load(db)
			if err != nil {
				return err
			}
			o := vuln.CollectOptions{Env: func(ctx context.Context, c *config.Config) (pep508.Environment, error) {
				py := python
				if py == "" && c != nil {
					py = c.Tool.Python
				}
				info, err := interp.Probe(ctx, cmp.Or(py, "/usr/bin/python3"), filepath.Join(env.Cache(), "interp"))
				if err != nil {
					return nil, fmt.Errorf("evaluating the lock's markers for the target interpreter: %w (choose it with --python)", err)
				}
				return pep508.Environment(info.Markers), nil
			}}
			if project != "" {
				if o.Project, err = config.Load(project); err != nil {
					return err
				}
			}
			got, err := vuln.Collect(cmd.Context(), args, o)
			if err != nil {
				return err
			}
			res := vuln.NewResult(d, got.Installed, vuln.Options{Ignores: vuln.IgnoresFrom(got.Project)})
			res.Notes = got.Notes
			if asJSON {
				err = res.WriteJSON(cmd.OutOrStdout())
			} else {
				err = res.WriteTable(cmd.OutOrStdout())
			}
			if err != nil {
				return err
			}
			if n := res.Failing(th); n > 0 {
				return fmt.Errorf("%d %s at or above --fail-on %s", n, plural(n, "vulnerability", "vulnerabilities"), failOn)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&db, "db", "", "vulnerability database: a directory or zip of OSV JSON records, or PyPA advisory YAML records (default $"+VulnDBEnv+")")
	f.StringVar(&failOn, "fail-on", "any", "exit 1 for a finding at or above: any, low, medium, high, critical, or never")
	f.BoolVar(&asJSON, "json", false, "write the result as JSON")
	f.StringVar(&project, "project", "", "project directory whose [[tool.venvpkg.ignore-vulnerabilities]] apply")
	f.StringVar(&python, "python", "", "interpreter whose markers select a lock's requirements (default [tool.venvpkg] python, else /usr/bin/python3)")
	return cmd
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
