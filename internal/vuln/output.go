package vuln

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Result is one check: what was checked against which database, and what
// was found.
type Result struct {
	Database       string    `json:"database"`
	Records        int       `json:"records"`
	Withdrawn      int       `json:"withdrawn"`
	OtherEcosystem int       `json:"other_ecosystem"`
	Skipped        []Skip    `json:"skipped"`
	Checked        int       `json:"checked"` // installed distributions looked up
	Findings       []Finding `json:"findings"`
	// Notes are remarks about the targets (a package without an SBOM).
	Notes []string `json:"notes"`
}

// NewResult checks pkgs against db.
func NewResult(db *DB, pkgs []Installed, o Options) *Result {
	return &Result{
		Database: db.Path, Records: db.Records, Withdrawn: db.Withdrawn, OtherEcosystem: db.OtherEcosystem,
		Skipped: db.Skipped, Checked: len(pkgs), Findings: db.Check(pkgs, o),
	}
}

// Failing counts the findings that fail at threshold t.
func (r *Result) Failing(t Threshold) int {
	n := 0
	for _, f := range r.Findings {
		if t.Fails(f) {
			n++
		}
	}
	return n
}

// WriteJSON writes the result as indented JSON; empty lists are [].
func (r *Result) WriteJSON(w io.Writer) error {
	out := *r
	if out.Skipped == nil {
		out.Skipped = []Skip{}
	}
	if out.Findings == nil {
		out.Findings = []Finding{}
	}
	if out.Notes == nil {
		out.Notes = []string{}
	}
	r = &out
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// WriteTable writes the findings as a table and a summary line.
func (r *Result) WriteTable(w io.Writer) error {
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if len(r.Findings) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "PACKAGE\tVERSION\tINSTALLED IN\tADVISORY\tSEVERITY\tFIXED IN\tSUMMARY")
		for _, f := range r.Findings {
			sev := f.Severity
			if sev == "" {
				sev = "unknown"
			}
			if f.Score > 0 {
				sev = fmt.Sprintf("%s %.1f", sev, f.Score)
			}
			adv := f.ID
			if len(f.Aliases) > 0 {
				adv += " (" + strings.Join(f.Aliases, ", ") + ")"
			}
			fixed := strings.Join(f.Fixed, ", ")
			if fixed == "" {
				fixed = "no fix"
			}
			summary := f.Summary
			switch {
			case f.Ignored != nil:
				summary = fmt.Sprintf("IGNORED until %s: %s", f.Ignored.Expires.Format("2006-01-02"), f.Ignored.Reason)
			case f.IgnoreExpired != nil:
				summary = fmt.Sprintf("(ignore expired %s) %s", f.IgnoreExpired.Expires.Format("2006-01-02"), summary)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Name, f.Version, f.Where, adv, sev, fixed, oneLine(summary))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	ignored := 0
	for _, f := range r.Findings {
		if f.Ignored != nil {
			ignored++
		}
	}
	fmt.Fprintf(w, "%d %s checked against %s (%d records, %d withdrawn ignored", r.Checked, plural(r.Checked, "distribution"), r.Database, r.Records, r.Withdrawn)
	if len(r.Skipped) > 0 {
		fmt.Fprintf(w, ", %d %s skipped", len(r.Skipped), plural(len(r.Skipped), "file or entry", "files or entries"))
	}
	_, err := fmt.Fprintf(w, "): %d %s, %d ignored\n", len(r.Findings), plural(len(r.Findings), "finding"), ignored)
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "skipped %s: %s\n", s.File, s.Reason)
	}
	return err
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 100 {
		s = s[:97] + "..."
	}
	return s
}

func plural(n int, one string, many ...string) string {
	if n == 1 {
		return one
	}
	if len(many) > 0 {
		return many[0]
	}
	return one + "s"
}
