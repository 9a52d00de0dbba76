package pkg

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
	"time"
)

// DebDocs are the files Debian Policy asks of every binary package, which
// lintian reports as errors when missing: /usr/share/doc/<name>/copyright
// (§12.5) and, for a version with a revision, changelog.Debian.gz (§12.7).
// copyright names the upstream holders ("Jane Doe <jane@example.org>"), may
// be empty; prefix is the virtualenv whose bundled distributions carry
// their own licences.
func DebDocs(p *Package, upstream, copyright, prefix string) ([]File, error) {
	doc := "/usr/share/doc/" + p.Name
	var c strings.Builder
	fmt.Fprintf(&c, "%s: %s\n\n", p.Name, strings.TrimSpace(p.Summary))
	fmt.Fprintf(&c, "Upstream: %s\n", upstream)
	if p.Homepage != "" {
		fmt.Fprintf(&c, "Source: %s\n", p.Homepage)
	}
	if copyright == "" {
		copyright = "the authors of " + upstream
	}
	// lintian recognises a notice by a year after "Copyright".
	fmt.Fprintf(&c, "Copyright: %d %s\n", p.MTime.UTC().Year(), copyright)
	lic := p.License
	if lic == "" {
		lic = "not stated in the project's metadata"
	}
	fmt.Fprintf(&c, "License: %s\n\n", lic)
	fmt.Fprintf(&c, "The virtual environment in %s bundles the project's Python\n", prefix)
	c.WriteString("dependencies; each distribution's licence is stated in its METADATA file and\n")
	c.WriteString("included licence files, in its .dist-info directory under site-packages.\n")

	// One entry, dated with the package's timestamp; gzip -9n as dh_compress
	// writes it: no name and no time in the header.
	var entry strings.Builder
	fmt.Fprintf(&entry, "%s (%s) unstable; urgency=medium\n\n", p.Name, p.Version)
	fmt.Fprintf(&entry, "  * Built by venvpkg from %s.\n\n", upstream)
	fmt.Fprintf(&entry, " -- %s  %s\n", p.Maintainer, p.MTime.UTC().Format(time.RFC1123Z))
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write([]byte(entry.String())); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return []File{
		{Path: doc + "/changelog.Debian.gz", Data: gz.Bytes(), Mode: 0o644},
		{Path: doc + "/copyright", Data: []byte(c.String()), Mode: 0o644},
	}, nil
}

// LintianOverride is one tag lintian must not report for the package,
// with the reason (docs/lintian.md explains each).
type LintianOverride struct {
	Tag, Reason string
}

// LintianOverrides writes /usr/share/lintian/overrides/<name>; nil when
// there are none.
func LintianOverrides(name string, overrides []LintianOverride) *File {
	if len(overrides) == 0 {
		return nil
	}
	var b strings.Builder
	for _, o := range overrides {
		fmt.Fprintf(&b, "# %s\n%s: %s\n", o.Reason, name, o.Tag)
	}
	return &File{Path: "/usr/share/lintian/overrides/" + name, Data: []byte(b.String()), Mode: 0o644}
}
