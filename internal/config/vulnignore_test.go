package config

import (
	"strings"
	"testing"
	"time"
)

func TestIgnoreVulnerabilities(t *testing.T) {
	head := "[project]\nname = \"app\"\nversion = \"1.0\"\n"
	c, err := Parse("pyproject.toml", []byte(head+`
[[tool.venvpkg.ignore-vulnerabilities]]
id = "CVE-2023-30861"
reason = "no caching proxy in front of the app"
expires = 2026-06-30
`))
	if err != nil {
		t.Fatal(err)
	}
	ig := c.Tool.IgnoreVulnerabilities
	if len(ig) != 1 || ig[0].ID != "CVE-2023-30861" || !ig[0].ExpiresTime().Equal(time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("ignores = %+v", ig)
	}
	for _, tt := range []struct{ body, want string }{
		{"id = \"CVE-1\"\nexpires = 2026-01-01\n", "reason is missing"},
		{"reason = \"x\"\nexpires = 2026-01-01\n", "id is missing"},
		{"id = \"CVE-1\"\nreason = \"x\"\n", "expires is missing"},
		{"id = \"CVE-1\"\nreason = \"x\"\nexpires = 2026-01-01\nuntil = 2027-01-01\n", `unknown key "until" in an entry of [[tool.venvpkg.ignore-vulnerabilities]] (known keys: expires, id, reason)`},
		{"id = \"CVE-1\"\nreason = \"x\"\nexpires = \"soon\"\n", "pyproject.toml:7:11"},
	} {
		_, err := Parse("pyproject.toml", []byte(head+"[[tool.venvpkg.ignore-vulnerabilities]]\n"+tt.body))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", tt.body, err, tt.want)
		}
	}
}
