package debarchive

// A data.tar.zst member is one zstd frame (RFC 8878) whose blocks come
// from the parts, each compressed on its own and kept with its tree. One
// frame, because bookworm's dpkg stops reading at the end of the first.
//
// Blocks of independently compressed inputs may follow each other in a
// frame only if nothing a part's blocks rely on is left over from the
// part before: no match reaches back before the part (each part is
// compressed from an empty window), no entropy table is inherited (the
// first block of a compressed frame defines its own), and the three
// repeat offsets are what a new frame starts with, 1, 4 and 8. The last
// is the one a decoder carries from block to block, so every part starts
// with a block of our own that sets them: it holds the part's first
// bytes as raw literals and three matches with explicit offsets 8, 4 and
// 1, after which the offsets are [1 4 8] whatever came before. The rest
// of the part is compressed as a new frame whose header is dropped and
// whose blocks are kept as they are, the last-block flag cleared. The
// member ends with the end of the tar archive as one RLE block.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"runtime/debug"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// zstdWindowLog sets the window every part is compressed with and the
// frame declares: 8 MiB, which every zstd decoder accepts.
const zstdWindowLog = 23

// zstdMagic opens a zstd frame (little-endian 0xFD2FB528).
var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// zstdFrameHeader opens the data member: the magic, a descriptor with no
// content size, checksum or dictionary, and the window.
func zstdFrameHeader() []byte {
	return append(bytes.Clone(zstdMagic), 0x00, byte(zstdWindowLog-10)<<3)
}

// Block types (RFC 8878, 3.1.1.2).
const (
	blockRaw        = 0
	blockRLE        = 1
	blockCompressed = 2
)

// blockHeader is a block's 3-byte header.
func blockHeader(last bool, typ int, size int) []byte {
	v := uint32(typ)<<1 | uint32(size)<<3
	if last {
		v |= 1
	}
	return []byte{byte(v), byte(v >> 8), byte(v >> 16)}
}

// zstdEnd is the member's last block: tar's end-of-archive, 1024 zero
// bytes, as one RLE block.
func zstdEnd() []byte {
	return append(blockHeader(true, blockRLE, len(endOfArchive)), 0)
}

// zstdPartKey says what a part's cached blocks depend on besides its
// entries: this layout and the encoder's version and settings.
func zstdPartKey() string {
	version := "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, m := range info.Deps {
			if m.Path == "github.com/klauspost/compress" {
				version = m.Version
				if m.Replace != nil {
					version = m.Replace.Path + "@" + m.Replace.Version
				}
			}
		}
	}
	return fmt.Sprintf("zstd level 3 window %d reset-block 1 klauspost/compress %s", zstdWindowLog, version)
}

// Predefined distributions of literal lengths, offsets and match lengths
// (RFC 8878, 3.1.1.3.2.2), with their accuracy logs.
var (
	llNorm = []int16{4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 2, 1, 1, 1, 1, 1, -1, -1, -1, -1}
	ofNorm = []int16{1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1}
	mlNorm = []int16{1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1}
)

const (
	llLog = 6
	ofLog = 5
	mlLog = 6
)

// Literal length codes from 16 on: baseline and number of extra bits
// (RFC 8878, 3.1.1.3.2.1.1); codes 0 to 15 are the length itself.
var llCodes = [...]struct{ base, bits uint32 }{
	{16, 1}, {18, 1}, {20, 1}, {22, 1}, {24, 2}, {28, 2}, {32, 3}, {40, 3}, {48, 4}, {64, 6},
	{128, 7}, {256, 8}, {512, 9}, {1024, 10}, {2048, 11}, {4096, 12}, {8192, 13}, {16384, 14},
	{32768, 15}, {65536, 16},
}

// llCode returns the code of literal length n and its extra bits.
func llCode(n uint32) (code uint8, extra uint32, nbits uint) {
	if n < 16 {
		return uint8(n), 0, 0
	}
	for i := len(llCodes) - 1; i >= 0; i-- {
		if c := llCodes[i]; n >= c.base {
			return uint8(16 + i), n - c.base, uint(c.bits)
		}
	}
	panic("unreachable")
}

// fseState is one state of an FSE decoding table.
type fseState struct {
	symbol uint8
	nbBits uint8
	base   uint16
}

// fseTable builds the decoding table of a normalized distribution
// (RFC 8878, 4.1.1).
func fseTable(norm []int16, log uint) []fseState {
	size := 1 << log
	t := make([]fseState, size)
	high := size - 1
	next := make([]int, len(norm))
	for s, n := range norm {
		if n == -1 {
			t[high].symbol = uint8(s)
			high--
			next[s] = 1
		} else {
			next[s] = int(n)
		}
	}
	step, mask, pos := size>>1+size>>3+3, size-1, 0
	for s, n := range norm {
		for range max(int(n), 0) {
			t[pos].symbol = uint8(s)
			for pos = (pos + step) & mask; pos > high; pos = (pos + step) & mask {
			}
		}
	}
	for i := range t {
		x := next[t[i].symbol]
		next[t[i].symbol]++
		nb := int(log) - (bits.Len(uint(x)) - 1)
		t[i].nbBits = uint8(nb)
		t[i].base = uint16(x<<nb - size)
	}
	return t
}

var predefinedTables = sync.OnceValue(func() [3][]fseState {
	return [3][]fseState{fseTable(llNorm, llLog), fseTable(ofNorm, ofLog), fseTable(mlNorm, mlLog)}
})

// fseStates picks a decoder state for each symbol of codes so that each
// state leads to the next: the decoder starts in states[0], decodes
// codes[0], and reads bits that take it to states[1], and so on.
func fseStates(t []fseState, codes []uint8) ([]int, error) {
	states := make([]int, len(codes))
	fits := func(s, i int) bool {
		if t[s].symbol != codes[i] {
			return false
		}
		if i == len(codes)-1 {
			return true
		}
		lo := int(t[s].base)
		return lo <= states[i+1] && states[i+1] < lo+1<<t[s].nbBits
	}
	for i := len(codes) - 1; i >= 0; i-- {
		states[i] = -1
		for s := range t {
			if fits(s, i) {
				states[i] = s
				break
			}
		}
		if states[i] < 0 {
			return nil, fmt.Errorf("no state decodes symbol %d", codes[i])
		}
	}
	return states, nil
}

// bitWriter writes the little-endian bit stream of a sequences section;
// the decoder reads it backwards, so fields are written in the reverse of
// the order they are read.
type bitWriter struct {
	out []byte
	acc uint64
	n   uint
}

func (w *bitWriter) add(v uint64, n uint) {
	w.acc |= (v & (1<<n - 1)) << w.n
	w.n += n
	for w.n >= 8 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.n -= 8
	}
}

// close ends the stream with its 1-bit marker.
func (w *bitWriter) close() []byte {
	w.add(1, 1)
	if w.n > 0 {
		w.out = append(w.out, byte(w.acc))
	}
	return w.out
}

// sequence is a zstd sequence: literals, then a match. Offset is the
// Offset_Value: a repeat code (1 to 3) or an explicit offset plus 3.
type sequence struct {
	literals, offset, match uint32
}

// resetBlock encodes data[:n] as a compressed block that sets the repeat
// offsets to [1 4 8] whatever they were: data's first bytes as raw
// literals and matches at explicit offsets 8, 4 and 1. It needs, within
// data's first 512 bytes, three bytes equal to the three 8 before them,
// then three equal to the three 4 before them, then four equal bytes;
// every tar header has them (the mode, uid and gid fields of a member
// owned by 0:0 with a mode below 07777 are runs of '0').
func resetBlock(data []byte) (block []byte, n int, err error) {
	limit := min(len(data), 512)
	find := func(from int, ok func(i int) bool) int {
		for i := from; i+3 <= limit; i++ {
			if ok(i) {
				return i
			}
		}
		return -1
	}
	p := find(8, func(i int) bool { return bytes.Equal(data[i:i+3], data[i-8:i-5]) })
	q := -1
	if p >= 0 {
		q = find(p+3, func(i int) bool { return bytes.Equal(data[i:i+3], data[i-4:i-1]) })
	}
	r := -1
	if q >= 0 {
		r = find(q+3, func(i int) bool { return data[i] == data[i-1] && data[i+1] == data[i-1] && data[i+2] == data[i-1] })
	}
	if r < 0 {
		return nil, 0, errors.New("no place for the block that resets zstd's repeat offsets in the part's first 512 bytes")
	}
	seqs := []sequence{
		{uint32(p), 8 + 3, 3},
		{uint32(q - p - 3), 4 + 3, 3},
		{uint32(r - q - 3), 1 + 3, 3},
	}
	block, err = compressedBlock(data[:r+3], seqs)
	return block, r + 3, err
}

// compressedBlock encodes data as one compressed block of the given
// sequences (and no literals after the last), with raw literals and the
// predefined tables. Match lengths are 3 to 34.
func compressedBlock(data []byte, seqs []sequence) ([]byte, error) {
	var literals []byte
	at := 0
	for _, s := range seqs {
		if s.match < 3 || s.match > 34 || s.offset == 0 {
			return nil, fmt.Errorf("sequence %+v cannot be encoded", s)
		}
		literals = append(literals, data[at:at+int(s.literals)]...)
		at += int(s.literals) + int(s.match)
	}
	if at != len(data) || len(literals) > 4095 {
		return nil, fmt.Errorf("sequences cover %d bytes of %d", at, len(data))
	}

	var body []byte
	// Raw literals section, 2-byte header (sizes up to 4095).
	body = append(body, byte(1<<2|(len(literals)&0xf)<<4), byte(len(literals)>>4))
	body = append(body, literals...)
	// Sequences section: the count and the predefined tables.
	body = append(body, byte(len(seqs)), 0)

	type extra struct {
		v uint32
		n uint
	}
	var llc, ofc, mlc []uint8
	var lle, ofe []extra
	for _, s := range seqs {
		c, v, nb := llCode(s.literals)
		llc, lle = append(llc, c), append(lle, extra{v, nb})
		oc := uint8(bits.Len32(s.offset) - 1)
		ofc, ofe = append(ofc, oc), append(ofe, extra{s.offset - 1<<oc, uint(oc)})
		mlc = append(mlc, uint8(s.match-3)) // lengths 3 to 34 are codes 0 to 31
	}
	tables := predefinedTables()
	ll, err := fseStates(tables[0], llc)
	if err != nil {
		return nil, err
	}
	of, err := fseStates(tables[1], ofc)
	if err != nil {
		return nil, err
	}
	ml, err := fseStates(tables[2], mlc)
	if err != nil {
		return nil, err
	}
	// The decoder reads the initial states (literal lengths, offsets,
	// match lengths), then for each sequence the offset's, the match
	// length's and the literal length's extra bits, then (but after the
	// last) the bits of the next literal length, match length and offset
	// states. Written backwards:
	var w bitWriter
	for i := len(seqs) - 1; i >= 0; i-- {
		if i < len(seqs)-1 {
			o, m, l := tables[1][of[i]], tables[2][ml[i]], tables[0][ll[i]]
			w.add(uint64(of[i+1]-int(o.base)), uint(o.nbBits))
			w.add(uint64(ml[i+1]-int(m.base)), uint(m.nbBits))
			w.add(uint64(ll[i+1]-int(l.base)), uint(l.nbBits))
		}
		w.add(uint64(lle[i].v), lle[i].n)
		// match lengths 3 to 34 have no extra bits
		w.add(uint64(ofe[i].v), ofe[i].n)
	}
	w.add(uint64(ml[0]), mlLog)
	w.add(uint64(of[0]), ofLog)
	w.add(uint64(ll[0]), llLog)
	body = append(body, w.close()...)
	return append(blockHeader(false, blockCompressed, len(body)), body...), nil
}

// blockCopier takes a zstd frame as it is written, drops its header and
// checksum, and writes its blocks to w with the last-block flag cleared.
type blockCopier struct {
	w       io.Writer
	pending []byte // bytes of a header not yet complete
	skip    int    // bytes still to drop (the frame header, the checksum)
	copy    int    // bytes of the current block's content still to copy
	state   int
	sum     bool // the frame has a checksum
	blocks  int
}

const (
	copierMagic = iota // reading the magic and the descriptor
	copierBlocks
	copierDone
)

// gather moves bytes of *p to c.pending until it holds n; it reports
// whether it does.
func (c *blockCopier) gather(n int, p *[]byte) bool {
	k := min(n-len(c.pending), len(*p))
	c.pending = append(c.pending, (*p)[:k]...)
	*p = (*p)[k:]
	return len(c.pending) == n
}

func (c *blockCopier) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		switch {
		case c.copy > 0: // a block's content comes before a checksum
			n := min(c.copy, len(p))
			if _, err := c.w.Write(p[:n]); err != nil {
				return 0, err
			}
			c.copy -= n
			p = p[n:]
			continue
		case c.skip > 0:
			n := min(c.skip, len(p))
			c.skip -= n
			p = p[n:]
			continue
		}
		switch c.state {
		case copierMagic:
			if !c.gather(5, &p) {
				continue
			}
			if !bytes.Equal(c.pending[:4], zstdMagic) {
				return 0, errors.New("zstd encoder wrote no frame")
			}
			fhd := c.pending[4]
			c.pending = c.pending[:0]
			single := fhd&0x20 != 0
			c.sum = fhd&0x04 != 0
			dict := [4]int{0, 1, 2, 4}[fhd&3]
			fcs := [4]int{0, 2, 4, 8}[fhd>>6]
			if fhd>>6 == 0 && single {
				fcs = 1
			}
			win := 1
			if single {
				win = 0
			}
			c.skip = win + dict + fcs
			c.state = copierBlocks
		case copierBlocks:
			if !c.gather(3, &p) {
				continue
			}
			h := uint32(c.pending[0]) | uint32(c.pending[1])<<8 | uint32(c.pending[2])<<16
			c.pending = c.pending[:0]
			last, typ, size := h&1 != 0, int(h>>1&3), int(h>>3)
			if typ == 3 {
				return 0, errors.New("zstd encoder wrote a reserved block type")
			}
			if _, err := c.w.Write(blockHeader(false, typ, size)); err != nil {
				return 0, err
			}
			c.blocks++
			c.copy = size
			if typ == blockRLE {
				c.copy = 1
			}
			if last {
				c.state = copierDone
				if c.sum {
					c.skip = 4
				}
			}
		case copierDone:
			return 0, errors.New("zstd encoder wrote past the end of its frame")
		}
	}
	return total, nil
}

// finish checks that a whole frame went through.
func (c *blockCopier) finish() error {
	if c.state != copierDone || c.skip > 0 || c.copy > 0 {
		return errors.New("zstd encoder's frame ended early")
	}
	return nil
}

// zstdPartWriter compresses one part's tar bytes into blocks that decode
// the same wherever they stand in a frame: the reset block for the first
// bytes, then the blocks of a new frame for the rest.
type zstdPartWriter struct {
	w       io.Writer
	enc     *zstd.Encoder
	head    []byte
	copier  *blockCopier
	started bool
}

// newZstdEncoder makes the encoder of parts; Reset points it at a part.
func newZstdEncoder() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil, zstd.WithEncoderLevel(zstdLevel), zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(1<<zstdWindowLog), zstd.WithEncoderCRC(false), zstd.WithZeroFrames(true))
}

func newZstdPartWriter(w io.Writer, enc *zstd.Encoder) *zstdPartWriter {
	return &zstdPartWriter{w: w, enc: enc}
}

func (z *zstdPartWriter) Write(p []byte) (int, error) {
	if z.started {
		return z.enc.Write(p)
	}
	n := min(512-len(z.head), len(p))
	z.head = append(z.head, p[:n]...)
	if len(z.head) < 512 {
		return len(p), nil
	}
	if err := z.start(); err != nil {
		return 0, err
	}
	if _, err := z.enc.Write(p[n:]); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (z *zstdPartWriter) start() error {
	block, n, err := resetBlock(z.head)
	if err != nil {
		return err
	}
	if _, err := z.w.Write(block); err != nil {
		return err
	}
	z.copier = &blockCopier{w: z.w}
	z.enc.Reset(z.copier)
	z.started = true
	_, err = z.enc.Write(z.head[n:])
	return err
}

// Close ends the part (not the frame).
func (z *zstdPartWriter) Close() error {
	if !z.started {
		if err := z.start(); err != nil {
			return err
		}
	}
	if err := z.enc.Close(); err != nil {
		return err
	}
	return z.copier.finish()
}
