// Package vuln checks Python distributions against a vulnerability
// database on disk, offline. The database is a directory or a zip of OSV
// records (https://ossf.github.io/osv-schema/), as OSV publishes them for
// the PyPI ecosystem (JSON) and as the PyPA advisory database keeps them
// (YAML, the same schema). ECOSYSTEM ranges (introduced, fixed,
// last_affected) and explicit versions lists are evaluated with venvpkg's
// own PEP 440 rules; records that alias each other (CVE, GHSA, PYSEC) are
// merged into one finding; withdrawn records are ignored; the severity
// comes from the record's CVSS vector, scored with
// github.com/pandatix/go-cvss.
package vuln

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/venvpkg/venvpkg/internal/pep503"
)

// Record is an OSV record: the fields venvpkg reads.
type Record struct {
	ID               string         `json:"id" yaml:"id"`
	Modified         string         `json:"modified" yaml:"modified"`
	Published        string         `json:"published" yaml:"published"`
	Withdrawn        string         `json:"withdrawn" yaml:"withdrawn"`
	Aliases          []string       `json:"aliases" yaml:"aliases"`
	Summary          string         `json:"summary" yaml:"summary"`
	Details          string         `json:"details" yaml:"details"`
	Severity         []Severity     `json:"severity" yaml:"severity"`
	Affected         []Affected     `json:"affected" yaml:"affected"`
	DatabaseSpecific map[string]any `json:"database_specific" yaml:"database_specific"`

	file string // where the record was read from, for messages
}

// Severity is a severity entry: a CVSS vector and its type.
type Severity struct {
	Type  string `json:"type" yaml:"type"`
	Score string `json:"score" yaml:"score"`
}

// Affected is one affected package of a record.
type Affected struct {
	Package struct {
		Ecosystem string `json:"ecosystem" yaml:"ecosystem"`
		Name      string `json:"name" yaml:"name"`
		Purl      string `json:"purl" yaml:"purl"`
	} `json:"package" yaml:"package"`
	Ranges   []Range    `json:"ranges" yaml:"ranges"`
	Versions []string   `json:"versions" yaml:"versions"`
	Severity []Severity `json:"severity" yaml:"severity"`
}

// Range is an affected range: its type and its events.
type Range struct {
	Type   string  `json:"type" yaml:"type"`
	Events []Event `json:"events" yaml:"events"`
}

// Event is one event of a range; exactly one field is set.
type Event struct {
	Introduced   string `json:"introduced" yaml:"introduced"`
	Fixed        string `json:"fixed" yaml:"fixed"`
	LastAffected string `json:"last_affected" yaml:"last_affected"`
	Limit        string `json:"limit" yaml:"limit"`
}

// ecosystems are the OSV ecosystems (osv-schema's ecosystems.txt, the part
// before any ":"), so that a record of another ecosystem is told from one
// whose ecosystem is misspelt.
var ecosystems = []string{
	"AlmaLinux", "Alpine", "Android", "Bitnami", "Chainguard", "CRAN", "crates.io", "Debian", "GHC", "GitHub Actions",
	"Go", "Hackage", "Hex", "Linux", "Mageia", "Maven", "MinimOS", "npm", "NuGet", "openEuler", "openSUSE", "OSS-Fuzz",
	"Packagist", "Photon OS", "Pub", "PyPI", "Red Hat", "Rocky Linux", "RubyGems", "SUSE", "SwiftURL", "Ubuntu", "Wolfi",
	"Git", "ConanCenter", "Echo", "Julia", "BellSoft Hardened Containers", "Azure Linux",
}

// Skip is an input file or entry that was not used, and why.
type Skip struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

// DB is a loaded vulnerability database: the PyPI records by package.
type DB struct {
	Path string
	// Records counts the OSV records read; Withdrawn those ignored as
	// withdrawn; OtherEcosystem those affecting no PyPI package.
	Records, Withdrawn, OtherEcosystem int
	// Skipped lists files that are not OSV records and affected entries
	// of ecosystems OSV does not know.
	Skipped []Skip

	byName map[string][]*Record
}

// maxRecord bounds one record file.
const maxRecord = 16 << 20

// Load reads the database at p: a directory (searched recursively for
// .json, .yaml and .yml files) or a .zip of OSV JSON records. A file that
// does not parse as an OSV record is counted in Skipped; an unreadable
// database is an error.
func Load(p string) (*DB, error) {
	db := &DB{Path: p, byName: map[string][]*Record{}}
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("vulnerability database: %w", err)
	}
	if st.IsDir() {
		err = filepath.WalkDir(p, func(f string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if strings.HasPrefix(d.Name(), ".") && f != p {
					return filepath.SkipDir // .git, .github
				}
				return nil
			}
			if !isRecordFile(d.Name()) {
				return nil
			}
			data, err := readLimited(f)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(p, f)
			db.add(filepath.ToSlash(rel), data)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading vulnerability database %s: %w", p, err)
		}
	} else {
		if err := db.loadZip(p); err != nil {
			return nil, err
		}
	}
	if db.Records == 0 {
		return nil, fmt.Errorf("vulnerability database %s holds no OSV record (%d files skipped); give a directory or zip of OSV JSON or PyPA advisory YAML records", p, len(db.Skipped))
	}
	return db, nil
}

func isRecordFile(name string) bool {
	switch path.Ext(name) {
	case ".json", ".yaml", ".yml":
		return true
	}
	return false
}

func readLimited(f string) ([]byte, error) {
	fh, err := os.Open(f)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxRecord+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxRecord {
		return nil, fmt.Errorf("%s is larger than %d bytes; it is no OSV record", f, maxRecord)
	}
	return data, nil
}

func (db *DB) loadZip(p string) error {
	zr, err := zip.OpenReader(p)
	if err != nil {
		return fmt.Errorf("vulnerability database %s: not a readable zip (%w); give a directory or a zip of OSV records such as OSV's PyPI/all.zip", p, err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || !isRecordFile(f.Name) {
			continue
		}
		if f.UncompressedSize64 > maxRecord {
			db.Skipped = append(db.Skipped, Skip{File: f.Name, Reason: "larger than an OSV record can be"})
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("vulnerability database %s: %s: %w", p, f.Name, err)
		}
		data, err := io.ReadAll(io.LimitReader(rc, maxRecord))
		rc.Close()
		if err != nil {
			return fmt.Errorf("vulnerability database %s: %s: %w (the zip is corrupt)", p, f.Name, err)
		}
		db.add(f.Name, data)
	}
	return nil
}

// parseRecord reads one OSV record, JSON or YAML.
func parseRecord(name string, data []byte) (*Record, error) {
	r := &Record{file: name}
	var err error
	if path.Ext(name) == ".json" {
		dec := json.NewDecoder(bytes.NewReader(data))
		err = dec.Decode(r)
	} else {
		err = yaml.Unmarshal(data, r)
	}
	if err != nil {
		return nil, fmt.Errorf("not an OSV record: %v", err)
	}
	switch {
	case r.ID == "":
		return nil, errors.New(`not an OSV record: no "id"`)
	case r.Modified == "":
		return nil, errors.New(`not an OSV record: no "modified"`)
	}
	return r, nil
}

// add indexes one record file's content, or counts it as skipped.
func (db *DB) add(name string, data []byte) {
	r, err := parseRecord(name, data)
	if err != nil {
		db.Skipped = append(db.Skipped, Skip{File: name, Reason: err.Error()})
		return
	}
	db.Records++
	if r.Withdrawn != "" {
		db.Withdrawn++
		return
	}
	names := map[string]bool{}
	for _, a := range r.Affected {
		switch eco, _, _ := strings.Cut(a.Package.Ecosystem, ":"); {
		case eco == "PyPI":
			if a.Package.Name != "" {
				names[pep503.Normalize(a.Package.Name)] = true
			}
		case !slices.Contains(ecosystems, eco):
			db.Skipped = append(db.Skipped, Skip{File: name, Reason: fmt.Sprintf("%s: unknown ecosystem %q", r.ID, a.Package.Ecosystem)})
		}
	}
	if len(names) == 0 {
		db.OtherEcosystem++
		return
	}
	for n := range names {
		db.byName[n] = append(db.byName[n], r)
	}
}
