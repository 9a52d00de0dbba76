package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// VulnIgnore is one [[tool.venvpkg.ignore-vulnerabilities]] entry: an
// advisory (any of its ids: CVE, GHSA, PYSEC) accepted for a reason until
// a date, after which it counts again.
type VulnIgnore struct {
	ID      string         `toml:"id"`
	Reason  string         `toml:"reason"`
	Expires toml.LocalDate `toml:"expires"`
}

// ExpiresTime is the expiry date at midnight UTC; the rule holds through
// that day.
func (v VulnIgnore) ExpiresTime() time.Time {
	return time.Date(v.Expires.Year, time.Month(v.Expires.Month), v.Expires.Day, 0, 0, 0, 0, time.UTC)
}

func vulnIgnoreKeys() []string { return []string{"expires", "id", "reason"} }

func (c *Config) validateIgnores() error {
	for i, v := range c.Tool.IgnoreVulnerabilities {
		where := fmt.Sprintf("%s: [[tool.venvpkg.ignore-vulnerabilities]] entry %d", c.File, i+1)
		switch {
		case strings.TrimSpace(v.ID) == "":
			return fmt.Errorf("%s: id is missing; name the advisory (CVE-…, GHSA-…, PYSEC-…)", where)
		case strings.TrimSpace(v.Reason) == "":
			return fmt.Errorf("%s (%s): reason is missing; say why the advisory does not apply, so it is never ignored silently", where, v.ID)
		case v.Expires.Year == 0:
			return fmt.Errorf("%s (%s): expires is missing; give the date the ignore ends as a TOML date, e.g. expires = 2026-06-30", where, v.ID)
		}
	}
	return nil
}
