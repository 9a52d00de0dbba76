package wheel

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// patchZip edits a written wheel in place.
func patchZip(t *testing.T, path string, edit func(b []byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, edit(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

// headerPos finds the local (sig 0x04034b50) or central (0x02014b50) header
// of member name and returns its offset.
func headerPos(t *testing.T, b []byte, sig uint32, name string) int {
	t.Helper()
	var s [4]byte
	binary.LittleEndian.PutUint32(s[:], sig)
	nameOff := 30
	if sig == sigCentral {
		nameOff = 46
	}
	for i := 0; ; {
		j := bytes.Index(b[i:], s[:])
		if j < 0 {
			t.Fatalf("no header for %s", name)
		}
		p := i + j
		lenOff := 26
		if sig == sigCentral {
			lenOff = 28
		}
		if p+nameOff > len(b) {
			t.Fatalf("no header for %s", name)
		}
		n := int(binary.LittleEndian.Uint16(b[p+lenOff:]))
		if p+nameOff+n <= len(b) && string(b[p+nameOff:p+nameOff+n]) == name {
			return p
		}
		i = p + 1
	}
}

// descriptorPos returns the offset of member name's data descriptor (the
// standard library's writer puts CRC and sizes there, after the data).
func descriptorPos(t *testing.T, b []byte, name string) int {
	t.Helper()
	c := headerPos(t, b, sigCentral, name)
	l := headerPos(t, b, sigLocal, name)
	p := l + 30 + int(binary.LittleEndian.Uint16(b[l+26:])) + int(binary.LittleEndian.Uint16(b[l+28:])) + int(binary.LittleEndian.Uint32(b[c+20:]))
	if binary.LittleEndian.Uint32(b[p:]) != sigDescriptor {
		t.Fatalf("%s has no data descriptor at %d", name, p)
	}
	return p
}

// addUsize adds delta to the uncompressed size of name in the central
// directory and the data descriptor.
func addUsize(t *testing.T, b []byte, name string, delta int) {
	c := headerPos(t, b, sigCentral, name)
	d := descriptorPos(t, b, name)
	binary.LittleEndian.PutUint32(b[c+24:], uint32(int(binary.LittleEndian.Uint32(b[c+24:]))+delta))
	binary.LittleEndian.PutUint32(b[d+12:], uint32(int(binary.LittleEndian.Uint32(b[d+12:]))+delta))
}

func TestInstallRefuses(t *testing.T) {
	ok := func() map[string][]byte {
		return merge(demoFiles("bad", "1.0", true), map[string]string{"bad/__init__.py": "x = 1\n"})
	}
	with := func(extra map[string]string) map[string][]byte { return merge(ok(), extra) }
	const base = "bad-1.0-py3-none-any.whl"
	tests := []struct {
		name  string
		base  string
		files map[string][]byte
		opts  []wheelOpt
		patch func(t *testing.T, b []byte) []byte
		lim   Limits
		want  string
	}{
		{name: "absolute path", files: with(map[string]string{"/tmp/example": "x"}), want: `"/tmp/example" has an unsafe path`},
		{name: "dot dot", files: with(map[string]string{"../example": "x"}), want: `"../example" has an unsafe path`},
		{name: "dot slash dot dot", files: with(map[string]string{"./../example": "x"}), want: `"./../example" has an unsafe path`},
		{name: "dot dot inside data", files: with(map[string]string{"bad-1.0.data/purelib/../../../x": "x"}), want: "has an unsafe path"},
		{name: "backslash", files: with(map[string]string{`bad\..\..\x`: "x"}), want: "has an unsafe path"},
		{name: "NUL", files: with(map[string]string{"bad/a\x00b": "x"}), want: "has an unsafe path"},
		{name: "drive letter", files: with(map[string]string{"C:/x": "x"}), want: "has an unsafe path"},
		{name: "symlink", files: with(map[string]string{"bad/link": "/etc/passwd"}), opts: []wheelOpt{withMode("bad/link", os.ModeSymlink|0o777)}, want: "is a symlink"},
		{name: "duplicate name", files: with(map[string]string{"bad/aa.py": "1", "bad/ab.py": "2"}), patch: func(t *testing.T, b []byte) []byte {
			copy(b[headerPos(t, b, sigLocal, "bad/ab.py")+30:], "bad/aa.py")
			copy(b[headerPos(t, b, sigCentral, "bad/ab.py")+46:], "bad/aa.py")
			return b
		}, want: "appears twice"},
		{name: "names equal after case folding", files: with(map[string]string{"bad/Mod.py": "a = 1\n", "bad/mod.py": "a = 2\n"}), want: `entries "bad/Mod.py" and "bad/mod.py" differ only in case or Unicode normalisation but have different content`},
		{name: "names equal after NFC", files: with(map[string]string{"bad/caf\u00e9.py": "a = 1\n", "bad/cafe\u0301.py": "a = 2\n"}), want: "differ only in case or Unicode normalisation"},
		{name: "names equal after NFC and folding", files: with(map[string]string{"bad/\u00c9t\u00e9.py": "a = 1\n", "bad/e\u0301te\u0301.py": "a = 2\n"}), want: "differ only in case or Unicode normalisation"},
		{name: "invalid UTF-8 name", files: with(map[string]string{"bad/\xff.py": "x"}), want: `entry name "bad/\xff.py" is not valid UTF-8`},
		{name: "non-ASCII name without the UTF-8 flag", files: with(map[string]string{"bad/caf\u00e9.py": "x"}), patch: func(t *testing.T, b []byte) []byte {
			p := headerPos(t, b, sigCentral, "bad/caf\u00e9.py")
			binary.LittleEndian.PutUint16(b[p+8:], binary.LittleEndian.Uint16(b[p+8:])&^flagUTF8)
			return b
		}, want: "is not ASCII and the archive does not mark it as UTF-8"},
		{name: "encrypted entry", files: ok(), patch: func(t *testing.T, b []byte) []byte {
			b[headerPos(t, b, sigCentral, "bad/__init__.py")+8] |= flagEncrypted
			return b
		}, want: "bad/__init__.py: encrypted entries are not supported"},
		{name: "unsupported compression method", files: ok(), patch: func(t *testing.T, b []byte) []byte {
			binary.LittleEndian.PutUint16(b[headerPos(t, b, sigCentral, "bad/__init__.py")+10:], 12)
			return b
		}, want: "bad/__init__.py: compression method 12 is not supported"},
		{name: "local size differs", files: ok(), patch: func(t *testing.T, b []byte) []byte {
			d := descriptorPos(t, b, "bad/__init__.py")
			binary.LittleEndian.PutUint32(b[d+12:], binary.LittleEndian.Uint32(b[d+12:])+1)
			return b
		}, want: "bad/__init__.py: local header and central directory disagree on CRC or sizes"},
		{name: "no dist-info", files: map[string][]byte{"bad/__init__.py": []byte("x = 1\n")}, opts: []wheelOpt{func(o *wheelOpts) { o.noRecord = true }}, want: "exactly one top-level .dist-info directory, found 0"},
		{name: "special file", files: with(map[string]string{"bad/fifo": ""}), opts: []wheelOpt{withMode("bad/fifo", os.ModeNamedPipe|0o644)}, want: `entry "bad/fifo" is a special file`},
		{name: "file missing from RECORD", files: with(map[string]string{"bad/extra.py": "x"}), opts: []wheelOpt{withoutRecordRow("bad/extra.py")}, want: "bad/extra.py is not listed in bad-1.0.dist-info/RECORD"},
		{name: "RECORD row for a missing file", files: ok(), opts: []wheelOpt{withExtraRow("bad/gone.py,sha256=AAAA,1")}, want: "lists bad/gone.py, which is not in the wheel"},
		{name: "hash mismatch", files: ok(), opts: []wheelOpt{withTamper("bad/__init__.py", []byte("x = 2\n"))}, want: "bad/__init__.py does not match its hash in bad-1.0.dist-info/RECORD"},
		{name: "hash mismatch in stored METADATA", files: ok(), opts: []wheelOpt{withStore(), withTamper("bad-1.0.dist-info/METADATA", []byte("Metadata-Version: 2.1\nName: bad\nVersion: 1.0\nSummary: b demo\n"))}, want: "METADATA does not match its hash"},
		{name: "size mismatch", files: ok(), opts: []wheelOpt{withTamper("bad/__init__.py", []byte("x = 10\n"))}, want: "bad/__init__.py is 7 bytes, but RECORD says 6"},
		{name: "weak hash", files: ok(), opts: []wheelOpt{withoutRecordRow("bad/__init__.py"), withExtraRow("bad/__init__.py,md5=abc,6")}, want: `hash algorithm "md5" is not allowed`},
		{name: "no hash", files: ok(), opts: []wheelOpt{withoutRecordRow("bad/__init__.py"), withExtraRow("bad/__init__.py,,6")}, want: "bad/__init__.py has no hash or size"},
		{name: "no RECORD", files: ok(), opts: []wheelOpt{func(o *wheelOpts) { o.noRecord = true }}, want: "bad-1.0.dist-info/RECORD is missing"},
		{name: "two dist-info", files: with(map[string]string{"other-1.0.dist-info/METADATA": "x"}), want: "exactly one top-level .dist-info directory, found 2"},
		{name: "dist-info name mismatch", base: "good-1.0-py3-none-any.whl", files: ok(), want: "bad-1.0.dist-info does not match the wheel's name and version good 1.0"},
		{name: "dist-info version mismatch", base: "bad-1.1-py3-none-any.whl", files: ok(), want: "does not match the wheel's name and version bad 1.1"},
		{name: "METADATA name mismatch", files: func() map[string][]byte {
			f := ok()
			f["bad-1.0.dist-info/METADATA"] = []byte("Name: other\nVersion: 1.0\n")
			return f
		}(), want: "METADATA names other 1.0, but the wheel is bad 1.0"},
		{name: "Wheel-Version 2", files: func() map[string][]byte {
			f := ok()
			f["bad-1.0.dist-info/WHEEL"] = []byte("Wheel-Version: 2.0\nRoot-Is-Purelib: true\n")
			return f
		}(), want: "Wheel-Version 2.0 is not supported"},
		{name: "unknown data key", files: with(map[string]string{"bad-1.0.data/lib/x": "x"}), want: "unknown data directory bad-1.0.data/lib"},
		{name: "file directly in .data", files: with(map[string]string{"bad-1.0.data/x": "x"}), want: "is a file directly in bad-1.0.data"},
		{name: "directory in .data/scripts", files: with(map[string]string{"bad-1.0.data/scripts/sub/x": "x"}), want: "is in a directory inside bad-1.0.data/scripts"},
		{name: "empty directory in .data/scripts", files: with(map[string]string{"bad-1.0.data/scripts/sub/": ""}), want: "is a directory inside bad-1.0.data/scripts"},
		{name: "dist-info smuggled through platlib", files: with(map[string]string{"bad-1.0.data/platlib/evil-1.0.dist-info/METADATA": "Name: evil\n"}), want: "would install a second .dist-info directory"},
		{name: "other .data directory", files: with(map[string]string{"evil-1.0.data/scripts/x": "x"}), want: "unexpected data directory evil-1.0.data"},
		{name: "entry point escaping bin", files: with(map[string]string{"bad-1.0.dist-info/entry_points.txt": "[console_scripts]\n../x = bad:main\n"}), want: `script name "../x" would be written outside the scripts directory`},
		{name: "entry point dot dot", files: with(map[string]string{"bad-1.0.dist-info/entry_points.txt": "[gui_scripts]\n.. = bad:main\n"}), want: `script name ".." would be written outside`},
		{name: "entry point python3", files: with(map[string]string{"bad-1.0.dist-info/entry_points.txt": "[console_scripts]\npython3 = bad:main\n"}), want: `script name "python3" would replace the environment's interpreter`},
		{name: "entry point python3.11", files: with(map[string]string{"bad-1.0.dist-info/entry_points.txt": "[console_scripts]\npython3.11 = bad:main\n"}), want: `"python3.11" would replace`},
		{name: "entry point pythonw", files: with(map[string]string{"bad-1.0.dist-info/entry_points.txt": "[gui_scripts]\npythonw = bad:main\n"}), want: `"pythonw" would replace`},
		{name: "data script python3", files: with(map[string]string{"bad-1.0.data/scripts/python3": "#!python\n"}), want: "bad-1.0.data/scripts/python3 would replace the environment's interpreter python3"},
		{name: "data script python3.12t", files: with(map[string]string{"bad-1.0.data/scripts/python3.12t": "#!python\n"}), want: "would replace the environment's interpreter python3.12t"},
		{name: "entry point without callable", files: with(map[string]string{"bad-1.0.dist-info/entry_points.txt": "[console_scripts]\nx = bad\n"}), want: "names no callable"},
		{name: "entry point defined twice", files: with(map[string]string{"bad-1.0.dist-info/entry_points.txt": "[console_scripts]\nx = bad:a\n[gui_scripts]\nx = bad:b\n"}), want: `script "x" is defined twice`},
		{name: "two members to one path", files: with(map[string]string{"bad-1.0.data/purelib/bad/__init__.py": "x = 1\n"}), want: "both install to"},
		{name: "local header name differs", files: ok(), patch: func(t *testing.T, b []byte) []byte {
			p := headerPos(t, b, sigLocal, "bad/__init__.py")
			b[p+30] = 'c'
			return b
		}, want: `local header names "cad/__init__.py" but the central directory names "bad/__init__.py"`},
		{name: "central CRC differs", files: ok(), patch: func(t *testing.T, b []byte) []byte {
			p := headerPos(t, b, sigCentral, "bad/__init__.py")
			b[p+16] ^= 0xff
			return b
		}, want: "local header and central directory disagree on CRC or sizes"},
		{name: "stored CRC wrong in both", files: ok(), opts: []wheelOpt{withStore()}, patch: func(t *testing.T, b []byte) []byte {
			b[headerPos(t, b, sigCentral, "bad/__init__.py")+16] ^= 0xff
			b[descriptorPos(t, b, "bad/__init__.py")+4] ^= 0xff
			return b
		}, want: "bad/__init__.py: CRC-32 mismatch"},
		{name: "declared size larger than data", files: ok(), patch: func(t *testing.T, b []byte) []byte {
			// RECORD has no size row, so the zip-level check is what fails.
			addUsize(t, b, "bad-1.0.dist-info/RECORD", 5)
			return b
		}, want: "shorter than its declared size"},
		{name: "declared size smaller than data", files: ok(), patch: func(t *testing.T, b []byte) []byte {
			addUsize(t, b, "bad-1.0.dist-info/RECORD", -5)
			return b
		}, want: "longer than its declared size"},
		{name: "data after end record", files: ok(), patch: func(t *testing.T, b []byte) []byte {
			return append(b, "trailing junk"...)
		}, want: "data after the end of central directory record"},
		{name: "prepended data", files: ok(), patch: func(t *testing.T, b []byte) []byte {
			return append([]byte("#!/bin/sh\n"), b...)
		}, want: "does not end where the end record starts"},
		{name: "too many entries", files: ok(), lim: Limits{MaxEntries: 2}, want: "archive has 4 entries, more than the limit of 2"},
		{name: "too large", files: ok(), lim: Limits{MaxTotalSize: 100}, want: "archive expands to more than the limit of 100 bytes"},
		{name: "decompression bomb", files: with(map[string]string{"bad/zeros": strings.Repeat("\x00", 4<<20)}), want: "compression ratio"},
		{name: "not a zip", files: ok(), patch: func(t *testing.T, b []byte) []byte { return []byte("hello, this is not a zip archive at all") }, want: "not a zip archive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wheels, root, dest := stage(t)
			dest.Limits = tt.lim
			b := tt.base
			if b == "" {
				b = base
			}
			whl := makeWheel(t, wheels, b, tt.files, tt.opts...)
			if tt.patch != nil {
				patchZip(t, whl, func(b []byte) []byte { return tt.patch(t, b) })
			}
			_, err := Install(context.Background(), whl, dest)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "installing "+b+": ") {
				t.Fatalf("Install = %v, want an error naming %s and containing %q", err, b, tt.want)
			}
			if files := regularFiles(t, root); len(files) != 0 {
				t.Errorf("failed install left files in the staging root: %q", files)
			}
			parent := filepath.Dir(root)
			entries, err := os.ReadDir(parent)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if e.Name() != "root" && e.Name() != "wheels" {
					t.Errorf("failed install wrote %s outside the staging root", e.Name())
				}
			}
			if files := regularFiles(t, filepath.Join(parent, "wheels")); len(files) != 1 {
				t.Errorf("wheels directory holds %q, want only the wheel", files)
			}
		})
	}
}

// TestInstallAcceptsIdenticalFoldedNames: names that differ only in case
// are distinct files on Linux; with identical content neither can replace
// the other with something else, so both install.
func TestInstallAcceptsIdenticalFoldedNames(t *testing.T) {
	wheels, root, dest := stage(t)
	files := merge(demoFiles("same", "1.0", true), map[string]string{"same/README": "hi\n", "same/readme": "hi\n"})
	whl := makeWheel(t, wheels, "same-1.0-py3-none-any.whl", files)
	if _, err := Install(context.Background(), whl, dest); err != nil {
		t.Fatalf("Install: %v", err)
	}
	for _, n := range []string{"README", "readme"} {
		if _, err := os.Stat(filepath.Join(root, dest.Scheme.Purelib, "same", n)); err != nil {
			t.Error(err)
		}
	}
}

func TestInstallRefusesBadDestination(t *testing.T) {
	wheels, _, dest := stage(t)
	whl := makeWheel(t, wheels, "d-1.0-py3-none-any.whl", merge(demoFiles("d", "1.0", true), nil))
	tests := []struct {
		name string
		edit func(d *Destination)
		want string
	}{
		{"relative purelib", func(d *Destination) { d.Scheme.Purelib = "lib/site-packages" }, "scheme purelib directory"},
		{"relative python", func(d *Destination) { d.Python = "python3" }, "is not an absolute path"},
		{"quote in python", func(d *Destination) { d.Python = `/opt/a"b/python` }, "a shebang cannot carry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := dest
			tt.edit(&d)
			if _, err := Install(context.Background(), whl, d); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Install = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
