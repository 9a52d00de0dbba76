package sign

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestKeyring(t *testing.T) {
	a, b := generate(t, Ed25519, ""), generate(t, Ed25519, "")
	sa, err := NewSigner(a.Private, nil)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("header bytes")
	sig, err := sa.SignRPM(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}

	both, err := ReadKeyring(append(append([]byte("comment line\n"), b.Public...), a.Public...))
	if err != nil {
		t.Fatal(err)
	}
	if got := both.Fingerprints(); len(got) != 2 {
		t.Fatalf("two concatenated public keys read as %v", got)
	}
	fp, err := both.CheckDetached(bytes.NewReader(data), sig)
	if err != nil || fp != a.Fingerprint {
		t.Errorf("CheckDetached = %q, %v; want %s", fp, err, a.Fingerprint)
	}
	if _, err := both.CheckDetached(bytes.NewReader([]byte("other bytes")), sig); err == nil || errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("CheckDetached of changed data = %v, want a failed verification", err)
	}

	onlyB, err := ReadKeyring(b.Public)
	if err != nil {
		t.Fatal(err)
	}
	_, err = onlyB.CheckDetached(bytes.NewReader(data), sig)
	if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), a.Fingerprint) {
		t.Errorf("CheckDetached by a key not in the keyring = %v, want ErrUnknownKey naming %s", err, a.Fingerprint)
	}
	if got := onlyB.Union(sa.Keyring(), onlyB, nil).Fingerprints(); len(got) != 2 {
		t.Errorf("Union = %v, want the two keys once each", got)
	}

	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"private key", a.Private, "is a private key; give its public key"},
		{"nothing", []byte("no key here"), "reading the OpenPGP public keys"},
		{"cut armor", a.Public[:len(a.Public)/2], "reading the OpenPGP public keys"},
	} {
		if _, err := ReadKeyring(tc.data); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadKeyring(%s) = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}
