// Package wheel implements the binary distribution format of the PyPA
// specifications ("Binary distribution format", originally PEP 427, with the
// RECORD, INSTALLER and REQUESTED files of "Recording installed projects" and
// the wrappers of "Entry points specification"): it parses wheel filenames
// and core metadata, verifies a wheel against its RECORD while extracting it
// in one streaming pass, spreads its files into an installation scheme, and
// writes scripts, entry-point wrappers and a new RECORD.
//
// Every path handed in (Scheme, Python) and written into files is a final
// path; Destination.Root is a staging directory prepended only when files
// are created, so nothing written names the staging root.
package wheel

import (
	"fmt"
	"strings"

	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pep503"
	"github.com/venvpkg/venvpkg/internal/tags"
)

// Filename is a parsed wheel filename,
// {distribution}-{version}(-{build tag})?-{python tag}-{abi tag}-{platform tag}.whl.
type Filename struct {
	Distribution string // as written, e.g. "typing_extensions"
	Version      string // as written, e.g. "4.7.1"
	Build        string // "" when absent; starts with a digit
	Tags         []tags.Tag
}

// ParseFilename parses the base name of a wheel file.
func ParseFilename(base string) (Filename, error) {
	var f Filename
	stem, ok := strings.CutSuffix(base, ".whl")
	if !ok {
		return f, fmt.Errorf("wheel filename %q does not end in .whl", base)
	}
	if strings.ContainsAny(stem, "/\\\x00") {
		return f, fmt.Errorf("wheel filename %q contains a path separator or NUL", base)
	}
	parts := strings.Split(stem, "-")
	switch len(parts) {
	case 5:
	case 6:
		f.Build = parts[2]
		if f.Build == "" || f.Build[0] < '0' || f.Build[0] > '9' {
			return f, fmt.Errorf("wheel filename %q: build tag %q must start with a digit", base, f.Build)
		}
	default:
		return f, fmt.Errorf("wheel filename %q has %d dash-separated parts; want name-version(-build)?-python-abi-platform.whl", base, len(parts))
	}
	f.Distribution, f.Version = parts[0], parts[1]
	if !pep503.Valid(f.Distribution) {
		return f, fmt.Errorf("wheel filename %q: %q is not a valid project name", base, f.Distribution)
	}
	if !validVersionText(f.Version) {
		return f, fmt.Errorf("wheel filename %q: %q is not a valid version", base, f.Version)
	}
	n := len(parts)
	ts, err := tags.ParseSet(parts[n-3] + "-" + parts[n-2] + "-" + parts[n-1])
	if err != nil {
		return f, fmt.Errorf("wheel filename %q: %w", base, err)
	}
	f.Tags = ts
	return f, nil
}

// validVersionText accepts the characters a PEP 440 version (as escaped in
// filenames and dist-info directory names) may contain.
func validVersionText(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '_' || c == '+' || c == '!') {
			return false
		}
	}
	return true
}

// sameVersion reports whether two version strings name the same version:
// equal as PEP 440 versions ("1.0" and "1.0.0"), or, for versions PEP 440
// cannot parse, equal the way filenames escape them (case-insensitively,
// with "-" and "_" alike).
func sameVersion(a, b string) bool {
	if va, err := pep440.Parse(a); err == nil {
		if vb, err := pep440.Parse(b); err == nil {
			return va.Equal(vb)
		}
	}
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := lower(a[i]), lower(b[i])
		if x == '-' {
			x = '_'
		}
		if y == '-' {
			y = '_'
		}
		if x != y {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
