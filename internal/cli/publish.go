package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/venvpkg/venvpkg/internal/env"
	"github.com/venvpkg/venvpkg/internal/repo"
	"github.com/venvpkg/venvpkg/internal/sign"
)

func newPublishCmd() *cobra.Command {
	var (
		o        repo.Options
		root     string
		keyFile  string
		trusted  []string
		arches   []string
		quiet    bool
		verbose  int
		archsSet bool
	)
	cmd := &cobra.Command{
		Use:   "publish --repo DIR [flags] PACKAGE...",
		Short: "Add .deb and .rpm packages to signed APT and YUM repositories",
		Long: `Add packages to the repository in --repo: .deb files to the APT suite
(DIR/apt: pool/, dists/<suite>/ with Packages, Release, InRelease and
Release.gpg) and .rpm files to the YUM repository DIR/rpm/<suite>
(packages/, repodata/ with repomd.xml and repomd.xml.asc).

Every package is verified completely before anything is written: a .deb's
archive, control fields and every file against md5sums; an .rpm's headers,
digests and signature. RPMs must be signed (hosts check with gpgcheck=1), by
the --sign-key or a key given with --trusted-key. A damaged or untrusted
package is refused and the repository is left as it was.

Everything is signed with the private key in --sign-key or VENVPKG_SIGN_KEY
(passphrase from VENVPKG_SIGN_PASSPHRASE or the terminal), whose public key
is written to DIR/keys/<suite>.asc for hosts. Every published
version stays available unless --keep prunes it. Republishing a package
with the same content changes nothing; different content under a published
name, version and architecture is refused.

Clients:
  deb [signed-by=/etc/apt/keyrings/acme.asc] https://repo.example/apt stable main
  baseurl=https://repo.example/rpm/stable  gpgcheck=1 repo_gpgcheck=1
  gpgkey=https://repo.example/keys/stable.asc`,
		Example: `  venvpkg publish --repo /srv/repo --suite stable --sign-key keys/private.asc dist/*.deb dist/*.rpm`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if root == "" {
				return errors.New("--repo is required: the directory that holds the repository")
			}
			if archsSet {
				o.Architectures = nil
				for _, a := range arches {
					for _, f := range strings.Split(a, ",") {
						if f = strings.TrimSpace(f); f != "" {
							o.Architectures = append(o.Architectures, f)
						}
					}
				}
				if o.Architectures == nil {
					o.Architectures = []string{}
				}
			}
			if keyFile != "" || env.SignKey.String() != "" || !o.DryRun {
				s, err := loadSigner(cmd, keyFile)
				if err != nil {
					return err
				}
				o.Signer = s
			}
			for _, file := range trusted {
				data, err := os.ReadFile(file)
				if err != nil {
					return fmt.Errorf("reading --trusted-key: %w", err)
				}
				k, err := sign.ReadKeyring(data)
				if err != nil {
					return fmt.Errorf("--trusted-key %s: %w", file, err)
				}
				o.TrustedKeys = k.Union(o.TrustedKeys)
			}
			now, err := publishTime()
			if err != nil {
				return err
			}
			o.Now = now
			if verbose > 0 {
				o.Log = cmd.ErrOrStderr()
			}
			res, err := repo.Publish(cmd.Context(), repo.Dir{Root: root}, args, o)
			if err != nil {
				return err
			}
			if quiet {
				return nil
			}
			w := cmd.OutOrStdout()
			verb := map[bool][3]string{false: {"added", "unchanged", "pruned"}, true: {"would add", "unchanged", "would prune"}}[o.DryRun]
			for _, p := range res.Added {
				fmt.Fprintf(w, "%s %s\n", verb[0], p)
			}
			for _, p := range res.Unchanged {
				fmt.Fprintf(w, "%s %s\n", verb[1], p)
			}
			for _, p := range res.Pruned {
				fmt.Fprintf(w, "%s %s\n", verb[2], p)
			}
			if o.DryRun {
				for _, p := range res.Indexes {
					fmt.Fprintf(w, "would write %s\n", p)
				}
			} else if len(res.Indexes) > 0 {
				fmt.Fprintf(w, "signed with key %s, %d index files written\n", o.Signer.Fingerprint(), len(res.Indexes))
			} else {
				fmt.Fprintln(w, "nothing changed")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&root, "repo", "", "repository directory (created when missing)")
	f.StringVar(&o.Suite, "suite", "stable", "APT suite and YUM repository name")
	f.StringVar(&o.Codename, "codename", "", "APT codename (default: the suite)")
	f.StringVar(&o.Component, "component", "main", "APT component")
	f.StringVar(&o.Origin, "origin", "", "APT Release Origin, for pinning")
	f.StringVar(&o.Label, "label", "", "APT Release Label, for pinning")
	f.StringVar(&o.Description, "description", "", "APT Release Description")
	f.StringArrayVar(&arches, "arch", nil, "architectures to index besides the packages' own (repeatable or comma-separated; default "+strings.Join(repo.DefaultArchitectures, ",")+")")
	f.StringVar(&keyFile, "sign-key", "", "armored private key file (default: the key in $"+sign.EnvKey+")")
	f.StringArrayVar(&trusted, "trusted-key", nil, "armored public key file of a key RPMs may be signed with besides --sign-key (repeatable)")
	f.IntVar(&o.Keep, "keep", 0, "keep only the N newest versions of every package and architecture (0 keeps all)")
	f.BoolVar(&o.DryRun, "dry-run", false, "print what would change and write nothing")
	f.BoolVarP(&quiet, "quiet", "q", false, "print only errors")
	f.CountVarP(&verbose, "verbose", "v", "print every step")
	cmd.PreRun = func(cmd *cobra.Command, args []string) { archsSet = cmd.Flags().Changed("arch") }
	return cmd
}

// publishTime is the Release Date: SOURCE_DATE_EPOCH when set, so a
// publish can be reproduced, else now.
func publishTime() (time.Time, error) {
	t, ok, err := env.Epoch()
	if !ok && err == nil {
		return time.Now(), nil
	}
	return t, err
}
