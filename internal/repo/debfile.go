package repo

import (
	"fmt"
	"regexp"
	"strings"
)

// maxControlSize bounds the control.tar member and the control file read
// from a .deb, which are small in any real package.
const maxControlSize = 16 << 20

var (
	debNameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	debVersionRE = regexp.MustCompile(`^([0-9]+:)?[0-9][A-Za-z0-9.+~:-]*$`)
	debArchRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
)

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
