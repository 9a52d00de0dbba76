package repo

import (
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/venvpkg/venvpkg/internal/distver"
)

// rpmPackage is one package of a YUM repository: its header data, its
// location relative to the repository root and its checksums.
type rpmPackage struct {
	info     *rpmInfo
	location string
	sum      fileSum
}

// evr returns the package's epoch (default 0), version and release.
func (p rpmPackage) evr() (string, string, string) {
	e := p.info.Epoch
	if e == "" {
		e = "0"
	}
	return e, p.info.Version, p.info.Release
}

// sortRPMs orders packages by name, newest first, then architecture.
func sortRPMs(ps []rpmPackage) {
	slices.SortStableFunc(ps, func(a, b rpmPackage) int {
		if c := strings.Compare(a.info.Name, b.info.Name); c != 0 {
			return c
		}
		if c := compareEVR(b, a); c != 0 {
			return c
		}
		if c := strings.Compare(a.info.Arch, b.info.Arch); c != 0 {
			return c
		}
		return strings.Compare(a.location, b.location)
	})
}

func compareEVR(a, b rpmPackage) int {
	ae, av, ar := a.evr()
	be, bv, br := b.evr()
	if c := distver.CompareRPM(ae, be); c != 0 {
		return c
	}
	if c := distver.CompareRPM(av, bv); c != 0 {
		return c
	}
	return distver.CompareRPM(ar, br)
}

// xmlWriter writes indented XML by hand, escaping every value, so the
// output is byte-for-byte stable.
type xmlWriter struct {
	bytes.Buffer
}

func esc(s string) string {
	var b strings.Builder
	// xml.EscapeText cannot fail on a strings.Builder. Characters XML 1.0
	// does not allow are replaced by U+FFFD.
	_ = xml.EscapeText(&b, []byte(strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r != 0xFFFE && r != 0xFFFF {
			return r
		}
		return '\uFFFD'
	}, s)))
	return strings.ReplaceAll(b.String(), "&#xA;", "\n")
}

// attrs formats name="value" pairs, skipping pairs with an empty value
// when their name ends in "?".
func attrs(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		name, optional := strings.CutSuffix(kv[i], "?")
		if optional && kv[i+1] == "" {
			continue
		}
		fmt.Fprintf(&b, " %s=\"%s\"", name, strings.ReplaceAll(esc(kv[i+1]), "\"", "&quot;"))
	}
	return b.String()
}

func (w *xmlWriter) line(indent int, s string) {
	w.WriteString(strings.Repeat("  ", indent))
	w.WriteString(s)
	w.WriteByte('\n')
}

func (w *xmlWriter) elem(indent int, name, text string, kv ...string) {
	w.line(indent, "<"+name+attrs(kv...)+">"+esc(text)+"</"+name+">")
}

const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>`

// primaryFile lists files in primary.xml as createrepo does: every file
// under /etc, any bin/ directory, and /usr/lib/sendmail.
func primaryFile(path string) bool {
	return strings.HasPrefix(path, "/etc/") || strings.Contains(path, "bin/") || path == "/usr/lib/sendmail"
}

// primaryXML returns repodata's primary.xml for packages (the rpm-md
// format createrepo_c writes).
func primaryXML(ps []rpmPackage) []byte {
	var w xmlWriter
	w.line(0, xmlHeader)
	w.line(0, `<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="`+strconv.Itoa(len(ps))+`">`)
	for _, p := range ps {
		i := p.info
		e, v, r := p.evr()
		w.line(1, `<package type="rpm">`)
		w.elem(2, "name", i.Name)
		w.elem(2, "arch", i.Arch)
		w.line(2, "<version"+attrs("epoch", e, "ver", v, "rel", r)+"/>")
		w.elem(2, "checksum", p.sum.sha256, "type", "sha256", "pkgid", "YES")
		w.elem(2, "summary", i.Summary)
		w.elem(2, "description", i.Description)
		w.elem(2, "packager", i.Packager)
		w.elem(2, "url", i.URL)
		bt := strconv.FormatUint(i.BuildTime, 10)
		w.line(2, "<time"+attrs("file", bt, "build", bt)+"/>")
		w.line(2, "<size"+attrs("package", strconv.FormatInt(p.sum.size, 10), "installed", strconv.FormatUint(i.InstalledSize, 10), "archive", strconv.FormatUint(i.ArchiveSize, 10))+"/>")
		w.line(2, "<location"+attrs("href", p.location)+"/>")
		w.line(2, "<format>")
		w.elem(3, "rpm:license", i.License)
		w.elem(3, "rpm:vendor", i.Vendor)
		w.elem(3, "rpm:group", i.Group)
		w.elem(3, "rpm:buildhost", i.BuildHost)
		w.elem(3, "rpm:sourcerpm", i.SourceRPM)
		w.line(3, "<rpm:header-range"+attrs("start", strconv.FormatInt(i.HeaderStart, 10), "end", strconv.FormatInt(i.HeaderEnd, 10))+"/>")
		for _, d := range []struct {
			name string
			deps []rpmDep
		}{
			{"provides", i.Provides}, {"requires", i.Requires}, {"conflicts", i.Conflicts},
			{"obsoletes", i.Obsoletes}, {"recommends", i.Recommends}, {"suggests", i.Suggests},
		} {
			if len(d.deps) == 0 {
				continue
			}
			w.line(3, "<rpm:"+d.name+">")
			for _, dep := range d.deps {
				pre := ""
				if dep.Pre && d.name == "requires" {
					pre = "1"
				}
				w.line(4, "<rpm:entry"+attrs("name", dep.Name, "flags?", dep.Flags, "epoch?", dep.Epoch, "ver?", dep.Ver, "rel?", dep.Rel, "pre?", pre)+"/>")
			}
			w.line(3, "</rpm:"+d.name+">")
		}
		for _, f := range i.Files {
			if primaryFile(f.Path) {
				w.elem(3, "file", f.Path, "type?", f.Type)
			}
		}
		w.line(2, "</format>")
		w.line(1, "</package>")
	}
	w.line(0, "</metadata>")
	return w.Bytes()
}

// filelistsXML returns repodata's filelists.xml: every file of every
// package.
func filelistsXML(ps []rpmPackage) []byte {
	var w xmlWriter
	w.line(0, xmlHeader)
	w.line(0, `<filelists xmlns="http://linux.duke.edu/metadata/filelists" packages="`+strconv.Itoa(len(ps))+`">`)
	for _, p := range ps {
		e, v, r := p.evr()
		w.line(1, "<package"+attrs("pkgid", p.sum.sha256, "name", p.info.Name, "arch", p.info.Arch)+">")
		w.line(2, "<version"+attrs("epoch", e, "ver", v, "rel", r)+"/>")
		for _, f := range p.info.Files {
			w.elem(2, "file", f.Path, "type?", f.Type)
		}
		w.line(1, "</package>")
	}
	w.line(0, "</filelists>")
	return w.Bytes()
}

// otherXML returns repodata's other.xml: the changelogs.
func otherXML(ps []rpmPackage) []byte {
	var w xmlWriter
	w.line(0, xmlHeader)
	w.line(0, `<otherdata xmlns="http://linux.duke.edu/metadata/other" packages="`+strconv.Itoa(len(ps))+`">`)
	for _, p := range ps {
		e, v, r := p.evr()
		w.line(1, "<package"+attrs("pkgid", p.sum.sha256, "name", p.info.Name, "arch", p.info.Arch)+">")
		w.line(2, "<version"+attrs("epoch", e, "ver", v, "rel", r)+"/>")
		for _, c := range p.info.Changelog {
			w.elem(2, "changelog", c.Text, "author", c.Author, "date", strconv.FormatUint(c.Date, 10))
		}
		w.line(1, "</package>")
	}
	w.line(0, "</otherdata>")
	return w.Bytes()
}

// repodataFile is one compressed metadata file listed in repomd.xml.
type repodataFile struct {
	kind     string // primary, filelists, other
	location string // repodata/<sha256>-<kind>.xml.gz
	data     []byte // gzip stream
	sum      fileSum
	open     fileSum // of the uncompressed XML
}

// repodata compresses the three metadata files of ps.
func repodata(ps []rpmPackage) ([]repodataFile, error) {
	var out []repodataFile
	for _, f := range []struct {
		kind string
		xml  []byte
	}{{"primary", primaryXML(ps)}, {"filelists", filelistsXML(ps)}, {"other", otherXML(ps)}} {
		var gz bytes.Buffer
		zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		if err != nil {
			return nil, err
		}
		if _, err := zw.Write(f.xml); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("compressing %s.xml: %w", f.kind, err)
		}
		sum := sumOf(gz.Bytes())
		out = append(out, repodataFile{
			kind:     f.kind,
			location: "repodata/" + sum.sha256 + "-" + f.kind + ".xml.gz",
			data:     gz.Bytes(),
			sum:      sum,
			open:     sumOf(f.xml),
		})
	}
	return out, nil
}

// repomdXML returns repodata/repomd.xml listing files, with the revision
// and timestamps of now.
func repomdXML(files []repodataFile, now time.Time) []byte {
	ts := strconv.FormatInt(now.Unix(), 10)
	var w xmlWriter
	w.line(0, xmlHeader)
	w.line(0, `<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">`)
	w.elem(1, "revision", ts)
	for _, f := range files {
		w.line(1, "<data"+attrs("type", f.kind)+">")
		w.elem(2, "checksum", f.sum.sha256, "type", "sha256")
		w.elem(2, "open-checksum", f.open.sha256, "type", "sha256")
		w.line(2, "<location"+attrs("href", f.location)+"/>")
		w.elem(2, "timestamp", ts)
		w.elem(2, "size", strconv.FormatInt(f.sum.size, 10))
		w.elem(2, "open-size", strconv.FormatInt(f.open.size, 10))
		w.line(1, "</data>")
	}
	w.line(0, "</repomd>")
	return w.Bytes()
}

// repomdRevision reads the revision of a repomd.xml as a Unix time; a
// revision that is not a number (another tool's) gives the zero time.
func repomdRevision(data []byte) (time.Time, error) {
	var doc struct {
		Revision string `xml:"revision"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		return time.Time{}, fmt.Errorf("reading repomd.xml: %w", err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(doc.Revision), 10, 64)
	if err != nil {
		return time.Time{}, nil
	}
	return time.Unix(n, 0).UTC(), nil
}

// repomdLocations reads the location hrefs of a repomd.xml.
func repomdLocations(data []byte) ([]string, error) {
	var doc struct {
		Data []struct {
			Location struct {
				Href string `xml:"href,attr"`
			} `xml:"location"`
		} `xml:"data"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("reading repomd.xml: %w", err)
	}
	var hrefs []string
	for _, d := range doc.Data {
		hrefs = append(hrefs, d.Location.Href)
	}
	return hrefs, nil
}
