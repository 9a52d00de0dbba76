package wheel

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// wheelOpts adjusts a synthetic wheel.
type wheelOpts struct {
	modes      map[string]fs.FileMode // zip mode per member (default 0644)
	order      []string               // member order; default sorted, RECORD last
	noRecordOf map[string]bool        // members left out of RECORD
	extraRows  []string               // RECORD rows added verbatim
	tamper     map[string][]byte      // content written instead of the hashed one
	noRecord   bool                   // write no RECORD at all
	method     uint16                 // zip.Deflate (default) or zip.Store
}

type wheelOpt func(*wheelOpts)

func withMode(name string, m fs.FileMode) wheelOpt {
	return func(o *wheelOpts) { o.modes[name] = m }
}
func withoutRecordRow(name string) wheelOpt {
	return func(o *wheelOpts) { o.noRecordOf[name] = true }
}
func withExtraRow(row string) wheelOpt {
	return func(o *wheelOpts) { o.extraRows = append(o.extraRows, row) }
}
func withTamper(name string, data []byte) wheelOpt {
	return func(o *wheelOpts) { o.tamper[name] = data }
}
func withStore() wheelOpt { return func(o *wheelOpts) { o.method = zip.Store } }

// recordHash is the RECORD hash field of data.
func recordHash(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256=" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// makeWheel writes dir/base containing files plus a correct RECORD in the
// dist-info directory (the one member whose top directory ends in
// .dist-info), using the standard library's zip writer.
func makeWheel(t testing.TB, dir, base string, files map[string][]byte, opts ...wheelOpt) string {
	t.Helper()
	o := wheelOpts{modes: map[string]fs.FileMode{}, noRecordOf: map[string]bool{}, tamper: map[string][]byte{}, method: zip.Deflate}
	for _, f := range opts {
		f(&o)
	}
	names := make([]string, 0, len(files))
	distInfo := ""
	for n := range files {
		names = append(names, n)
		if top, _, _ := strings.Cut(n, "/"); strings.HasSuffix(top, ".dist-info") && distInfo == "" {
			distInfo = top
		}
	}
	sort.Strings(names)
	var rows []string
	for _, n := range names {
		if !o.noRecordOf[n] && !strings.HasSuffix(n, "/") {
			rows = append(rows, fmt.Sprintf("%s,%s,%d", csvField(n), recordHash(files[n]), len(files[n])))
		}
	}
	rows = append(rows, o.extraRows...)
	recName := distInfo + "/RECORD"
	rows = append(rows, recName+",,")
	if o.order != nil {
		names = o.order
	} else if !o.noRecord {
		names = append(names, recName)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		data := files[n]
		if n == recName && files[n] == nil {
			data = []byte(strings.Join(rows, "\n") + "\n")
		}
		if d, ok := o.tamper[n]; ok {
			data = d
		}
		mode := o.modes[n]
		if mode == 0 {
			mode = 0o644
		}
		h := &zip.FileHeader{Name: n, Method: o.method}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, base)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func csvField(s string) string {
	if strings.ContainsAny(s, ",\"") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// demoFiles returns the dist-info files of a minimal wheel.
func demoFiles(name, version string, purelib bool) map[string][]byte {
	di := strings.ReplaceAll(name, "-", "_") + "-" + version + ".dist-info/"
	return map[string][]byte{
		di + "METADATA": []byte("Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\nSummary: a demo\n"),
		di + "WHEEL":    []byte(fmt.Sprintf("Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: %v\nTag: py3-none-any\n", purelib)),
	}
}

// merge adds extra to files and returns files.
func merge(files map[string][]byte, extra map[string]string) map[string][]byte {
	for k, v := range extra {
		files[k] = []byte(v)
	}
	return files
}

// testScheme is a venv-like scheme under prefix.
func testScheme(prefix string) Scheme {
	return Scheme{
		Purelib: prefix + "/lib/python3.11/site-packages",
		Platlib: prefix + "/lib64/python3.11/site-packages",
		Headers: prefix + "/include/site/python3.11",
		Scripts: prefix + "/bin",
		Data:    prefix,
	}
}

// regularFiles lists the regular files under dir, relative and sorted.
func regularFiles(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
