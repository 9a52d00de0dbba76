// Package sbom writes and reads the software bill of materials venvpkg
// puts into every package: a CycloneDX 1.6 JSON document
// (https://cyclonedx.org/docs/1.6/json/) describing the payload. It names
// the project, every Python distribution of the virtualenv (pkg:pypi purl,
// the sha256 of the wheel it was installed from, its license as its
// metadata states it), the interpreter the virtualenv runs on, and the
// Debian packages whose shared libraries the payload's ELF files need
// (pkg:deb purls, with the files that need each). The document is
// reproducible: its time is SOURCE_DATE_EPOCH's and its serial number is
// derived from its content. The format is written through
// github.com/CycloneDX/cyclonedx-go.
package sbom

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/venvpkg/venvpkg/internal/audit"
	"github.com/venvpkg/venvpkg/internal/payload"
	"github.com/venvpkg/venvpkg/internal/pep503"
	"github.com/venvpkg/venvpkg/internal/wheel"
)

// Property names venvpkg writes (CycloneDX properties, "venvpkg:" namespace).
const (
	PropPackage     = "venvpkg:package"        // the .deb/.rpm package name (metadata component)
	PropPrefix      = "venvpkg:prefix"         // the virtualenv's final path (metadata component)
	PropWheel       = "venvpkg:wheel"          // file name of the wheel a distribution came from
	PropDistInfo    = "venvpkg:dist-info"      // final path of the distribution's .dist-info
	PropInterpreter = "venvpkg:interpreter"    // "system" or "bundled"
	PropPath        = "venvpkg:path"           // the interpreter's executable
	PropImpl        = "venvpkg:implementation" // "CPython"
	PropSoname      = "venvpkg:soname"         // a library's soname
	PropNeededBy    = "venvpkg:needed-by"      // an ELF file of the payload needing the library (repeated)
	PropLicenseFrom = "venvpkg:license-source" // the metadata field the license was read from
)

// Interpreter sources.
const (
	InterpreterSystem  = "system"  // the distribution's interpreter, a dependency of the package
	InterpreterBundled = "bundled" // a CPython shipped inside the package
)

// Interpreter describes the interpreter the virtualenv links to.
type Interpreter struct {
	Implementation string // "CPython"
	Version        string // "3.11.2"
	Path           string // the executable the virtualenv runs: /usr/bin/python3.11
	Source         string // InterpreterSystem or InterpreterBundled
	// Package is the distribution package that provides a system
	// interpreter ("python3.11"); empty for a bundled one.
	Package string
}

// Wheel is the wheel a distribution was installed from.
type Wheel struct {
	File   string // file name
	SHA256 string // hex
}

// Input is everything the SBOM says.
type Input struct {
	Project     string // the project's distribution name, as in [project] name
	Package     string // the .deb/.rpm package name
	Prefix      string // the virtualenv's final path
	Arch        string // Debian architecture of the package ("all", "amd64")
	Dists       []*payload.Distribution
	Wheels      map[string]Wheel // by normalised distribution name
	Interpreter Interpreter
	Libraries   []audit.Need
	Time        time.Time // SOURCE_DATE_EPOCH
	Tool        string    // venvpkg's version
}

// PyPIPurl is the package URL of a Python distribution.
func PyPIPurl(name, version string) string {
	return "pkg:pypi/" + pep503.Normalize(name) + "@" + url.PathEscape(version)
}

// DebPurl is the package URL of a Debian package without a version.
func DebPurl(name, arch string) string {
	p := "pkg:deb/debian/" + url.PathEscape(name)
	if arch != "" && arch != "all" {
		p += "?arch=" + url.QueryEscape(arch)
	}
	return p
}

// interpreterComponent names a system interpreter by its Debian package
// and a bundled one as the CPython release it is.
func interpreterComponent(in Interpreter, arch string) cdx.Component {
	c := cdx.Component{Type: cdx.ComponentTypePlatform, Version: in.Version}
	if in.Source == InterpreterBundled {
		name := strings.ToLower(in.Implementation)
		c.Name = name
		c.PackageURL = "pkg:generic/" + url.PathEscape(name) + "@" + url.PathEscape(in.Version)
	} else {
		c.Name = in.Package
		c.PackageURL = DebPurl(in.Package, arch)
	}
	c.BOMRef = "interpreter:" + c.PackageURL
	c.Properties = &[]cdx.Property{
		{Name: PropInterpreter, Value: in.Source},
		{Name: PropImpl, Value: in.Implementation},
		{Name: PropPath, Value: in.Path},
	}
	return c
}

// Build returns the SBOM of a payload.
func Build(in Input) *cdx.BOM {
	bom := cdx.NewBOM()
	var root *cdx.Component
	var comps []cdx.Component
	refOf := map[string]string{} // final file path → bom-ref of its distribution
	projKey := pep503.Normalize(in.Project)
	for _, d := range in.Dists {
		c := cdx.Component{
			Type:        cdx.ComponentTypeLibrary,
			Name:        d.Name,
			Version:     d.Version,
			Description: d.Summary,
			PackageURL:  PyPIPurl(d.Name, d.Version),
		}
		c.BOMRef = c.PackageURL
		if lic, from := Licenses(d.Metadata); lic != nil {
			c.Licenses = lic
			c.Properties = appendProp(c.Properties, PropLicenseFrom, from)
		}
		if w, ok := in.Wheels[d.Key()]; ok {
			c.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: w.SHA256}}
			c.Properties = appendProp(c.Properties, PropWheel, w.File)
		}
		c.Properties = appendProp(c.Properties, PropDistInfo, d.DistInfo)
		for _, f := range d.Files {
			refOf[f] = c.BOMRef
		}
		if d.Key() == projKey && root == nil {
			c.Type = cdx.ComponentTypeApplication
			c.Properties = appendProp(c.Properties, PropPackage, in.Package)
			c.Properties = appendProp(c.Properties, PropPrefix, in.Prefix)
			root = &c
			continue
		}
		comps = append(comps, c)
	}
	if root == nil {
		root = &cdx.Component{Type: cdx.ComponentTypeApplication, Name: in.Project, BOMRef: "project:" + in.Project}
	}
	interp := interpreterComponent(in.Interpreter, in.Arch)
	comps = append(comps, interp)

	libDeps := map[string][]string{} // distribution ref → library refs
	for _, l := range groupNeeds(in.Libraries) {
		c := cdx.Component{Type: cdx.ComponentTypeLibrary, Name: l.Package, PackageURL: DebPurl(l.Package, in.Arch)}
		c.BOMRef = c.PackageURL
		for _, n := range l.needs {
			c.Properties = appendProp(c.Properties, PropSoname, n.Soname)
			for _, f := range n.Files {
				c.Properties = appendProp(c.Properties, PropNeededBy, f)
				if r, ok := refOf[f]; ok {
					libDeps[r] = append(libDeps[r], c.BOMRef)
				}
			}
		}
		comps = append(comps, c)
	}
	slices.SortFunc(comps, func(a, b cdx.Component) int { return strings.Compare(a.BOMRef, b.BOMRef) })

	var direct []string
	for _, c := range comps {
		direct = append(direct, c.BOMRef)
	}
	deps := []cdx.Dependency{{Ref: root.BOMRef, Dependencies: &direct}}
	for _, c := range comps {
		d := cdx.Dependency{Ref: c.BOMRef}
		if ls := libDeps[c.BOMRef]; len(ls) > 0 {
			slices.Sort(ls)
			ls = slices.Compact(ls)
			d.Dependencies = &ls
		}
		deps = append(deps, d)
	}
	bom.Metadata = &cdx.Metadata{
		Timestamp: in.Time.UTC().Format(time.RFC3339),
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeApplication, Name: "venvpkg", Version: in.Tool,
		}}},
		Component: root,
	}
	bom.Components = &comps
	bom.Dependencies = &deps
	return bom
}

func appendProp(ps *[]cdx.Property, name, value string) *[]cdx.Property {
	if value == "" {
		return ps
	}
	if ps == nil {
		ps = &[]cdx.Property{}
	}
	*ps = append(*ps, cdx.Property{Name: name, Value: value})
	return ps
}

type libGroup struct {
	Package string
	needs   []audit.Need
}

// groupNeeds groups the audit's needs by package (they come sorted).
func groupNeeds(ns []audit.Need) []libGroup {
	var out []libGroup
	for _, n := range ns {
		if len(out) == 0 || out[len(out)-1].Package != n.Package {
			out = append(out, libGroup{Package: n.Package})
		}
		out[len(out)-1].needs = append(out[len(out)-1].needs, n)
	}
	return out
}

// Encode writes bom as CycloneDX 1.6 JSON with a serial number derived
// from the rest of the document, so equal payloads give equal bytes.
func Encode(w io.Writer, bom *cdx.BOM) error {
	bom.SerialNumber = ""
	var body bytes.Buffer
	if err := encode(&body, bom); err != nil {
		return err
	}
	sum := sha256.Sum256(body.Bytes())
	u := sum[:16]
	u[6] = u[6]&0x0f | 0x50 // version 5: name-based with SHA
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	h := hex.EncodeToString(u)
	bom.SerialNumber = fmt.Sprintf("urn:uuid:%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
	return encode(w, bom)
}

func encode(w io.Writer, bom *cdx.BOM) error {
	enc := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	enc.SetEscapeHTML(false)
	if err := enc.EncodeVersion(bom, cdx.SpecVersion1_6); err != nil {
		return fmt.Errorf("encoding the SBOM: %w", err)
	}
	return nil
}

// Decode reads a CycloneDX JSON document.
func Decode(data []byte) (*cdx.BOM, error) {
	bom := new(cdx.BOM)
	if err := cdx.NewBOMDecoder(bytes.NewReader(data), cdx.BOMFileFormatJSON).Decode(bom); err != nil {
		return nil, fmt.Errorf("reading the CycloneDX SBOM: %w", err)
	}
	if bom.BOMFormat != cdx.BOMFormat {
		return nil, fmt.Errorf("reading the SBOM: bomFormat is %q, not CycloneDX", bom.BOMFormat)
	}
	return bom, nil
}

// Property returns the values of the component's property name.
func Property(c *cdx.Component, name string) []string {
	if c.Properties == nil {
		return nil
	}
	var out []string
	for _, p := range *c.Properties {
		if p.Name == name {
			out = append(out, p.Value)
		}
	}
	return out
}

// licenseIDs maps the trove classifiers that name exactly one SPDX license.
var licenseIDs = map[string]string{
	"License :: OSI Approved :: MIT License":                          "MIT",
	"License :: OSI Approved :: MIT No Attribution License (MIT-0)":   "MIT-0",
	"License :: OSI Approved :: ISC License (ISCL)":                   "ISC",
	"License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
	"License :: OSI Approved :: The Unlicense (Unlicense)":            "Unlicense",
	"License :: OSI Approved :: Python Software Foundation License":   "PSF-2.0",
	"License :: OSI Approved :: Zero-Clause BSD (0BSD)":               "0BSD",
	"License :: OSI Approved :: Boost Software License 1.0 (BSL-1.0)": "BSL-1.0",
	"License :: CC0 1.0 Universal (CC0 1.0) Public Domain Dedication": "CC0-1.0",
}

// Licenses returns a distribution's license as its metadata states it, and
// the field it came from: License-Expression when present (an SPDX
// expression), else a short License field, else the license classifiers.
func Licenses(m *wheel.Metadata) (*cdx.Licenses, string) {
	if m == nil {
		return nil, ""
	}
	if e := strings.TrimSpace(m.LicenseExpression); e != "" {
		return &cdx.Licenses{{Expression: e}}, "License-Expression"
	}
	if l := strings.TrimSpace(m.License); l != "" && l != "UNKNOWN" && len(l) <= 100 {
		return &cdx.Licenses{{License: &cdx.License{Name: l}}}, "License"
	}
	var ls cdx.Licenses
	for _, c := range m.LicenseClassifiers {
		if id, ok := licenseIDs[c]; ok {
			ls = append(ls, cdx.LicenseChoice{License: &cdx.License{ID: id}})
		} else {
			name := c[strings.LastIndex(c, " :: ")+4:]
			ls = append(ls, cdx.LicenseChoice{License: &cdx.License{Name: name}})
		}
	}
	if len(ls) == 0 {
		return nil, ""
	}
	return &ls, "Classifier"
}

// LicenseText is a one-line form of Licenses for tables and reports.
func LicenseText(ls *cdx.Licenses) string {
	if ls == nil {
		return ""
	}
	var parts []string
	for _, l := range *ls {
		switch {
		case l.Expression != "":
			parts = append(parts, l.Expression)
		case l.License != nil && l.License.ID != "":
			parts = append(parts, l.License.ID)
		case l.License != nil:
			parts = append(parts, l.License.Name)
		}
	}
	return strings.Join(parts, " AND ")
}
