package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/venvpkg/venvpkg/internal/scaffold"
)

func newInitCmd() *cobra.Command {
	var (
		dryRun bool
		python string
	)
	cmd := &cobra.Command{
		Use:   "init [PROJECT_DIR]",
		Short: "Add a [tool.venvpkg] table to the project's pyproject.toml",
		Long: `Add the [tool.venvpkg] table venvpkg builds from to PROJECT_DIR/pyproject.toml
(default "."), appended so the rest of the file stays exactly as it is: the
maintainer from the project's maintainers or authors (else git config), the
newest /usr/bin/python3.N that requires-python allows, the lock found in the
project, and a commented service and configuration-file example when the
project has console scripts or depends on gunicorn or uvicorn.

An existing [tool.venvpkg] table is never changed. --dry-run prints the change
as a unified diff and writes nothing.`,
		Example: `  venvpkg init ./myapp --dry-run
  venvpkg init ./myapp && venvpkg build ./myapp`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			plan, err := scaffold.Make(cmd.Context(), dir, scaffold.Options{Python: python})
			if err != nil {
				return err
			}
			if dryRun {
				fmt.Fprint(cmd.OutOrStdout(), plan.Diff())
			} else {
				if err := plan.Write(); err != nil {
					return err
				}
				verb := "added [tool.venvpkg] to"
				if plan.Created {
					verb = "created"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", verb, plan.File)
			}
			for _, n := range plan.Notes {
				fmt.Fprintf(cmd.ErrOrStderr(), "venvpkg: note: %s\n", n)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the change as a unified diff; write nothing")
	cmd.Flags().StringVar(&python, "python", "", "the interpreter to write (default: the newest /usr/bin/python3.N that requires-python allows)")
	return cmd
}
