package vuln

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/venvpkg/venvpkg/internal/pep440"
)

func TestInRange(t *testing.T) {
	ev := func(kv ...string) []Event {
		var es []Event
		for i := 0; i < len(kv); i += 2 {
			switch kv[i] {
			case "introduced":
				es = append(es, Event{Introduced: kv[i+1]})
			case "fixed":
				es = append(es, Event{Fixed: kv[i+1]})
			case "last_affected":
				es = append(es, Event{LastAffected: kv[i+1]})
			case "limit":
				es = append(es, Event{Limit: kv[i+1]})
			}
		}
		return es
	}
	flask := ev("introduced", "0", "fixed", "2.2.5", "introduced", "2.3.0", "fixed", "2.3.2")
	tests := []struct {
		name    string
		events  []Event
		version string
		want    bool
	}{
		{"introduced 0 covers old releases", flask, "0.1", true},
		{"flask 2.2.2", flask, "2.2.2", true},
		{"the fix", flask, "2.2.5", false},
		{"a pre-release of the fix is affected", flask, "2.2.5rc1", true},
		{"a dev release of the fix is affected", flask, "2.2.5.dev3", true},
		{"between the ranges", flask, "2.2.6", false},
		{"second range", flask, "2.3.1", true},
		{"pre-release before the second range", flask, "2.3.0rc1", false},
		{"after the second fix", flask, "2.3.2", false},
		{"post-release of the fix", flask, "2.2.5.post1", false},
		{"local rebuild of an affected release", flask, "2.2.2+deb12u1", true},
		{"local rebuild of the fix", flask, "2.2.5+deb1", false},
		{"events out of order", ev("fixed", "2.2.5", "introduced", "0"), "2.2.2", true},
		{"last_affected includes itself", ev("introduced", "1.0", "last_affected", "1.4"), "1.4", true},
		{"last_affected excludes later", ev("introduced", "1.0", "last_affected", "1.4"), "1.4.1", false},
		{"last_affected excludes its post-release", ev("introduced", "1.0", "last_affected", "1.4"), "1.4.post1", false},
		{"last_affected: local rebuild stays affected", ev("introduced", "1.0", "last_affected", "1.4"), "1.4+local", true},
		{"before introduced", ev("introduced", "1.0", "last_affected", "1.4"), "0.9", false},
		{"pre-release introduction", ev("introduced", "3.0.0a1", "fixed", "3.0.1"), "3.0.0rc1", true},
		{"before a pre-release introduction", ev("introduced", "3.0.0a1", "fixed", "3.0.1"), "3.0.0.dev1", false},
		{"open range", ev("introduced", "0"), "99", true},
		{"a limit does not end the range", ev("introduced", "0", "limit", "2.0"), "1.0", true},
		{"an event that is no PEP 440 version is ignored", ev("introduced", "0", "fixed", "abc123"), "5.0", true},
		{"epochs order first", ev("introduced", "0", "fixed", "1!1.0"), "2.0", true},
	}
	for _, tt := range tests {
		a := Affected{Ranges: []Range{{Type: "ECOSYSTEM", Events: tt.events}}}
		a.Package.Ecosystem, a.Package.Name = "PyPI", "x"
		v := pep440.MustParse(tt.version)
		if got, _ := affects(a, tt.version, v, true); got != tt.want {
			t.Errorf("%s: affects(%v, %s) = %v, want %v", tt.name, tt.events, tt.version, got, tt.want)
		}
	}
}

// TestYanked: a yanked release is still installed where a lock pins it;
// the versions list of a record names it even when no range covers it,
// and a yanked release inside a range is affected like any other.
func TestYanked(t *testing.T) {
	a := Affected{
		Ranges:   []Range{{Type: "ECOSYSTEM", Events: []Event{{Introduced: "1.0"}, {Fixed: "1.2"}}}},
		Versions: []string{"0.9.1", "1.0", "1.1"},
	}
	for v, want := range map[string]bool{"0.9.1": true, "1.1.3": true, "0.9.2": false, "1.2": false} {
		if got, _ := affects(a, v, pep440.MustParse(v), true); got != want {
			t.Errorf("affects(%s) = %v, want %v", v, got, want)
		}
	}
}

func TestVersionsList(t *testing.T) {
	a := Affected{Versions: []string{"1.0", "1.1", "2.0rc1", "weird-tag"}}
	for _, tt := range []struct {
		version string
		valid   bool
		want    bool
	}{
		{"1.0", true, true},
		{"1.0.0", true, true}, // PEP 440 equality
		{"1.0+local", true, true},
		{"1.2", true, false},
		{"2.0rc1", true, true},
		{"2.0", true, false},
		{"weird-tag", false, true}, // not PEP 440: exact text only
		{"other-tag", false, false},
	} {
		var v pep440.Version
		if tt.valid {
			v = pep440.MustParse(tt.version)
		}
		if got, _ := affects(a, tt.version, v, tt.valid); got != tt.want {
			t.Errorf("versions list: affects(%s) = %v, want %v", tt.version, got, tt.want)
		}
	}
}

var webapp = []Installed{
	{Name: "click", Version: "8.1.3", Where: "requirements.txt:5"},
	{Name: "flask", Version: "2.2.2", Where: "requirements.txt:7"},
	{Name: "itsdangerous", Version: "2.1.2", Where: "requirements.txt:9"},
	{Name: "jinja2", Version: "3.1.2", Where: "requirements.txt:11"},
	{Name: "markupsafe", Version: "2.1.2", Where: "requirements.txt:13"},
	{Name: "werkzeug", Version: "2.2.2", Where: "requirements.txt:18"},
}

func loadTestDB(t *testing.T) *DB {
	t.Helper()
	db, err := Load("testdata/db")
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestCheckFixtures(t *testing.T) {
	db := loadTestDB(t)
	if db.Records != 6 || db.Withdrawn != 1 || db.OtherEcosystem != 1 || len(db.Skipped) != 0 {
		t.Errorf("db counts: records %d withdrawn %d other %d skipped %v", db.Records, db.Withdrawn, db.OtherEcosystem, db.Skipped)
	}
	fs := db.Check(webapp, Options{})
	type row struct{ pkg, id, fixed, sev string }
	var got []row
	for _, f := range fs {
		got = append(got, row{f.Name, f.ID + " " + strings.Join(f.Aliases, ","), strings.Join(f.Fixed, ","), f.Severity})
	}
	want := []row{
		{"flask", "CVE-2023-30861 GHSA-m2qf-hxjv-5gpq,PYSEC-2023-62", "2.2.5,2.3.2", ""},
		{"werkzeug", "CVE-2023-25577 GHSA-xg9f-g7g7-2323,PYSEC-2023-58", "2.2.3", ""},
		{"werkzeug", "CVE-2023-46136 GHSA-hrfv-mqp8-q5rw,PYSEC-2023-221", "2.3.8,3.0.1", "HIGH"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n got %q\nwant %q", got, want)
	}
	if len(fs) == 3 && (fs[2].Score != 7.5 || fs[0].Summary != "Flask may leak a permanent session cookie through a caching proxy (no Vary: Cookie)") {
		t.Errorf("werkzeug score %v, flask summary %q", fs[2].Score, fs[0].Summary)
	}
	// Fixed versions: nothing is reported for the fixed releases.
	if fs := db.Check([]Installed{{Name: "Flask", Version: "2.2.5"}, {Name: "werkzeug", Version: "3.0.1"}}, Options{}); len(fs) != 0 {
		t.Errorf("fixed releases have findings: %+v", fs)
	}
}

func TestIgnoresAndThreshold(t *testing.T) {
	db := loadTestDB(t)
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	ignores := []Ignore{
		{ID: "ghsa-m2qf-hxjv-5gpq", Reason: "no caching proxy in front of the app", Expires: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)},
		{ID: "PYSEC-2023-58", Reason: "forms are size-limited by nginx", Expires: time.Date(2025, 5, 31, 0, 0, 0, 0, time.UTC)},
	}
	fs := db.Check(webapp, Options{Ignores: ignores, Now: now})
	if len(fs) != 3 || fs[0].Ignored == nil || fs[0].Ignored.Reason != ignores[0].Reason {
		t.Fatalf("flask finding not ignored by its GHSA alias on the last day of the rule: %+v", fs)
	}
	if fs[1].Ignored != nil || fs[1].IgnoreExpired == nil {
		t.Errorf("an expired ignore still applies: %+v", fs[1])
	}
	r := &Result{Findings: fs}
	for _, tt := range []struct {
		on   string
		want int
	}{{"any", 2}, {"low", 2}, {"high", 2}, {"critical", 1}, {"never", 0}} {
		th, err := ParseThreshold(tt.on)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Failing(th); got != tt.want {
			t.Errorf("--fail-on %s: %d failing, want %d (unknown severity fails at every level)", tt.on, got, tt.want)
		}
	}
	if _, err := ParseThreshold("severe"); err == nil {
		t.Error("ParseThreshold(severe) succeeded")
	}
	var out bytes.Buffer
	if err := r.WriteTable(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"IGNORED until 2025-06-01: no caching proxy", "(ignore expired 2025-05-31)", "HIGH 7.5", "3 findings, 1 ignored"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

func zipDir(t *testing.T, dir, dst string) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		w, err := zw.CreateHeader(&zip.FileHeader{Name: filepath.ToSlash(rel), Method: zip.Store})
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestZipAndBadInput(t *testing.T) {
	dir := t.TempDir()
	all := filepath.Join(dir, "all.zip")
	zipDir(t, "testdata/db", all)
	db, err := Load(all)
	if err != nil {
		t.Fatal(err)
	}
	if fs := db.Check(webapp, Options{}); len(fs) != 3 {
		t.Errorf("zip database: %d findings, want 3", len(fs))
	}

	data, _ := os.ReadFile(all)
	corrupt := filepath.Join(dir, "corrupt.zip")
	if err := os.WriteFile(corrupt, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(corrupt); err == nil || !strings.Contains(err.Error(), "corrupt.zip") || !strings.Contains(err.Error(), "not a readable zip") {
		t.Errorf("Load(truncated zip) = %v, want one error naming it", err)
	}
	// A zip whose central directory is intact but a member is damaged.
	damaged := bytes.Clone(data)
	i := bytes.Index(damaged, []byte("Uploading a file"))
	if i < 0 {
		t.Fatal("the stored record is not in the zip")
	}
	copy(damaged[i:], "Downloading a f")
	dz := filepath.Join(dir, "damaged.zip")
	if err := os.WriteFile(dz, damaged, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dz); err == nil || !strings.Contains(err.Error(), "damaged.zip") {
		t.Errorf("Load(zip with a damaged member) = %v, want an error naming it", err)
	}

	bad, err := Load("testdata") // db/ plus bad/
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, s := range bad.Skipped {
		reasons = append(reasons, s.File+": "+s.Reason)
	}
	want := []string{
		`bad/VENVPKG-TEST-3.json: VENVPKG-TEST-3: unknown ecosystem "PyPi"`,
		`bad/not-osv.json: not an OSV record: no "id"`,
	}
	if !slices.Equal(reasons, want) {
		t.Errorf("skipped:\n got %q\nwant %q", reasons, want)
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil {
		t.Error("Load(missing path) succeeded")
	}
	empty := t.TempDir()
	if _, err := Load(empty); err == nil || !strings.Contains(err.Error(), "holds no OSV record") {
		t.Errorf("Load(empty dir) = %v", err)
	}
}

func TestSeverity(t *testing.T) {
	for _, tt := range []struct {
		name  string
		r     Record
		sev   string
		score float64
	}{
		{"CVSS 3.1", Record{Severity: []Severity{{Type: "CVSS_V3", Score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}}}, High, 7.5},
		{"CVSS 3.0", Record{Severity: []Severity{{Type: "CVSS_V3", Score: "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}}, Critical, 9.8},
		{"CVSS 4.0", Record{Severity: []Severity{{Type: "CVSS_V4", Score: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}}}, Critical, 9.3},
		{"CVSS 2", Record{Severity: []Severity{{Type: "CVSS_V2", Score: "AV:N/AC:M/Au:N/C:P/I:N/A:N"}}}, Medium, 4.3},
		{"highest of several", Record{Severity: []Severity{{Type: "CVSS_V3", Score: "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"}, {Type: "CVSS_V3", Score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}}}, High, 7.5},
		{"GitHub's word", Record{DatabaseSpecific: map[string]any{"severity": "MODERATE"}}, Medium, 0},
		{"a broken vector falls back to the word", Record{Severity: []Severity{{Type: "CVSS_V3", Score: "CVSS:3.1/garbage"}}, DatabaseSpecific: map[string]any{"severity": "LOW"}}, Low, 0},
		{"nothing", Record{}, Unknown, 0},
	} {
		sev, score, _ := recordSeverity(&tt.r, "x")
		if sev != tt.sev || score != tt.score {
			t.Errorf("%s: severity %q %.1f, want %q %.1f", tt.name, sev, score, tt.sev, tt.score)
		}
	}
}
