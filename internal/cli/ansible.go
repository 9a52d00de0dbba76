package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/venvpkg/venvpkg/internal/config"
	"github.com/venvpkg/venvpkg/internal/fleet"
)

// fleetFlags are the flags venvpkg ansible and venvpkg puppet share.
type fleetFlags struct {
	out     string
	keyFile string
	o       fleet.Options
}

func (f *fleetFlags) register(cmd *cobra.Command, defaultOut string) {
	fl := cmd.Flags()
	fl.StringVar(&f.out, "out", defaultOut, "directory to write into (created; other files in it are kept)")
	fl.StringVar(&f.o.RepoURL, "repo-url", "", "URL the repository of venvpkg publish is served at (required)")
	fl.StringVar(&f.keyFile, "key", "", "the repository's armored OpenPGP public key (required)")
	fl.StringVar(&f.o.Suite, "suite", "stable", "APT suite and YUM repository the packages are published to")
	fl.StringVar(&f.o.Component, "component", "main", "APT component")
	fl.StringVar(&f.o.Version, "version", "", "PEP 440 version the hosts run by default (default [project] version)")
	fl.StringVar(&f.o.Release, "release", "", "package release (default [tool.venvpkg] release, else 1)")
}

// generate loads the project and writes what gen returns into --out.
func (f *fleetFlags) generate(cmd *cobra.Command, args []string, gen func(*fleet.Spec) ([]fleet.File, error)) error {
	dir := "."
	if len(args) == 1 {
		dir = args[0]
	}
	cfg, err := config.Load(dir)
	if err != nil {
		return err
	}
	if f.keyFile != "" {
		key, err := os.ReadFile(f.keyFile)
		if err != nil {
			return fmt.Errorf("reading the repository key: %w", err)
		}
		f.o.PublicKey = key
	}
	spec, err := fleet.NewSpec(cfg, f.o)
	if err != nil {
		return err
	}
	files, err := gen(spec)
	if err != nil {
		return err
	}
	if err := fleet.Write(f.out, files); err != nil {
		return err
	}
	for _, file := range files {
		fmt.Fprintln(cmd.OutOrStdout(), filepath.Join(f.out, filepath.FromSlash(file.Path)))
	}
	return nil
}

func newAnsibleCmd() *cobra.Command {
	var f fleetFlags
	cmd := &cobra.Command{
		Use:   "ansible [PROJECT_DIR]",
		Short: "Write an Ansible role and playbook that roll the package out to servers and back",
		Long: `Write, from PROJECT_DIR/pyproject.toml, an Ansible role roles/<name>/ that
installs the repository's signing key and the signed APT or YUM repository of
venvpkg publish, installs the package at <name>_version (upgrading or
downgrading), templates every [tool.venvpkg.config] file, enables and starts
the services and restarts them only when the package or their configuration
changed, and checks their health; plus site.yml, a playbook that rolls out
in batches (serial, max_fail_percentage), and an example inventory.

Package names with "-" or "." become role and variable names with "_".`,
		Example: `  venvpkg ansible --repo-url https://packages.example.org --key keys/public.asc --out deploy/ansible
  ansible-playbook -i deploy/ansible/inventory deploy/ansible/site.yml -e myapp_version=1.4.2-1`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.generate(cmd, args, fleet.Ansible)
		},
	}
	f.register(cmd, "deploy/ansible")
	return cmd
}
