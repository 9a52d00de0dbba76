package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"path/filepath"
	"strings"

	"github.com/venvpkg/venvpkg/internal/vuln"
)

//go:embed report.html.tmpl
var pageText string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"bytes":   Bytes,
	"percent": percent,
	"signed": func(n int64) string {
		if n > 0 {
			return "+" + Bytes(n)
		}
		return Bytes(n)
	},
	"join": strings.Join,
	"severity": func(f vuln.Finding) string {
		s := f.Severity
		if s == "" {
			s = "unknown"
		}
		if f.Score > 0 {
			s += fmt.Sprintf(" %.1f", f.Score)
		}
		return s
	},
	"lower": strings.ToLower,
}).Parse(pageText))

type column struct {
	*Package
	Treemap template.HTML
}

type pageData struct {
	Title   string
	Columns []column
	Pair    bool
	Changes []Change
	Old     *Package
	New     *Package
	Delta   int64
}

// Write writes the report of one package, or of two versions side by
// side (old first) with what changed between them.
func Write(w io.Writer, pkgs ...*Package) error {
	d := pageData{}
	width, height := 1100.0, 560.0
	switch len(pkgs) {
	case 1:
		p := pkgs[0]
		d.Title = fmt.Sprintf("%s %s", p.Name, p.Version)
	case 2:
		d.Pair, d.Old, d.New = true, pkgs[0], pkgs[1]
		d.Title = fmt.Sprintf("%s %s → %s %s", d.Old.Name, d.Old.Version, d.New.Name, d.New.Version)
		d.Changes = Diff(d.Old, d.New)
		d.Delta = d.New.Size - d.Old.Size
		width, height = 560, 420
	default:
		return fmt.Errorf("a report shows one package or two versions, not %d", len(pkgs))
	}
	for _, p := range pkgs {
		d.Columns = append(d.Columns, column{Package: p, Treemap: treemap(p, width, height)})
	}
	if err := page.Execute(w, d); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

// FileName is the default report file of one package (<package>.html
// beside it) or of two (<older>--<newer>.html beside the newer).
func FileName(pkgFiles ...string) string {
	base := func(p string) string {
		b := filepath.Base(p)
		return strings.TrimSuffix(b, filepath.Ext(b))
	}
	last := pkgFiles[len(pkgFiles)-1]
	name := base(last)
	if len(pkgFiles) == 2 {
		name = base(pkgFiles[0]) + "--" + name
	}
	return filepath.Join(filepath.Dir(last), name+".html")
}
