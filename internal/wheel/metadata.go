package wheel

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Metadata is the part of the core metadata (METADATA in a wheel, PKG-INFO
// in an sdist) that installing, resolving and describing a package need.
// Fields that may repeat are kept in the order written.
type Metadata struct {
	Name           string
	Version        string
	RequiresPython string
	RequiresDist   []string
	ProvidesExtra  []string
	Summary        string
	// Description is the long description: the message body (metadata
	// 2.1 and later) or the Description field, whose continuation lines
	// are joined.
	Description string
	HomePage    string
	// ProjectURLs are the Project-URL fields, "label, URL" split apart.
	ProjectURLs []ProjectURL

	// The license as the metadata states it: License-Expression (an SPDX
	// expression, core metadata 2.4), the free-text License field (several
	// lines joined) and the "License :: ..." trove classifiers, kept for
	// SBOMs and reports.
	LicenseExpression  string
	License            string
	LicenseClassifiers []string

	Author          string
	AuthorEmail     string
	Maintainer      string
	MaintainerEmail string
}

// ProjectURL is one Project-URL field.
type ProjectURL struct {
	Label, URL string
}

// header is one "Name: value" field of an email-style header block.
type header struct {
	Key   string // as written
	Value string // continuation lines joined with a space
	Line  int
}

// maxHeaderLine bounds one physical line of METADATA or WHEEL.
const maxHeaderLine = 1 << 20

// parseHeaders reads RFC 822 style headers up to the first empty line. As
// Python's email parser does, a line that is neither a field nor a
// continuation ends the header block.
func parseHeaders(r io.Reader) ([]header, error) {
	hs, _, err := parseMessage(r, false)
	return hs, err
}

// parseMessage is parseHeaders that also returns the message body after
// the empty line ending the headers, when withBody is set.
func parseMessage(r io.Reader, withBody bool) ([]header, string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxHeaderLine)
	sc.Split(scanEmailLines)
	var hs []header
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" {
			if !withBody {
				break
			}
			var body strings.Builder
			for sc.Scan() {
				body.WriteString(sc.Text())
				body.WriteByte('\n')
			}
			if err := sc.Err(); err != nil {
				return nil, "", err
			}
			return hs, body.String(), nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(hs) == 0 {
				return nil, "", fmt.Errorf("line %d: continuation line before the first field", n)
			}
			h := &hs[len(hs)-1]
			if cont := strings.TrimSpace(line); cont != "" {
				if h.Value != "" {
					h.Value += " "
				}
				h.Value += cont
			}
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok || key == "" || strings.ContainsAny(key, " \t") {
			break
		}
		hs = append(hs, header{Key: key, Value: strings.TrimSpace(value), Line: n})
	}
	if err := sc.Err(); err != nil {
		return nil, "", err
	}
	return hs, "", nil
}

// scanEmailLines is a bufio.SplitFunc that ends lines at "\r\n", "\n" or a
// lone "\r", as Python's email parser does; a value therefore never holds
// a line break.
func scanEmailLines(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		switch {
		case data[i] == '\n':
			return i + 1, data[:i], nil
		case i+1 < len(data) && data[i+1] == '\n':
			return i + 2, data[:i], nil
		case i+1 < len(data) || atEOF:
			return i + 1, data[:i], nil
		}
		return 0, nil, nil // a "\n" may follow the "\r"
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// ParseMetadata parses core metadata. Name and Version are required.
func ParseMetadata(r io.Reader) (*Metadata, error) {
	hs, body, err := parseMessage(r, true)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	m := &Metadata{}
	for _, h := range hs {
		switch strings.ToLower(h.Key) {
		case "name":
			m.Name = h.Value
		case "version":
			m.Version = h.Value
		case "requires-python":
			m.RequiresPython = h.Value
		case "requires-dist":
			m.RequiresDist = append(m.RequiresDist, h.Value)
		case "provides-extra":
			m.ProvidesExtra = append(m.ProvidesExtra, h.Value)
		case "summary":
			m.Summary = h.Value
		case "license-expression":
			m.LicenseExpression = h.Value
		case "license":
			m.License = h.Value
		case "classifier":
			if strings.HasPrefix(h.Value, "License :: ") {
				m.LicenseClassifiers = append(m.LicenseClassifiers, h.Value)
			}
		case "description":
			m.Description = h.Value
		case "home-page":
			m.HomePage = h.Value
		case "project-url":
			label, u, ok := strings.Cut(h.Value, ",")
			if !ok {
				label, u = "", label
			}
			m.ProjectURLs = append(m.ProjectURLs, ProjectURL{Label: strings.TrimSpace(label), URL: strings.TrimSpace(u)})
		case "author":
			m.Author = h.Value
		case "author-email":
			m.AuthorEmail = h.Value
		case "maintainer":
			m.Maintainer = h.Value
		case "maintainer-email":
			m.MaintainerEmail = h.Value
		}
	}
	if b := strings.TrimRight(body, "\n"); b != "" {
		m.Description = b + "\n"
	}
	if m.Name == "" {
		return nil, fmt.Errorf("metadata: missing Name field")
	}
	if m.Version == "" {
		return nil, fmt.Errorf("metadata: missing Version field")
	}
	return m, nil
}

// ReadMetadata returns the core metadata of the wheel at wheelPath after
// checking the archive's structure, its dist-info directory and METADATA's
// RECORD hash, within the default Limits.
func ReadMetadata(wheelPath string) (*Metadata, error) {
	return ReadMetadataLimits(wheelPath, Limits{})
}

// ReadMetadataLimits is ReadMetadata within lim (zero fields take the
// defaults), the limits the wheel is later installed with.
func ReadMetadataLimits(wheelPath string, lim Limits) (*Metadata, error) {
	base := filepath.Base(wheelPath)
	fn, err := ParseFilename(base)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(wheelPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	a, err := openArchive(f, st.Size(), lim)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", base, err)
	}
	c, err := newContents(a, fn)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", base, err)
	}
	return c.meta, nil
}

// wheelInfo is the content of a wheel's WHEEL file.
type wheelInfo struct {
	Major, Minor  int
	RootIsPurelib bool
}

// parseWheelFile parses WHEEL and checks its Wheel-Version: a major version
// above 1 is refused, a newer minor version is accepted.
func parseWheelFile(r io.Reader) (wheelInfo, error) {
	var w wheelInfo
	hs, err := parseHeaders(r)
	if err != nil {
		return w, fmt.Errorf("WHEEL: %w", err)
	}
	version := ""
	for _, h := range hs {
		switch strings.ToLower(h.Key) {
		case "wheel-version":
			version = h.Value
		case "root-is-purelib":
			w.RootIsPurelib = strings.EqualFold(h.Value, "true")
		}
	}
	if version == "" {
		return w, fmt.Errorf("WHEEL: missing Wheel-Version field")
	}
	maj, min, ok := strings.Cut(version, ".")
	if !ok {
		return w, fmt.Errorf("WHEEL: Wheel-Version %q is not major.minor", version)
	}
	if w.Major, err = strconv.Atoi(maj); err == nil {
		w.Minor, err = strconv.Atoi(min)
	}
	if err != nil || w.Major < 0 || w.Minor < 0 {
		return w, fmt.Errorf("WHEEL: Wheel-Version %q is not major.minor", version)
	}
	if w.Major != 1 {
		return w, fmt.Errorf("WHEEL: Wheel-Version %s is not supported; this installer reads version 1.x wheels", version)
	}
	return w, nil
}

// homepageLabels are the Project-URL labels taken as the home page, best
// first, compared lowercased with spaces, "-" and "_" removed.
var homepageLabels = []string{"homepage", "home", "documentation", "docs", "source", "sourcecode", "repository", "code"}

// Homepage returns Home-page, else the Project-URL whose label names the
// home page (or, failing that, the documentation or the source), else "".
func (m *Metadata) Homepage() string {
	if m.HomePage != "" && !strings.EqualFold(m.HomePage, "UNKNOWN") {
		return m.HomePage
	}
	for _, want := range homepageLabels {
		for _, u := range m.ProjectURLs {
			label := strings.NewReplacer(" ", "", "-", "", "_", "", ".", "").Replace(strings.ToLower(u.Label))
			if label == want && u.URL != "" {
				return u.URL
			}
		}
	}
	return ""
}

// ShortLicense returns a one-line licence for package metadata: the SPDX
// License-Expression, else a License field that fits on one line, else "".
func (m *Metadata) ShortLicense() string {
	if m.LicenseExpression != "" {
		return m.LicenseExpression
	}
	l := strings.TrimSpace(m.License)
	if l == "" || strings.EqualFold(l, "UNKNOWN") || strings.ContainsAny(l, "\r\n") || len(l) > 80 {
		return ""
	}
	return l
}
