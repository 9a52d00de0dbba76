package sign

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/venvpkg/venvpkg/internal/env"
)

// Environment variables that supply a signing key and its passphrase, for CI
// systems that keep them as secrets rather than files.
var (
	EnvKey        = env.SignKey.Name        // the armored private key itself
	EnvPassphrase = env.SignPassphrase.Name // passphrase of a protected key
)

// ErrNoKey means neither a key file nor VENVPKG_SIGN_KEY was given.
var ErrNoKey = errors.New("no signing key: pass --sign-key FILE or set " + EnvKey)

// Load reads the private key from keyFile, or from the environment variable
// VENVPKG_SIGN_KEY when keyFile is empty, and unlocks it with pass when it
// is protected. Without either it returns ErrNoKey.
func Load(keyFile string, pass func() ([]byte, error)) (*Signer, error) {
	var data []byte
	switch {
	case keyFile != "":
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, fmt.Errorf("reading the signing key: %w", err)
		}
		data = b
	case env.SignKey.String() != "":
		data = []byte(env.SignKey.String())
	default:
		return nil, ErrNoKey
	}
	s, err := NewSigner(data, pass)
	if err != nil {
		if keyFile == "" {
			keyFile = "$" + EnvKey
		}
		return nil, fmt.Errorf("%s: %w", keyFile, err)
	}
	return s, nil
}

// Passphrase returns the passphrase source venvpkg's commands use: the
// environment variable VENVPKG_SIGN_PASSPHRASE when it is not empty (an
// empty passphrase never protects a key), else a prompt written to prompt
// and read without echo from the terminal on stdin. Without either the
// returned func fails with ErrPassphrase.
func Passphrase(stdin *os.File, prompt io.Writer) func() ([]byte, error) {
	return func() ([]byte, error) {
		if p := env.SignPassphrase.String(); p != "" {
			return []byte(p), nil
		}
		if stdin == nil || !term.IsTerminal(int(stdin.Fd())) {
			return nil, fmt.Errorf("%w: the key is protected; set %s (stdin is not a terminal to ask on)", ErrPassphrase, EnvPassphrase)
		}
		fmt.Fprint(prompt, "passphrase for the signing key: ")
		p, err := term.ReadPassword(int(stdin.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return nil, fmt.Errorf("reading the passphrase from the terminal: %w", err)
		}
		return []byte(strings.TrimRight(string(p), "\r\n")), nil
	}
}
