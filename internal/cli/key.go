package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/venvpkg/venvpkg/internal/env"
	"github.com/venvpkg/venvpkg/internal/sign"
)

// Files written by venvpkg key generate.
const (
	privateKeyFile = "private.asc"
	publicKeyFile  = "public.asc"
)

func newKeyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Make and inspect the OpenPGP keys that sign repositories",
	}
	cmd.AddCommand(newKeyGenerateCmd(), newKeyPublicCmd())
	return cmd
}

func newKeyGenerateCmd() *cobra.Command {
	var name, email, out, algo string
	cmd := &cobra.Command{
		Use:   "generate [--name NAME --email EMAIL] --out DIR",
		Short: "Generate a signing key: DIR/private.asc (mode 0600) and DIR/public.asc",
		Long: `Generate an OpenPGP signing key for "NAME <EMAIL>" and write the armored private
key to DIR/private.asc (mode 0600) and the armored public key, which clients
install (apt's signed-by, dnf's gpgkey), to DIR/public.asc.

The private key is encrypted with the passphrase in VENVPKG_SIGN_PASSPHRASE
when it is set; otherwise venvpkg asks for one on the terminal (empty for
none). An existing private.asc is never overwritten.`,
		Example: `  venvpkg key generate --name "Acme Ops" --email ops@acme.example --out keys/`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("--out is required: the directory to write private.asc and public.asc to")
			}
			if name == "" {
				name = gitConfig(cmd, "user.name")
			}
			if email == "" {
				email = gitConfig(cmd, "user.email")
			}
			if name == "" || email == "" {
				return errors.New("the key's user ID needs a name and an e-mail address: give --name and --email (they default to git config user.name and user.email, which are not set here)")
			}
			priv, pub := filepath.Join(out, privateKeyFile), filepath.Join(out, publicKeyFile)
			for _, p := range []string{priv, pub} {
				if _, err := os.Lstat(p); err == nil {
					return fmt.Errorf("%s already exists; move it away or choose another --out", p)
				}
			}
			pass, err := newPassphrase(cmd)
			if err != nil {
				return err
			}
			kp, err := sign.Generate(name, email, sign.Algo(algo), pass, time.Now())
			if err != nil {
				return err
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return fmt.Errorf("creating %s: %w", out, err)
			}
			if err := writeNew(priv, kp.Private, 0o600); err != nil {
				return err
			}
			if err := writeNew(pub, kp.Public, 0o644); err != nil {
				os.Remove(priv)
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "fingerprint %s\n", kp.Fingerprint)
			fmt.Fprintf(w, "private key %s (keep it secret; publish with --sign-key %s)\n", priv, priv)
			fmt.Fprintf(w, "public key  %s (install it on clients)\n", pub)
			if len(pass) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "venvpkg: note: the private key has no passphrase; set "+sign.EnvPassphrase+" to protect it")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "user ID name, such as the team or company (default: git config user.name)")
	f.StringVar(&email, "email", "", "user ID e-mail address (default: git config user.email)")
	f.StringVar(&out, "out", "", "directory to write private.asc and public.asc to")
	f.StringVar(&algo, "algo", string(sign.Ed25519), "key algorithm: ed25519 or rsa4096")
	return cmd
}

// gitConfig returns a git configuration value, or "" when git or the value is missing.
func gitConfig(cmd *cobra.Command, key string) string {
	out, err := exec.CommandContext(cmd.Context(), "git", "config", "--get", key).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// newPassphrase returns the passphrase for a new key: the environment's,
// else one asked twice on the terminal, else none.
func newPassphrase(cmd *cobra.Command) ([]byte, error) {
	if p, ok := env.SignPassphrase.Lookup(); ok {
		return []byte(p), nil
	}
	in, ok := cmd.InOrStdin().(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return nil, nil
	}
	ask := func(prompt string) ([]byte, error) {
		fmt.Fprint(cmd.ErrOrStderr(), prompt)
		p, err := term.ReadPassword(int(in.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return nil, fmt.Errorf("reading the passphrase from the terminal: %w", err)
		}
		return p, nil
	}
	p, err := ask("passphrase for the new key (empty for none): ")
	if err != nil || len(p) == 0 {
		return nil, err
	}
	again, err := ask("repeat the passphrase: ")
	if err != nil {
		return nil, err
	}
	if string(again) != string(p) {
		return nil, errors.New("the passphrases differ; run the command again")
	}
	return p, nil
}

// writeNew creates path with data and mode, failing if it exists.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func newKeyPublicCmd() *cobra.Command {
	var keyFile string
	cmd := &cobra.Command{
		Use:   "public [--sign-key FILE]",
		Short: "Print the armored public key of a signing key",
		Long: `Print the armored public key of the private key in --sign-key, or in
VENVPKG_SIGN_KEY, for clients (apt's signed-by, dnf's gpgkey).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := loadSigner(cmd, keyFile)
			if err != nil {
				return err
			}
			pub, err := s.PublicKey()
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(pub)
			return err
		},
	}
	cmd.Flags().StringVar(&keyFile, "sign-key", "", "armored private key file (default: the key in $"+sign.EnvKey+")")
	return cmd
}

// loadSigner reads the signing key from keyFile or VENVPKG_SIGN_KEY,
// asking for its passphrase on the terminal when VENVPKG_SIGN_PASSPHRASE
// is not set.
func loadSigner(cmd *cobra.Command, keyFile string) (*sign.Signer, error) {
	in, _ := cmd.InOrStdin().(*os.File)
	var prompt io.Writer = cmd.ErrOrStderr()
	return sign.Load(keyFile, sign.Passphrase(in, prompt))
}
