package repo

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ulikunitz/xz"

	"github.com/venvpkg/venvpkg/internal/distver"
)

// debEntry is one package of an APT index: its control fields followed by
// Filename, Size, SHA256 and SHA512, as a paragraph of a Packages file.
type debEntry struct {
	fields paragraph
}

func (e debEntry) name() string     { return e.fields.Get("Package") }
func (e debEntry) version() string  { return e.fields.Get("Version") }
func (e debEntry) arch() string     { return e.fields.Get("Architecture") }
func (e debEntry) filename() string { return e.fields.Get("Filename") }
func (e debEntry) sha256() string   { return e.fields.Get("SHA256") }

// newDebEntry makes the index entry of a package whose control paragraph
// is control, stored at filename (relative to the APT root).
func newDebEntry(control paragraph, filename string, sum fileSum) debEntry {
	idx := []field{
		{Name: "Filename", Value: filename},
		{Name: "Size", Value: strconv.FormatInt(sum.size, 10)},
		{Name: "SHA256", Value: sum.sha256},
		{Name: "SHA512", Value: sum.sha512},
	}
	var p paragraph
	inserted := false
	for _, f := range control {
		if strings.EqualFold(f.Name, "Description") && !inserted {
			p = append(p, idx...)
			inserted = true
		}
		p = append(p, f)
	}
	if !inserted {
		p = append(p, idx...)
	}
	return debEntry{fields: p}
}

// poolPath returns where a package goes in the pool:
// pool/<component>/<first letter, or lib + letter>/<source>/<name>_<version>_<arch>.deb,
// the version without its epoch as dpkg-name writes it.
func poolPath(component string, control paragraph) string {
	src := sourceName(control.Get("Source"))
	if src == "" {
		src = control.Get("Package")
	}
	prefix := src[:1]
	if strings.HasPrefix(src, "lib") && len(src) > 3 {
		prefix = src[:4]
	}
	v := control.Get("Version")
	if i := strings.IndexByte(v, ':'); i >= 0 {
		v = v[i+1:]
	}
	return "pool/" + component + "/" + prefix + "/" + src + "/" + control.Get("Package") + "_" + v + "_" + control.Get("Architecture") + ".deb"
}

// sortDebEntries orders entries by name, then newest version first, then
// architecture, the order every generated Packages file uses.
func sortDebEntries(es []debEntry) {
	slices.SortStableFunc(es, func(a, b debEntry) int {
		if c := strings.Compare(a.name(), b.name()); c != 0 {
			return c
		}
		if c := distver.CompareDeb(b.version(), a.version()); c != 0 {
			return c
		}
		if c := strings.Compare(a.arch(), b.arch()); c != 0 {
			return c
		}
		return strings.Compare(a.filename(), b.filename())
	})
}

// packagesFile returns the Packages index of arch: every entry of that
// architecture and every "all" entry, sorted.
func packagesFile(entries []debEntry, arch string) []byte {
	var sel []debEntry
	for _, e := range entries {
		if e.arch() == arch || e.arch() == "all" {
			sel = append(sel, e)
		}
	}
	sortDebEntries(sel)
	var b bytes.Buffer
	for i, e := range sel {
		if i > 0 {
			b.WriteByte('\n')
		}
		e.fields.write(&b)
	}
	return b.Bytes()
}

// indexFile is one generated file and its checksums.
type indexFile struct {
	path string // relative to the directory its checksums are listed for
	data []byte
	sum  fileSum
}

// fileSum holds the size and digests of one file.
type fileSum struct {
	size           int64
	sha256, sha512 string
}

func sumOf(data []byte) fileSum {
	s256 := sha256.Sum256(data)
	s512 := sha512.Sum512(data)
	return fileSum{size: int64(len(data)), sha256: hex.EncodeToString(s256[:]), sha512: hex.EncodeToString(s512[:])}
}

// sumReader hashes r in one pass.
func sumReader(r io.Reader) (fileSum, error) {
	h256, h512 := sha256.New(), sha512.New()
	n, err := io.Copy(io.MultiWriter(h256, h512), r)
	if err != nil {
		return fileSum{}, err
	}
	return fileSum{size: n, sha256: hex.EncodeToString(h256.Sum(nil)), sha512: hex.EncodeToString(h512.Sum(nil))}, nil
}

// compressed returns data as a gzip and an xz stream; both are
// deterministic (no name or time in the gzip header).
func compressed(data []byte) (gz, xzData []byte, err error) {
	var g bytes.Buffer
	gw, err := gzip.NewWriterLevel(&g, gzip.BestCompression)
	if err != nil {
		return nil, nil, err
	}
	if _, err := gw.Write(data); err != nil {
		return nil, nil, err
	}
	if err := gw.Close(); err != nil {
		return nil, nil, err
	}
	var x bytes.Buffer
	// A dictionary no larger than the data keeps small indexes cheap.
	xw, err := xz.WriterConfig{DictCap: min(max(len(data), 1<<12), 8<<20)}.NewWriter(&x)
	if err != nil {
		return nil, nil, err
	}
	if _, err := xw.Write(data); err != nil {
		return nil, nil, err
	}
	if err := xw.Close(); err != nil {
		return nil, nil, err
	}
	return g.Bytes(), x.Bytes(), nil
}

// suiteIndexes returns the Packages, Packages.gz and Packages.xz of every
// component and architecture, with paths relative to dists/<suite>.
func suiteIndexes(components map[string][]debEntry, arches []string) ([]indexFile, error) {
	var files []indexFile
	for _, comp := range sortedKeys(components) {
		for _, arch := range arches {
			plain := packagesFile(components[comp], arch)
			gz, x, err := compressed(plain)
			if err != nil {
				return nil, fmt.Errorf("compressing %s/binary-%s/Packages: %w", comp, arch, err)
			}
			dir := comp + "/binary-" + arch + "/"
			for _, f := range []struct {
				name string
				data []byte
			}{{"Packages", plain}, {"Packages.gz", gz}, {"Packages.xz", x}} {
				files = append(files, indexFile{path: dir + f.name, data: f.data, sum: sumOf(f.data)})
			}
		}
	}
	return files, nil
}

// releaseInfo holds the fields of a Release file that are not checksums.
type releaseInfo struct {
	Origin, Label, Suite, Codename, Description string
	Date                                        time.Time
	Architectures, Components                   []string
}

// releaseFile returns the Release file of a suite listing files (Debian
// repository format: https://wiki.debian.org/DebianRepository/Format).
func releaseFile(info releaseInfo, files []indexFile) []byte {
	var b bytes.Buffer
	add := func(name, value string) {
		if value != "" {
			fmt.Fprintf(&b, "%s: %s\n", name, value)
		}
	}
	add("Origin", info.Origin)
	add("Label", info.Label)
	add("Suite", info.Suite)
	add("Codename", info.Codename)
	add("Date", info.Date.UTC().Format(time.RFC1123Z))
	add("Architectures", strings.Join(info.Architectures, " "))
	add("Components", strings.Join(info.Components, " "))
	add("Description", info.Description)
	add("Acquire-By-Hash", "yes")
	sorted := slices.Clone(files)
	slices.SortFunc(sorted, func(a, b indexFile) int { return strings.Compare(a.path, b.path) })
	width := 0
	for _, f := range sorted {
		width = max(width, len(strconv.FormatInt(f.sum.size, 10)))
	}
	for _, h := range []struct {
		name string
		get  func(fileSum) string
	}{{"SHA256", func(s fileSum) string { return s.sha256 }}, {"SHA512", func(s fileSum) string { return s.sha512 }}} {
		b.WriteString(h.name + ":\n")
		for _, f := range sorted {
			fmt.Fprintf(&b, " %s %*d %s\n", h.get(f.sum), width, f.sum.size, f.path)
		}
	}
	return b.Bytes()
}

// releaseHashes reads the SHA256 and SHA512 lists of a Release file: path
// to checksums, and every digest listed.
func releaseHashes(p paragraph) map[string]fileSum {
	files := map[string]fileSum{}
	for _, name := range []string{"SHA256", "SHA512"} {
		for _, line := range strings.Split(p.Get(name), "\n") {
			f := strings.Fields(line)
			if len(f) != 3 {
				continue
			}
			size, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				continue
			}
			s := files[f[2]]
			s.size = size
			if name == "SHA256" {
				s.sha256 = f[0]
			} else {
				s.sha512 = f[0]
			}
			files[f[2]] = s
		}
	}
	return files
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
