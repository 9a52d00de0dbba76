package pipeline_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/payload"
	"github.com/venvpkg/venvpkg/internal/pipeline"
	"github.com/venvpkg/venvpkg/internal/sbom/sbomtest"
	"github.com/venvpkg/venvpkg/internal/testutil"
)

// toolVersion is the one field of the SBOM that depends on how the test
// binary was built.
var toolVersion = regexp.MustCompile(`("name": "venvpkg",\s+"version": )"[^"]*"`)

// TestSBOM builds the web app as .deb and .rpm from two build directories:
// the SBOM is the same in both packages, beside them in --out and across
// the builds, is valid CycloneDX 1.6, and matches the golden file.
func TestSBOM(t *testing.T) {
	needTools(t)
	wheels := webappWheels(t)
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	var docs [][]byte
	for _, name := range []string{"one", "second-dir"} {
		dir := filepath.Join(t.TempDir(), name, "webapp")
		copyTree(t, repoPath(t, "testdata/webapp"), dir)
		out := filepath.Join(t.TempDir(), "out")
		res := runBuild(t, pipeline.Options{ProjectDir: dir, FindLinks: []string{wheels, pythonWheels}, NoIndex: true, OutDir: out, Formats: []string{"deb", "rpm"}})
		if len(res.Packages) != 2 || len(res.SBOMs) != 2 {
			t.Fatalf("packages %v, SBOMs %v; want two of each", res.Packages, res.SBOMs)
		}
		for i, p := range res.Packages {
			beside, err := os.ReadFile(res.SBOMs[i])
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(out, pipeline.SBOMFileName(p)); res.SBOMs[i] != want {
				t.Errorf("SBOM of %s written to %s, want %s", p, res.SBOMs[i], want)
			}
			tree, err := payload.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			inside, at, ok := tree.SBOM()
			if !ok {
				t.Fatalf("%s holds no %s", p, payload.SBOMName)
			}
			if want := pipeline.SBOMPath("/opt/venvs/webapp"); at != want {
				t.Errorf("%s: SBOM at %s, want %s", filepath.Base(p), at, want)
			}
			if !bytes.Equal(inside, beside) {
				t.Errorf("%s: the SBOM in the package differs from %s", filepath.Base(p), res.SBOMs[i])
			}
			docs = append(docs, inside)
		}
	}
	for i := 1; i < len(docs); i++ {
		if !bytes.Equal(docs[0], docs[i]) {
			t.Fatalf("SBOM %d differs from the first (build dirs or formats changed it)", i)
		}
	}
	sbomtest.Validate(t, docs[0])
	got := toolVersion.ReplaceAll(docs[0], []byte(`$1"VERSION"`))
	golden := filepath.Join("testdata", "webapp.cdx.json")
	testutil.Golden(t, golden, got)
}

// TestBuildVulnCheck: with --vuln-db the web app's Flask 2.2.2 and
// Werkzeug 2.2.2 refuse the build and nothing is written; --vuln-fail-on
// never lets it through.
func TestBuildVulnCheck(t *testing.T) {
	needTools(t)
	wheels := webappWheels(t)
	db := repoPath(t, "internal/vuln/testdata/db")
	out := filepath.Join(t.TempDir(), "out")
	cache := t.TempDir()
	o := pipeline.Options{ProjectDir: repoPath(t, "testdata/webapp"), Python: python, FindLinks: []string{wheels, pythonWheels}, NoIndex: true,
		OutDir: out, CacheDir: cache, VulnDB: db}
	_, err := pipeline.Run(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "refusing to write the package") || !strings.Contains(err.Error(), "CVE-2023-30861") || !strings.Contains(err.Error(), "CVE-2023-25577") {
		t.Fatalf("build with a vulnerable lock: err = %v, want a refusal naming the advisories", err)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("--out holds %d entries after the refusal, want none", len(entries))
	}
	o.VulnFailOn = "never"
	res := runBuild(t, o)
	if len(res.Packages) != 1 {
		t.Errorf("--vuln-fail-on never: packages %v", res.Packages)
	}
}
