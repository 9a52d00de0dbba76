package repo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// RPM header tags read for the repository metadata (rpm's rpmtag.h).
const (
	tagName            = 1000
	tagVersion         = 1001
	tagRelease         = 1002
	tagEpoch           = 1003
	tagSummary         = 1004
	tagDescription     = 1005
	tagBuildTime       = 1006
	tagBuildHost       = 1007
	tagSize            = 1009
	tagVendor          = 1011
	tagLicense         = 1014
	tagPackager        = 1015
	tagGroup           = 1016
	tagURL             = 1020
	tagArch            = 1022
	tagFileModes       = 1030
	tagFileFlags       = 1037
	tagSourceRPM       = 1044
	tagProvideName     = 1047
	tagRequireFlags    = 1048
	tagRequireName     = 1049
	tagRequireVersion  = 1050
	tagConflictFlags   = 1053
	tagConflictName    = 1054
	tagConflictVersion = 1055
	tagChangelogTime   = 1080
	tagChangelogName   = 1081
	tagChangelogText   = 1082
	tagObsoleteName    = 1090
	tagProvideFlags    = 1112
	tagProvideVersion  = 1113
	tagObsoleteFlags   = 1114
	tagObsoleteVersion = 1115
	tagDirIndexes      = 1116
	tagBaseNames       = 1117
	tagDirNames        = 1118
	tagSourcePackage   = 1106
	tagLongSize        = 5009
	tagRecommendName   = 5046
	tagRecommendVer    = 5047
	tagRecommendFlags  = 5048
	tagSuggestName     = 5049
	tagSuggestVer      = 5050
	tagSuggestFlags    = 5051

	sigTagPayloadSize     = 1007
	sigTagLongArchiveSize = 271
)

// RPM header entry types.
const (
	typeChar        = 1
	typeInt8        = 2
	typeInt16       = 3
	typeInt32       = 4
	typeInt64       = 5
	typeString      = 6
	typeBin         = 7
	typeStringArray = 8
	typeI18NString  = 9
)

const (
	rpmLeadSize     = 96
	maxHeaderSize   = 64 << 20
	maxIndexCount   = 1 << 20
	fileFlagGhost   = 1 << 6
	modeTypeMask    = 0o170000
	modeDir         = 0o040000
	senseLess       = 1 << 1
	senseGreater    = 1 << 2
	senseEqual      = 1 << 3
	sensePrereq     = 1 << 6
	senseScriptPre  = 1 << 9
	senseScriptPost = 1 << 10
	senseRPMLib     = 1 << 24
)

var (
	rpmNameRE = regexp.MustCompile(`^[A-Za-z0-9_+][A-Za-z0-9._+-]*$`)
	rpmEVRRE  = regexp.MustCompile(`^[A-Za-z0-9._+~^]+$`)
)

// rpmHeader is a parsed RPM header structure (signature or main header).
type rpmHeader struct {
	entries map[uint32]rpmEntry
	store   []byte
	// intro (magic, reserved bytes, entry count and data size) and index
	// are kept as read, for the digests and signatures over the header.
	intro, index []byte
}

// writeTo writes the header as it was read: what rpm's header digests
// and header signatures are computed over.
func (h *rpmHeader) writeTo(w io.Writer) {
	w.Write(h.intro)
	w.Write(h.index)
	w.Write(h.store)
}

// size is the length of the header in bytes.
func (h *rpmHeader) size() int64 { return int64(len(h.intro) + len(h.index) + len(h.store)) }

type rpmEntry struct {
	typ, offset, count uint32
}

// readRPMHeader reads one header structure from r and returns it with its
// length in bytes.
func readRPMHeader(r io.Reader) (*rpmHeader, int64, error) {
	intro := make([]byte, 16)
	if n, err := io.ReadFull(r, intro); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, 0, fmt.Errorf("truncated: the file ends %d bytes into the 16-byte header intro", n)
		}
		return nil, 0, fmt.Errorf("reading the header: %w", err)
	}
	if !bytes.Equal(intro[:4], []byte{0x8e, 0xad, 0xe8, 0x01}) {
		return nil, 0, errors.New("bad header magic")
	}
	n := binary.BigEndian.Uint32(intro[8:12])
	size := binary.BigEndian.Uint32(intro[12:16])
	if n > maxIndexCount || size > maxHeaderSize {
		return nil, 0, fmt.Errorf("header of %d entries and %d bytes is too large", n, size)
	}
	// Read what is there rather than allocating what the header claims.
	index, err := io.ReadAll(io.LimitReader(r, 16*int64(n)))
	if err != nil || len(index) != 16*int(n) {
		if err != nil {
			return nil, 0, fmt.Errorf("reading the header index: %w", err)
		}
		return nil, 0, fmt.Errorf("truncated: the file ends %d bytes into the %d-byte header index", len(index), 16*n)
	}
	store, err := io.ReadAll(io.LimitReader(r, int64(size)))
	if err != nil || len(store) != int(size) {
		if err != nil {
			return nil, 0, fmt.Errorf("reading the header data: %w", err)
		}
		return nil, 0, fmt.Errorf("truncated: the file ends %d bytes into the %d-byte header data", len(store), size)
	}
	h := &rpmHeader{entries: make(map[uint32]rpmEntry, min(n, 4096)), store: store, intro: intro, index: index}
	for i := 0; i < int(n); i++ {
		e := index[16*i:]
		tag := binary.BigEndian.Uint32(e[0:4])
		h.entries[tag] = rpmEntry{typ: binary.BigEndian.Uint32(e[4:8]), offset: binary.BigEndian.Uint32(e[8:12]), count: binary.BigEndian.Uint32(e[12:16])}
	}
	return h, 16 + int64(len(index)) + int64(size), nil
}

// strings returns the string values of tag; a missing tag has none.
func (h *rpmHeader) strings(tag uint32) ([]string, error) {
	e, ok := h.entries[tag]
	if !ok {
		return nil, nil
	}
	switch e.typ {
	case typeString, typeStringArray, typeI18NString:
	default:
		return nil, fmt.Errorf("tag %d has type %d, want a string", tag, e.typ)
	}
	count := e.count
	if e.typ == typeString {
		count = 1
	}
	if e.offset > uint32(len(h.store)) || count > uint32(len(h.store)) {
		return nil, fmt.Errorf("tag %d points outside the header", tag)
	}
	data := h.store[e.offset:]
	out := make([]string, 0, count)
	for i := uint32(0); i < count; i++ {
		end := bytes.IndexByte(data, 0)
		if end < 0 {
			return nil, fmt.Errorf("tag %d: unterminated string", tag)
		}
		out = append(out, string(data[:end]))
		data = data[end+1:]
	}
	if e.typ == typeI18NString && len(out) > 1 {
		out = out[:1] // the first translation is the C locale's
	}
	return out, nil
}

// str returns the first string value of tag, or "".
func (h *rpmHeader) str(tag uint32) (string, error) {
	s, err := h.strings(tag)
	if err != nil || len(s) == 0 {
		return "", err
	}
	return s[0], nil
}

// ints returns the integer values of tag, of any integer type.
func (h *rpmHeader) ints(tag uint32) ([]uint64, error) {
	e, ok := h.entries[tag]
	if !ok {
		return nil, nil
	}
	width := map[uint32]uint32{typeChar: 1, typeInt8: 1, typeInt16: 2, typeInt32: 4, typeInt64: 8}[e.typ]
	if width == 0 {
		return nil, fmt.Errorf("tag %d has type %d, want an integer", tag, e.typ)
	}
	if e.count > uint32(len(h.store)) || uint64(e.offset)+uint64(e.count)*uint64(width) > uint64(len(h.store)) {
		return nil, fmt.Errorf("tag %d points outside the header", tag)
	}
	out := make([]uint64, e.count)
	for i := range out {
		b := h.store[e.offset+uint32(i)*width:]
		switch width {
		case 1:
			out[i] = uint64(b[0])
		case 2:
			out[i] = uint64(binary.BigEndian.Uint16(b))
		case 4:
			out[i] = uint64(binary.BigEndian.Uint32(b))
		case 8:
			out[i] = binary.BigEndian.Uint64(b)
		}
	}
	return out, nil
}

// int returns the first integer value of tag and whether it is present.
func (h *rpmHeader) int(tag uint32) (uint64, bool, error) {
	v, err := h.ints(tag)
	if err != nil || len(v) == 0 {
		return 0, false, err
	}
	return v[0], true, nil
}

// rpmDep is one entry of a dependency list (provides, requires, ...).
type rpmDep struct {
	Name, Flags, Epoch, Ver, Rel string
	Pre                          bool
}

// rpmFile is one file of the payload.
type rpmFile struct {
	Path string
	Type string // "", "dir" or "ghost"
}

// rpmChange is one changelog entry.
type rpmChange struct {
	Author string
	Date   uint64
	Text   string
}

// rpmInfo is what YUM metadata says about a package, read from its headers.
type rpmInfo struct {
	Name, Epoch, Version, Release, Arch          string
	Summary, Description, Packager, URL          string
	License, Vendor, Group, BuildHost, SourceRPM string
	BuildTime, InstalledSize, ArchiveSize        uint64
	HeaderStart, HeaderEnd                       int64
	Provides, Requires, Conflicts, Obsoletes     []rpmDep
	Recommends, Suggests                         []rpmDep
	Files                                        []rpmFile
	Changelog                                    []rpmChange
}

// fileName returns the conventional name-version-release.arch.rpm.
func (p *rpmInfo) fileName() string {
	return p.Name + "-" + p.Version + "-" + p.Release + "." + p.Arch + ".rpm"
}

// readRPM reads the lead, signature header and main header of an RPM
// package (the format of rpm's lib/header.c and the LSB RPM file format).
func readRPM(r io.Reader) (*rpmInfo, error) {
	sig, h, start, err := readRPMHeaders(r)
	if err != nil {
		return nil, err
	}
	return rpmInfoOf(sig, h, start)
}

// readRPMHeaders reads the lead, the signature header and its padding and
// the main header, and returns the two headers and the offset of the main
// header in the file.
func readRPMHeaders(r io.Reader) (sig, h *rpmHeader, start int64, err error) {
	lead := make([]byte, rpmLeadSize)
	if _, err := io.ReadFull(r, lead); err != nil || !bytes.Equal(lead[:4], []byte{0xed, 0xab, 0xee, 0xdb}) {
		return nil, nil, 0, errors.New("not an .rpm: no RPM lead")
	}
	if lead[4] != 3 && lead[4] != 4 {
		return nil, nil, 0, fmt.Errorf("RPM lead of format version %d.%d; rpm writes 3.0", lead[4], lead[5])
	}
	if sigType := binary.BigEndian.Uint16(lead[78:80]); sigType != 5 {
		return nil, nil, 0, fmt.Errorf("RPM lead announces signature type %d, not a header-style signature (5)", sigType)
	}
	sig, sigLen, err := readRPMHeader(r)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("signature header: %w", err)
	}
	pad := (8 - sigLen%8) % 8
	if _, err := io.ReadFull(r, make([]byte, pad)); err != nil {
		return nil, nil, 0, fmt.Errorf("signature header padding: %w", err)
	}
	start = rpmLeadSize + sigLen + pad
	h, _, err = readRPMHeader(r)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("main header: %w", err)
	}
	return sig, h, start, nil
}

// rpmInfoOf reads the repository metadata of a package from its headers.
func rpmInfoOf(sig, h *rpmHeader, start int64) (*rpmInfo, error) {
	var err error
	p := &rpmInfo{HeaderStart: start, HeaderEnd: start + h.size()}
	if _, ok, _ := h.int(tagSourcePackage); ok {
		return nil, errors.New("it is a source RPM; publish binary packages")
	}
	var errs []error
	str := func(tag uint32) string {
		s, err := h.str(tag)
		errs = append(errs, err)
		return s
	}
	num := func(hd *rpmHeader, tags ...uint32) uint64 {
		for _, tag := range tags {
			v, ok, err := hd.int(tag)
			errs = append(errs, err)
			if ok {
				return v
			}
		}
		return 0
	}
	p.Name, p.Version, p.Release, p.Arch = str(tagName), str(tagVersion), str(tagRelease), str(tagArch)
	p.Summary, p.Description, p.Packager, p.URL = str(tagSummary), str(tagDescription), str(tagPackager), str(tagURL)
	p.License, p.Vendor, p.Group, p.BuildHost, p.SourceRPM = str(tagLicense), str(tagVendor), str(tagGroup), str(tagBuildHost), str(tagSourceRPM)
	p.BuildTime = num(h, tagBuildTime)
	p.InstalledSize = num(h, tagLongSize, tagSize)
	p.ArchiveSize = num(sig, sigTagLongArchiveSize, sigTagPayloadSize)
	if epoch, ok, err := h.int(tagEpoch); err != nil {
		errs = append(errs, err)
	} else if ok {
		p.Epoch = fmt.Sprint(epoch)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("main header: %w", err)
	}
	switch {
	case !rpmNameRE.MatchString(p.Name):
		return nil, fmt.Errorf("package name %q is not valid", p.Name)
	case !rpmEVRRE.MatchString(p.Version) || !rpmEVRRE.MatchString(p.Release):
		return nil, fmt.Errorf("version %q or release %q of %s is not valid", p.Version, p.Release, p.Name)
	case !rpmNameRE.MatchString(p.Arch):
		return nil, fmt.Errorf("architecture %q of %s is not valid", p.Arch, p.Name)
	}
	for _, d := range []struct {
		list                 *[]rpmDep
		name, version, flags uint32
	}{
		{&p.Provides, tagProvideName, tagProvideVersion, tagProvideFlags},
		{&p.Requires, tagRequireName, tagRequireVersion, tagRequireFlags},
		{&p.Conflicts, tagConflictName, tagConflictVersion, tagConflictFlags},
		{&p.Obsoletes, tagObsoleteName, tagObsoleteVersion, tagObsoleteFlags},
		{&p.Recommends, tagRecommendName, tagRecommendVer, tagRecommendFlags},
		{&p.Suggests, tagSuggestName, tagSuggestVer, tagSuggestFlags},
	} {
		deps, err := readDeps(h, d.name, d.version, d.flags)
		if err != nil {
			return nil, fmt.Errorf("main header: %w", err)
		}
		*d.list = deps
	}
	if p.Files, err = readFiles(h); err != nil {
		return nil, fmt.Errorf("main header: %w", err)
	}
	if p.Changelog, err = readChangelog(h); err != nil {
		return nil, fmt.Errorf("main header: %w", err)
	}
	return p, nil
}

func readDeps(h *rpmHeader, nameTag, verTag, flagTag uint32) ([]rpmDep, error) {
	names, err := h.strings(nameTag)
	if err != nil {
		return nil, err
	}
	vers, err := h.strings(verTag)
	if err != nil {
		return nil, err
	}
	flags, err := h.ints(flagTag)
	if err != nil {
		return nil, err
	}
	if len(vers) != len(names) && len(vers) != 0 || len(flags) != len(names) && len(flags) != 0 {
		return nil, fmt.Errorf("tag %d: %d names but %d versions and %d flags", nameTag, len(names), len(vers), len(flags))
	}
	var deps []rpmDep
	for i, name := range names {
		var f uint64
		if len(flags) > 0 {
			f = flags[i]
		}
		if f&senseRPMLib != 0 || strings.HasPrefix(name, "rpmlib(") {
			continue // rpm's own feature requirements are not for the resolver
		}
		d := rpmDep{Name: name, Pre: f&(sensePrereq|senseScriptPre|senseScriptPost) != 0}
		switch f & (senseLess | senseGreater | senseEqual) {
		case senseLess:
			d.Flags = "LT"
		case senseGreater:
			d.Flags = "GT"
		case senseEqual:
			d.Flags = "EQ"
		case senseLess | senseEqual:
			d.Flags = "LE"
		case senseGreater | senseEqual:
			d.Flags = "GE"
		}
		if d.Flags != "" && len(vers) > 0 && vers[i] != "" {
			d.Epoch, d.Ver, d.Rel = splitEVR(vers[i])
		}
		deps = append(deps, d)
	}
	return deps, nil
}

// splitEVR splits "[epoch:]version[-release]"; the epoch defaults to 0.
func splitEVR(evr string) (epoch, ver, rel string) {
	epoch = "0"
	if i := strings.IndexByte(evr, ':'); i >= 0 {
		epoch, evr = evr[:i], evr[i+1:]
	}
	ver, rel, _ = strings.Cut(evr, "-")
	return epoch, ver, rel
}

func readFiles(h *rpmHeader) ([]rpmFile, error) {
	base, err := h.strings(tagBaseNames)
	if err != nil {
		return nil, err
	}
	dirs, err := h.strings(tagDirNames)
	if err != nil {
		return nil, err
	}
	idx, err := h.ints(tagDirIndexes)
	if err != nil {
		return nil, err
	}
	modes, err := h.ints(tagFileModes)
	if err != nil {
		return nil, err
	}
	flags, err := h.ints(tagFileFlags)
	if err != nil {
		return nil, err
	}
	if len(idx) != len(base) || len(modes) != 0 && len(modes) != len(base) || len(flags) != 0 && len(flags) != len(base) {
		return nil, fmt.Errorf("file list: %d names, %d directory indexes, %d modes, %d flags", len(base), len(idx), len(modes), len(flags))
	}
	files := make([]rpmFile, len(base))
	for i, b := range base {
		if idx[i] >= uint64(len(dirs)) {
			return nil, fmt.Errorf("file list: %q has directory index %d of %d", b, idx[i], len(dirs))
		}
		files[i].Path = dirs[idx[i]] + b
		switch {
		case len(flags) > 0 && flags[i]&fileFlagGhost != 0:
			files[i].Type = "ghost"
		case len(modes) > 0 && modes[i]&modeTypeMask == modeDir:
			files[i].Type = "dir"
		}
	}
	return files, nil
}

func readChangelog(h *rpmHeader) ([]rpmChange, error) {
	times, err := h.ints(tagChangelogTime)
	if err != nil {
		return nil, err
	}
	names, err := h.strings(tagChangelogName)
	if err != nil {
		return nil, err
	}
	texts, err := h.strings(tagChangelogText)
	if err != nil {
		return nil, err
	}
	if len(names) != len(times) || len(texts) != len(times) {
		return nil, fmt.Errorf("changelog: %d times, %d names, %d texts", len(times), len(names), len(texts))
	}
	out := make([]rpmChange, len(times))
	for i := range times {
		out[i] = rpmChange{Author: names[i], Date: times[i], Text: texts[i]}
	}
	return out, nil
}
