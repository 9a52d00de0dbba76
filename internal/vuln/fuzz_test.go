package vuln

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/venvpkg/venvpkg/internal/pep440"
)

// FuzzRecord parses arbitrary record files, JSON and YAML, and checks
// versions against whatever parsed: an error or a result, never a panic.
func FuzzRecord(f *testing.F) {
	for _, p := range []string{"testdata/db/pypa/flask/PYSEC-2023-62.yaml", "testdata/db/osv/GHSA-m2qf-hxjv-5gpq.json", "testdata/bad/not-osv.json"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(filepath.Ext(p) == ".json", data, "2.2.2")
	}
	f.Fuzz(func(t *testing.T, asJSON bool, data []byte, version string) {
		name := "r.yaml"
		if asJSON {
			name = "r.json"
		}
		db := &DB{byName: map[string][]*Record{}}
		db.add(name, data)
		for n := range db.byName {
			db.Check([]Installed{{Name: n, Version: version}}, Options{})
		}
		if v, err := pep440.Parse(version); err == nil {
			if r, err := parseRecord(name, data); err == nil {
				for _, a := range r.Affected {
					affects(a, version, v, true)
				}
			}
		}
	})
}
