// Package debarchive writes Debian binary packages (deb(5)): an ar
// archive of debian-binary, control.tar.gz and data.tar, streamed from the
// staged files to the output with bounded memory (one buffer per file
// copy and the compressor's window, whatever the payload's size).
//
// The data member is a sequence of parts (see Part) in the caller's
// order. A part with a cache directory keeps what it contributes to the
// control member (md5sums, installed size) there and, for zstd, its
// compressed blocks: a later package with the same part does not read
// its files at all. A zstd member is one frame (bookworm's dpkg stops
// reading at the end of the first) made of the parts' blocks, each part
// compressed on its own and on all cores (zstdsplice.go). xz runs
// multi-threaded in fixed blocks, so the thread count does not change a
// byte; gzip and xz members are compressed whole on every write.
package debarchive

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/errgroup"

	"github.com/venvpkg/venvpkg/internal/atomicfile"
)

// Compressions lists the data member compressions Write supports.
var Compressions = []string{"zstd", "xz", "gzip", "none"}

// Options tune Write.
type Options struct {
	// Compression of data.tar: "zstd" (level 3, as dpkg-deb -Zzstd), "xz"
	// (level 6, dpkg-deb's default), "gzip" or "none".
	Compression string
	// MTime dates the ar members and the control member.
	MTime time.Time
	// Jobs is the number of frames compressed at once; 0 means the
	// number of CPUs.
	Jobs int
	// TempDir holds the frames of uncached parts while the package is
	// written; empty means the system's temp dir.
	TempDir string
}

// Stats says how a package was written.
type Stats struct {
	Parts, CachedParts int
	// Compressed is the number of uncompressed bytes compressed.
	Compressed int64
}

// Write writes the package described by c and parts to out, from its
// current offset (normally a new, empty file).
func Write(ctx context.Context, out *os.File, c *Control, parts []Part, o Options) (*Stats, error) {
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	ext := map[string]string{"zstd": ".zst", "xz": ".xz", "gzip": ".gz", "none": ""}
	suffix, ok := ext[o.Compression]
	if !ok {
		return nil, fmt.Errorf("compression %q is not supported; use one of %s", o.Compression, strings.Join(Compressions, ", "))
	}
	tmp, err := os.MkdirTemp(o.TempDir, "venvpkg-deb-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	var data dataMember
	if o.Compression == "zstd" {
		data, err = zstdParts(ctx, parts, jobs, tmp)
	} else {
		data, err = streamParts(ctx, parts, o.Compression, jobs, tmp)
	}
	if err != nil {
		return nil, err
	}
	var md5sums bytes.Buffer
	var kib int64
	for _, s := range data.sums {
		md5sums.WriteString(s.MD5Sums)
		kib += s.InstalledKiB
	}
	control, err := c.controlTar(kib, md5sums.Bytes(), o.MTime)
	if err != nil {
		return nil, fmt.Errorf("control member: %w", err)
	}

	ar, err := newArWriter(out, o.MTime.Unix())
	if err != nil {
		return nil, err
	}
	if err := ar.add("debian-binary", []byte("2.0\n")); err != nil {
		return nil, err
	}
	if err := ar.add("control.tar.gz", control); err != nil {
		return nil, err
	}
	w, end, err := ar.stream("data.tar" + suffix)
	if err != nil {
		return nil, err
	}
	for _, piece := range data.pieces {
		if piece.file == "" {
			_, err = w.Write(piece.data)
		} else {
			err = appendFile(w, piece.file)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := end(); err != nil {
		return nil, err
	}
	return &data.stats, nil
}

func appendFile(w io.Writer, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// dataMember is the compressed data member, in pieces to concatenate.
type dataMember struct {
	pieces []piece
	sums   []partSums
	stats  Stats
}

// piece is bytes of the data member, in memory or in a file.
type piece struct {
	data []byte
	file string
}

// endOfArchive is tar's end: two zero blocks.
var endOfArchive = make([]byte, 1024)

// zstdLevel is zstd's default level 3, as the zstd command and dpkg-deb use.
var zstdLevel = zstd.EncoderLevelFromZstd(3)

// streamParts writes all parts as one gzip, xz or uncompressed stream
// into a file in tmp, taking the sums of cached parts from their cache.
func streamParts(ctx context.Context, parts []Part, compression string, jobs int, tmp string) (dataMember, error) {
	d := dataMember{sums: make([]partSums, len(parts)), stats: Stats{Parts: len(parts)}}
	f, err := os.Create(filepath.Join(tmp, "data.tar"))
	if err != nil {
		return d, err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	var w io.WriteCloser
	wait := func() error { return bw.Flush() }
	switch compression {
	case "gzip":
		w, err = gzip.NewWriterLevel(bw, gzip.BestCompression)
	case "none":
		w = nopCloser{bw}
	case "xz":
		w, wait, err = xzCompressor(ctx, f, jobs)
	}
	if err != nil {
		return d, err
	}
	fail := func(err error) (dataMember, error) {
		w.Close()
		wait()
		return d, err
	}
	for i := range parts {
		p := &parts[i]
		key := ""
		hashed := true
		if p.CacheDir != "" {
			key = partKey(p)
			if s, ok := cachedSums(p.CacheDir, key); ok {
				d.sums[i] = s
				d.stats.CachedParts++
				hashed = false
			}
		}
		n := &countWriter{w: w}
		s, err := encodePart(p, n, ctx.Err, hashed)
		if err != nil {
			return fail(fmt.Errorf("%s: %w", p.Name, err))
		}
		d.stats.Compressed += n.n
		if !hashed {
			continue
		}
		d.sums[i] = s
		if key != "" {
			if err := saveSums(p.CacheDir, key, s); err != nil {
				return fail(fmt.Errorf("%s: caching md5sums: %w", p.Name, err))
			}
		}
	}
	if _, err := w.Write(endOfArchive); err != nil {
		return fail(err)
	}
	if err := w.Close(); err != nil {
		wait()
		return d, err
	}
	if err := wait(); err != nil {
		return d, err
	}
	if err := f.Close(); err != nil {
		return d, err
	}
	d.pieces = []piece{{file: f.Name()}}
	return d, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// xzBlockSize fixes xz's block boundaries: in multi-threaded mode each
// block is compressed on its own, so the output depends on the block size
// but not on the number of threads.
const xzBlockSize = "8MiB"

// xzCompressor runs xz(1) writing to f. xz is multi-threaded even on one
// core ("+1" threads), because its single-threaded mode writes other
// bytes.
func xzCompressor(ctx context.Context, f *os.File, jobs int) (io.WriteCloser, func() error, error) {
	threads := fmt.Sprint(jobs)
	if jobs < 2 {
		threads = "+1"
	}
	cmd := exec.CommandContext(ctx, "xz", "--format=xz", "--check=crc64", "-6", "--threads="+threads, "--block-size="+xzBlockSize, "--stdout", "-")
	cmd.Stdout = f
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("running xz (install xz-utils): %w", err)
	}
	wait := func() error {
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("xz: %w: %s", err, strings.TrimSpace(stderr.String()))
		}
		return nil
	}
	return in, wait, nil
}

// zstdParts compresses the parts that are not cached, jobs at a time,
// and lists the member's pieces: the frame header, each part's blocks
// (from its cache or from tmp) and the end block.
func zstdParts(ctx context.Context, parts []Part, jobs int, tmp string) (dataMember, error) {
	d := dataMember{sums: make([]partSums, len(parts)), stats: Stats{Parts: len(parts)}}
	blocks := make([]string, len(parts))
	encoders := make(chan *zstd.Encoder, jobs)
	defer func() {
		close(encoders)
		for e := range encoders {
			e.Close()
		}
	}()
	compressed := make([]int64, len(parts))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	settings := zstdPartKey()
	for i := range parts {
		p := &parts[i]
		if len(p.Entries) == 0 {
			continue
		}
		var sumsKey string
		if p.CacheDir != "" {
			sumsKey = partKey(p)
			blocks[i] = filepath.Join(p.CacheDir, sumsKey+"-"+shortHash(settings)+".zst")
			s, ok := cachedSums(p.CacheDir, sumsKey)
			if _, err := os.Stat(blocks[i]); ok && err == nil {
				d.sums[i] = s
				d.stats.CachedParts++
				continue
			}
		} else {
			blocks[i] = filepath.Join(tmp, fmt.Sprintf("part-%d.zst", i))
		}
		g.Go(func() error {
			var enc *zstd.Encoder
			select {
			case enc = <-encoders:
			default:
				var err error
				if enc, err = newZstdEncoder(); err != nil {
					return err
				}
			}
			defer func() { encoders <- enc }()
			n, s, err := compressPart(gctx, p, enc, blocks[i], sumsKey != "")
			if err != nil {
				return fmt.Errorf("%s: %w", p.Name, err)
			}
			d.sums[i], compressed[i] = s, n
			if sumsKey != "" {
				if err := saveSums(p.CacheDir, sumsKey, s); err != nil {
					return fmt.Errorf("%s: caching md5sums: %w", p.Name, err)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return d, err
	}
	d.pieces = append(d.pieces, piece{data: zstdFrameHeader()})
	for i, b := range blocks {
		d.stats.Compressed += compressed[i]
		if b != "" {
			d.pieces = append(d.pieces, piece{file: b})
		}
	}
	d.pieces = append(d.pieces, piece{data: zstdEnd()})
	return d, nil
}

// compressPart writes p's blocks to the file dst, atomically (a cached
// part's file is complete or absent), and returns the number of bytes
// compressed and p's sums.
func compressPart(ctx context.Context, p *Part, enc *zstd.Encoder, dst string, cached bool) (int64, partSums, error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return 0, partSums{}, err
	}
	f, err := atomicfile.Create(dst, 0o644)
	if err != nil {
		return 0, partSums{}, err
	}
	f.NoSync = !cached // a file of this write only
	defer f.Abort()
	bw := bufio.NewWriterSize(f, 256<<10)
	z := newZstdPartWriter(bw, enc)
	n := &countWriter{w: z}
	s, err := encodePart(p, n, ctx.Err, true)
	if err != nil {
		return 0, s, err
	}
	if err := z.Close(); err != nil {
		return 0, s, fmt.Errorf("compressing: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return 0, s, err
	}
	return n.n, s, f.Commit()
}

// shortHash names a variant of a cached file.
func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:6])
}
