package repo

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// Bounds on what a .deb may hold besides file contents, which are streamed:
// the control files are read into memory.
const (
	maxMD5sumsSize     = 256 << 20
	maxZstdWindow      = 128 << 20
	debianBinaryMaxLen = 64
)

// verifyDeb reads a whole Debian binary package from r and checks it the
// way dpkg-deb reads it to install it, so that what a repository lists
// installs: the ar structure (deb(5): debian-binary, control.tar, data.tar,
// in that order, every member whole, nothing after them but members whose
// names start with "_"), the format version, the control file's fields,
// and the data archive decompressed and walked to its end, each file
// checked against md5sums. It returns the control paragraph, checked as
// checkControl does. Contents are streamed: memory holds the control
// files, never the data.
func verifyDeb(r io.Reader) (paragraph, error) {
	magic := make([]byte, 8)
	if n, err := io.ReadFull(r, magic); err != nil || string(magic) != "!<arch>\n" {
		if n > 0 && bytes.HasPrefix([]byte("!<arch>\n"), magic[:n]) {
			return nil, fmt.Errorf("truncated: the file ends after %d bytes, inside the ar magic", n)
		}
		return nil, errors.New("not a .deb: no ar archive header")
	}
	v := &debVerifier{}
	offset := int64(8)
	for {
		m, n, err := readARHeader(r, offset)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if v.stage == stageDone {
				rest, _ := io.Copy(io.Discard, r)
				return nil, fmt.Errorf("%d bytes of trailing data after the last member %s (offset %d), not an ar member", int64(n)+rest, v.last, offset)
			}
			return nil, err
		}
		offset += 60
		body := &memberReader{r: r, left: m.size}
		if err := v.member(m, body); err != nil {
			if body.short {
				return nil, fmt.Errorf("truncated: the file ends %d bytes into the %d-byte member %s (offset %d)", m.size-body.left, m.size, m.name, offset)
			}
			return nil, err
		}
		if body.left > 0 {
			return nil, fmt.Errorf("member %s: %d bytes after its %s data; the member is damaged", m.name, body.left, m.name)
		}
		offset += m.size
		if m.size%2 == 1 {
			var pad [1]byte
			if _, err := io.ReadFull(r, pad[:]); err != nil {
				return nil, fmt.Errorf("truncated: the file ends before the padding byte of member %s (offset %d)", m.name, offset)
			}
			if pad[0] != '\n' {
				return nil, fmt.Errorf("member %s: padding byte at offset %d is %#x, not a newline; the archive is damaged", m.name, offset, pad[0])
			}
			offset++
		}
		v.last = m.name
	}
	switch v.stage {
	case stageVersion:
		return nil, errors.New("not a .deb: an ar archive without members")
	case stageControl:
		return nil, errors.New("truncated or incomplete: no control.tar member after debian-binary")
	case stageData:
		return nil, fmt.Errorf("truncated or incomplete: no data.tar member after %s", v.last)
	}
	return v.control, nil
}

// arMember is one member header of an ar archive.
type arMember struct {
	name string
	size int64
}

var (
	arNameRE       = regexp.MustCompile(`^[A-Za-z0-9_.+-]+$`)
	debianBinaryRE = regexp.MustCompile(`^2\.[0-9]+\n`)
)

// readARHeader reads the 60-byte header of the member at offset: name,
// mtime, uid, gid (decimal), mode (octal), size (decimal) and "`\n". It
// returns io.EOF at a clean end of the archive, and the number of bytes
// read.
func readARHeader(r io.Reader, offset int64) (arMember, int, error) {
	var hdr [60]byte
	n, err := io.ReadFull(r, hdr[:])
	if errors.Is(err, io.EOF) {
		return arMember{}, 0, io.EOF
	}
	if err != nil {
		return arMember{}, n, fmt.Errorf("truncated: the file ends %d bytes into the ar member header at offset %d", n, offset)
	}
	m, err := parseARHeader(hdr, offset)
	return m, n, err
}

func parseARHeader(hdr [60]byte, offset int64) (arMember, error) {
	if string(hdr[58:60]) != "`\n" {
		return arMember{}, fmt.Errorf("bad ar member header at offset %d (no \"`\\n\" terminator)", offset)
	}
	name := strings.TrimSuffix(strings.TrimRight(string(hdr[0:16]), " "), "/")
	if !arNameRE.MatchString(name) {
		return arMember{}, fmt.Errorf("bad ar member header at offset %d: name %q", offset, hdr[0:16])
	}
	for _, f := range []struct {
		what     string
		from, to int
		digits   string
	}{{"mtime", 16, 28, "0123456789"}, {"owner", 28, 34, "0123456789"}, {"group", 34, 40, "0123456789"}, {"mode", 40, 48, "01234567"}} {
		if v := strings.TrimRight(string(hdr[f.from:f.to]), " "); strings.Trim(v, f.digits) != "" {
			return arMember{}, fmt.Errorf("bad ar member header of %s at offset %d: %s %q is not a number", name, offset, f.what, v)
		}
	}
	sizeField := strings.TrimRight(string(hdr[48:58]), " ")
	size, err := strconv.ParseInt(sizeField, 10, 64)
	if err != nil || size < 0 || strings.Trim(sizeField, "0123456789") != "" {
		return arMember{}, fmt.Errorf("bad ar member header of %s at offset %d: size %q", name, offset, sizeField)
	}
	return arMember{name: name, size: size}, nil
}

// memberReader reads one ar member's data and notes whether the file ended
// before it did.
type memberReader struct {
	r     io.Reader
	left  int64
	short bool
}

func (m *memberReader) Read(p []byte) (int, error) {
	if m.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > m.left {
		p = p[:m.left]
	}
	n, err := m.r.Read(p)
	m.left -= int64(n)
	if errors.Is(err, io.EOF) {
		if m.left > 0 {
			m.short = true
			return n, io.ErrUnexpectedEOF
		}
		err = nil
	}
	return n, err
}

// The members a .deb has, in order.
const (
	stageVersion = iota // expecting debian-binary
	stageControl        // expecting control.tar*
	stageData           // expecting data.tar*
	stageDone           // after data.tar*: only "_" members may follow
)

// debVerifier keeps what the members read so far said.
type debVerifier struct {
	stage     int
	last      string // name of the last member read
	control   paragraph
	md5sums   map[string]string // path without "./" → hex MD5
	conffiles map[string]bool
	hasMD5    bool
}

func (v *debVerifier) member(m arMember, body io.Reader) error {
	if strings.HasPrefix(m.name, "_") && v.stage != stageVersion {
		// deb(5): members starting with "_" may be added (debsigs'
		// _gpgorigin); dpkg ignores them.
		_, err := io.Copy(io.Discard, body)
		return err
	}
	switch v.stage {
	case stageVersion:
		if m.name != "debian-binary" {
			return fmt.Errorf("not a .deb: the first member is %s, not debian-binary", m.name)
		}
		if m.size > debianBinaryMaxLen {
			return fmt.Errorf("debian-binary is %d bytes; a .deb of format 2.0 has 4", m.size)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			return err
		}
		if !debianBinaryRE.Match(b) {
			return fmt.Errorf("debian-binary says %q, not format 2.x; the file is damaged or not a binary package", b)
		}
	case stageControl:
		if !strings.HasPrefix(m.name, "control.tar") {
			return fmt.Errorf("member %s where control.tar belongs (deb(5) order: debian-binary, control.tar, data.tar)", m.name)
		}
		if m.size > maxControlSize {
			return fmt.Errorf("%s is %d bytes, more than the %d a control archive may have", m.name, m.size, maxControlSize)
		}
		if err := v.readControl(m.name, body); err != nil {
			return err
		}
	case stageData:
		if !strings.HasPrefix(m.name, "data.tar") {
			return fmt.Errorf("member %s where data.tar belongs (deb(5) order: debian-binary, control.tar, data.tar)", m.name)
		}
		if err := v.readData(m.name, body); err != nil {
			return err
		}
	default:
		return fmt.Errorf("member %s after %s: a .deb ends with data.tar (only members named _* may follow); the file has data appended", m.name, v.last)
	}
	v.stage++
	return nil
}

// decompress returns a reader of the uncompressed member, by the member
// name's suffix, and a func that releases it.
func decompress(name string, r io.Reader, allowed ...string) (io.Reader, func(), error) {
	ext := path.Ext(name)
	if ext == ".tar" {
		ext = ""
	}
	ok := ext == ""
	for _, a := range allowed {
		ok = ok || ext == a
	}
	if !ok {
		return nil, nil, fmt.Errorf("unsupported compression of %s", name)
	}
	nop := func() {}
	switch ext {
	case "":
		return r, nop, nil
	case ".gz":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		return zr, func() { zr.Close() }, nil
	case ".xz":
		zr, err := xz.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		return zr, nop, nil
	case ".zst":
		zr, err := zstd.NewReader(r, zstd.WithDecoderMaxWindow(maxZstdWindow))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		return zr, zr.Close, nil
	case ".bz2":
		return bzip2.NewReader(r), nop, nil
	case ".lzma":
		zr, err := lzma.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		return zr, nop, nil
	}
	return nil, nil, fmt.Errorf("unsupported compression of %s", name)
}

// walkTar reads the tar archive of member name from r to its end, calling
// fn for every entry, then checks that nothing but zero blocks follows the
// end-of-archive marker and that the compressed stream ends with the member.
func walkTar(name string, r io.Reader, body io.Reader, fn func(*tar.Header, *tar.Reader) error) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := fn(h, tr); err != nil {
			return err
		}
	}
	// Read the decompressed stream to its end: zero blocks may pad the
	// archive, and the compressor's own check (gzip CRC, xz check, zstd
	// checksum) is verified at the end of the stream.
	rest := bufio.NewReader(r)
	for {
		b, err := rest.ReadByte()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if b != 0 {
			return fmt.Errorf("%s: data after the end of the tar archive", name)
		}
	}
	// A compressed stream must end where the member does.
	if n, err := io.Copy(io.Discard, body); err != nil {
		return err
	} else if n > 0 {
		return fmt.Errorf("%s: %d bytes after the end of its compressed stream", name, n)
	}
	return nil
}

// entryName returns the name of a tar entry without its "./" prefix
// ("control" for "./control"), or "" for the archive's own directory.
func entryName(h *tar.Header) string {
	n := strings.TrimPrefix(h.Name, "./")
	if n == "." || n == "./" || n == "" {
		return ""
	}
	return strings.TrimSuffix(n, "/")
}

func (v *debVerifier) readControl(name string, body io.Reader) error {
	zr, release, err := decompress(name, body, ".gz", ".xz", ".zst")
	if err != nil {
		return err
	}
	defer release()
	var control []byte
	err = walkTar(name, zr, body, func(h *tar.Header, tr *tar.Reader) error {
		n := entryName(h)
		switch {
		case n == "" && h.Typeflag == tar.TypeDir:
			return nil
		case n == "" || strings.Contains(n, "/") || h.Typeflag != tar.TypeReg:
			return fmt.Errorf("%s: entry %q (type %q): a control archive holds only plain files", name, h.Name, h.Typeflag)
		}
		limit := int64(maxControlSize)
		if n == "md5sums" {
			limit = maxMD5sumsSize
		}
		if h.Size > limit {
			return fmt.Errorf("%s: %s is %d bytes, more than the %d allowed", name, n, h.Size, limit)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return fmt.Errorf("%s: reading %s: %w", name, n, err)
		}
		switch n {
		case "control":
			control = b
		case "md5sums":
			if v.md5sums, err = parseMD5sums(b); err != nil {
				return fmt.Errorf("%s: md5sums: %w", name, err)
			}
			v.hasMD5 = true
		case "conffiles":
			v.conffiles = map[string]bool{}
			for _, line := range strings.Split(string(b), "\n") {
				if f := strings.Fields(line); len(f) > 0 {
					v.conffiles[strings.TrimPrefix(f[len(f)-1], "/")] = true
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if control == nil {
		return fmt.Errorf("%s has no control file", name)
	}
	paras, err := parseDeb822(bytes.NewReader(control))
	if err != nil {
		return fmt.Errorf("control file: %w", err)
	}
	if len(paras) != 1 {
		return fmt.Errorf("control file has %d paragraphs, want 1", len(paras))
	}
	if v.control, err = checkControl(paras[0]); err != nil {
		return err
	}
	return checkControlFields(paras[0])
}

var md5sumsLineRE = regexp.MustCompile(`^([0-9a-fA-F]{32}) [ *]?(.+)$`)

// parseMD5sums reads the md5sums control file: "<md5>  <path>" lines,
// paths relative to the root.
func parseMD5sums(b []byte) (map[string]string, error) {
	sums := map[string]string{}
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if line == "" && len(b) <= 1 {
			continue
		}
		m := md5sumsLineRE.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("line %d: %q is not \"<md5>  <path>\"", i+1, line)
		}
		p := strings.TrimPrefix(strings.TrimPrefix(m[2], "./"), "/")
		if _, dup := sums[p]; dup {
			return nil, fmt.Errorf("line %d: %s is listed twice", i+1, p)
		}
		sums[p] = strings.ToLower(m[1])
	}
	return sums, nil
}

var (
	debRelationRE = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]*(:[a-z0-9-]+)?` +
		`(\s*\(\s*(<<|<=|=|>=|>>|<|>)\s*[^\s()]+\s*\))?` +
		`(\s*\[\s*!?[a-z0-9-]+(\s+!?[a-z0-9-]+)*\s*\])?` +
		`(\s*<\s*!?[a-z0-9.+-]+(\s+!?[a-z0-9.+-]+)*\s*>)*$`)
	debRelationFields = []string{"Depends", "Pre-Depends", "Recommends", "Suggests", "Enhances", "Breaks", "Conflicts", "Replaces", "Provides"}
)

// checkControlFields checks the fields of a binary package's control file
// that dpkg needs besides those checkControl checks: Maintainer and
// Description present, Installed-Size a number, and the relationship
// fields in the syntax of Debian Policy 7.1.
func checkControlFields(p paragraph) error {
	name := p.Get("Package")
	for _, f := range []string{"Maintainer", "Description"} {
		if strings.TrimSpace(p.Get(f)) == "" {
			return fmt.Errorf("control file: %s has no %s field", name, f)
		}
	}
	if s := p.Get("Installed-Size"); s != "" && strings.Trim(s, "0123456789") != "" {
		return fmt.Errorf("control file: Installed-Size %q of %s is not a number of KiB", s, name)
	}
	for _, f := range debRelationFields {
		v := strings.Join(strings.Fields(p.Get(f)), " ")
		if v == "" {
			continue
		}
		for _, rel := range strings.Split(v, ",") {
			for _, alt := range strings.Split(rel, "|") {
				if alt = strings.TrimSpace(alt); !debRelationRE.MatchString(alt) {
					return fmt.Errorf("control file: %s of %s: %q is not a package relationship (name, optional (op version), [arch])", f, name, alt)
				}
			}
		}
	}
	return nil
}

func (v *debVerifier) readData(name string, body io.Reader) error {
	zr, release, err := decompress(name, body, ".gz", ".xz", ".zst", ".bz2", ".lzma")
	if err != nil {
		return err
	}
	defer release()
	seen := map[string]bool{}
	h := md5.New()
	buf := make([]byte, 256<<10)
	err = walkTar(name, zr, body, func(hdr *tar.Header, tr *tar.Reader) error {
		p := entryName(hdr)
		if p == "" {
			return nil
		}
		if path.IsAbs(p) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") {
			return fmt.Errorf("%s: entry %q is not a clean path below the root", name, hdr.Name)
		}
		switch hdr.Typeflag {
		case tar.TypeReg:
		case tar.TypeLink:
			target := strings.TrimPrefix(strings.TrimPrefix(hdr.Linkname, "./"), "/")
			if want, listed := v.md5sums[p]; listed {
				if got, ok := v.md5sums[target]; ok && got != want {
					return fmt.Errorf("%s: %s is a hard link to %s, but md5sums gives them different MD5s", name, p, target)
				}
				seen[p] = true
			}
			return nil
		case tar.TypeDir, tar.TypeSymlink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			return nil
		default:
			return fmt.Errorf("%s: entry %q has tar type %q, which dpkg does not install", name, hdr.Name, hdr.Typeflag)
		}
		if !v.hasMD5 {
			return fmt.Errorf("control.tar has no md5sums, and the package has files (%s); dpkg --verify and debsums need it: write DEBIAN/md5sums before dpkg-deb --build (debhelper's dh_md5sums, nfpm and venvpkg do)", p)
		}
		h.Reset()
		if _, err := io.CopyBuffer(h, tr, buf); err != nil {
			return fmt.Errorf("%s: reading %s: %w", name, p, err)
		}
		want, listed := v.md5sums[p]
		switch {
		case !listed && v.conffiles[p]:
			// dh_md5sums leaves conffiles out; dpkg keeps their own sums.
		case !listed:
			return fmt.Errorf("%s holds %s, which md5sums does not list", name, p)
		default:
			if got := hex.EncodeToString(h.Sum(nil)); got != want {
				return fmt.Errorf("%s: %s has MD5 %s, md5sums says %s: the contents disagree with md5sums", name, p, got, want)
			}
		}
		seen[p] = true
		return nil
	})
	if err != nil {
		return err
	}
	var missing []string
	for p := range v.md5sums {
		if !seen[p] {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("md5sums lists %s, which %s does not hold (%d missing)", missing[0], name, len(missing))
	}
	return nil
}
