package sign

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// ErrUnknownKey means a signature was made by a key that is not in the
// keyring it was checked against.
var ErrUnknownKey = errors.New("signed by a key that is not trusted")

// Keyring holds the public keys signatures are checked against, such as
// the keys a repository trusts to sign the packages it publishes.
type Keyring struct {
	entities openpgp.EntityList
}

// ReadKeyring reads one or more armored or binary OpenPGP public keys. A
// private key is refused: a keyring names whom to trust, and a private key
// does not belong where public keys are kept.
func ReadKeyring(data []byte) (*Keyring, error) {
	var el openpgp.EntityList
	var err error
	if bytes.Contains(data, []byte("-----BEGIN PGP")) {
		el, err = readArmoredKeys(data)
	} else {
		el, err = openpgp.ReadKeyRing(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("reading the OpenPGP public keys: %w", err)
	}
	if len(el) == 0 {
		return nil, errors.New("reading the OpenPGP public keys: found none")
	}
	for _, e := range el {
		if e.PrivateKey != nil {
			return nil, fmt.Errorf("key %s is a private key; give its public key (public.asc of venvpkg key generate, or venvpkg key public)", fingerprint(e))
		}
	}
	return &Keyring{entities: el}, nil
}

// readArmoredKeys reads every armored key block in data: a file made by
// concatenating public.asc files holds several.
func readArmoredKeys(data []byte) (openpgp.EntityList, error) {
	var all openpgp.EntityList
	const begin = "-----BEGIN PGP"
	for {
		i := bytes.Index(data, []byte(begin))
		if i < 0 {
			return all, nil
		}
		data = data[i:]
		end := bytes.Index(data, []byte("-----END PGP"))
		if end < 0 {
			return nil, errors.New("armored block without an END line")
		}
		end += bytes.IndexByte(data[end:], '\n') + 1
		if end <= 0 || end > len(data) {
			end = len(data)
		}
		el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(data[:end]))
		if err != nil {
			return nil, err
		}
		all = append(all, el...)
		data = data[end:]
	}
}

// Keyring returns a keyring holding the signer's public key.
func (s *Signer) Keyring() *Keyring {
	return &Keyring{entities: openpgp.EntityList{s.entity}}
}

// Union returns a keyring with the keys of k and of others; a key in
// several is kept once.
func (k *Keyring) Union(others ...*Keyring) *Keyring {
	out := &Keyring{}
	seen := map[string]bool{}
	for _, r := range append([]*Keyring{k}, others...) {
		if r == nil {
			continue
		}
		for _, e := range r.entities {
			if fp := fingerprint(e); !seen[fp] {
				seen[fp] = true
				out.entities = append(out.entities, e)
			}
		}
	}
	return out
}

// Fingerprints returns the fingerprints of the primary keys, sorted.
func (k *Keyring) Fingerprints() []string {
	var fps []string
	for _, e := range k.entities {
		fps = append(fps, fingerprint(e))
	}
	slices.Sort(fps)
	return fps
}

// CheckDetached checks that sig, a binary detached signature, was made
// over the data read from signed (to its end) by a key of the keyring, and
// returns that key's fingerprint. A signature by another key gives an error
// wrapping ErrUnknownKey that names the key ID.
func (k *Keyring) CheckDetached(signed io.Reader, sig []byte) (string, error) {
	issuer, err := signatureIssuer(sig)
	if err != nil {
		return "", err
	}
	e, err := openpgp.CheckDetachedSignature(k.entities, signed, bytes.NewReader(sig), nil)
	if errors.Is(err, pgperrors.ErrUnknownIssuer) {
		known := "no keys are trusted"
		if fps := k.Fingerprints(); len(fps) > 0 {
			known = "trusted: " + strings.Join(fps, ", ")
		}
		return "", fmt.Errorf("%w: key ID %s (%s)", ErrUnknownKey, issuer, known)
	}
	if err != nil {
		return "", fmt.Errorf("signature by key ID %s does not verify: %w", issuer, err)
	}
	return fingerprint(e), nil
}

// signatureIssuer returns the issuer key ID of a binary signature packet,
// in upper-case hex.
func signatureIssuer(sig []byte) (string, error) {
	p, err := packet.Read(bytes.NewReader(sig))
	if err != nil {
		return "", fmt.Errorf("reading the OpenPGP signature: %w", err)
	}
	s, ok := p.(*packet.Signature)
	if !ok {
		return "", fmt.Errorf("reading the OpenPGP signature: found a %T packet, not a signature", p)
	}
	switch {
	case s.IssuerFingerprint != nil:
		return strings.ToUpper(fmt.Sprintf("%x", s.IssuerFingerprint)), nil
	case s.IssuerKeyId != nil:
		return fmt.Sprintf("%016X", *s.IssuerKeyId), nil
	}
	return "", errors.New("the OpenPGP signature names no issuer key")
}
