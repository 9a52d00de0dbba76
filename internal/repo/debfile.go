package repo

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// maxControlSize bounds the control.tar member and the control file read
// from a .deb, which are small in any real package.
const maxControlSize = 16 << 20

var (
	debNameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	debVersionRE = regexp.MustCompile(`^([0-9]+:)?[0-9][A-Za-z0-9.+~:-]*$`)
	debArchRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
)

// readDebControl reads the control file of a Debian binary package (deb(5):
// an ar archive of debian-binary, control.tar[.gz|.xz|.zst] and data.tar)
// and checks the fields a repository needs.
func readDebControl(r io.Reader) (paragraph, error) {
	magic := make([]byte, 8)
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != "!<arch>\n" {
		return nil, errors.New("not a .deb: no ar archive header")
	}
	sawVersion := false
	for {
		hdr := make([]byte, 60)
		if _, err := io.ReadFull(r, hdr); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errors.New("not a .deb: no control.tar member")
			}
			return nil, fmt.Errorf("reading the ar member header: %w", err)
		}
		if string(hdr[58:60]) != "`\n" {
			return nil, errors.New("corrupt ar member header")
		}
		name := strings.TrimSuffix(strings.TrimSpace(string(hdr[0:16])), "/")
		size, err := strconv.ParseInt(strings.TrimSpace(string(hdr[48:58])), 10, 64)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("ar member %q has a bad size %q", name, hdr[48:58])
		}
		body := io.LimitReader(r, size)
		switch {
		case name == "debian-binary":
			b, err := io.ReadAll(io.LimitReader(body, 64))
			if err != nil {
				return nil, fmt.Errorf("reading debian-binary: %w", err)
			}
			if !strings.HasPrefix(string(b), "2.") {
				return nil, fmt.Errorf("unsupported .deb format version %q", strings.TrimSpace(string(b)))
			}
			sawVersion = true
		case strings.HasPrefix(name, "control.tar"):
			if !sawVersion {
				return nil, errors.New("not a .deb: control.tar before debian-binary")
			}
			if size > maxControlSize {
				return nil, fmt.Errorf("%s is %d bytes, more than the %d a control archive may have", name, size, maxControlSize)
			}
			return readControlTar(name, body)
		}
		if _, err := io.Copy(io.Discard, body); err != nil {
			return nil, fmt.Errorf("reading ar member %q: %w", name, err)
		}
		if size%2 == 1 {
			if _, err := io.ReadFull(r, make([]byte, 1)); err != nil && !errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("reading ar padding: %w", err)
			}
		}
	}
}

// readControlTar finds ./control in the control archive member name.
func readControlTar(name string, r io.Reader) (paragraph, error) {
	var tr io.Reader
	switch name {
	case "control.tar":
		tr = r
	case "control.tar.gz":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		defer zr.Close()
		tr = zr
	case "control.tar.xz":
		zr, err := xz.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		tr = zr
	case "control.tar.zst":
		zr, err := zstd.NewReader(r, zstd.WithDecoderMaxMemory(64<<20))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		defer zr.Close()
		tr = zr
	default:
		return nil, fmt.Errorf("unsupported control archive %q", name)
	}
	t := tar.NewReader(tr)
	for {
		h, err := t.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("%s has no control file", name)
			}
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		if path.Clean(strings.TrimPrefix(h.Name, "./")) != "control" || h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(t, maxControlSize+1))
		if err != nil {
			return nil, fmt.Errorf("reading %s/control: %w", name, err)
		}
		if len(b) > maxControlSize {
			return nil, fmt.Errorf("%s/control is larger than %d bytes", name, maxControlSize)
		}
		paras, err := parseDeb822(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("control file: %w", err)
		}
		if len(paras) != 1 {
			return nil, fmt.Errorf("control file has %d paragraphs, want 1", len(paras))
		}
		return checkControl(paras[0])
	}
}

// checkControl checks that a control paragraph has valid Package, Version
// and Architecture fields and no field a repository index writes itself.
func checkControl(p paragraph) (paragraph, error) {
	name, version, arch := p.Get("Package"), p.Get("Version"), p.Get("Architecture")
	switch {
	case !debNameRE.MatchString(name):
		return nil, fmt.Errorf("control file: Package %q is not a valid package name", name)
	case !debVersionRE.MatchString(version):
		return nil, fmt.Errorf("control file: Version %q of %s is not a valid Debian version", version, name)
	case !debArchRE.MatchString(arch):
		return nil, fmt.Errorf("control file: Architecture %q of %s is not one architecture", arch, name)
	}
	if src := p.Get("Source"); src != "" && !debNameRE.MatchString(sourceName(src)) {
		return nil, fmt.Errorf("control file: Source %q of %s is not a valid source package name", src, name)
	}
	return p.without("Filename", "Size", "MD5sum", "SHA1", "SHA256", "SHA512", "Description-md5"), nil
}

// sourceName returns the source package name of a Source field, which may
// carry a version in parentheses ("foo (1.2-1)").
func sourceName(src string) string {
	name, _, _ := strings.Cut(strings.TrimSpace(src), " ")
	return name
}
