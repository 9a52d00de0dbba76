package repo

import (
	"bytes"
	"cmp"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/venvpkg/venvpkg/internal/sign"
)

// Signature header tags rpm checks (rpm's rpmtag.h, RPMSIGTAG_*), and the
// main header tags of the payload digest.
const (
	sigTagDSA      = 267  // OpenPGP signature of the main header (DSA)
	sigTagRSA      = 268  // OpenPGP signature of the main header (RSA, EdDSA, ...)
	sigTagSHA1     = 269  // hex SHA-1 of the main header
	sigTagLongSize = 270  // size of the main header and payload (64-bit)
	sigTagSHA256   = 273  // hex SHA-256 of the main header
	sigTagSize     = 1000 // size of the main header and payload
	sigTagPGP      = 1002 // OpenPGP signature of the main header and payload (RSA)
	sigTagMD5      = 1004 // MD5 of the main header and payload
	sigTagGPG      = 1005 // OpenPGP signature of the main header and payload (DSA)
	sigTagOpenPGP  = 278  // rpm 6's OpenPGP signatures of the main header

	tagPayloadDigest     = 5092 // hex digest of the compressed payload
	tagPayloadDigestAlgo = 5093 // its algorithm (PGPHASHALGO_*)
)

// payloadDigestAlgos are the PGPHASHALGO values rpm writes for the payload
// digest.
var payloadDigestAlgos = map[uint64]struct {
	name string
	new  func() hash.Hash
}{
	1:  {"MD5", md5.New},
	2:  {"SHA1", sha1.New},
	8:  {"SHA256", sha256.New},
	9:  {"SHA384", sha512.New384},
	10: {"SHA512", sha512.New},
	11: {"SHA224", sha256.New224},
}

// ErrUnsignedRPM means an unsigned RPM was given to a repository whose
// hosts check package signatures.
var ErrUnsignedRPM = errors.New("the package is not signed")

// rpmVerifier says how verifyRPM checks signatures.
type rpmVerifier struct {
	// keys are the keys a package may be signed with.
	keys *sign.Keyring
}

// untrustedError is a package, sound in every other respect, signed by a
// key the repository does not trust. Publish refuses it unless the same
// file is already published.
type untrustedError struct{ err error }

func (e *untrustedError) Error() string {
	return e.err.Error() + "; add its public key with --trusted-key FILE if the repository should accept it"
}

func (e *untrustedError) Unwrap() error { return e.err }

// verifyRPM reads a whole binary RPM from r, checking it the way
// rpm -K does: the lead, the signature and main headers, the SHA-1 and
// SHA-256 digests of the main header, the size and MD5 of the header and
// payload, the payload digest, and the OpenPGP signatures against v.keys. It refuses an
// unsigned package (ErrUnsignedRPM) and data after the payload. A package
// that is sound but signed by a key not in v.keys is returned with an
// *untrustedError. The payload is streamed, never held in memory.
func verifyRPM(r io.Reader, v rpmVerifier) (_ *rpmInfo, err error) {
	var untrusted error
	defer func() {
		if err == nil && untrusted != nil {
			err = &untrustedError{untrusted}
		}
	}()
	sig, h, start, err := readRPMHeaders(r)
	if err != nil {
		return nil, err
	}
	// Digests of the main header alone.
	sha256Want, err := sig.str(sigTagSHA256)
	if err != nil {
		return nil, fmt.Errorf("signature header: %w", err)
	}
	if sha256Want == "" {
		return nil, errors.New("the signature header has no SHA-256 digest of the main header; rebuild the package with rpm 4.14 or later, or venvpkg")
	}
	headerDigests := []struct {
		name, want string
		h          hash.Hash
	}{{"SHA256", sha256Want, sha256.New()}}
	if want, err := sig.str(sigTagSHA1); err != nil {
		return nil, fmt.Errorf("signature header: %w", err)
	} else if want != "" {
		headerDigests = append(headerDigests, struct {
			name, want string
			h          hash.Hash
		}{"SHA1", want, sha1.New()})
	}
	for _, d := range headerDigests {
		h.writeTo(d.h)
		if got := hex.EncodeToString(d.h.Sum(nil)); got != d.want {
			return nil, fmt.Errorf("header %s digest mismatch: the main header is damaged (%s, the signature header says %s)", d.name, got, d.want)
		}
	}

	// The headers' structure, once the digest says the main header is
	// what was built.
	for _, hd := range []struct {
		name string
		h    *rpmHeader
	}{{"signature header", sig}, {"main header", h}} {
		if err := hd.h.check(); err != nil {
			return nil, fmt.Errorf("%s: %w", hd.name, err)
		}
	}
	info, err := rpmInfoOf(sig, h, start)
	if err != nil {
		return nil, err
	}

	// Signatures: over the main header, and over header and payload.
	var headerSigs, bodySigs [][]byte
	for _, tag := range []uint32{sigTagRSA, sigTagDSA, sigTagPGP, sigTagGPG} {
		b, err := sig.bin(tag)
		if err != nil {
			return nil, fmt.Errorf("signature header: %w", err)
		}
		switch {
		case b == nil:
		case tag == sigTagRSA || tag == sigTagDSA:
			headerSigs = append(headerSigs, b)
		default:
			bodySigs = append(bodySigs, b)
		}
	}
	if _, v6 := sig.entries[sigTagOpenPGP]; v6 && len(headerSigs)+len(bodySigs) == 0 {
		return nil, errors.New("signed only in rpm 6's form (signature tag 278, OPENPGP), which venvpkg does not verify; sign it with rpmsign of rpm 4 or venvpkg build --sign-key FILE")
	}
	if len(headerSigs)+len(bodySigs) == 0 {
		return nil, fmt.Errorf("%w: hosts install from the repository with gpgcheck=1 and refuse it; build it with venvpkg build --sign-key FILE (or sign it with rpmsign --addsign)", ErrUnsignedRPM)
	}
	for _, s := range headerSigs {
		var b bytes.Buffer
		h.writeTo(&b)
		if err := v.check(&b, s); errors.Is(err, sign.ErrUnknownKey) {
			untrusted = cmp.Or(untrusted, fmt.Errorf("header signature: %w", err))
		} else if err != nil {
			return nil, fmt.Errorf("header signature: %w", err)
		}
	}

	// The payload, streamed once through every digest that covers it.
	var writers []io.Writer
	md5Want, err := sig.bin(sigTagMD5)
	if err != nil {
		return nil, fmt.Errorf("signature header: %w", err)
	}
	var md5h hash.Hash
	if md5Want != nil {
		md5h = md5.New()
		h.writeTo(md5h)
		writers = append(writers, md5h)
	}
	payloadWant, err := h.str(tagPayloadDigest)
	if err != nil {
		return nil, fmt.Errorf("main header: %w", err)
	}
	var payloadHash hash.Hash
	payloadAlgo := "SHA256"
	if payloadWant != "" {
		algo, ok, err := h.int(tagPayloadDigestAlgo)
		if err != nil {
			return nil, fmt.Errorf("main header: %w", err)
		}
		if !ok {
			algo = 8
		}
		a, known := payloadDigestAlgos[algo]
		if !known {
			return nil, fmt.Errorf("main header: unknown payload digest algorithm %d", algo)
		}
		payloadAlgo, payloadHash = a.name, a.new()
		writers = append(writers, payloadHash)
	} else if md5Want == nil {
		return nil, errors.New("neither a payload digest nor an MD5 digest covers the payload; rebuild the package with rpm 4.14 or later, or venvpkg")
	}
	var checks []*streamCheck
	for _, s := range bodySigs {
		c := v.start(s)
		h.writeTo(c)
		checks = append(checks, c)
		writers = append(writers, c)
	}
	payloadLen, err := io.Copy(io.MultiWriter(writers...), r)
	var sigErr error
	for _, c := range checks {
		if cerr := c.close(); errors.Is(cerr, sign.ErrUnknownKey) {
			untrusted = cmp.Or(untrusted, fmt.Errorf("header and payload signature: %w", cerr))
		} else if cerr != nil && sigErr == nil {
			sigErr = fmt.Errorf("header and payload signature: %w", cerr)
		}
	}
	if err != nil {
		return nil, err
	}

	// Sizes first: a truncated or extended file says so plainly.
	size, hasSize, err := sig.int(sigTagLongSize)
	if err == nil && !hasSize {
		size, hasSize, err = sig.int(sigTagSize)
	}
	if err != nil {
		return nil, fmt.Errorf("signature header: %w", err)
	}
	if got := uint64(h.size() + payloadLen); hasSize && got != size {
		if got < size {
			return nil, fmt.Errorf("truncated: the file ends %d bytes into the payload, the signature header says header and payload are %d bytes", got-uint64(h.size()), size)
		}
		return nil, fmt.Errorf("%d bytes of trailing data after the payload (header and payload are %d bytes)", got-size, size)
	}
	if payloadHash != nil {
		if got := hex.EncodeToString(payloadHash.Sum(nil)); got != payloadWant {
			return nil, fmt.Errorf("payload %s digest mismatch: the payload is damaged (%s, the header says %s)", payloadAlgo, got, payloadWant)
		}
	}
	if md5h != nil && !bytes.Equal(md5h.Sum(nil), md5Want) {
		return nil, errors.New("MD5 digest of header and payload mismatch: the package is damaged")
	}
	if sigErr != nil {
		return nil, sigErr
	}
	return info, nil
}

// check verifies the detached signature sig over the data read from signed.
func (v rpmVerifier) check(signed io.Reader, sig []byte) error {
	keys := v.keys
	if keys == nil {
		keys = &sign.Keyring{}
	}
	_, err := keys.CheckDetached(signed, sig)
	return err
}

// streamCheck verifies a signature over data written to it in pieces.
type streamCheck struct {
	pw   *io.PipeWriter
	done chan error
}

func (v rpmVerifier) start(sig []byte) *streamCheck {
	pr, pw := io.Pipe()
	c := &streamCheck{pw: pw, done: make(chan error, 1)}
	go func() {
		err := v.check(pr, sig)
		pr.CloseWithError(errors.New("signature check finished"))
		c.done <- err
	}()
	return c
}

// Write passes p to the check; once the check has failed it discards p,
// so the failure is reported by close, with its reason.
func (c *streamCheck) Write(p []byte) (int, error) {
	c.pw.Write(p)
	return len(p), nil
}

func (c *streamCheck) close() error {
	c.pw.Close()
	return <-c.done
}

// bin returns the value of a binary tag, or nil when it is missing.
func (h *rpmHeader) bin(tag uint32) ([]byte, error) {
	e, ok := h.entries[tag]
	if !ok {
		return nil, nil
	}
	if e.typ != typeBin {
		return nil, fmt.Errorf("tag %d has type %d, want binary", tag, e.typ)
	}
	if uint64(e.offset)+uint64(e.count) > uint64(len(h.store)) {
		return nil, fmt.Errorf("tag %d points outside the header", tag)
	}
	return h.store[e.offset : e.offset+e.count], nil
}

// check validates every entry of the header index the way rpm's
// hdrblobVerifyInfo does: a known type, data inside the data store, integers
// aligned, strings terminated.
func (h *rpmHeader) check() error {
	n := len(h.index) / 16
	for i := 0; i < n; i++ {
		e := h.index[16*i:]
		tag, typ := be32(e[0:4]), be32(e[4:8])
		off, count := uint64(be32(e[8:12])), uint64(be32(e[12:16]))
		size := uint64(len(h.store))
		switch typ {
		case 0: // RPM_NULL_TYPE
		case typeChar, typeInt8, typeInt16, typeInt32, typeInt64, typeBin:
			width := map[uint32]uint64{typeChar: 1, typeInt8: 1, typeInt16: 2, typeInt32: 4, typeInt64: 8, typeBin: 1}[typ]
			if off%width != 0 {
				return fmt.Errorf("tag %d: data at offset %d is not aligned to %d bytes", tag, off, width)
			}
			if off+count*width > size {
				return fmt.Errorf("tag %d: %d values at offset %d run past the %d-byte data store", tag, count, off, size)
			}
		case typeString, typeStringArray, typeI18NString:
			if typ == typeString && count != 1 {
				return fmt.Errorf("tag %d: a string entry with count %d", tag, count)
			}
			p := off
			for j := uint64(0); j < count; j++ {
				if p >= size {
					return fmt.Errorf("tag %d: string %d starts past the %d-byte data store", tag, j, size)
				}
				end := bytes.IndexByte(h.store[p:], 0)
				if end < 0 {
					return fmt.Errorf("tag %d: unterminated string", tag)
				}
				p += uint64(end) + 1
			}
		default:
			return fmt.Errorf("tag %d has unknown type %d", tag, typ)
		}
	}
	return nil
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
