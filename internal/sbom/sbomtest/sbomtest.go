// Package sbomtest validates CycloneDX documents against the official
// CycloneDX 1.6 JSON schema vendored in internal/sbom/testdata/schema, for
// the tests of every package that writes an SBOM.
package sbomtest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/venvpkg/venvpkg/internal/testutil"
)

// schemaURL is the $id of the CycloneDX 1.6 schema; its $refs to
// spdx.schema.json and jsf-0.82.schema.json resolve next to it.
const schemaURL = "http://cyclonedx.org/schema/bom-1.6.schema.json"

// Validate fails the test when data is not a valid CycloneDX 1.6 JSON
// document (formats asserted, as the schema's uri-reference, date-time and
// email formats are part of its contract).
func Validate(t testing.TB, data []byte) {
	t.Helper()
	root, err := testutil.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for _, name := range []string{"bom-1.6.schema.json", "spdx.schema.json", "jsf-0.82.schema.json"} {
		f, err := os.Open(filepath.Join(root, "internal/sbom/testdata/schema", name))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatalf("schema %s: %v", name, err)
		}
		if err := c.AddResource("http://cyclonedx.org/schema/"+name, doc); err != nil {
			t.Fatalf("schema %s: %v", name, err)
		}
	}
	sch, err := c.Compile(schemaURL)
	if err != nil {
		t.Fatalf("compiling the CycloneDX schema: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the SBOM is not JSON: %v", err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("the SBOM is not valid CycloneDX 1.6: %v", err)
	}
}
