package sign

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/venvpkg/venvpkg/internal/testutil"
)

var created = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func generate(t *testing.T, algo Algo, pass string) *KeyPair {
	t.Helper()
	kp, err := Generate("Acme Ops", "ops@acme.example", algo, []byte(pass), created)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// gpgv verifies sig over data with the armored public key pub using GnuPG's
// gpgv, an independent OpenPGP implementation; data is nil for a
// clear-signed sig.
func gpgv(t *testing.T, pub, sig, data []byte) error {
	t.Helper()
	testutil.NeedTool(t, "gpgv", "gpgv")
	dir := t.TempDir()
	keyring := filepath.Join(dir, "keyring.gpg")
	dearmor := exec.Command("gpg", "--batch", "--homedir", dir, "--dearmor", "-o", keyring)
	dearmor.Stdin = bytes.NewReader(pub)
	if out, err := dearmor.CombinedOutput(); err != nil {
		t.Fatalf("gpg --dearmor: %v: %s", err, out)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	args := []string{"--keyring", keyring, write("sig", sig)}
	if data != nil {
		args = append(args, write("data", data))
	}
	out, err := exec.Command("gpgv", args...).CombinedOutput()
	if err != nil {
		return errors.New(string(out))
	}
	if strings.Contains(string(out), "invalid radix64") {
		t.Errorf("gpgv misreads the armor:\n%s", out)
	}
	if !strings.Contains(string(out), "Good signature") {
		t.Errorf("gpgv printed no good signature:\n%s", out)
	}
	return nil
}

func TestSignaturesVerifyWithGnuPG(t *testing.T) {
	for _, tc := range []struct {
		name string
		algo Algo
	}{
		{name: "ed25519", algo: Ed25519},
		{name: "rsa4096", algo: RSA4096},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.algo == RSA4096 && testing.Short() {
				t.Skip("RSA-4096 generation is slow")
			}
			kp := generate(t, tc.algo, "")
			s, err := NewSigner(kp.Private, nil)
			if err != nil {
				t.Fatal(err)
			}
			if s.Fingerprint() != kp.Fingerprint {
				t.Errorf("Fingerprint() = %s, want %s", s.Fingerprint(), kp.Fingerprint)
			}
			data := []byte("Origin: test\nSuite: stable\n- a line that starts with a dash\n")
			var clear, detached, armored bytes.Buffer
			if err := s.ClearSign(&clear, data); err != nil {
				t.Fatal(err)
			}
			if err := s.DetachSign(&detached, bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
			if err := s.ArmoredDetachSign(&armored, bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(clear.String(), "Hash: SHA256") && !strings.Contains(clear.String(), "Hash: SHA512") {
				t.Errorf("clear-signed text names no SHA-2 hash:\n%s", clear.String())
			}
			if b, _ := clearsign.Decode(clear.Bytes()); b == nil || !bytes.Equal(b.Plaintext, bytes.TrimSuffix(data, []byte("\n"))) && !bytes.Equal(b.Plaintext, data) {
				t.Errorf("clear-signed text does not decode to the input:\n%s", clear.String())
			}
			for name, sig := range map[string][]byte{"clear": clear.Bytes(), "detached": detached.Bytes(), "armored": armored.Bytes()} {
				var in []byte
				if name != "clear" {
					in = data
				}
				if err := gpgv(t, kp.Public, sig, in); err != nil {
					t.Errorf("gpgv rejects the %s signature: %v", name, err)
				}
			}
			// A changed message is refused.
			if err := gpgv(t, kp.Public, detached.Bytes(), append([]byte("x"), data...)); err == nil {
				t.Error("gpgv accepts the detached signature of changed data")
			}
			// Another key is refused.
			other := generate(t, Ed25519, "")
			if err := gpgv(t, other.Public, detached.Bytes(), data); err == nil {
				t.Error("gpgv accepts the signature with another key")
			}
		})
	}
}

func TestSignaturesAreReproducible(t *testing.T) {
	kp := generate(t, Ed25519, "")
	sign := func() []byte {
		s, err := NewSigner(kp.Private, nil)
		if err != nil {
			t.Fatal(err)
		}
		s.Now = func() time.Time { return created }
		var b bytes.Buffer
		if err := s.ClearSign(&b, []byte("hello\n")); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	if a, b := sign(), sign(); !bytes.Equal(a, b) {
		t.Errorf("two clear signatures at the same time differ:\n%s\n%s", a, b)
	}
}

func TestPassphrase(t *testing.T) {
	kp := generate(t, Ed25519, "s3cret")
	for _, tc := range []struct {
		name    string
		pass    func() ([]byte, error)
		wantErr error
	}{
		{name: "right", pass: func() ([]byte, error) { return []byte("s3cret"), nil }},
		{name: "wrong", pass: func() ([]byte, error) { return []byte("nope"), nil }, wantErr: ErrPassphrase},
		{name: "missing", pass: nil, wantErr: ErrPassphrase},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewSigner(kp.Private, tc.pass)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("NewSigner: %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			var sig bytes.Buffer
			if err := s.DetachSign(&sig, strings.NewReader("data")); err != nil {
				t.Fatal(err)
			}
			keys, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(kp.Public))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := openpgp.CheckDetachedSignature(keys, strings.NewReader("data"), &sig, nil); err != nil {
				t.Errorf("signature does not verify: %v", err)
			}
		})
	}
}

func TestNewSignerErrors(t *testing.T) {
	kp := generate(t, Ed25519, "")
	for _, tc := range []struct {
		name, key, want string
	}{
		{name: "public key", key: string(kp.Public), want: "it is a public key"},
		{name: "garbage", key: "not a key", want: "reading the OpenPGP key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSigner([]byte(tc.key), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewSigner(%s) = %v, want an error containing %q", tc.name, err, tc.want)
			}
		})
	}
}

func TestGenerateErrors(t *testing.T) {
	for _, tc := range []struct {
		name, user, email string
		algo              Algo
		want              string
	}{
		{name: "no name", user: " ", email: "a@b", algo: Ed25519, want: "name is empty"},
		{name: "bad email", user: "A", email: "nobody", algo: Ed25519, want: "not an e-mail address"},
		{name: "brackets", user: "A <b>", email: "a@b", algo: Ed25519, want: "may not contain"},
		{name: "algo", user: "A", email: "a@b", algo: "dsa", want: `unknown algorithm "dsa"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Generate(tc.user, tc.email, tc.algo, nil, created)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Generate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	kp := generate(t, Ed25519, "")
	file := filepath.Join(t.TempDir(), "private.asc")
	if err := os.WriteFile(file, kp.Private, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvKey, "")
	if _, err := Load("", nil); !errors.Is(err, ErrNoKey) {
		t.Errorf("Load without a key = %v, want ErrNoKey", err)
	}
	if s, err := Load(file, nil); err != nil || s.Fingerprint() != kp.Fingerprint {
		t.Errorf("Load(file) = %v, %v", s, err)
	}
	t.Setenv(EnvKey, string(kp.Private))
	if s, err := Load("", nil); err != nil || s.Fingerprint() != kp.Fingerprint {
		t.Errorf("Load from $%s = %v, %v", EnvKey, s, err)
	}
	t.Setenv(EnvPassphrase, "from-env")
	if p, err := Passphrase(nil, nil)(); err != nil || string(p) != "from-env" {
		t.Errorf("Passphrase() = %q, %v; want the environment's", p, err)
	}
}

// TestGnuPGKey signs with a key GnuPG made and exported, protected by a
// passphrase, as a user bringing an existing key would.
func TestGnuPGKey(t *testing.T) {
	testutil.NeedTool(t, "gpg", "gpg")
	home := t.TempDir()
	// gpg starts an agent for the secret key; stop it with the test.
	t.Cleanup(func() { exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run() })
	gpg := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command("gpg", append([]string{"--batch", "--homedir", home, "--pinentry-mode", "loopback", "--passphrase", "pw"}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("gpg %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	gpg("--quick-gen-key", "GnuPG Made <gpg@acme.example>", "ed25519", "sign", "never")
	priv := gpg("--armor", "--export-secret-keys")
	pub := gpg("--armor", "--export")
	s, err := NewSigner(priv, func() ([]byte, error) { return []byte("pw"), nil })
	if err != nil {
		t.Fatal(err)
	}
	var sig bytes.Buffer
	if err := s.ClearSign(&sig, []byte("Suite: stable\n")); err != nil {
		t.Fatal(err)
	}
	if err := gpgv(t, pub, sig.Bytes(), nil); err != nil {
		t.Errorf("gpgv rejects a signature made with GnuPG's key: %v", err)
	}
}

// TestClearSignArmorEnds clear-signs with keys whose signatures differ in
// length and checks each with gpgv: GnuPG 2.2 misreads armor without a
// checksum when the base64 needs no padding (as with RSA-3072 keys, GnuPG's
// default), so every length must verify cleanly.
func TestClearSignArmorEnds(t *testing.T) {
	rsa, err := openpgp.NewEntity("RSA 3072", "", "rsa@acme.example", &packet.Config{Algorithm: packet.PubKeyAlgoRSA, RSABits: 3072})
	if err != nil {
		t.Fatal(err)
	}
	var rsaPriv, rsaPub bytes.Buffer
	if err := writeArmored(&rsaPriv, openpgp.PrivateKeyType, func(w io.Writer) error { return rsa.SerializePrivate(w, nil) }); err != nil {
		t.Fatal(err)
	}
	if err := writeArmored(&rsaPub, openpgp.PublicKeyType, rsa.Serialize); err != nil {
		t.Fatal(err)
	}
	ed := generate(t, Ed25519, "")
	for _, key := range []struct {
		name      string
		priv, pub []byte
	}{{"ed25519", ed.Private, ed.Public}, {"rsa3072", rsaPriv.Bytes(), rsaPub.Bytes()}} {
		s, err := NewSigner(key.priv, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			text := []byte(strings.Repeat("Suite: stable\n", i+1))
			var sig bytes.Buffer
			if err := s.ClearSign(&sig, text); err != nil {
				t.Fatal(err)
			}
			if !bytes.HasSuffix(sig.Bytes(), []byte("-----END PGP SIGNATURE-----\n")) {
				t.Errorf("%s: clear-signed message does not end with the armor's END line:\n%s", key.name, sig.Bytes())
			}
			if err := gpgv(t, key.pub, sig.Bytes(), nil); err != nil {
				t.Errorf("%s: gpgv rejects clear-signed text %d: %v\n%s", key.name, i, err, sig.Bytes())
			}
		}
	}
}
