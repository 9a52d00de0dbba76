// Package sign makes and uses the OpenPGP keys (RFC 4880 version 4 keys and
// signatures, through github.com/ProtonMail/go-crypto) that venvpkg signs
// repositories and packages with: key generation (Ed25519 or RSA-4096),
// clear-signed text for APT's InRelease, and detached signatures for
// Release.gpg, repomd.xml.asc and RPM headers. Every signature uses SHA-256
// or stronger and no random salt, so the same key, time and data give the
// same bytes.
package sign

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Algo names a key algorithm that Generate makes.
type Algo string

// The key algorithms Generate supports. Ed25519 keys use the EdDSA
// algorithm of RFC 4880bis (public key algorithm 22), which GnuPG 2.2, apt
// and rpm verify; RSA-4096 is for verifiers without EdDSA.
const (
	Ed25519 Algo = "ed25519"
	RSA4096 Algo = "rsa4096"
)

// ErrPassphrase means the private key is protected and the passphrase given
// for it was missing or wrong.
var ErrPassphrase = errors.New("wrong or missing passphrase")

// KeyPair is a generated key: the armored private key, for the publisher,
// and the armored public key, for clients (apt's signed-by, dnf's gpgkey).
type KeyPair struct {
	Private     []byte
	Public      []byte
	Fingerprint string // upper-case hex
}

// config returns the go-crypto settings for signatures made at t: SHA-256
// at least, no random salt notation.
func config(t time.Time) *packet.Config {
	return &packet.Config{
		DefaultHash:                           crypto.SHA256,
		Time:                                  func() time.Time { return t },
		NonDeterministicSignaturesViaNotation: packet.BoolPointer(false),
		MinRSABits:                            2048,
	}
}

// Generate makes a new signing key for the user ID "name <email>", created
// at created. A non-empty passphrase encrypts the private key.
func Generate(name, email string, algo Algo, passphrase []byte, created time.Time) (*KeyPair, error) {
	if strings.TrimSpace(name) == "" {
		return nil, errors.New("generating a key: the name is empty; pass --name")
	}
	if !strings.Contains(email, "@") || strings.ContainsAny(email, "<> \t\r\n") {
		return nil, fmt.Errorf("generating a key: %q is not an e-mail address; pass --email user@example.org", email)
	}
	if strings.ContainsAny(name, "<>()\r\n") {
		return nil, fmt.Errorf("generating a key: name %q may not contain <, >, ( or ) or line breaks", name)
	}
	cfg := config(created)
	switch algo {
	case Ed25519:
		cfg.Algorithm = packet.PubKeyAlgoEdDSA
		cfg.Curve = packet.Curve25519
	case RSA4096:
		cfg.Algorithm = packet.PubKeyAlgoRSA
		cfg.RSABits = 4096
	default:
		return nil, fmt.Errorf("generating a key: unknown algorithm %q; use %s or %s", algo, Ed25519, RSA4096)
	}
	e, err := openpgp.NewEntity(name, "", email, cfg)
	if err != nil {
		return nil, fmt.Errorf("generating a %s key: %w", algo, err)
	}
	var pub bytes.Buffer
	if err := writeArmored(&pub, openpgp.PublicKeyType, e.Serialize); err != nil {
		return nil, fmt.Errorf("writing the public key: %w", err)
	}
	if len(passphrase) > 0 {
		if err := e.EncryptPrivateKeys(passphrase, cfg); err != nil {
			return nil, fmt.Errorf("encrypting the private key: %w", err)
		}
	}
	var priv bytes.Buffer
	if err := writeArmored(&priv, openpgp.PrivateKeyType, func(w io.Writer) error { return e.SerializePrivateWithoutSigning(w, cfg) }); err != nil {
		return nil, fmt.Errorf("writing the private key: %w", err)
	}
	return &KeyPair{Private: priv.Bytes(), Public: pub.Bytes(), Fingerprint: fingerprint(e)}, nil
}

func fingerprint(e *openpgp.Entity) string {
	return strings.ToUpper(fmt.Sprintf("%x", e.PrimaryKey.Fingerprint))
}

func writeArmored(w io.Writer, blockType string, write func(io.Writer) error) error {
	aw, err := armor.Encode(w, blockType, nil)
	if err != nil {
		return err
	}
	if err := write(aw); err != nil {
		return err
	}
	if err := aw.Close(); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}

// Signer signs with one private key.
type Signer struct {
	entity *openpgp.Entity
	key    *packet.PrivateKey
	// Now gives the signature creation time; it defaults to time.Now.
	Now func() time.Time
}

// NewSigner reads an armored or binary private key. When the key is
// encrypted, passphrase is called once to get its passphrase; a nil
// passphrase func or a wrong passphrase gives an error wrapping
// ErrPassphrase.
func NewSigner(key []byte, passphrase func() ([]byte, error)) (*Signer, error) {
	var el openpgp.EntityList
	var err error
	if bytes.Contains(key, []byte("-----BEGIN PGP")) {
		el, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(key))
	} else {
		el, err = openpgp.ReadKeyRing(bytes.NewReader(key))
	}
	if err != nil {
		return nil, fmt.Errorf("reading the OpenPGP key: %w", err)
	}
	if len(el) != 1 {
		return nil, fmt.Errorf("reading the OpenPGP key: found %d keys, want exactly one", len(el))
	}
	e := el[0]
	if e.PrivateKey == nil {
		return nil, errors.New("reading the OpenPGP key: it is a public key; give the private key (private.asc from venvpkg key generate)")
	}
	k, ok := e.SigningKey(time.Now())
	if !ok || k.PrivateKey == nil {
		return nil, fmt.Errorf("the OpenPGP key %s has no usable signing key (expired, revoked or without the signing flag)", fingerprint(e))
	}
	if k.PrivateKey.Encrypted {
		if passphrase == nil {
			return nil, fmt.Errorf("the OpenPGP key %s is protected by a passphrase: %w; set VENVPKG_SIGN_PASSPHRASE", fingerprint(e), ErrPassphrase)
		}
		p, err := passphrase()
		if err != nil {
			return nil, fmt.Errorf("reading the passphrase of key %s: %w", fingerprint(e), err)
		}
		if err := k.PrivateKey.Decrypt(p); err != nil {
			return nil, fmt.Errorf("unlocking the OpenPGP key %s: %w (%v)", fingerprint(e), ErrPassphrase, err)
		}
	}
	return &Signer{entity: e, key: k.PrivateKey, Now: time.Now}, nil
}

// Created returns the creation time of the signing key: no signature can
// be dated earlier.
func (s *Signer) Created() time.Time { return s.key.CreationTime }

// Fingerprint returns the primary key's fingerprint in upper-case hex.
func (s *Signer) Fingerprint() string { return fingerprint(s.entity) }

// PublicKey returns the armored public key, for clients.
func (s *Signer) PublicKey() ([]byte, error) {
	var b bytes.Buffer
	if err := writeArmored(&b, openpgp.PublicKeyType, s.entity.Serialize); err != nil {
		return nil, fmt.Errorf("writing the public key of %s: %w", s.Fingerprint(), err)
	}
	return b.Bytes(), nil
}

func (s *Signer) config() *packet.Config {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	cfg := config(now().UTC().Truncate(time.Second))
	cfg.SigningKeyId = s.key.KeyId
	return cfg
}

// ClearSign writes text as a clear-signed message (RFC 4880 section 7), the
// form of APT's InRelease.
func (s *Signer) ClearSign(w io.Writer, text []byte) error {
	var buf bytes.Buffer
	pw, err := clearsign.Encode(&buf, s.key, s.config())
	if err != nil {
		return fmt.Errorf("clear-signing: %w", err)
	}
	if _, err := pw.Write(text); err != nil {
		return fmt.Errorf("clear-signing: %w", err)
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("clear-signing: %w", err)
	}
	// go-crypto armors the signature without the CRC-24 line, which RFC
	// 9580 allows but GnuPG 2.2 (and so apt's gpgv) misreads when the
	// base64 ends without padding: it takes the END line for data. Armor
	// the same signature packets again with the checksum.
	out := buf.Bytes()
	i := bytes.LastIndex(out, []byte("\n-----BEGIN PGP SIGNATURE-----"))
	if i < 0 {
		return errors.New("clear-signing: no signature block in the output")
	}
	block, err := armor.Decode(bytes.NewReader(out[i+1:]))
	if err != nil {
		return fmt.Errorf("clear-signing: rereading the signature: %w", err)
	}
	sig, err := io.ReadAll(block.Body)
	if err != nil {
		return fmt.Errorf("clear-signing: rereading the signature: %w", err)
	}
	if _, err := w.Write(out[:i+1]); err != nil {
		return fmt.Errorf("clear-signing: %w", err)
	}
	if err := writeArmored(w, openpgp.SignatureType, func(aw io.Writer) error {
		_, err := aw.Write(sig)
		return err
	}); err != nil {
		return fmt.Errorf("clear-signing: %w", err)
	}
	return nil
}

// DetachSign writes a binary detached signature of the data read from r.
func (s *Signer) DetachSign(w io.Writer, r io.Reader) error {
	if err := openpgp.DetachSign(w, s.entity, r, s.config()); err != nil {
		return fmt.Errorf("signing: %w", err)
	}
	return nil
}

// ArmoredDetachSign writes an ASCII-armored detached signature of the data
// read from r (Release.gpg, repomd.xml.asc).
func (s *Signer) ArmoredDetachSign(w io.Writer, r io.Reader) error {
	if err := openpgp.ArmoredDetachSign(w, s.entity, r, s.config()); err != nil {
		return fmt.Errorf("signing: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("signing: %w", err)
	}
	return nil
}

// SignRPM returns a binary detached signature of data. It has the shape of
// nfpm's PackageSignature.SignFn, which rpm packaging calls for the RPM
// header and for header plus payload:
//
//	info.RPM.Signature.SignFn = signer.SignRPM
func (s *Signer) SignRPM(data io.Reader) ([]byte, error) {
	var b bytes.Buffer
	if err := s.DetachSign(&b, data); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// VerifyDetached checks that sig, an armored or binary detached signature,
// was made of data by this signer's key.
func (s *Signer) VerifyDetached(data, sig []byte) error {
	keys := openpgp.EntityList{s.entity}
	var err error
	if bytes.Contains(sig, []byte("-----BEGIN PGP SIGNATURE")) {
		_, err = openpgp.CheckArmoredDetachedSignature(keys, bytes.NewReader(data), bytes.NewReader(sig), nil)
	} else {
		_, err = openpgp.CheckDetachedSignature(keys, bytes.NewReader(data), bytes.NewReader(sig), nil)
	}
	if err != nil {
		return fmt.Errorf("signature check with key %s: %w", s.Fingerprint(), err)
	}
	return nil
}

// VerifyClearSigned checks that msg is a clear-signed message made by this
// signer's key and returns its text.
func (s *Signer) VerifyClearSigned(msg []byte) ([]byte, error) {
	b, _ := clearsign.Decode(msg)
	if b == nil {
		return nil, errors.New("not a clear-signed message")
	}
	if _, err := b.VerifySignature(openpgp.EntityList{s.entity}, nil); err != nil {
		return nil, fmt.Errorf("signature check with key %s: %w", s.Fingerprint(), err)
	}
	return b.Plaintext, nil
}
