package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/venvpkg/venvpkg/internal/env"
	"github.com/venvpkg/venvpkg/internal/index"
)

func newCacheCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Show or empty venvpkg's cache",
		Long: `venvpkg keeps downloaded wheels and sdists (by sha256), index pages (with their
ETag and Last-Modified), wheels built from sdists, interpreter probes and the
installed-and-compiled tree of every dependency wheel (reused by hard link, so a
warm build only installs the project's own wheel) with its md5sums, compressed
blocks and audit results, the digests of wheels, a staging root per install
prefix (kept between builds, so unchanged trees stay linked), and the project's PEP 517
build environment (reused while its requirements resolve to the same wheels) in
one cache directory:
$VENVPKG_CACHE_DIR, else $XDG_CACHE_HOME/venvpkg, else ~/.cache/venvpkg. Builds
may share it, also at the same time.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "dir",
		Short: "Print the cache directory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), env.Cache())
			return nil
		},
	}, &cobra.Command{
		Use:   "clean",
		Short: "Remove the cache directory and everything in it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := env.Cache()
			if err := index.NewCache(dir).Clean(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", dir)
			return nil
		},
	})
	return cmd
}
