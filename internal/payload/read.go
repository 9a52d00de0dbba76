package payload

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/blakesmith/ar"
	"github.com/cavaliergopher/cpio"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// readDeb reads a Debian binary package (deb(5)): the control file of
// control.tar.* and every entry of data.tar.*.
func readDeb(r io.Reader) (*Tree, error) {
	a := ar.NewReader(r)
	t := newTree()
	var sawData bool
	for {
		h, err := nextMember(a)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the ar archive: %w", err)
		}
		name := strings.TrimSuffix(strings.TrimSpace(h.Name), "/")
		switch {
		case strings.HasPrefix(name, "control.tar"):
			err = eachTar(name, a, func(th *tar.Header, r io.Reader) error {
				if strings.TrimPrefix(th.Name, "./") != "control" {
					return nil
				}
				b, err := io.ReadAll(io.LimitReader(r, 1<<20))
				t.Package = parseControl(b)
				return err
			})
		case strings.HasPrefix(name, "data.tar"):
			sawData = true
			err = eachTar(name, a, func(th *tar.Header, r io.Reader) error {
				switch th.Typeflag {
				case tar.TypeReg:
					return t.add(th.Name, th.Size, "", r)
				case tar.TypeSymlink:
					return t.add(th.Name, 0, th.Linkname, nil)
				}
				return nil
			})
		}
		if err != nil {
			return nil, err
		}
	}
	if !sawData {
		return nil, errors.New("not a .deb: no data.tar member")
	}
	if t.Package == nil {
		return nil, errors.New("not a .deb: no control file")
	}
	return t, nil
}

// nextMember reads the next ar member header. The ar library slices a header's name and size fields without
// checking them and panics on some malformed headers (a short file name field, found by FuzzReadPackage): that
// is a damaged package, reported as an error.
func nextMember(a *ar.Reader) (h *ar.Header, err error) {
	defer func() {
		if r := recover(); r != nil {
			h, err = nil, fmt.Errorf("reading the ar archive: malformed member header (%v)", r)
		}
	}()
	return a.Next()
}

// eachTar calls fn for every entry of the compressed tar member name.
func eachTar(name string, r io.Reader, fn func(*tar.Header, io.Reader) error) error {
	dr, err := decompressor(name, r)
	if err != nil {
		return err
	}
	tr := tar.NewReader(dr)
	for {
		th, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", name, err)
		}
		if err := fn(th, tr); err != nil {
			return fmt.Errorf("reading %s: %w", name, err)
		}
	}
}

// decompressor picks the decompressor of a .deb member by its name.
func decompressor(name string, r io.Reader) (io.Reader, error) {
	switch {
	case strings.HasSuffix(name, ".tar"):
		return r, nil
	case strings.HasSuffix(name, ".gz"):
		return gzip.NewReader(r)
	case strings.HasSuffix(name, ".xz"):
		return xz.NewReader(r)
	case strings.HasSuffix(name, ".zst"):
		d, err := zstd.NewReader(r)
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	}
	return nil, fmt.Errorf("member %s: unknown compression", name)
}

// parseControl reads the fields of a control file that matter here.
func parseControl(b []byte) *Package {
	p := &Package{Format: "deb"}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(line, " ") {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Package":
			p.Name = v
		case "Version":
			p.Version = v
		case "Architecture":
			p.Arch = v
		case "Depends":
			for _, d := range strings.Split(v, ",") {
				if d = strings.TrimSpace(d); d != "" {
					p.Depends = append(p.Depends, d)
				}
			}
		}
	}
	return p
}

// rpmLeadMagic starts every .rpm file (the 96-byte lead).
var rpmLeadMagic = []byte{0xed, 0xab, 0xee, 0xdb}

var rpmHeaderMagic = []byte{0x8e, 0xad, 0xe8, 0x01}

// RPM header tags read here (rpm's rpmtag.h).
const (
	rpmTagName        = 1000
	rpmTagVersion     = 1001
	rpmTagRelease     = 1002
	rpmTagArch        = 1022
	rpmTagRequireName = 1049
)

// readRPM reads an RPM package: lead, signature header, header, and the
// compressed cpio payload.
func readRPM(r *bufio.Reader) (*Tree, error) {
	if _, err := io.CopyN(io.Discard, r, 96); err != nil {
		return nil, fmt.Errorf("reading the lead: %w", err)
	}
	_, sig, err := readRPMHeader(r)
	if err != nil {
		return nil, fmt.Errorf("reading the signature header: %w", err)
	}
	if pad := (8 - len(sig)%8) % 8; pad > 0 {
		if _, err := io.CopyN(io.Discard, r, int64(pad)); err != nil {
			return nil, err
		}
	}
	n, hdr, err := readRPMHeader(r)
	if err != nil {
		return nil, fmt.Errorf("reading the header: %w", err)
	}
	t := newTree()
	t.Package = rpmPackageInfo(n, hdr)
	magic, _ := r.Peek(6)
	var pr io.Reader
	switch {
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		d, err := zstd.NewReader(r)
		if err != nil {
			return nil, err
		}
		defer d.Close()
		pr = d
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		if pr, err = xz.NewReader(r); err != nil {
			return nil, err
		}
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		if pr, err = gzip.NewReader(r); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown payload compression (magic % x)", magic)
	}
	cr := cpio.NewReader(pr)
	for {
		h, err := cr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the cpio payload: %w", err)
		}
		switch h.Mode & cpio.ModeType {
		case cpio.TypeReg:
			err = t.add(h.Name, h.Size, "", cr)
		case cpio.TypeSymlink:
			link := h.Linkname
			if link == "" {
				b, rerr := io.ReadAll(io.LimitReader(cr, 4096))
				if rerr != nil {
					return nil, rerr
				}
				link = string(b)
			}
			err = t.add(h.Name, 0, link, nil)
		}
		if err != nil {
			return nil, err
		}
	}
	return t, nil
}

// readRPMHeader returns one header structure: its entry count and its
// index entries followed by the store.
func readRPMHeader(r io.Reader) (int, []byte, error) {
	var head [16]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return 0, nil, err
	}
	if !bytes.Equal(head[:4], rpmHeaderMagic) {
		return 0, nil, errors.New("bad header magic")
	}
	n := binary.BigEndian.Uint32(head[8:12])
	size := binary.BigEndian.Uint32(head[12:16])
	if n > 1<<16 || size > 32<<20 {
		return 0, nil, fmt.Errorf("header of %d entries and %d bytes is too large", n, size)
	}
	b := make([]byte, 16*int(n)+int(size))
	if _, err := io.ReadFull(r, b); err != nil {
		return 0, nil, err
	}
	return int(n), b, nil
}

// rpmPackageInfo reads name, version-release, arch and Requires.
func rpmPackageInfo(n int, b []byte) *Package {
	p := &Package{Format: "rpm"}
	entries := map[uint32][2]uint32{} // tag → offset, count
	for i := range n {
		e := b[16*i:]
		entries[binary.BigEndian.Uint32(e[0:4])] = [2]uint32{binary.BigEndian.Uint32(e[8:12]), binary.BigEndian.Uint32(e[12:16])}
	}
	store := b[16*n:]
	str := func(tag uint32) []string {
		e, ok := entries[tag]
		if !ok || int(e[0]) > len(store) {
			return nil
		}
		var out []string
		rest := store[e[0]:]
		for i := uint32(0); i < e[1]; i++ {
			s, after, ok := bytes.Cut(rest, []byte{0})
			if !ok {
				break
			}
			out = append(out, string(s))
			rest = after
		}
		return out
	}
	first := func(tag uint32) string {
		if s := str(tag); len(s) > 0 {
			return s[0]
		}
		return ""
	}
	p.Name = first(rpmTagName)
	p.Version = first(rpmTagVersion) + "-" + first(rpmTagRelease)
	p.Arch = first(rpmTagArch)
	for _, d := range str(rpmTagRequireName) {
		if !strings.HasPrefix(d, "rpmlib(") && !strings.HasPrefix(d, "/bin/sh") {
			p.Depends = append(p.Depends, d)
		}
	}
	return p
}
