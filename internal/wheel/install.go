package wheel

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Scheme holds the final absolute directories of an installation scheme,
// e.g. /opt/venvs/app/lib/python3.11/site-packages for Purelib.
type Scheme struct {
	Purelib string
	Platlib string
	Headers string // the per-distribution directory <Headers>/<name> is used, as pip does
	Scripts string
	Data    string
}

// Destination says where and how Install writes a wheel.
type Destination struct {
	// Root is the staging root (DESTDIR): a file whose final path is P is
	// written at filepath.Join(Root, P). "" installs for real.
	Root      string
	Scheme    Scheme
	Python    string // final interpreter path used in shebangs
	Installer string // INSTALLER content without newline; "" writes no INSTALLER
	Requested bool   // write REQUESTED (the user asked for this distribution)
	// SHA256 is the hex digest the wheel file must have (from the lock, a
	// --hash option or the index), checked before anything is extracted;
	// "" skips the check.
	SHA256 string
	Limits Limits
}

// Installed describes an installed distribution.
type Installed struct {
	Name, Version string   // from METADATA
	Files         []string // final absolute paths, sorted
	Pure          bool     // Root-Is-Purelib and nothing installed into platlib
}

// copyBufSize is the size of the buffer that carries member data to disk.
const copyBufSize = 256 << 10

// Install verifies the wheel at wheelPath and installs it into dest. Every
// member is checked against RECORD while it is extracted; on any error the
// files and directories this call created are removed again. Files are
// created exclusively, so a path that already exists (another distribution's
// file) is an error rather than an overwrite.
func Install(ctx context.Context, wheelPath string, dest Destination) (*Installed, error) {
	base := filepath.Base(wheelPath)
	inst, err := install(ctx, wheelPath, base, dest)
	if err != nil {
		return nil, fmt.Errorf("installing %s: %w", base, err)
	}
	return inst, nil
}

func install(ctx context.Context, wheelPath, base string, dest Destination) (*Installed, error) {
	if err := checkDestination(dest); err != nil {
		return nil, err
	}
	fn, err := ParseFilename(base)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(wheelPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if dest.SHA256 != "" {
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return nil, err
		}
		if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, dest.SHA256) {
			return nil, fmt.Errorf("sha256 of the wheel is %s, want %s; the download is corrupt or the file was replaced", got, dest.SHA256)
		}
	}
	a, err := openArchive(f, st.Size(), dest.Limits)
	if err != nil {
		return nil, err
	}
	c, err := newContents(a, fn)
	if err != nil {
		return nil, err
	}
	in := &installer{c: c, dest: dest, dirs: map[string]bool{}, modeOK: map[os.FileMode]bool{}}
	if err := in.run(ctx); err != nil {
		in.rollback()
		return nil, err
	}
	sort.Strings(in.finals)
	return &Installed{Name: c.meta.Name, Version: c.meta.Version, Files: in.finals, Pure: in.pure}, nil
}

func checkDestination(d Destination) error {
	for _, p := range []struct{ key, dir string }{
		{"purelib", d.Scheme.Purelib}, {"platlib", d.Scheme.Platlib}, {"headers", d.Scheme.Headers},
		{"scripts", d.Scheme.Scripts}, {"data", d.Scheme.Data},
	} {
		if !filepath.IsAbs(p.dir) || filepath.Clean(p.dir) != p.dir {
			return fmt.Errorf("scheme %s directory %q is not a clean absolute path", p.key, p.dir)
		}
	}
	if strings.ContainsAny(d.Installer, "\n\r") {
		return fmt.Errorf("installer name %q contains a newline", d.Installer)
	}
	return checkPython(d.Python)
}

// target kinds.
const (
	kindFile   = iota // copy as is
	kindScript        // .data/scripts: rewrite "#!python", make executable
	kindSkip          // verify only
)

type installer struct {
	c      *contents
	dest   Destination
	lib    string // final directory holding the archive root and .dist-info
	pure   bool
	dirs   map[string]bool // staged directories known to exist
	modeOK map[os.FileMode]bool
	made   []string // staged files and directories this install created, in order
	rows   []recordRow
	finals []string
	buf    []byte
	br     *bufio.Reader
	hr     hashReader
}

// hashReader hashes what passes through it.
type hashReader struct {
	r io.Reader
	h hash.Hash
}

func (r *hashReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.h.Write(p[:n])
	return n, err
}

func (in *installer) run(ctx context.Context) error {
	c := in.c
	in.lib = in.dest.Scheme.Platlib
	if c.wheel.RootIsPurelib {
		in.lib = in.dest.Scheme.Purelib
	}
	in.pure = c.wheel.RootIsPurelib
	dropped := map[string]bool{}
	for _, ep := range c.scripts {
		for _, n := range []string{ep.Name, ep.Name + ".exe", ep.Name + "-script.py", ep.Name + ".pya"} {
			dropped[n] = true
		}
	}
	type plan struct {
		e     *entry
		final string
		kind  int
	}
	plans := make([]plan, 0, len(c.files))
	byFinal := make(map[string]string, len(c.files)+len(c.scripts)+3)
	claim := func(final, what string) error {
		if other, ok := byFinal[final]; ok {
			return fmt.Errorf("%s and %s both install to %s", other, what, final)
		}
		byFinal[final] = what
		return nil
	}
	for _, e := range c.files {
		final, kind, err := in.target(e.name, dropped)
		if err != nil {
			return err
		}
		if kind != kindSkip {
			if err := claim(final, e.name); err != nil {
				return err
			}
		}
		plans = append(plans, plan{e, final, kind})
	}
	scriptFinals := make([]string, len(c.scripts))
	for i, ep := range c.scripts {
		scriptFinals[i] = filepath.Join(in.dest.Scheme.Scripts, ep.Name)
		if err := claim(scriptFinals[i], "entry point "+ep.Name); err != nil {
			return err
		}
	}

	in.buf = make([]byte, copyBufSize)
	for _, p := range plans {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := in.extract(p.e, p.final, p.kind); err != nil {
			return err
		}
	}
	for i, ep := range c.scripts {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := in.writeGenerated(scriptFinals[i], wrapperScript(in.dest.Python, ep), 0o755); err != nil {
			return err
		}
	}
	distInfo := filepath.Join(in.lib, c.distInfo)
	if in.dest.Installer != "" {
		if err := in.writeGenerated(filepath.Join(distInfo, "INSTALLER"), []byte(in.dest.Installer+"\n"), 0o644); err != nil {
			return err
		}
	}
	if in.dest.Requested {
		if err := in.writeGenerated(filepath.Join(distInfo, "REQUESTED"), nil, 0o644); err != nil {
			return err
		}
	}
	recFinal := filepath.Join(distInfo, "RECORD")
	in.rows = append(in.rows, recordRow{Path: in.recordPath(recFinal), Size: -1})
	sort.Slice(in.rows, func(i, j int) bool { return in.rows[i].Path < in.rows[j].Path })
	if err := in.writeFile(recFinal, writeRecord(in.rows), 0o644); err != nil {
		return err
	}
	in.finals = append(in.finals, recFinal)
	return nil
}

// target maps a member to its final path.
func (in *installer) target(name string, dropped map[string]bool) (string, int, error) {
	c, s := in.c, in.dest.Scheme
	if rest, ok := strings.CutPrefix(name, c.distInfo+"/"); ok {
		switch rest {
		case "RECORD", "RECORD.jws", "RECORD.p7s", "INSTALLER", "REQUESTED":
			// Replaced by the files this install writes; signatures of the
			// old RECORD would not match the new one.
			return "", kindSkip, nil
		}
	}
	rest, ok := strings.CutPrefix(name, c.dataDir+"/")
	if !ok {
		return filepath.Join(in.lib, name), kindFile, nil
	}
	key, sub, ok := strings.Cut(rest, "/")
	if !ok {
		return "", 0, fmt.Errorf("%s is a file directly in %s; files there must be in a purelib, platlib, headers, scripts or data subdirectory", name, c.dataDir)
	}
	if key == "purelib" || key == "platlib" {
		if top, _, _ := strings.Cut(sub, "/"); strings.HasSuffix(top, ".dist-info") {
			return "", 0, fmt.Errorf("%s would install a second .dist-info directory; a wheel has exactly one", name)
		}
	}
	switch key {
	case "purelib":
		return filepath.Join(s.Purelib, sub), kindFile, nil
	case "platlib":
		in.pure = false
		return filepath.Join(s.Platlib, sub), kindFile, nil
	case "headers":
		return filepath.Join(s.Headers, in.headersName(), sub), kindFile, nil
	case "data":
		return filepath.Join(s.Data, sub), kindFile, nil
	case "scripts":
		if strings.Contains(sub, "/") {
			return "", 0, fmt.Errorf("%s is in a directory inside %s/scripts; scripts must be regular files directly in it", name, c.dataDir)
		}
		if reservedScript(sub) {
			return "", 0, fmt.Errorf("%s would replace the environment's interpreter %s; scripts must not be named python, python3 or python3.X", name, sub)
		}
		if dropped[sub] {
			return "", kindSkip, nil
		}
		return filepath.Join(s.Scripts, sub), kindScript, nil
	}
	return "", 0, fmt.Errorf("%s is in unknown data directory %s/%s; use purelib, platlib, headers, scripts or data", name, c.dataDir, key)
}

// headersName is the per-distribution headers directory: the filename's
// distribution with "_" turned back into "-", which is the name pip 23 uses.
func (in *installer) headersName() string {
	return strings.ReplaceAll(in.c.fn.Distribution, "_", "-")
}

// staged returns where the file with final path p is written.
func (in *installer) staged(p string) string {
	if in.dest.Root == "" {
		return p
	}
	return filepath.Join(in.dest.Root, p)
}

// recordPath renders a final path relative to the dist-info's directory.
func (in *installer) recordPath(final string) string {
	rel, err := filepath.Rel(in.lib, final)
	if err != nil {
		return filepath.ToSlash(final)
	}
	return filepath.ToSlash(rel)
}

// extract copies one member to final, verifying it against its RECORD row.
func (in *installer) extract(e *entry, final string, kind int) error {
	if in.c.isSignature(e.name) {
		return nil // RECORD was read and checked already; signatures cannot be verified
	}
	row := in.c.record[e.name]
	r, err := in.c.a.open(e)
	if err != nil {
		return err
	}
	algo, _, _ := strings.Cut(row.Hash, "=")
	h := in.c.hs.get(algo)
	if kind == kindSkip {
		if _, err := in.copyHashed(io.Discard, r, h); err != nil {
			return err
		}
		return in.verify(e, row, h)
	}
	mode := os.FileMode(0o644)
	if kind == kindScript || e.mode&0o111 != 0 {
		mode = 0o755
	}
	f, err := in.create(final, mode)
	if err != nil {
		return err
	}
	out := recordRow{Path: in.recordPath(final), Hash: row.Hash, Size: row.Size}
	if kind == kindScript {
		out.Hash, out.Size, err = in.copyScript(f, r, h)
	} else {
		_, err = in.copyHashed(f, r, h)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", final, err)
	}
	if err := in.verify(e, row, h); err != nil {
		return err
	}
	in.rows = append(in.rows, out)
	in.finals = append(in.finals, final)
	return nil
}

func (in *installer) verify(e *entry, row *recordRow, h hash.Hash) error {
	algo, _, _ := strings.Cut(row.Hash, "=")
	if !sameDigest(row.Hash, encodeDigest(algo, h.Sum(in.buf[:0]))) {
		return hashMismatch(in.c.distInfo, e.name)
	}
	return nil
}

// copyHashed copies r to w through the shared buffer, hashing every byte.
func (in *installer) copyHashed(w io.Writer, r io.Reader, h hash.Hash) (int64, error) {
	var n int64
	for {
		k, err := r.Read(in.buf)
		if k > 0 {
			h.Write(in.buf[:k])
			if _, werr := w.Write(in.buf[:k]); werr != nil {
				return n, werr
			}
			n += int64(k)
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// copyScript copies a script, replacing a first line that starts with
// "#!python" by the interpreter's shebang. It returns the RECORD hash and
// size of what it wrote.
func (in *installer) copyScript(w io.Writer, r io.Reader, orig hash.Hash) (string, int64, error) {
	in.hr = hashReader{r: r, h: orig}
	if in.br == nil {
		in.br = bufio.NewReaderSize(&in.hr, 64<<10)
	} else {
		in.br.Reset(&in.hr)
	}
	head, err := in.br.Peek(len("#!python"))
	if err != nil && err != io.EOF {
		return "", 0, err
	}
	rewrite := bytes.Equal(head, []byte("#!python")) // head is only valid until the next read
	out := sha256.New()
	mw := io.MultiWriter(w, out)
	if rewrite {
		for {
			_, err := in.br.ReadSlice('\n')
			if err == nil || err == io.EOF {
				break
			}
			if err != bufio.ErrBufferFull {
				return "", 0, err
			}
		}
		if _, err := io.WriteString(mw, shebang(in.dest.Python)); err != nil {
			return "", 0, err
		}
	}
	var n int64
	for {
		k, err := in.br.Read(in.buf)
		if k > 0 {
			if _, werr := mw.Write(in.buf[:k]); werr != nil {
				return "", 0, werr
			}
			n += int64(k)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", 0, err
		}
	}
	size := n
	if rewrite {
		size += int64(len(shebang(in.dest.Python)))
	}
	return encodeDigest("sha256", out.Sum(nil)), size, nil
}

// writeGenerated writes a file this installer creates and records it.
func (in *installer) writeGenerated(final string, data []byte, mode os.FileMode) error {
	if err := in.writeFile(final, data, mode); err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	in.rows = append(in.rows, recordRow{Path: in.recordPath(final), Hash: encodeDigest("sha256", sum[:]), Size: int64(len(data))})
	in.finals = append(in.finals, final)
	return nil
}

func (in *installer) writeFile(final string, data []byte, mode os.FileMode) error {
	f, err := in.create(final, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", final, err)
	}
	return nil
}

// create makes a new file at final's staged path with exactly mode,
// refusing to replace an existing file.
func (in *installer) create(final string, mode os.FileMode) (*os.File, error) {
	p := in.staged(final)
	if err := in.mkdirs(filepath.Dir(p)); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, fs.ErrNotExist) {
		// A concurrent install's rollback may have removed the directory.
		delete(in.dirs, filepath.Dir(p))
		if err = in.mkdirs(filepath.Dir(p)); err == nil {
			f, err = os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		}
	}
	if errors.Is(err, fs.ErrExist) {
		if owner := in.owner(final); owner != "" {
			return nil, fmt.Errorf("%s already exists, installed by %s; two distributions must not write the same file", final, owner)
		}
		return nil, fmt.Errorf("%s already exists; two distributions must not write the same file", final)
	}
	if err != nil {
		return nil, err
	}
	in.made = append(in.made, p)
	// The umask may clear bits of mode. Check the first file of each mode
	// and fix modes with fchmod only if the umask did clear some.
	if !in.modeOK[mode] {
		fi, err := f.Stat()
		if err == nil && fi.Mode().Perm() != mode {
			err = f.Chmod(mode)
		} else if err == nil {
			in.modeOK[mode] = true
		}
		if err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// mkdirs creates dir and its missing parents with mode 0755, remembering
// which it created for rollback.
func (in *installer) mkdirs(dir string) error {
	if in.dirs[dir] {
		return nil
	}
	fi, err := os.Stat(dir)
	switch {
	case err == nil:
		if !fi.IsDir() {
			return fmt.Errorf("%s exists and is not a directory", dir)
		}
		in.dirs[dir] = true
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := in.mkdirs(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		if !errors.Is(err, fs.ErrExist) {
			return err
		}
	} else {
		in.made = append(in.made, dir)
		if err := os.Chmod(dir, 0o755); err != nil {
			return err
		}
	}
	in.dirs[dir] = true
	return nil
}

// rollback removes what this install created, newest first; directories
// that another install has put files into meanwhile stay.
func (in *installer) rollback() {
	for i := len(in.made) - 1; i >= 0; i-- {
		os.Remove(in.made[i]) // a directory that is not empty stays
	}
}

// owner finds the installed distribution whose RECORD lists final.
func (in *installer) owner(final string) string {
	for _, lib := range []string{in.dest.Scheme.Purelib, in.dest.Scheme.Platlib} {
		records, _ := filepath.Glob(filepath.Join(in.staged(lib), "*.dist-info", "RECORD"))
		for _, rec := range records {
			f, err := os.Open(rec)
			if err != nil {
				continue
			}
			rows, err := parseRecord(f)
			f.Close()
			if err != nil {
				continue
			}
			for _, r := range rows {
				if filepath.Join(lib, filepath.FromSlash(r.Path)) == final {
					return filepath.Base(filepath.Dir(rec))
				}
			}
		}
	}
	return ""
}
