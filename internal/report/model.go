// Package report writes a person-readable HTML report of a venvpkg
// package, or of two versions side by side: where the megabytes go (a
// treemap of the payload by distribution and file, the largest files),
// the licenses, each dependency of the package and why it is there, the
// interpreter, the vulnerabilities found when a database is given, and
// for a pair what was added, removed, upgraded and how the size changed.
// The file is self-contained: inline CSS and SVG, no script, no external
// asset, nothing requested from the network.
package report

import (
	"cmp"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/venvpkg/venvpkg/internal/payload"
	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pep503"
	"github.com/venvpkg/venvpkg/internal/sbom"
	"github.com/venvpkg/venvpkg/internal/vuln"
)

// VenvGroup names the files of the virtualenv itself (interpreter links,
// pyvenv.cfg, activate scripts, the SBOM) in the report, and InterpGroup
// those of a bundled interpreter.
const (
	VenvGroup   = "(virtualenv)"
	InterpGroup = "(bundled interpreter)"
)

// Package is what the report shows about one package file.
type Package struct {
	File           string // base name of the package file
	Name           string
	Version        string // as the package manager writes it
	Arch           string
	Format         string
	Project        string
	ProjectVersion string
	Prefix         string
	Size           int64 // payload bytes
	FileCount      int
	HasSBOM        bool
	Interpreter    string
	Dists          []*Dist // by size, largest first; the virtualenv's own files last
	Largest        []File
	Licenses       []License
	Depends        []Depend
	Vulns          []vuln.Finding
	VulnDB         string // "" when no database was given

	installed []vuln.Installed // what a vulnerability check looks up
}

// Dist is one distribution of the payload (or the virtualenv's own files).
type Dist struct {
	Name, Version, License string
	Size                   int64
	Files                  []File // largest first
}

// File is one file of the payload.
type File struct {
	Path  string // relative to the prefix when below it
	Size  int64
	Owner string
}

// License lists the distributions under one license text.
type License struct {
	License string
	Dists   []string
}

// Depend is one dependency of the package and why it is there.
type Depend struct {
	Package string // as the package metadata writes it
	Reason  string
}

// maxLargest is how many files the largest-files table lists.
const maxLargest = 20

// Load reads a .deb or .rpm file for the report.
func Load(file string) (*Package, error) {
	t, err := payload.ReadFile(file)
	if err != nil {
		return nil, err
	}
	p, err := FromTree(t, filepath.Base(file))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return p, nil
}

// FromTree builds the report model of a package's payload.
func FromTree(t *payload.Tree, name string) (*Package, error) {
	p := &Package{File: name, Size: t.Size()}
	if t.Package != nil {
		p.Name, p.Version, p.Arch, p.Format = t.Package.Name, t.Package.Version, t.Package.Arch, t.Package.Format
	}
	dists, err := t.Distributions()
	if err != nil {
		return nil, err
	}
	var bom *cdx.BOM
	if data, at, ok := t.SBOM(); ok {
		if bom, err = sbom.Decode(data); err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		p.HasSBOM = true
		p.Prefix = path.Dir(at)
	}
	owner := payload.Owner(dists)
	licenses := map[string][]string{}
	byName := map[string]*Dist{}
	for _, d := range dists {
		lic := sbom.LicenseText(licensesOf(bom, d))
		rd := &Dist{Name: d.Name, Version: d.Version, License: lic}
		byName[d.Key()] = rd
		p.Dists = append(p.Dists, rd)
		key := cmp.Or(lic, "(not stated)")
		licenses[key] = append(licenses[key], d.Name+" "+d.Version)
	}
	if p.Prefix == "" {
		p.Prefix = commonPrefix(dists)
	}
	venv := &Dist{Name: VenvGroup}
	interp := &Dist{Name: InterpGroup}
	interpRoot := bundledRoot(bom)
	for _, f := range t.Files {
		p.FileCount++
		rel := strings.TrimPrefix(strings.TrimPrefix(f.Path, p.Prefix), "/")
		if p.Prefix == "" || !strings.HasPrefix(f.Path, p.Prefix+"/") {
			rel = f.Path
		}
		d := venv
		if o := owner[f.Path]; o != nil {
			d = byName[o.Key()]
		} else if interpRoot != "" && strings.HasPrefix(f.Path, interpRoot+"/") {
			d = interp
		}
		d.Size += f.Size
		row := File{Path: rel, Size: f.Size, Owner: d.Name}
		d.Files = append(d.Files, row)
		p.Largest = append(p.Largest, row)
	}
	bySize := func(a, b File) int { return cmp.Or(cmp.Compare(b.Size, a.Size), strings.Compare(a.Path, b.Path)) }
	slices.SortFunc(p.Largest, bySize)
	p.Largest = p.Largest[:min(len(p.Largest), maxLargest)]
	for _, d := range append(p.Dists, venv, interp) {
		slices.SortFunc(d.Files, bySize)
	}
	if len(interp.Files) > 0 {
		p.Dists = append(p.Dists, interp)
	}
	slices.SortFunc(p.Dists, func(a, b *Dist) int { return cmp.Or(cmp.Compare(b.Size, a.Size), strings.Compare(a.Name, b.Name)) })
	if len(venv.Files) > 0 {
		p.Dists = append(p.Dists, venv)
	}
	for lic, ds := range licenses {
		p.Licenses = append(p.Licenses, License{License: lic, Dists: ds})
	}
	slices.SortFunc(p.Licenses, func(a, b License) int { return strings.Compare(a.License, b.License) })
	p.describeBOM(bom, t)
	if p.installed, _, err = vuln.FromTree(t, name); err != nil {
		return nil, err
	}
	return p, nil
}

// licensesOf returns a distribution's licenses from the SBOM when it has
// the distribution, else from its metadata.
func licensesOf(bom *cdx.BOM, d *payload.Distribution) *cdx.Licenses {
	if bom != nil {
		purl := sbom.PyPIPurl(d.Name, d.Version)
		if m := bom.Metadata; m != nil && m.Component != nil && m.Component.PackageURL == purl {
			return m.Component.Licenses
		}
		if bom.Components != nil {
			for _, c := range *bom.Components {
				if c.PackageURL == purl {
					return c.Licenses
				}
			}
		}
	}
	ls, _ := sbom.Licenses(d.Metadata)
	return ls
}

// bundledRoot is the directory of a bundled interpreter inside the
// payload (the parent of its bin/), or "".
func bundledRoot(bom *cdx.BOM) string {
	if bom == nil || bom.Components == nil {
		return ""
	}
	for _, c := range *bom.Components {
		if c.Type == cdx.ComponentTypePlatform && strings.Join(sbom.Property(&c, sbom.PropInterpreter), "") == sbom.InterpreterBundled {
			if exe := strings.Join(sbom.Property(&c, sbom.PropPath), ""); exe != "" {
				return path.Dir(path.Dir(exe))
			}
		}
	}
	return ""
}

func commonPrefix(dists []*payload.Distribution) string {
	for _, d := range dists {
		// <prefix>/lib/pythonX.Y/site-packages/<name>.dist-info
		return path.Dir(path.Dir(path.Dir(path.Dir(d.DistInfo))))
	}
	return ""
}

// describeBOM fills the project, the interpreter and the reason of each
// dependency from the SBOM (or says what is unknown without one).
func (p *Package) describeBOM(bom *cdx.BOM, t *payload.Tree) {
	libs := map[string]string{} // Debian package or soname → reason
	interpPkg, interpPath := "", ""
	p.Interpreter = "not recorded (the package has no SBOM)"
	if bom != nil {
		if m := bom.Metadata; m != nil && m.Component != nil {
			p.Project, p.ProjectVersion = m.Component.Name, m.Component.Version
		}
		if bom.Components != nil {
			for _, c := range *bom.Components {
				switch {
				case c.Type == cdx.ComponentTypePlatform:
					src := strings.Join(sbom.Property(&c, sbom.PropInterpreter), "")
					interpPath = strings.Join(sbom.Property(&c, sbom.PropPath), "")
					impl := cmp.Or(strings.Join(sbom.Property(&c, sbom.PropImpl), ""), "Python")
					p.Interpreter = fmt.Sprintf("%s %s, %s interpreter %s", impl, c.Version, src, interpPath)
					if src == sbom.InterpreterSystem {
						interpPkg = c.Name
						p.Interpreter += " (Debian package " + c.Name + ")"
					}
				case strings.HasPrefix(c.PackageURL, "pkg:deb/"):
					var files []string
					for _, f := range sbom.Property(&c, sbom.PropNeededBy) {
						files = append(files, strings.TrimPrefix(strings.TrimPrefix(f, p.Prefix), "/"))
					}
					sonames := sbom.Property(&c, sbom.PropSoname)
					reason := fmt.Sprintf("%s, needed by %s", strings.Join(sonames, ", "), strings.Join(files, ", "))
					libs[c.Name] = reason
					for _, so := range sonames {
						libs[so] = fmt.Sprintf("%s (Debian package %s), needed by %s", so, c.Name, strings.Join(files, ", "))
					}
				}
			}
		}
	}
	if t.Package == nil {
		return
	}
	for _, d := range t.Package.Depends {
		name := strings.Fields(strings.Split(d, "|")[0])[0]
		name, _, _ = strings.Cut(name, "(") // rpm: libpq.so.5()(64bit), libc.so.6(GLIBC_2.14)(64bit)
		var reason string
		switch {
		case name == interpPkg || (interpPath != "" && name == interpPath):
			reason = "the interpreter the virtualenv links to"
		case libs[name] != "":
			reason = libs[name]
		case name == "libc6" || strings.HasPrefix(name, "libc.so.") || strings.HasPrefix(name, "libm.so.") || strings.HasPrefix(name, "ld-linux") || strings.HasPrefix(name, "rtld"):
			reason = "the C library, which every ELF object of the payload links to"
		case !p.HasSBOM:
			reason = "unknown: the package has no SBOM"
		default:
			reason = "declared by the project ([tool.venvpkg] depends / rpm-requires)"
		}
		p.Depends = append(p.Depends, Depend{Package: d, Reason: reason})
	}
}

// CheckVulns adds the findings of db for the package's distributions, as
// venvpkg vuln sees them (the SBOM, else the .dist-info directories).
func (p *Package) CheckVulns(db *vuln.DB, o vuln.Options) {
	p.VulnDB = db.Path
	p.Vulns = db.Check(p.installed, o)
}

// Change is how one distribution differs between two versions.
type Change struct {
	Name       string
	Old, New   string // versions; "" when absent
	Kind       string // "added", "removed", "upgraded", "downgraded", "changed" (same version, other size), "unchanged"
	OldSize    int64
	NewSize    int64
	SizeChange int64
}

// Diff compares the distributions of two packages: every change, sorted
// by kind then name (unchanged ones last).
func Diff(old, new *Package) []Change {
	type pair struct{ o, n *Dist }
	m := map[string]*pair{}
	key := func(d *Dist) string { return pep503.Normalize(d.Name) }
	for _, d := range old.Dists {
		m[key(d)] = &pair{o: d}
	}
	for _, d := range new.Dists {
		if q, ok := m[key(d)]; ok {
			q.n = d
		} else {
			m[key(d)] = &pair{n: d}
		}
	}
	var out []Change
	for _, q := range m {
		c := Change{}
		switch {
		case q.o == nil:
			c = Change{Name: q.n.Name, New: q.n.Version, Kind: "added", NewSize: q.n.Size}
		case q.n == nil:
			c = Change{Name: q.o.Name, Old: q.o.Version, Kind: "removed", OldSize: q.o.Size}
		default:
			c = Change{Name: q.n.Name, Old: q.o.Version, New: q.n.Version, OldSize: q.o.Size, NewSize: q.n.Size, Kind: "unchanged"}
			ov, oerr := pep440.Parse(q.o.Version)
			nv, nerr := pep440.Parse(q.n.Version)
			switch {
			case oerr == nil && nerr == nil && nv.Compare(ov) > 0:
				c.Kind = "upgraded"
			case oerr == nil && nerr == nil && nv.Compare(ov) < 0:
				c.Kind = "downgraded"
			case q.o.Version != q.n.Version:
				c.Kind = "changed"
			case q.o.Size != q.n.Size:
				c.Kind = "changed"
			}
		}
		c.SizeChange = c.NewSize - c.OldSize
		out = append(out, c)
	}
	order := []string{"added", "removed", "upgraded", "downgraded", "changed", "unchanged"}
	slices.SortFunc(out, func(a, b Change) int {
		return cmp.Or(cmp.Compare(slices.Index(order, a.Kind), slices.Index(order, b.Kind)), strings.Compare(pep503.Normalize(a.Name), pep503.Normalize(b.Name)))
	})
	return out
}
