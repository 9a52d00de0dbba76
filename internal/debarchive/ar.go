package debarchive

import (
	"fmt"
	"io"
	"os"
	"strconv"
)

// arMagic opens every ar archive (deb(5): "the file is an ar archive with
// a magic value of !<arch>").
const arMagic = "!<arch>\n"

// arHeaderLen is the size of a member header: name (16), mtime (12),
// uid (6), gid (6), mode (8), size (10) and the two-byte terminator.
const arHeaderLen = 60

// arHeader formats a member header as dpkg-deb writes it: the name
// without the GNU "/" terminator, owner 0:0, mode 100644.
func arHeader(name string, mtime int64, size int64) ([]byte, error) {
	if len(name) > 16 {
		return nil, fmt.Errorf("ar member name %q is longer than 16 bytes", name)
	}
	s := strconv.FormatInt(size, 10)
	if len(s) > 10 {
		return nil, fmt.Errorf("ar member %s is too large (%d bytes)", name, size)
	}
	h := fmt.Sprintf("%-16s%-12d%-6d%-6d%-8s%-10s`\n", name, mtime, 0, 0, "100644", s)
	if len(h) != arHeaderLen {
		return nil, fmt.Errorf("ar member %s: header of %d bytes", name, len(h))
	}
	return []byte(h), nil
}

// arWriter writes an ar archive to a file. Members whose size is not
// known up front are written with a placeholder size that is patched in
// place once the member is complete.
type arWriter struct {
	f     *os.File
	off   int64 // bytes written so far
	mtime int64
}

func newArWriter(f *os.File, mtime int64) (*arWriter, error) {
	w := &arWriter{f: f, mtime: mtime}
	if err := w.write([]byte(arMagic)); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *arWriter) write(p []byte) error {
	n, err := w.f.Write(p)
	w.off += int64(n)
	return err
}

// add writes a member whose body is in memory.
func (w *arWriter) add(name string, body []byte) error {
	h, err := arHeader(name, w.mtime, int64(len(body)))
	if err != nil {
		return err
	}
	if err := w.write(h); err != nil {
		return err
	}
	if err := w.write(body); err != nil {
		return err
	}
	return w.pad(int64(len(body)))
}

// pad ends a member of size bytes: members start at even offsets.
func (w *arWriter) pad(size int64) error {
	if size%2 == 1 {
		return w.write([]byte{'\n'})
	}
	return nil
}

// stream starts a member of unknown size; the returned function ends it,
// patching the size field with the number of bytes written in between.
func (w *arWriter) stream(name string) (io.Writer, func() error, error) {
	h, err := arHeader(name, w.mtime, 0)
	if err != nil {
		return nil, nil, err
	}
	start := w.off
	if err := w.write(h); err != nil {
		return nil, nil, err
	}
	cw := &countingWriter{w: w}
	end := func() error {
		size := cw.n
		h, err := arHeader(name, w.mtime, size)
		if err != nil {
			return err
		}
		if _, err := w.f.WriteAt(h, start); err != nil {
			return err
		}
		return w.pad(size)
	}
	return cw, end, nil
}

// countingWriter passes writes to the archive and counts them. Its
// ReadFrom lets io.Copy from a file use copy_file_range.
type countingWriter struct {
	w *arWriter
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.f.Write(p)
	c.n += int64(n)
	c.w.off += int64(n)
	return n, err
}

func (c *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	n, err := c.w.f.ReadFrom(r)
	c.n += n
	c.w.off += n
	return n, err
}
