package debwheel

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// zipTime is the modification time of every wheel entry, so wheels do not depend on when they were made.
var zipTime = time.Date(1980, time.January, 1, 0, 0, 0, 0, time.UTC)

// headers is the header section of a core metadata file, in order.
type headers [][2]string

// parseHeaders reads the RFC 822 style header section of PKG-INFO or METADATA, joining continuation lines.
func parseHeaders(data []byte) headers {
	var h headers
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && len(h) > 0 {
			h[len(h)-1][1] += "\n" + line
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if ok {
			h = append(h, [2]string{k, strings.TrimSpace(v)})
		}
	}
	return h
}

func (h headers) get(key string) string {
	for _, kv := range h {
		if strings.EqualFold(kv[0], key) {
			return kv[1]
		}
	}
	return ""
}

func (h headers) all(key string) []string {
	var vs []string
	for _, kv := range h {
		if strings.EqualFold(kv[0], key) {
			vs = append(vs, kv[1])
		}
	}
	return vs
}

// insertHeaders adds lines at the end of the header section of a metadata file, before its body.
func insertHeaders(data []byte, lines []string) []byte {
	if len(lines) == 0 {
		return data
	}
	text := string(data)
	add := strings.Join(lines, "\n") + "\n"
	if i := strings.Index(text, "\n\n"); i >= 0 {
		return []byte(text[:i+1] + add + text[i+1:])
	}
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	return []byte(text + add)
}

// convertRequires turns an egg-info requires.txt into Requires-Dist values and the extras it names. Sections are
// "[extra]", "[:marker]" or "[extra:marker]"; requirements before any section are unconditional.
func convertRequires(text string) (reqs, extras []string, err error) {
	var extra, marker string
	seen := map[string]bool{}
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "[") {
			if !strings.HasSuffix(line, "]") {
				return nil, nil, fmt.Errorf("line %d: section %q lacks its closing ]", n+1, line)
			}
			extra, marker, _ = strings.Cut(line[1:len(line)-1], ":")
			extra, marker = strings.TrimSpace(extra), strings.TrimSpace(marker)
			if extra != "" && !seen[extra] {
				seen[extra] = true
				extras = append(extras, extra)
			}
			continue
		}
		req, own, _ := strings.Cut(line, ";")
		req = strings.TrimSpace(req)
		var conds []string
		for _, c := range []string{strings.TrimSpace(own), marker} {
			if c != "" {
				conds = append(conds, c)
			}
		}
		if extra != "" {
			conds = append(conds, fmt.Sprintf("extra == %q", extra))
		}
		switch len(conds) {
		case 0:
		case 1:
			req += "; " + conds[0]
		default:
			for i, c := range conds[:len(conds)-1] {
				conds[i] = "(" + c + ")"
			}
			req += "; " + strings.Join(conds, " and ")
		}
		reqs = append(reqs, req)
	}
	return reqs, extras, nil
}

// extSuffixRE matches CPython's version-specific extension module suffix, e.g. .cpython-311-x86_64-linux-gnu.so.
var extSuffixRE = regexp.MustCompile(`\.cpython-(3)(\d+)([a-z]*)-([a-z0-9_]+)-linux-gnu[a-z]*\.so$`)

// debArchPlatform maps Debian architectures and multiarch CPUs to the machine part of linux_* platform tags.
var debArchPlatform = map[string]string{
	"amd64": "x86_64", "x86_64": "x86_64",
	"arm64": "aarch64", "aarch64": "aarch64",
	"i386":  "i686",
	"armhf": "armv7l", "arm": "armv7l",
	"ppc64el": "ppc64le", "powerpc64le": "ppc64le",
	"s390x":   "s390x",
	"riscv64": "riscv64",
}

var (
	dependsPythonRE  = regexp.MustCompile(`python3 \(>= 3\.(\d+)`)
	requiresPythonRE = regexp.MustCompile(`>=\s*3\.(\d+)`)
)

// wheelTag picks the wheel's tag from its files: py3-none-any without shared objects, the version-specific CPython
// tag from an EXT_SUFFIX, else cp3X-abi3 for limited-API modules, X from the .deb's Depends on python3 or else from
// the distribution's Requires-Python.
func wheelTag(d *debContents, files []string, requiresPython string) (tag string, purelib bool, err error) {
	var specific, abi3, other bool
	var interp, abi, machine string
	for _, f := range files {
		base := path.Base(f)
		switch {
		case extSuffixRE.MatchString(base):
			m := extSuffixRE.FindStringSubmatch(base)
			mach, ok := debArchPlatform[m[4]]
			if !ok {
				return "", false, fmt.Errorf("%s: no platform tag known for CPU %q", f, m[4])
			}
			t := "cp" + m[1] + m[2]
			if specific && (t != interp || mach != machine) {
				return "", false, fmt.Errorf("%s is built for %s-%s, other modules for %s-%s", f, t, mach, interp, machine)
			}
			specific, interp, abi, machine = true, t, t+m[3], mach
		case strings.HasSuffix(base, ".abi3.so"):
			abi3 = true
		case strings.HasSuffix(base, ".so") || strings.Contains(base, ".so."):
			other = true
		}
	}
	if specific {
		return fmt.Sprintf("%s-%s-linux_%s", interp, abi, machine), false, nil
	}
	if !abi3 && !other {
		return "py3-none-any", true, nil
	}
	machine, ok := debArchPlatform[d.arch]
	if !ok {
		return "", false, fmt.Errorf("no platform tag known for Debian architecture %q", d.arch)
	}
	m := dependsPythonRE.FindStringSubmatch(d.depends)
	if m == nil {
		m = requiresPythonRE.FindStringSubmatch(requiresPython)
	}
	if m == nil {
		return "", false, fmt.Errorf("shared objects without a CPython suffix, and neither Depends %q nor Requires-Python %q names a minimum Python 3.X to tag them with", d.depends, requiresPython)
	}
	interp = "cp3" + m[1]
	if abi3 {
		return fmt.Sprintf("%s-abi3-linux_%s", interp, machine), false, nil
	}
	return fmt.Sprintf("%s-%s-linux_%s", interp, interp, machine), false, nil
}

// escapeName is the distribution name as wheel file names and .dist-info directories spell it.
func escapeName(name string) string {
	return strings.ToLower(regexp.MustCompile(`[-_.]+`).ReplaceAllString(name, "_"))
}

// member is one file of the wheel being written.
type member struct {
	name string
	data []byte
	exec bool
}

// writeWheel writes the distribution's wheel to outDir through a temp file and a rename.
func writeWheel(res *resolver, dist *distribution, outDir string) (string, error) {
	tag, purelib, err := wheelTag(res.main, dist.files, parseHeaders(dist.metadata).get("Requires-Python"))
	if err != nil {
		return "", err
	}
	name := escapeName(dist.name)
	version := strings.ReplaceAll(dist.version, "-", "_")
	infoDir := name + "-" + version + ".dist-info"
	var members []member
	for _, f := range dist.files {
		data, mode, err := res.resolve(sitePackages + f)
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", f, err)
		}
		members = append(members, member{name: f, data: data, exec: mode&0o111 != 0})
	}
	var meta []member
	for rel, data := range dist.extra {
		meta = append(meta, member{name: infoDir + "/" + rel, data: data})
	}
	wheelText := fmt.Sprintf("Wheel-Version: 1.0\nGenerator: venvpkg-debwheel\nRoot-Is-Purelib: %t\nTag: %s\n", purelib, tag)
	meta = append(meta,
		member{name: infoDir + "/METADATA", data: dist.metadata},
		member{name: infoDir + "/WHEEL", data: []byte(wheelText)},
	)
	sort.Slice(meta, func(i, j int) bool { return meta[i].name < meta[j].name })
	members = append(members, meta...)
	record, err := makeRecord(members, infoDir+"/RECORD")
	if err != nil {
		return "", err
	}
	members = append(members, member{name: infoDir + "/RECORD", data: record})

	out := filepath.Join(outDir, fmt.Sprintf("%s-%s-%s.whl", name, version, tag))
	tmp, err := os.CreateTemp(outDir, ".wheel-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	zw := zip.NewWriter(tmp)
	for _, m := range members {
		hdr := &zip.FileHeader{Name: m.name, Method: zip.Deflate, Modified: zipTime}
		mode := os.FileMode(0o644)
		if m.exec {
			mode = 0o755
		}
		hdr.SetMode(mode)
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			tmp.Close()
			return "", err
		}
		if _, err := w.Write(m.data); err != nil {
			tmp.Close()
			return "", err
		}
	}
	if err := zw.Close(); err != nil {
		tmp.Close()
		return "", fmt.Errorf("writing %s: %w", out, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("writing %s: %w", out, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return "", fmt.Errorf("writing %s: %w", out, err)
	}
	return out, nil
}

// makeRecord writes the RECORD rows of members (sha256 in unpadded urlsafe base64, size) and a last row for
// RECORD itself, without hash or size.
func makeRecord(members []member, recordName string) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	for _, m := range members {
		sum := sha256.Sum256(m.data)
		row := []string{m.name, "sha256=" + base64.RawURLEncoding.EncodeToString(sum[:]), strconv.Itoa(len(m.data))}
		if err := w.Write(row); err != nil {
			return nil, err
		}
	}
	if err := w.Write([]string{recordName, "", ""}); err != nil {
		return nil, err
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// recordRow is one row of a RECORD file.
type recordRow struct {
	path, hash string
	size       int64 // -1 when empty
}

// parseRecord reads a RECORD file.
func parseRecord(data []byte) ([]recordRow, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	var rows []recordRow
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		if len(rec) != 3 {
			return nil, fmt.Errorf("row %q has %d fields, want path,hash,size", rec, len(rec))
		}
		row := recordRow{path: rec[0], hash: rec[1], size: -1}
		if rec[2] != "" {
			if row.size, err = strconv.ParseInt(rec[2], 10, 64); err != nil {
				return nil, fmt.Errorf("row for %s: size %q is not a number", rec[0], rec[2])
			}
		}
		rows = append(rows, row)
	}
}

// VerifyRecord checks a wheel's RECORD against its contents: every member but RECORD is listed exactly once with
// its sha256 and size, and every listed file is in the wheel. It returns nil for a consistent wheel.
func VerifyRecord(wheelPath string) error {
	zr, err := zip.OpenReader(wheelPath)
	if err != nil {
		return err
	}
	defer zr.Close()
	var record *zip.File
	members := map[string]*zip.File{}
	for _, f := range zr.File {
		if _, dup := members[f.Name]; dup {
			return fmt.Errorf("%s: %s appears twice", wheelPath, f.Name)
		}
		members[f.Name] = f
		if strings.HasSuffix(f.Name, ".dist-info/RECORD") && strings.Count(f.Name, "/") == 1 {
			record = f
		}
	}
	if record == nil {
		return fmt.Errorf("%s has no .dist-info/RECORD", wheelPath)
	}
	data, err := readZipFile(record)
	if err != nil {
		return err
	}
	rows, err := parseRecord(data)
	if err != nil {
		return fmt.Errorf("%s: RECORD: %w", wheelPath, err)
	}
	listed := map[string]bool{}
	for _, row := range rows {
		if listed[row.path] {
			return fmt.Errorf("%s: RECORD lists %s twice", wheelPath, row.path)
		}
		listed[row.path] = true
		f, ok := members[row.path]
		if !ok {
			return fmt.Errorf("%s: RECORD lists %s, which is not in the wheel", wheelPath, row.path)
		}
		if row.path == record.Name {
			continue
		}
		content, err := readZipFile(f)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(content)
		if want := "sha256=" + base64.RawURLEncoding.EncodeToString(sum[:]); row.hash != want {
			return fmt.Errorf("%s: RECORD hash of %s is %q, content hashes to %q", wheelPath, row.path, row.hash, want)
		}
		if row.size != int64(len(content)) {
			return fmt.Errorf("%s: RECORD size of %s is %d, content is %d bytes", wheelPath, row.path, row.size, len(content))
		}
	}
	for name := range members {
		if !listed[name] && !strings.HasSuffix(name, "/") {
			return fmt.Errorf("%s: %s is not listed in RECORD", wheelPath, name)
		}
	}
	return nil
}

func readZipFile(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", f.Name, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", f.Name, err)
	}
	return data, nil
}
