package cli

import (
	"bytes"
	"cmp"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/venvpkg/venvpkg/internal/config"
	"github.com/venvpkg/venvpkg/internal/env"
	"github.com/venvpkg/venvpkg/internal/repo"
	"github.com/venvpkg/venvpkg/internal/report"
	"github.com/venvpkg/venvpkg/internal/vuln"
)

func newReportCmd() *cobra.Command {
	var db, out, project string
	cmd := &cobra.Command{
		Use:   "report PACKAGE [NEWER_PACKAGE]",
		Short: "Write a self-contained HTML report of a package, or of two versions side by side",
		Long: `Write one HTML file about a .deb or .rpm built by venvpkg: a treemap of the payload
by distribution and file, the largest files, the licenses, each Depends entry and
why it is there, the interpreter, and with --db the known vulnerabilities. Given
two packages (older first), it shows both side by side with the distributions
added, removed, upgraded and the change in size.

The file needs no network and loads nothing: styles and the SVG treemap are
inline and there is no script. venvpkg build --report writes one beside each
package.`,
		Example: `  venvpkg report dist/myapp_1.4.0-1_amd64.deb
  venvpkg report --db PyPI-all.zip --out myapp-1.3-1.4.html dist/myapp_1.3.0-1_amd64.deb dist/myapp_1.4.0-1_amd64.deb`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var pkgs []*report.Package
			for _, a := range args {
				p, err := report.Load(a)
				if err != nil {
					return err
				}
				pkgs = append(pkgs, p)
			}
			if db = cmp.Or(db, env.VulnDB.String()); db != "" {
				d, err := vuln.Load(db)
				if err != nil {
					return err
				}
				var cfg *config.Config
				if project != "" {
					if cfg, err = config.Load(project); err != nil {
						return err
					}
				}
				for _, p := range pkgs {
					p.CheckVulns(d, vuln.Options{Ignores: vuln.IgnoresFrom(cfg)})
				}
			}
			if out == "" {
				out = report.FileName(args...)
			}
			var buf bytes.Buffer
			if err := report.Write(&buf, pkgs...); err != nil {
				return err
			}
			abs, err := filepath.Abs(out)
			if err != nil {
				return err
			}
			if err := (repo.Dir{Root: filepath.Dir(abs)}).Put(cmd.Context(), filepath.Base(abs), &buf); err != nil {
				return fmt.Errorf("writing %s: %w", out, err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&db, "db", "", "vulnerability database to check the distributions against (default $"+VulnDBEnv+"; see venvpkg vuln)")
	f.StringVar(&out, "out", "", "the HTML file to write (default <package>.html beside the package, or <older>--<newer>.html beside the newer)")
	f.StringVar(&project, "project", "", "project directory whose [[tool.venvpkg.ignore-vulnerabilities]] apply")
	return cmd
}
