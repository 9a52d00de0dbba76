package pydist

import (
	"archive/tar"
	"bufio"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Limits bound what an archive may unpack to.
type Limits struct {
	Entries int   // members; default 200,000
	Bytes   int64 // total size of the files; default 4 GiB
}

func (l Limits) withDefaults() Limits {
	if l.Entries <= 0 {
		l.Entries = 200_000
	}
	if l.Bytes <= 0 {
		l.Bytes = 4 << 30
	}
	return l
}

// unpackArchive unpacks the python/ tree of a python-build-standalone
// archive (gzip or zstd compressed tar, told apart by their magic numbers)
// into work and moves the interpreter's prefix to dst: python/install/ for
// the full layout, python/ for install_only. It returns the full layout's
// PYTHON.json (nil for install_only).
func unpackArchive(ctx context.Context, archive, work, dst string, lim Limits) ([]byte, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, _ := br.Peek(4)
	var r io.Reader
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", archive, err)
		}
		defer gz.Close()
		r = gz
	case len(magic) == 4 && string(magic) == "\x28\xb5\x2f\xfd":
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", archive, err)
		}
		defer zr.Close()
		r = zr
	default:
		return nil, fmt.Errorf("%s is neither a .tar.gz nor a .tar.zst archive", archive)
	}
	if err := extractTar(ctx, tar.NewReader(r), work, lim); err != nil {
		return nil, err
	}
	top := filepath.Join(work, "python")
	if _, err := os.Stat(top); err != nil {
		return nil, errors.New("the archive has no python/ directory; it is not a python-build-standalone archive")
	}
	var pythonJSON []byte
	prefix := top
	if data, err := os.ReadFile(filepath.Join(top, "PYTHON.json")); err == nil {
		if st, err := os.Stat(filepath.Join(top, "install")); err != nil || !st.IsDir() {
			return nil, errors.New("python/PYTHON.json is present but python/install/ is not: a full python-build-standalone archive has both")
		}
		pythonJSON = data
		prefix = filepath.Join(top, "install")
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return nil, err
	}
	if err := os.Rename(prefix, dst); err != nil {
		return nil, err
	}
	if pythonJSON != nil {
		// Licenses of the bundled libraries travel with the interpreter.
		if _, err := os.Stat(filepath.Join(top, "licenses")); err == nil {
			if err := os.Rename(filepath.Join(top, "licenses"), filepath.Join(dst, "licenses")); err != nil {
				return nil, err
			}
		}
	}
	return pythonJSON, nil
}

// extractTar writes the members below python/ into dir, refusing absolute
// or parent-escaping names, links that leave python/, members written
// through a symlink, duplicates and special files. python/build/ (object
// files of the full layout) is skipped.
func extractTar(ctx context.Context, tr *tar.Reader, dir string, lim Limits) error {
	seen := map[string]byte{} // clean name → type flag
	var entries int
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading the archive: %w", err)
		}
		entries++
		if entries > lim.Entries {
			return fmt.Errorf("the archive has more than %d members; refusing it", lim.Entries)
		}
		name, err := memberName(h.Name)
		if err != nil {
			return err
		}
		if name == "." || name == "python" && h.Typeflag == tar.TypeDir {
			continue
		}
		if !strings.HasPrefix(name, "python/") {
			return fmt.Errorf("member %q lies outside python/; this is not a python-build-standalone archive", h.Name)
		}
		if strings.HasPrefix(name, "python/build/") || name == "python/build" {
			continue
		}
		for p := path.Dir(name); p != "."; p = path.Dir(p) {
			if seen[p] == tar.TypeSymlink {
				return fmt.Errorf("member %q is written through the symlink %q; refusing it", h.Name, p)
			}
		}
		if t, dup := seen[name]; dup && !(t == tar.TypeDir && h.Typeflag == tar.TypeDir) {
			return fmt.Errorf("member %q appears twice; refusing the archive", h.Name)
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg, tar.TypeRegA:
			total += h.Size
			if total > lim.Bytes {
				return fmt.Errorf("the archive unpacks to more than %d bytes; refusing it", lim.Bytes)
			}
			if err := writeFile(target, tr, h.Size, fileMode(h.FileInfo().Mode())); err != nil {
				return fmt.Errorf("unpacking %s: %w", h.Name, err)
			}
		case tar.TypeSymlink:
			if err := checkLink(name, h.Linkname, "python"); err != nil {
				return err
			}
			if err := os.Symlink(h.Linkname, target); err != nil {
				return err
			}
		case tar.TypeLink:
			old, err := memberName(h.Linkname)
			if err != nil || seen[old] != tar.TypeReg {
				return fmt.Errorf("member %q is a hard link to %q, which is not an earlier file of the archive; refusing it", h.Name, h.Linkname)
			}
			if err := os.Link(filepath.Join(dir, filepath.FromSlash(old)), target); err != nil {
				return err
			}
			h.Typeflag = tar.TypeReg
		default:
			return fmt.Errorf("member %q is a %s, which an interpreter archive never holds; refusing it", h.Name, typeName(h.Typeflag))
		}
		if h.Typeflag == tar.TypeRegA {
			h.Typeflag = tar.TypeReg
		}
		seen[name] = h.Typeflag
	}
	return nil
}

// memberName cleans an archive member name, refusing absolute names and
// names that climb out with "..".
func memberName(raw string) (string, error) {
	n := strings.TrimPrefix(raw, "./")
	if n == "" {
		return ".", nil
	}
	if path.IsAbs(n) || strings.Contains(n, "\\") {
		return "", fmt.Errorf("member %q has an absolute name; refusing the archive", raw)
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return "", fmt.Errorf("member %q climbs out of the archive with \"..\"; refusing it", raw)
		}
	}
	return path.Clean(n), nil
}

// checkLink refuses a symlink at name (relative to the archive) whose
// target is absolute or resolves outside top.
func checkLink(name, target, top string) error {
	if target == "" || path.IsAbs(target) {
		return fmt.Errorf("symlink %q points to the absolute path %q; an interpreter prefix must be relocatable, refusing it", name, target)
	}
	// ".." may only lead the target: after a component that may itself
	// be a symlink, the kernel's ".." differs from the lexical one.
	named := false
	for _, part := range strings.Split(target, "/") {
		switch {
		case part == "..":
			if named {
				return fmt.Errorf("symlink %q points to %q, which climbs with \"..\" after a directory name; refusing it", name, target)
			}
		case part != "" && part != ".":
			named = true
		}
	}
	resolved := path.Join(path.Dir(name), target)
	if resolved != top && !strings.HasPrefix(resolved, top+"/") {
		return fmt.Errorf("symlink %q points to %q, outside the interpreter's tree; refusing it", name, target)
	}
	return nil
}

func typeName(t byte) string {
	switch t {
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeFifo:
		return "FIFO"
	default:
		return fmt.Sprintf("tar entry of type %q", t)
	}
}

// fileMode keeps only whether a file is executable.
func fileMode(m fs.FileMode) fs.FileMode {
	if m&0o111 != 0 {
		return 0o755
	}
	return 0o644
}

func writeFile(target string, r io.Reader, size int64, mode fs.FileMode) error {
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	n, err := io.Copy(out, io.LimitReader(r, size))
	if err == nil && n != size {
		err = io.ErrUnexpectedEOF
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// copyDir copies the CPython prefix src to dst with the archive rules:
// symlinks stay inside the tree, no special files.
func copyDir(ctx context.Context, src, dst string) error {
	src, err := filepath.EvalSymlinks(src)
	if err != nil {
		return err
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		name := path.Join("prefix", filepath.ToSlash(rel))
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := checkLink(name, t, "prefix"); err != nil {
				return err
			}
			return os.Symlink(t, target)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			in, err := os.Open(p)
			if err != nil {
				return err
			}
			defer in.Close()
			return writeFile(target, in, info.Size(), fileMode(info.Mode()))
		default:
			return fmt.Errorf("%s is a special file (%s); an interpreter prefix holds none", p, d.Type())
		}
	})
}

// hostMachine is the ELF machine of the architecture venvpkg runs on.
var hostMachine = map[string]elf.Machine{
	"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "386": elf.EM_386, "arm": elf.EM_ARM,
	"ppc64le": elf.EM_PPC64, "s390x": elf.EM_S390, "riscv64": elf.EM_RISCV, "loong64": elf.EM_LOONGARCH,
}

// checkArch refuses an interpreter that is not an ELF executable for the
// build host's architecture: it has to run during the build (probe, PEP
// 517 backends, bytecode), and the package is built for that architecture.
func checkArch(exe string) error {
	f, err := elf.Open(exe)
	if err != nil {
		return fmt.Errorf("the interpreter %s is not an ELF executable: %w", filepath.Base(exe), err)
	}
	defer f.Close()
	want, ok := hostMachine[runtime.GOARCH]
	if ok && f.Machine != want {
		return fmt.Errorf("the interpreter %s is built for %s, not this machine's %s (%s); download the %s build", filepath.Base(exe), f.Machine, want, runtime.GOARCH, archTriple(runtime.GOARCH))
	}
	return nil
}

func archTriple(goarch string) string {
	switch goarch {
	case "amd64":
		return "x86_64-unknown-linux-gnu"
	case "arm64":
		return "aarch64-unknown-linux-gnu"
	}
	return goarch + " Linux"
}
