package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version, Commit and Date are set at link time, e.g.
// -ldflags "-X github.com/venvpkg/venvpkg/internal/cli.Version=v1.2.3 -X ….Commit=$(git rev-parse HEAD) -X ….Date=2026-12-01T10:00:00Z".
// A plain `go build` or `go install` in a git checkout fills Commit and Date from the VCS stamp instead.
var Version, Commit, Date string

// buildInfo returns the version, commit (with "+dirty" for uncommitted changes) and commit date venvpkg was built
// from; what is unknown is "unknown".
func buildInfo() (version, commit, date string) {
	version, commit, date = Version, Commit, Date
	bi, ok := debug.ReadBuildInfo()
	if version == "" {
		version = "(devel)"
		if ok && bi.Main.Version != "" {
			version = bi.Main.Version
		}
	}
	if ok {
		dirty := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if commit == "" {
					commit = s.Value
				}
			case "vcs.time":
				if date == "" {
					date = s.Value
				}
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if dirty && Commit == "" && commit != "" {
			commit += "+dirty"
		}
	}
	if commit == "" {
		commit = "unknown"
	}
	if date == "" {
		date = "unknown"
	}
	return version, commit, date
}

func versionString() string {
	v, commit, date := buildInfo()
	return fmt.Sprintf("venvpkg %s (commit %s, %s) %s/%s %s", v, commit, date, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print venvpkg's version, the commit it was built from and its date",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), versionString())
			return err
		},
	}
}
