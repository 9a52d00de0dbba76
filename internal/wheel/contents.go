package wheel

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/venvpkg/venvpkg/internal/pep503"
)

// contents is a wheel whose structure, dist-info directory, WHEEL, METADATA,
// entry points and RECORD coverage have been checked; only the member hashes
// remain to be verified, which happens while extracting.
type contents struct {
	a        *archive
	fn       Filename
	distInfo string // "name-1.0.dist-info"
	dataDir  string // "name-1.0.data"
	files    []*entry
	record   map[string]*recordRow
	wheel    wheelInfo
	meta     *Metadata
	scripts  []entryPoint
	hs       hashes
}

// Unix file types in the upper bits of a ZIP entry's external attributes.
const (
	modeType    = 0o170000
	modeSymlink = 0o120000
	modeDir     = 0o040000
	modeRegular = 0o100000
)

// maxMetaFile bounds the dist-info files read into memory.
const maxMetaFile = 256 << 20

// newContents checks everything about a wheel that can be checked without
// reading all of its members.
func newContents(a *archive, fn Filename) (*contents, error) {
	c := &contents{a: a, fn: fn}
	seen := make(map[string]bool, len(a.entries))
	folded := make(map[string]*entry, len(a.entries))
	distInfos := map[string]bool{}
	dataDirs := map[string]bool{}
	for i := range a.entries {
		e := &a.entries[i]
		if err := checkEntryName(e.name); err != nil {
			return nil, err
		}
		if seen[e.name] {
			return nil, fmt.Errorf("entry %q appears twice; the archive is ambiguous", e.name)
		}
		seen[e.name] = true
		if err := checkFoldedName(folded, e); err != nil {
			return nil, err
		}
		switch e.mode & modeType {
		case 0, modeRegular, modeDir:
		case modeSymlink:
			return nil, fmt.Errorf("entry %q is a symlink; wheels may contain only regular files", e.name)
		default:
			return nil, fmt.Errorf("entry %q is a special file (mode %o); wheels may contain only regular files", e.name, e.mode)
		}
		if e.isDir() {
			if e.usize != 0 {
				return nil, fmt.Errorf("directory entry %q has %d bytes of data", e.name, e.usize)
			}
		} else if e.mode&modeType == modeDir {
			return nil, fmt.Errorf("entry %q is marked as a directory but its name does not end in /", e.name)
		}
		top, rest, _ := strings.Cut(e.name, "/")
		switch {
		case strings.HasSuffix(top, ".dist-info"):
			distInfos[top] = true
		case strings.HasSuffix(top, ".data"):
			dataDirs[top] = true
		}
		if e.isDir() || inPycache(e.name) {
			continue
		}
		if rest == "" && (strings.HasSuffix(top, ".dist-info") || strings.HasSuffix(top, ".data")) {
			return nil, fmt.Errorf("entry %q is a file named like a metadata directory", e.name)
		}
		c.files = append(c.files, e)
	}
	if len(distInfos) != 1 {
		names := make([]string, 0, len(distInfos))
		for n := range distInfos {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("wheel must contain exactly one top-level .dist-info directory, found %d %q", len(names), names)
	}
	for n := range distInfos {
		c.distInfo = n
	}
	stem := strings.TrimSuffix(c.distInfo, ".dist-info")
	i := strings.LastIndexByte(stem, '-')
	if i < 0 || pep503.Normalize(stem[:i]) != pep503.Normalize(fn.Distribution) || !sameVersion(stem[i+1:], fn.Version) {
		return nil, fmt.Errorf("%s does not match the wheel's name and version %s %s", c.distInfo, fn.Distribution, fn.Version)
	}
	c.dataDir = stem + ".data"
	for i := range a.entries {
		if sub, ok := strings.CutPrefix(a.entries[i].name, c.dataDir+"/scripts/"); ok && sub != "" && a.entries[i].isDir() {
			return nil, fmt.Errorf("%s is a directory inside %s/scripts; scripts must be regular files directly in it", a.entries[i].name, c.dataDir)
		}
	}
	for d := range dataDirs {
		if d != c.dataDir {
			return nil, fmt.Errorf("unexpected data directory %s; this wheel's is %s", d, c.dataDir)
		}
	}
	sort.Slice(c.files, func(i, j int) bool { return c.files[i].dataOff < c.files[j].dataOff })

	byName := make(map[string]*entry, len(c.files))
	for _, e := range c.files {
		byName[e.name] = e
	}
	recEntry := byName[c.distInfo+"/RECORD"]
	if recEntry == nil {
		return nil, fmt.Errorf("%s/RECORD is missing", c.distInfo)
	}
	recData, err := c.readSmall(recEntry)
	if err != nil {
		return nil, err
	}
	rows, err := parseRecord(bytes.NewReader(recData))
	if err != nil {
		return nil, fmt.Errorf("%s/%w", c.distInfo, err)
	}
	if err := c.checkRecord(rows, byName); err != nil {
		return nil, err
	}

	wheelData, err := c.readVerified(byName, c.distInfo+"/WHEEL")
	if err != nil {
		return nil, err
	}
	if c.wheel, err = parseWheelFile(bytes.NewReader(wheelData)); err != nil {
		return nil, fmt.Errorf("%s/%w", c.distInfo, err)
	}
	metaData, err := c.readVerified(byName, c.distInfo+"/METADATA")
	if err != nil {
		return nil, err
	}
	if c.meta, err = ParseMetadata(bytes.NewReader(metaData)); err != nil {
		return nil, fmt.Errorf("%s/METADATA: %w", c.distInfo, err)
	}
	if pep503.Normalize(c.meta.Name) != pep503.Normalize(fn.Distribution) || !sameVersion(c.meta.Version, fn.Version) {
		return nil, fmt.Errorf("%s/METADATA names %s %s, but the wheel is %s %s", c.distInfo, c.meta.Name, c.meta.Version, fn.Distribution, fn.Version)
	}
	if byName[c.distInfo+"/entry_points.txt"] != nil {
		epData, err := c.readVerified(byName, c.distInfo+"/entry_points.txt")
		if err != nil {
			return nil, err
		}
		eps, err := parseEntryPoints(epData)
		if err != nil {
			return nil, fmt.Errorf("%s/%w", c.distInfo, err)
		}
		if c.scripts, err = scriptEntryPoints(eps); err != nil {
			return nil, fmt.Errorf("%s/%w", c.distInfo, err)
		}
	}
	return c, nil
}

// checkRecord requires a RECORD row with hash and size for every file and a
// file for every row.
func (c *contents) checkRecord(rows []recordRow, byName map[string]*entry) error {
	c.record = make(map[string]*recordRow, len(rows))
	for i := range rows {
		r := &rows[i]
		if _, dup := c.record[r.Path]; dup {
			return fmt.Errorf("%s/RECORD line %d: %s is listed twice", c.distInfo, r.Line, r.Path)
		}
		c.record[r.Path] = r
		if c.isSignature(r.Path) || inPycache(r.Path) || strings.HasSuffix(r.Path, "/") {
			continue
		}
		e := byName[r.Path]
		if e == nil {
			return fmt.Errorf("%s/RECORD line %d lists %s, which is not in the wheel", c.distInfo, r.Line, r.Path)
		}
		if r.Hash == "" || r.Size < 0 {
			return fmt.Errorf("%s/RECORD line %d: %s has no hash or size", c.distInfo, r.Line, r.Path)
		}
		if uint64(r.Size) != e.usize {
			return fmt.Errorf("%s/RECORD line %d: %s is %d bytes, but RECORD says %d", c.distInfo, r.Line, r.Path, e.usize, r.Size)
		}
	}
	for _, e := range c.files {
		if c.record[e.name] == nil && !c.isSignature(e.name) {
			return fmt.Errorf("%s is not listed in %s/RECORD", e.name, c.distInfo)
		}
	}
	return nil
}

// isSignature reports RECORD and its signatures, which RECORD cannot hash.
func (c *contents) isSignature(name string) bool {
	rest, ok := strings.CutPrefix(name, c.distInfo+"/")
	return ok && (rest == "RECORD" || rest == "RECORD.jws" || rest == "RECORD.p7s")
}

func (c *contents) readSmall(e *entry) ([]byte, error) {
	if e.usize > maxMetaFile {
		return nil, fmt.Errorf("%s is %d bytes, larger than the limit of %d for metadata files", e.name, e.usize, maxMetaFile)
	}
	return c.a.readAll(e)
}

// readVerified reads a required dist-info file and checks it against RECORD.
func (c *contents) readVerified(byName map[string]*entry, name string) ([]byte, error) {
	e := byName[name]
	if e == nil {
		return nil, fmt.Errorf("%s is missing", name)
	}
	data, err := c.readSmall(e)
	if err != nil {
		return nil, err
	}
	row := c.record[name]
	algo, _, _ := strings.Cut(row.Hash, "=")
	h := c.hs.get(algo)
	h.Write(data)
	if !sameDigest(row.Hash, encodeDigest(algo, h.Sum(nil))) {
		return nil, hashMismatch(c.distInfo, name)
	}
	return data, nil
}

func hashMismatch(distInfo, name string) error {
	return fmt.Errorf("%s does not match its hash in %s/RECORD; the wheel is corrupt or was modified after it was built", name, distInfo)
}

// checkEntryName refuses member names that could land outside their target
// directory once joined to it, or that different tools could read as
// different paths.
func checkEntryName(name string) error {
	bad := name == "" || name[0] == '/' || strings.ContainsAny(name, "\\\x00")
	trimmed := strings.TrimSuffix(name, "/")
	if !bad {
		for i, part := range strings.Split(trimmed, "/") {
			if part == "" || part == "." || part == ".." || i == 0 && len(part) == 2 && part[1] == ':' {
				bad = true
				break
			}
		}
	}
	if bad {
		return fmt.Errorf("entry %q has an unsafe path (absolute, \"..\", \".\", empty component, drive letter, backslash or NUL); it could escape its target directory", name)
	}
	return nil
}

// checkFoldedName refuses a file whose name equals another's after Unicode
// normalisation (NFC) and case folding while their content differs: on a
// case-insensitive or normalising file system, or to a tool that compares
// names that way, one would silently replace the other. Identical copies
// are harmless and allowed.
func checkFoldedName(folded map[string]*entry, e *entry) error {
	if e.isDir() {
		return nil
	}
	key := foldName(e.name)
	other, ok := folded[key]
	if !ok {
		folded[key] = e
		return nil
	}
	if other.crc != e.crc || other.usize != e.usize {
		return fmt.Errorf("entries %q and %q differ only in case or Unicode normalisation but have different content; the archive is ambiguous", other.name, e.name)
	}
	return nil
}

// foldName is name in NFC with its case folded; ASCII names take a fast path.
func foldName(name string) string {
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 {
			return norm.NFC.String(cases.Fold().String(norm.NFC.String(name)))
		}
	}
	return strings.ToLower(name)
}

// inPycache reports names inside a __pycache__ directory; installers skip
// them because bytecode is compiled for the target interpreter afterwards.
func inPycache(name string) bool {
	return strings.HasPrefix(name, "__pycache__/") || strings.Contains(name, "/__pycache__/")
}
