package debarchive

import (
	"archive/tar"
	"bytes"
	"io"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/venvpkg/venvpkg/internal/testutil"
)

// decodeZstd decodes a whole stream with klauspost/compress and, when
// the zstd command is there, with the reference decoder too.
func decodeZstd(t *testing.T, stream []byte) []byte {
	t.Helper()
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	got, err := dec.DecodeAll(stream, nil)
	if err != nil {
		t.Fatalf("klauspost/compress decoding: %v", err)
	}
	testutil.NeedTool(t, "zstd", "zstd")
	cmd := exec.Command("zstd", "-d", "-c")
	cmd.Stdin = bytes.NewReader(stream)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	ref, err := cmd.Output()
	if err != nil {
		t.Fatalf("zstd -d: %v\n%s", err, stderr.String())
	}
	if !bytes.Equal(ref, got) {
		t.Fatalf("zstd -d decoded %d bytes, klauspost/compress %d, and they differ", len(ref), len(got))
	}
	return got
}

// tarBytes is a tar stream (without its end) of files with the given
// names and contents, as encodePart writes them.
func tarBytes(t *testing.T, files map[string]string, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	p := Part{MTime: time.Unix(1700000000, 0)}
	for _, n := range names {
		p.Entries = append(p.Entries, Entry{Path: n, Type: File, Mode: 0o644, Size: int64(len(files[n])), Data: []byte(files[n])})
	}
	if _, err := encodePart(&p, &buf, func() error { return nil }, false); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestResetBlockDecodes puts a part after a block that leaves the repeat
// offsets at [2 1 4]; the part's second block uses repeat offset 1,
// which is 1 only if the part's reset block set the offsets back.
func TestResetBlockDecodes(t *testing.T) {
	// Before: "abababab" as literals "ab" and a match at offset 2.
	before := []byte("abababab")
	prev, err := compressedBlock(before, []sequence{{2, 2 + 3, 6}})
	if err != nil {
		t.Fatal(err)
	}
	hdr := tarBytes(t, map[string]string{"/a": "x"}, "/a")
	reset, n, err := resetBlock(hdr)
	if err != nil {
		t.Fatal(err)
	}
	if n <= 0 || n > 512 {
		t.Fatalf("reset block covers %d bytes", n)
	}
	// After the header: "xyz" then five bytes at repeat offset 1.
	after := []byte("xyzzzzzz")
	next, err := compressedBlock(after, []sequence{{3, 1, 5}})
	if err != nil {
		t.Fatal(err)
	}
	splice := func(first []byte) []byte {
		stream := append(zstdFrameHeader(), prev...)
		stream = append(stream, first...)
		stream = append(stream, blockHeader(false, blockRaw, len(hdr)-n)...)
		stream = append(stream, hdr[n:]...)
		stream = append(stream, next...)
		return append(stream, zstdEnd()...)
	}
	want := slices.Concat(before, hdr, after, endOfArchive)
	if got := decodeZstd(t, splice(reset)); !bytes.Equal(got, want) {
		t.Fatalf("decoded %q, want %q", got, want)
	}
	// Without the reset the same blocks decode to something else: the
	// test can tell.
	raw := append(blockHeader(false, blockRaw, n), hdr[:n]...)
	dec, _ := zstd.NewReader(nil)
	defer dec.Close()
	if got, err := dec.DecodeAll(splice(raw), nil); err == nil && bytes.Equal(got, want) {
		t.Fatal("the stream decodes right without the reset block: the test proves nothing")
	}
}

func TestResetBlockNeedsPattern(t *testing.T) {
	noise := make([]byte, 512)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	if _, _, err := resetBlock(noise); err == nil || !strings.Contains(err.Error(), "repeat offsets") {
		t.Fatalf("resetBlock(noise) = %v, want an error", err)
	}
}

// compressedPart compresses one tar part as the data member does.
func compressedPart(t *testing.T, enc *zstd.Encoder, data []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	z := newZstdPartWriter(&out, enc)
	// Odd write sizes: the part writer must not depend on them.
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 1+len(rest)%777)
		if _, err := z.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestSplicedPartsDecode splices parts whose contents make the encoder
// use repeat offsets early (runs, repeats at 4 and 8) in every order,
// and checks that each part's blocks are the same whatever precedes them.
func TestSplicedPartsDecode(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	text := func(n int, alphabet string) string {
		var b strings.Builder
		for range n {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	files := map[string]string{
		"/zeros":   strings.Repeat("\x00", 5000),
		"/period4": strings.Repeat("abcd", 3000) + text(100, "xyz"),
		"/period8": strings.Repeat("abcdefgh", 2000),
		"/text":    text(300<<10, "abcdefghij"),
		"/tiny":    "t",
		"/binary":  text(200<<10, "\x00\x01\x02\x03\xff"),
		"/" + strings.Repeat("long/", 30) + "name": "a file whose name needs a GNU long-name header",
	}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	enc, err := newZstdEncoder()
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	var plain [][]byte
	var blocks [][]byte
	for _, n := range names {
		p := tarBytes(t, files, n)
		plain = append(plain, p)
		blocks = append(blocks, compressedPart(t, enc, p))
	}
	for round := range 4 {
		order := rng.Perm(len(names))
		stream := zstdFrameHeader()
		var want []byte
		for _, i := range order {
			stream = append(stream, blocks[i]...)
			want = append(want, plain[i]...)
		}
		stream = append(stream, zstdEnd()...)
		want = append(want, endOfArchive...)
		got := decodeZstd(t, stream)
		if !bytes.Equal(got, want) {
			t.Fatalf("round %d: spliced stream decodes to %d bytes that differ from the %d of the parts", round, len(got), len(want))
		}
		tr := tar.NewReader(bytes.NewReader(got))
		for range names {
			h, err := tr.Next()
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(tr)
			if string(data) != files["/"+strings.TrimPrefix(h.Name, "./")] {
				t.Fatalf("%s: content differs", h.Name)
			}
		}
	}
	// The same part compressed again gives the same blocks.
	if again := compressedPart(t, enc, plain[0]); !bytes.Equal(again, blocks[0]) {
		t.Fatal("compressing a part twice gave different blocks")
	}
}

func TestFseTablesMatchDecoder(t *testing.T) {
	// Every symbol's states must cover the table once: a sequence of any
	// symbols then always has states (fseStates cannot fail).
	for i, tab := range predefinedTables() {
		cover := map[uint8][]bool{}
		for _, s := range tab {
			if cover[s.symbol] == nil {
				cover[s.symbol] = make([]bool, len(tab))
			}
			for x := int(s.base); x < int(s.base)+1<<s.nbBits; x++ {
				if cover[s.symbol][x] {
					t.Fatalf("table %d: symbol %d covers state %d twice", i, s.symbol, x)
				}
				cover[s.symbol][x] = true
			}
		}
		for sym, c := range cover {
			for x, ok := range c {
				if !ok {
					t.Fatalf("table %d: symbol %d does not cover state %d", i, sym, x)
				}
			}
		}
	}
}

// TestBlockCopierFrames: the blocks of any frame klauspost/compress
// writes (single segment with a content size, a checksum, streamed with
// a window) decode inside our frame.
func TestBlockCopierFrames(t *testing.T) {
	data := []byte(strings.Repeat("venvpkg splices blocks\n", 20000))
	for name, opts := range map[string][]zstd.EOption{
		"checksum": {zstd.WithEncoderCRC(true)},
		"plain":    {zstd.WithEncoderCRC(false), zstd.WithWindowSize(1 << zstdWindowLog)},
	} {
		t.Run(name, func(t *testing.T) {
			enc, err := zstd.NewWriter(nil, opts...)
			if err != nil {
				t.Fatal(err)
			}
			var blocks bytes.Buffer
			for _, frame := range [][]byte{enc.EncodeAll(data, nil), enc.EncodeAll(data[:100], nil)} {
				c := &blockCopier{w: &blocks}
				if _, err := c.Write(frame); err != nil {
					t.Fatal(err)
				}
				if err := c.finish(); err != nil {
					t.Fatal(err)
				}
			}
			stream := slices.Concat(zstdFrameHeader(), blocks.Bytes(), zstdEnd())
			if got := decodeZstd(t, stream); !bytes.Equal(got, slices.Concat(data, data[:100], endOfArchive)) {
				t.Fatal("blocks copied from whole frames do not decode to their input")
			}
			c := &blockCopier{w: io.Discard}
			frame := enc.EncodeAll(data, nil)
			c.Write(frame[:len(frame)-5])
			if err := c.finish(); err == nil {
				t.Fatal("a cut frame went through")
			}
		})
	}
}

// FuzzSplicedParts: two parts holding any contents, compressed on their
// own and spliced in either order, decode to the parts' bytes.
func FuzzSplicedParts(f *testing.F) {
	f.Add([]byte("abcdabcdabcd\x00\x00\x00\x00"), []byte(strings.Repeat("x", 700)))
	f.Add([]byte{}, []byte("\x01\x01\x01\x01\x02\x02\x02\x02"))
	enc, err := newZstdEncoder()
	if err != nil {
		f.Fatal(err)
	}
	dec, err := zstd.NewReader(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		files := map[string]string{"/a": string(a), "/b": string(b)}
		pa, pb := tarBytes(t, files, "/a"), tarBytes(t, files, "/b")
		ca, cb := compressedPart(t, enc, pa), compressedPart(t, enc, pb)
		for _, order := range [][4][]byte{{ca, cb, pa, pb}, {cb, ca, pb, pa}} {
			stream := slices.Concat(zstdFrameHeader(), order[0], order[1], zstdEnd())
			got, err := dec.DecodeAll(stream, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, slices.Concat(order[2], order[3], endOfArchive)) {
				t.Fatal("spliced parts decode to other bytes")
			}
		}
	})
}
