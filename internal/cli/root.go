// Package cli is venvpkg's command line: cobra commands that turn flags into
// options for the pipeline packages. It holds no packaging logic.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Execute runs the command line args and returns the process exit code.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (interrupted)", err)
		}
		fmt.Fprintf(stderr, "venvpkg: error: %v\n", err)
		return 1
	}
	return 0
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "venvpkg",
		Short: "Ship a Python service and its whole virtualenv as one native package",
		Long: `venvpkg builds a Python project and its pinned lock into a self-contained
virtualenv at its final path and packages it as a .deb or .rpm that installs on
servers without a compiler, pip or network access, with its services supervised
by systemd and its configuration kept out of the package. It publishes the
packages to signed APT and YUM repositories and writes the Ansible role or
Puppet module that rolls a pinned version out to many servers, and back.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.Version = versionString()
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newBuildCmd(), newCacheCmd(), newVersionCmd(), newAnsibleCmd(), newPuppetCmd(), newPublishCmd(), newKeyCmd(), newInitCmd(), newVulnCmd(), newReportCmd())
	return root
}
