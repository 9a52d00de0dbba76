package sbom

import (
	"bytes"
	"strings"
	"testing"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/venvpkg/venvpkg/internal/audit"
	"github.com/venvpkg/venvpkg/internal/payload"
	"github.com/venvpkg/venvpkg/internal/sbom/sbomtest"
	"github.com/venvpkg/venvpkg/internal/wheel"
)

func sampleInput(interp Interpreter) Input {
	site := "/opt/venvs/app/lib/python3.11/site-packages"
	return Input{
		Project: "App",
		Package: "app",
		Prefix:  "/opt/venvs/app",
		Arch:    "amd64",
		Dists: []*payload.Distribution{
			{Name: "App", Version: "1.0", DistInfo: site + "/app-1.0.dist-info", Metadata: &wheel.Metadata{Name: "App", Version: "1.0", LicenseExpression: "MIT"}},
			{Name: "psycopg2", Version: "2.9.9", DistInfo: site + "/psycopg2-2.9.9.dist-info", Files: []string{site + "/psycopg2/_psycopg.so"},
				Metadata: &wheel.Metadata{Name: "psycopg2", Version: "2.9.9", License: "LGPL with exceptions"}},
			{Name: "Flask", Version: "2.2.2", DistInfo: site + "/Flask-2.2.2.dist-info",
				Metadata: &wheel.Metadata{Name: "Flask", Version: "2.2.2", LicenseClassifiers: []string{"License :: OSI Approved :: BSD License"}}},
		},
		Wheels:      map[string]Wheel{"flask": {File: "Flask-2.2.2-py3-none-any.whl", SHA256: strings.Repeat("ab", 32)}},
		Interpreter: interp,
		Libraries:   []audit.Need{{Package: "libpq5", Soname: "libpq.so.5", Files: []string{site + "/psycopg2/_psycopg.so"}}},
		Time:        time.Unix(946684800, 0),
		Tool:        "v1.0.0",
	}
}

var system = Interpreter{Implementation: "CPython", Version: "3.11.2", Path: "/usr/bin/python3.11", Source: InterpreterSystem, Package: "python3.11"}

func encoded(t *testing.T, in Input) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, Build(in)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBuildValidAndStable(t *testing.T) {
	bundled := Interpreter{Implementation: "CPython", Version: "3.12.7", Path: "/opt/venvs/app/python/bin/python3.12", Source: InterpreterBundled}
	for _, interp := range []Interpreter{system, bundled} {
		t.Run(interp.Source, func(t *testing.T) {
			a, b := encoded(t, sampleInput(interp)), encoded(t, sampleInput(interp))
			if !bytes.Equal(a, b) {
				t.Fatal("two encodings of the same input differ")
			}
			sbomtest.Validate(t, a)
			bom, err := Decode(a)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(bom.SerialNumber, "urn:uuid:") || bom.SpecVersion != cdx.SpecVersion1_6 {
				t.Errorf("serial %q, spec %v", bom.SerialNumber, bom.SpecVersion)
			}
			if got := bom.Metadata.Component.PackageURL; got != "pkg:pypi/app@1.0" {
				t.Errorf("metadata component purl = %q", got)
			}
			byRef := map[string]cdx.Component{}
			for _, c := range *bom.Components {
				byRef[c.BOMRef] = c
			}
			lib, ok := byRef["pkg:deb/debian/libpq5?arch=amd64"]
			if !ok || !slicesEqual(Property(&lib, PropNeededBy), []string{"/opt/venvs/app/lib/python3.11/site-packages/psycopg2/_psycopg.so"}) {
				t.Errorf("libpq5 component = %+v", lib)
			}
			wantInterp := "interpreter:pkg:deb/debian/python3.11?arch=amd64"
			if interp.Source == InterpreterBundled {
				wantInterp = "interpreter:pkg:generic/cpython@3.12.7"
			}
			if _, ok := byRef[wantInterp]; !ok {
				t.Errorf("no interpreter component %s in %v", wantInterp, keys(byRef))
			}
			// psycopg2's extension needs libpq5: the dependency graph says so.
			found := false
			for _, d := range *bom.Dependencies {
				if d.Ref == "pkg:pypi/psycopg2@2.9.9" && d.Dependencies != nil && slicesEqual(*d.Dependencies, []string{"pkg:deb/debian/libpq5?arch=amd64"}) {
					found = true
				}
			}
			if !found {
				t.Errorf("psycopg2 does not depend on libpq5 in %+v", *bom.Dependencies)
			}
		})
	}
	// A different payload gets a different serial number.
	in := sampleInput(system)
	in.Dists[2].Version = "2.2.5"
	if x, y := encoded(t, in), encoded(t, sampleInput(system)); bytes.Equal(x[:200], y[:200]) {
		t.Error("the serial number does not change with the content")
	}
}

// TestValidatorRejects shows the schema check can fail: an SPDX id that is
// not on the list is refused.
func TestValidatorRejects(t *testing.T) {
	bom := Build(sampleInput(system))
	(*bom.Components)[0].Licenses = &cdx.Licenses{{License: &cdx.License{ID: "Not-A-License"}}}
	var buf bytes.Buffer
	if err := Encode(&buf, bom); err != nil {
		t.Fatal(err)
	}
	ft := &fakeT{TB: t}
	sbomtest.Validate(ft, buf.Bytes())
	if !ft.failed {
		t.Error("Validate accepted an unknown SPDX license id")
	}
}

type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Errorf(string, ...any) { f.failed = true }

func TestLicenses(t *testing.T) {
	tests := []struct {
		name string
		m    wheel.Metadata
		want string
		from string
	}{
		{"expression first", wheel.Metadata{LicenseExpression: "MIT OR Apache-2.0", License: "MIT", LicenseClassifiers: []string{"License :: OSI Approved :: MIT License"}}, "MIT OR Apache-2.0", "License-Expression"},
		{"license field", wheel.Metadata{License: "BSD-3-Clause"}, "BSD-3-Clause", "License"},
		{"long text falls back to classifiers", wheel.Metadata{License: strings.Repeat("Permission is hereby granted ", 10), LicenseClassifiers: []string{"License :: OSI Approved :: MIT License"}}, "MIT", "Classifier"},
		{"UNKNOWN ignored", wheel.Metadata{License: "UNKNOWN", LicenseClassifiers: []string{"License :: OSI Approved :: BSD License"}}, "BSD License", "Classifier"},
		{"none", wheel.Metadata{}, "", ""},
	}
	for _, tt := range tests {
		ls, from := Licenses(&tt.m)
		if got := LicenseText(ls); got != tt.want || from != tt.from {
			t.Errorf("%s: Licenses = %q from %q, want %q from %q", tt.name, got, from, tt.want, tt.from)
		}
	}
}

func slicesEqual(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

func keys(m map[string]cdx.Component) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
