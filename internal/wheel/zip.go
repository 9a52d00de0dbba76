package wheel

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sort"
	"unicode/utf8"

	"github.com/klauspost/compress/flate"
)

// Limits bounds the resources one wheel may claim, so that a hostile archive
// (a decompression bomb, a central directory of millions of entries) fails
// early instead of filling the disk. Zero fields take the defaults.
type Limits struct {
	MaxEntries   int   // entries in the central directory; default 200 000
	MaxTotalSize int64 // sum of declared uncompressed sizes; default 4 GiB
	MaxRatio     int64 // uncompressed/compressed size of one entry above 1 MiB; default 200
}

const (
	defaultMaxEntries   = 200_000
	defaultMaxTotalSize = 4 << 30
	defaultMaxRatio     = 200
	ratioFloor          = 1 << 20 // entries smaller than this are never ratio-checked
)

func (l Limits) withDefaults() Limits {
	if l.MaxEntries <= 0 {
		l.MaxEntries = defaultMaxEntries
	}
	if l.MaxTotalSize <= 0 {
		l.MaxTotalSize = defaultMaxTotalSize
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = defaultMaxRatio
	}
	return l
}

// ZIP record signatures and fixed sizes (APPNOTE.TXT 4.3).
const (
	sigLocal       = 0x04034b50
	sigCentral     = 0x02014b50
	sigEnd         = 0x06054b50
	sigEnd64       = 0x06064b50
	sigEnd64Loc    = 0x07064b50
	sigDescriptor  = 0x08074b50
	lenLocal       = 30
	lenCentral     = 46
	lenEnd         = 22
	lenEnd64Loc    = 20
	lenEnd64       = 56
	maxCommentLen  = 0xffff
	flagEncrypted  = 0x1
	flagDescriptor = 0x8
	flagStrongEnc  = 0x40
	flagUTF8       = 0x800
	methodStore    = 0
	methodDeflate  = 8
	sat16          = 0xffff
	sat32          = 0xffffffff
)

var errNotZip = errors.New("not a zip archive")

// entry is one member of the archive, checked against its local header.
type entry struct {
	name    string
	method  uint16
	flags   uint16
	crc     uint32
	csize   uint64
	usize   uint64
	offset  uint64 // local header
	dataOff int64
	mode    uint32 // Unix mode from the external attributes
}

func (e *entry) isDir() bool { return len(e.name) > 0 && e.name[len(e.name)-1] == '/' }

// archive is a ZIP file read strictly: the central directory, every local
// header and the end records must agree, members must not overlap and
// nothing may follow the end record. Reading one member at a time reuses
// one inflater and one buffered reader.
type archive struct {
	r       io.ReaderAt
	size    int64
	entries []entry // central directory order

	br   *bufio.Reader
	fl   io.ReadCloser
	er   entryReader
	hbuf []byte
}

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// openArchive reads and cross-checks the structure of the ZIP file r of the
// given size. It reads no member data.
func openArchive(r io.ReaderAt, size int64, lim Limits) (*archive, error) {
	lim = lim.withDefaults()
	if size < lenEnd {
		return nil, errNotZip
	}
	tailLen := int64(lenEnd + maxCommentLen)
	if tailLen > size {
		tailLen = size
	}
	tail := make([]byte, tailLen)
	if _, err := r.ReadAt(tail, size-tailLen); err != nil {
		return nil, fmt.Errorf("reading end of central directory: %w", err)
	}
	endPos := int64(-1)
	sawSig := false
	for p := len(tail) - lenEnd; p >= 0; p-- {
		if le32(tail[p:]) != sigEnd {
			continue
		}
		sawSig = true
		if p+lenEnd+int(le16(tail[p+20:])) == len(tail) {
			endPos = int64(p)
			break
		}
	}
	if endPos < 0 {
		if sawSig {
			return nil, errors.New("data after the end of central directory record; the archive is ambiguous (rebuild the wheel)")
		}
		return nil, errNotZip
	}
	end := tail[endPos:]
	endPos += size - tailLen
	disk, cdDisk := uint32(le16(end[4:])), uint32(le16(end[6:]))
	nDisk, nTotal := uint64(le16(end[8:])), uint64(le16(end[10:]))
	cdSize, cdOff := uint64(le32(end[12:])), uint64(le32(end[16:]))
	cdEnd := endPos // where the central directory must end

	if endPos >= lenEnd64Loc {
		var loc [lenEnd64Loc]byte
		if _, err := r.ReadAt(loc[:], endPos-lenEnd64Loc); err != nil {
			return nil, fmt.Errorf("reading zip64 locator: %w", err)
		}
		if le32(loc[:]) == sigEnd64Loc {
			z64Off := le64(loc[8:])
			if le32(loc[4:]) != 0 || le32(loc[16:]) > 1 || z64Off > uint64(endPos-lenEnd64Loc) || uint64(endPos-lenEnd64Loc)-z64Off < lenEnd64 {
				return nil, errors.New("invalid zip64 end of central directory locator")
			}
			var z [lenEnd64]byte
			if _, err := r.ReadAt(z[:], int64(z64Off)); err != nil {
				return nil, fmt.Errorf("reading zip64 end of central directory: %w", err)
			}
			if le32(z[:]) != sigEnd64 || z64Off+12+le64(z[4:]) != uint64(endPos-lenEnd64Loc) {
				return nil, errors.New("invalid zip64 end of central directory record")
			}
			pick32 := func(v uint32, v64 uint64, sat uint32) (uint64, error) {
				if v != sat && uint64(v) != v64 {
					return 0, errors.New("zip64 end of central directory disagrees with the end record")
				}
				return v64, nil
			}
			d64, cd64 := le32(z[16:]), le32(z[20:])
			if (disk != sat16 && disk != d64) || (cdDisk != sat16 && cdDisk != cd64) {
				return nil, errors.New("zip64 end of central directory disagrees with the end record")
			}
			disk, cdDisk = d64, cd64
			var err error
			for _, f := range []struct {
				v   *uint64
				v64 uint64
				sat uint32
			}{{&nDisk, le64(z[24:]), sat16}, {&nTotal, le64(z[32:]), sat16}, {&cdSize, le64(z[40:]), sat32}, {&cdOff, le64(z[48:]), sat32}} {
				if *f.v, err = pick32(uint32(*f.v), f.v64, f.sat); err != nil {
					return nil, err
				}
			}
			cdEnd = int64(z64Off)
		}
	}
	if disk != 0 || cdDisk != 0 || nDisk != nTotal {
		return nil, errors.New("multi-disk archives are not supported")
	}
	if cdOff > uint64(cdEnd) || uint64(cdEnd)-cdOff != cdSize {
		return nil, fmt.Errorf("central directory (offset %d, size %d) does not end where the end record starts (%d); the archive has extra or missing data", cdOff, cdSize, cdEnd)
	}
	if nTotal > uint64(lim.MaxEntries) {
		return nil, fmt.Errorf("archive has %d entries, more than the limit of %d", nTotal, lim.MaxEntries)
	}
	if nTotal*lenCentral > cdSize {
		return nil, fmt.Errorf("central directory of %d bytes cannot hold %d entries", cdSize, nTotal)
	}
	cd := make([]byte, cdSize)
	if _, err := r.ReadAt(cd, int64(cdOff)); err != nil {
		return nil, fmt.Errorf("reading central directory: %w", err)
	}
	a := &archive{r: r, size: size, entries: make([]entry, 0, nTotal)}
	var total uint64
	for i := uint64(0); i < nTotal; i++ {
		e, rest, err := parseCentral(cd)
		if err != nil {
			return nil, fmt.Errorf("central directory entry %d: %w", i, err)
		}
		cd = rest
		total += e.usize
		if total > uint64(lim.MaxTotalSize) || e.usize > uint64(lim.MaxTotalSize) {
			return nil, fmt.Errorf("archive expands to more than the limit of %d bytes", lim.MaxTotalSize)
		}
		if e.usize > ratioFloor && e.usize/uint64(lim.MaxRatio) > e.csize {
			return nil, fmt.Errorf("%s: compression ratio %d:1 exceeds the limit of %d:1 (decompression bomb?)", e.name, e.usize/max(e.csize, 1), lim.MaxRatio)
		}
		a.entries = append(a.entries, e)
	}
	if len(cd) != 0 {
		return nil, fmt.Errorf("central directory has %d bytes after its %d entries", len(cd), nTotal)
	}
	if err := a.checkLocal(cdOff); err != nil {
		return nil, err
	}
	return a, nil
}

// parseCentral parses one central directory header at the start of b.
func parseCentral(b []byte) (entry, []byte, error) {
	var e entry
	if len(b) < lenCentral || le32(b) != sigCentral {
		return e, nil, errors.New("bad central directory header signature")
	}
	e.flags, e.method = le16(b[8:]), le16(b[10:])
	e.crc = le32(b[16:])
	e.csize, e.usize = uint64(le32(b[20:])), uint64(le32(b[24:]))
	nameLen, extraLen, commentLen := int(le16(b[28:])), int(le16(b[30:])), int(le16(b[32:]))
	diskStart := uint32(le16(b[34:]))
	e.mode = le32(b[38:]) >> 16
	e.offset = uint64(le32(b[42:]))
	if len(b) < lenCentral+nameLen+extraLen+commentLen {
		return e, nil, errors.New("truncated central directory header")
	}
	nameB := b[lenCentral : lenCentral+nameLen]
	extra := b[lenCentral+nameLen : lenCentral+nameLen+extraLen]
	rest := b[lenCentral+nameLen+extraLen+commentLen:]
	e.name = string(nameB)
	if !utf8.ValidString(e.name) {
		return e, nil, fmt.Errorf("entry name %q is not valid UTF-8", e.name)
	}
	if e.flags&flagUTF8 == 0 {
		for i := 0; i < len(nameB); i++ {
			if nameB[i] >= 0x80 {
				return e, nil, fmt.Errorf("entry name %q is not ASCII and the archive does not mark it as UTF-8 (readers would decode it as CP437)", e.name)
			}
		}
	}
	if e.flags&(flagEncrypted|flagStrongEnc) != 0 {
		return e, nil, fmt.Errorf("%s: encrypted entries are not supported", e.name)
	}
	if e.method != methodStore && e.method != methodDeflate {
		return e, nil, fmt.Errorf("%s: compression method %d is not supported; wheels use stored (0) or deflated (8) entries", e.name, e.method)
	}
	// The zip64 extra field carries, in this order, only the saturated values.
	need64 := e.usize == sat32 || e.csize == sat32 || e.offset == sat32 || diskStart == sat16
	for len(extra) >= 4 {
		id, sz := le16(extra), int(le16(extra[2:]))
		if len(extra) < 4+sz {
			return e, nil, fmt.Errorf("%s: truncated extra field", e.name)
		}
		field := extra[4 : 4+sz]
		extra = extra[4+sz:]
		if id != 0x0001 || !need64 {
			continue
		}
		for _, v := range []*uint64{&e.usize, &e.csize, &e.offset} {
			if *v != sat32 {
				continue
			}
			if len(field) < 8 {
				return e, nil, fmt.Errorf("%s: truncated zip64 extra field", e.name)
			}
			*v = le64(field)
			field = field[8:]
		}
		if diskStart == sat16 {
			if len(field) < 4 {
				return e, nil, fmt.Errorf("%s: truncated zip64 extra field", e.name)
			}
			diskStart = le32(field)
		}
		need64 = false
	}
	if need64 {
		return e, nil, fmt.Errorf("%s: sizes need a zip64 extra field, which is missing", e.name)
	}
	if diskStart != 0 {
		return e, nil, errors.New("multi-disk archives are not supported")
	}
	if e.method == methodStore && e.csize != e.usize {
		return e, nil, fmt.Errorf("%s: stored entry declares compressed size %d but size %d", e.name, e.csize, e.usize)
	}
	return e, rest, nil
}

// checkLocal reads every local header, requires it to agree with the central
// directory (name, method, CRC, sizes, also in a trailing data descriptor),
// and requires the members to lie before the central directory without
// overlapping.
func (a *archive) checkLocal(cdOff uint64) error {
	type span struct{ start, end uint64 }
	spans := make([]span, len(a.entries))
	buf := make([]byte, 0, 512)
	for i := range a.entries {
		e := &a.entries[i]
		n := lenLocal + len(e.name)
		if e.offset+uint64(n) > cdOff {
			return fmt.Errorf("%s: local header lies outside the archive data", e.name)
		}
		buf = buf[:n]
		if _, err := a.r.ReadAt(buf, int64(e.offset)); err != nil {
			return fmt.Errorf("%s: reading local header: %w", e.name, err)
		}
		if le32(buf) != sigLocal {
			return fmt.Errorf("%s: bad local header signature", e.name)
		}
		if string(buf[lenLocal:]) != e.name {
			return fmt.Errorf("local header names %q but the central directory names %q; the archive is ambiguous", buf[lenLocal:], e.name)
		}
		flags, method := le16(buf[6:]), le16(buf[8:])
		crc, csize, usize := le32(buf[14:]), uint64(le32(buf[18:])), uint64(le32(buf[22:]))
		extraLen := int(le16(buf[28:]))
		if method != e.method || flags&flagDescriptor != e.flags&flagDescriptor {
			return fmt.Errorf("%s: local header and central directory disagree on the compression method or flags", e.name)
		}
		dataOff := e.offset + uint64(n+extraLen)
		if extraLen > 0 && (csize == sat32 || usize == sat32) {
			extra := make([]byte, extraLen)
			if _, err := a.r.ReadAt(extra, int64(e.offset)+int64(n)); err != nil {
				return fmt.Errorf("%s: reading local extra field: %w", e.name, err)
			}
			for len(extra) >= 4 {
				id, sz := le16(extra), int(le16(extra[2:]))
				if len(extra) < 4+sz {
					break
				}
				if f := extra[4 : 4+sz]; id == 0x0001 && len(f) >= 16 {
					usize, csize = le64(f), le64(f[8:])
				}
				extra = extra[4+sz:]
			}
		}
		end := dataOff + e.csize
		if e.flags&flagDescriptor != 0 {
			// The local values may be zero; the descriptor after the data holds them.
			if (crc != 0 && crc != e.crc) || (csize != 0 && csize != e.csize) || (usize != 0 && usize != e.usize) {
				return fmt.Errorf("%s: local header and central directory disagree on CRC or sizes; the archive is ambiguous", e.name)
			}
			var desc [24]byte
			avail := cdOff - min(end, cdOff)
			d := desc[:min(uint64(24), avail)]
			if _, err := a.r.ReadAt(d, int64(end)); err != nil {
				return fmt.Errorf("%s: reading data descriptor: %w", e.name, err)
			}
			if len(d) >= 4 && le32(d) == sigDescriptor {
				d = d[4:]
				end += 4
			}
			big := e.csize >= sat32 || e.usize >= sat32
			switch {
			case big && len(d) >= 20:
				crc, csize, usize = le32(d), le64(d[4:]), le64(d[12:])
				end += 20
			case !big && len(d) >= 12:
				crc, csize, usize = le32(d), uint64(le32(d[4:])), uint64(le32(d[8:]))
				end += 12
			default:
				return fmt.Errorf("%s: truncated data descriptor", e.name)
			}
		}
		if crc != e.crc || csize != e.csize || usize != e.usize {
			return fmt.Errorf("%s: local header and central directory disagree on CRC or sizes; the archive is ambiguous", e.name)
		}
		if end > cdOff || end < dataOff {
			return fmt.Errorf("%s: data runs into the central directory", e.name)
		}
		e.dataOff = int64(dataOff)
		spans[i] = span{e.offset, end}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	for i := 1; i < len(spans); i++ {
		if spans[i].start < spans[i-1].end {
			return errors.New("archive members overlap; the archive is ambiguous or a decompression bomb")
		}
	}
	return nil
}

// open returns a reader of e's uncompressed content that fails if the data
// is longer or shorter than declared, if the CRC differs, or if compressed
// bytes are left over. Only one reader per archive may be open at a time.
func (a *archive) open(e *entry) (io.Reader, error) {
	sec := io.NewSectionReader(a.r, e.dataOff, int64(e.csize))
	er := &a.er
	*er = entryReader{e: e, sec: sec}
	switch e.method {
	case methodStore:
		er.src = sec
	case methodDeflate:
		if a.br == nil {
			a.br = bufio.NewReaderSize(sec, 64<<10)
		} else {
			a.br.Reset(sec)
		}
		if a.fl == nil {
			a.fl = flate.NewReader(a.br)
		} else if err := a.fl.(flate.Resetter).Reset(a.br, nil); err != nil {
			return nil, fmt.Errorf("%s: %w", e.name, err)
		}
		er.src, er.br = a.fl, a.br
	}
	return er, nil
}

// readAll reads e fully; callers bound e.usize through Limits.
func (a *archive) readAll(e *entry) ([]byte, error) {
	r, err := a.open(e)
	if err != nil {
		return nil, err
	}
	b := make([]byte, e.usize)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	// Reach EOF so that the size, CRC and leftover checks run.
	var one [1]byte
	if n, err := r.Read(one[:]); n != 0 || err != io.EOF {
		if err == nil || err == io.EOF {
			err = fmt.Errorf("%s: data is longer than its declared size %d", e.name, e.usize)
		}
		return nil, err
	}
	return b, nil
}

type entryReader struct {
	e   *entry
	sec *io.SectionReader
	src io.Reader
	br  *bufio.Reader // nil for stored entries
	n   uint64
	crc uint32
	err error
}

func (r *entryReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	// Never ask for more than one byte past the declared size, so a bomb
	// stops right there.
	if left := r.e.usize - r.n + 1; uint64(len(p)) > left {
		p = p[:left]
	}
	n, err := r.src.Read(p)
	r.n += uint64(n)
	r.crc = crc32.Update(r.crc, crc32.IEEETable, p[:n])
	switch {
	case r.n > r.e.usize:
		r.err = fmt.Errorf("%s: data is longer than its declared size %d", r.e.name, r.e.usize)
		return n, r.err
	case err == io.EOF:
		if r.n != r.e.usize {
			r.err = fmt.Errorf("%s: data is %d bytes, shorter than its declared size %d", r.e.name, r.n, r.e.usize)
		} else if r.crc != r.e.crc {
			r.err = fmt.Errorf("%s: CRC-32 mismatch; the archive is corrupt", r.e.name)
		} else if r.br != nil {
			if pos, _ := r.sec.Seek(0, io.SeekCurrent); r.br.Buffered() != 0 || pos != r.sec.Size() {
				r.err = fmt.Errorf("%s: compressed data does not fill its declared compressed size %d", r.e.name, r.e.csize)
			}
		}
		if r.err == nil {
			r.err = io.EOF
		}
		return n, r.err
	case err != nil:
		if errors.Is(err, io.ErrUnexpectedEOF) || r.br != nil {
			err = fmt.Errorf("%s: %w", r.e.name, err)
		}
		r.err = err
		return n, err
	}
	return n, nil
}
