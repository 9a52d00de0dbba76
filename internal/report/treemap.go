package report

import (
	"fmt"
	"hash/fnv"
	"html/template"
	"strings"
)

// rect is a rectangle of the treemap.
type rect struct{ x, y, w, h float64 }

// squarify lays out areas (largest first, all positive, summing to the
// area of r) in r as rectangles close to squares (Bruls, Huizing and van
// Wijk's squarified treemap): items fill a row along the short side while
// that improves the row's worst aspect ratio.
func squarify(areas []float64, r rect) []rect {
	out := make([]rect, 0, len(areas))
	var row []float64
	worst := func(row []float64, side float64) float64 {
		var sum, hi, lo float64
		lo = row[0]
		for _, a := range row {
			sum += a
			hi, lo = max(hi, a), min(lo, a)
		}
		s2, w2 := sum*sum, side*side
		return max(w2*hi/s2, s2/(w2*lo))
	}
	layout := func(row []float64) {
		var sum float64
		for _, a := range row {
			sum += a
		}
		if r.w >= r.h { // a column on the left
			w := sum / r.h
			y := r.y
			for _, a := range row {
				h := a / w
				out = append(out, rect{r.x, y, w, h})
				y += h
			}
			r.x, r.w = r.x+w, r.w-w
		} else { // a row on top
			h := sum / r.w
			x := r.x
			for _, a := range row {
				w := a / h
				out = append(out, rect{x, r.y, w, h})
				x += w
			}
			r.y, r.h = r.y+h, r.h-h
		}
	}
	for _, a := range areas {
		side := min(r.w, r.h)
		if len(row) == 0 || worst(append(row, a), side) <= worst(row, side) {
			row = append(row, a)
			continue
		}
		layout(row)
		row = []float64{a}
	}
	if len(row) > 0 {
		layout(row)
	}
	return out
}

// treemapFiles is how many files of a distribution get a tile of their
// own; the rest share one.
const treemapFiles = 40

// header is the height of a distribution's title strip.
const header = 16.0

// treemap renders the payload as an SVG treemap: one tile per
// distribution, sized by its bytes, holding one tile per file.
func treemap(p *Package, width, height float64) template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="treemap" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="payload of %s by distribution and file">`,
		width, height, width, height, esc(p.File))
	var dists []*Dist
	var total float64
	for _, d := range p.Dists {
		if d.Size > 0 {
			dists = append(dists, d)
			total += float64(d.Size)
		}
	}
	if total == 0 {
		b.WriteString("</svg>")
		return template.HTML(b.String())
	}
	scale := width * height / total
	var areas []float64
	for _, d := range dists {
		areas = append(areas, float64(d.Size)*scale)
	}
	for i, r := range squarify(areas, rect{0, 0, width, height}) {
		d := dists[i]
		hue := hueOf(d.Name)
		fmt.Fprintf(&b, `<g class="dist" data-dist="%s"><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="hsl(%d,45%%,42%%)" stroke="#fff" stroke-width="1.5"><title>%s %s: %s (%s of the payload)</title></rect>`,
			esc(d.Name), r.x, r.y, r.w, r.h, hue, esc(d.Name), esc(d.Version), Bytes(d.Size), percent(d.Size, int64(total)))
		inner := rect{r.x + 2, r.y + header, r.w - 4, r.h - header - 2}
		if inner.w > 4 && inner.h > 4 {
			writeFiles(&b, d, inner, hue)
		}
		if r.w > 50 && r.h > 14 {
			label := d.Name + " " + Bytes(d.Size)
			if max := int(r.w / 6.5); len(label) > max {
				label = label[:max]
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`, r.x+4, r.y+12, esc(label))
		}
		b.WriteString("</g>")
	}
	b.WriteString("</svg>")
	return template.HTML(b.String())
}

func writeFiles(b *strings.Builder, d *Dist, r rect, hue int) {
	type tile struct {
		name string
		size int64
	}
	var tiles []tile
	var rest int64
	restN := 0
	for i, f := range d.Files {
		switch {
		case f.Size == 0:
		case i < treemapFiles:
			tiles = append(tiles, tile{f.Path, f.Size})
		default:
			rest += f.Size
			restN++
		}
	}
	if rest > 0 {
		tiles = append(tiles, tile{fmt.Sprintf("%d smaller files", restN), rest})
	}
	var total float64
	for _, t := range tiles {
		total += float64(t.size)
	}
	if total == 0 {
		return
	}
	scale := r.w * r.h / total
	var areas []float64
	for _, t := range tiles {
		areas = append(areas, float64(t.size)*scale)
	}
	for i, fr := range squarify(areas, r) {
		fmt.Fprintf(b, `<rect class="file" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="hsl(%d,50%%,%d%%)" stroke="hsl(%d,45%%,35%%)" stroke-width="0.5"><title>%s: %s</title></rect>`,
			fr.x, fr.y, fr.w, fr.h, hue, 58+(i%3)*6, hue, esc(tiles[i].name), Bytes(tiles[i].size))
	}
}

// hueOf gives each distribution a stable colour.
func hueOf(name string) int {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(name)))
	return int(h.Sum32() % 360)
}

func esc(s string) string { return template.HTMLEscapeString(s) }

// Bytes formats a size for people: 1.9 MiB.
func Bytes(n int64) string {
	neg := ""
	if n < 0 {
		neg, n = "-", -n
	}
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%s%.1f GiB", neg, float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%s%.1f MiB", neg, float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%s%.1f KiB", neg, float64(n)/(1<<10))
	}
	return fmt.Sprintf("%s%d B", neg, n)
}

func percent(n, total int64) string {
	if total == 0 {
		return "0%"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(total))
}
