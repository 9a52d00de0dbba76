package cli

import (
	"github.com/spf13/cobra"

	"github.com/venvpkg/venvpkg/internal/fleet"
)

func newPuppetCmd() *cobra.Command {
	var f fleetFlags
	cmd := &cobra.Command{
		Use:   "puppet [PROJECT_DIR]",
		Short: "Write a Puppet module that installs, configures and runs a pinned version of the package",
		Long: `Write, from PROJECT_DIR/pyproject.toml, a Puppet module <name>/ whose class
installs the repository's signing key and the signed APT (apt::source) or YUM
(yumrepo) repository of venvpkg publish, installs the package at $version
(package { ensure => $version }, downgrades allowed), writes every
[tool.venvpkg.config] file from an EPP template, keeps the services running
subscribed to the package and their configuration, and checks their health
after a restart.

Package names with "-" or "." become module and class names with "_".`,
		Example: `  venvpkg puppet --repo-url https://packages.example.org --key keys/public.asc --out deploy/puppet`,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.generate(cmd, args, fleet.Puppet)
		},
	}
	f.register(cmd, "deploy/puppet")
	return cmd
}
