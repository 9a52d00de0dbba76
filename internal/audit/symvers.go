package audit

import (
	"bufio"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/venvpkg/venvpkg/internal/distver"
)

// DefaultDpkgInfoDir is where dpkg keeps each package's symbols and shlibs
// files.
const DefaultDpkgInfoDir = "/var/lib/dpkg/info"

// symbolImports reads the versioned symbols an ELF object imports and the
// version needs of its libraries (SHT_GNU_verneed).
func symbolImports(f *elf.File) ([]elf.ImportedSymbol, []elf.DynamicVersionNeed, error) {
	syms, err := f.ImportedSymbols()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return nil, nil, err
	}
	if f.SectionByType(elf.SHT_GNU_VERNEED) == nil {
		// An object that needs no symbol versions (numpy ships some)
		// has no table to read.
		return syms, nil, nil
	}
	needs, err := f.DynamicVersionNeeds()
	if err != nil {
		return nil, nil, err
	}
	return syms, needs, nil
}

// minimumVersions works out, from the package's symbols file as
// dpkg-shlibdeps does, the lowest version of each Debian package that
// provides every symbol the payload's objects import from it: a versioned
// import (dlopen@GLIBC_2.34) needs the lowest version any symbol of its
// version node has in the symbols file (2.34 for GLIBC_2.34), an
// unversioned one the version its name@Base entry gives. Unlike
// dpkg-shlibdeps, the per-symbol bumps of the symbols file are not used for
// versioned imports (see below). A library whose package has no symbols
// file takes the dependency its shlibs file states. The result maps a
// package to its dependency ("libc6 (>= 2.34)").
func minimumVersions(ctx context.Context, objects []elfObject, names map[string]bool, h *hostLibs, infoDir string) (map[string]string, error) {
	files := map[string]*symbolsFile{} // package → parsed symbols (nil: none)
	minver := map[string]string{}      // package → highest minimum version
	template := map[string]string{}    // package → dependency with #MINVER#
	for _, o := range objects {
		byLib := map[string][]elf.ImportedSymbol{}
		var unversioned []elf.ImportedSymbol
		for _, s := range o.imports {
			switch {
			case s.Version == "":
				// Found in any of the object's libraries, by name@Base.
				unversioned = append(unversioned, s)
			case s.Library != "" && !inPayload(s.Library, names):
				byLib[s.Library] = append(byLib[s.Library], s)
			}
		}
		for _, lib := range o.needed {
			if len(unversioned) > 0 && !inPayload(lib, names) {
				for _, s := range unversioned {
					byLib[lib] = append(byLib[lib], elf.ImportedSymbol{Name: s.Name, Version: "Base", Library: lib})
				}
			}
		}
		for _, lib := range sortedKeys(byLib) {
			res, err := h.lookup(ctx, lib, o.kind)
			if err != nil {
				return nil, fmt.Errorf("finding the package of %s (needed by %s): %w", lib, o.final, err)
			}
			p := res.pkg
			if p == "" {
				continue
			}
			sf, seen := files[p]
			if !seen {
				sf, err = readSymbolsFile(infoDir, p)
				if err != nil {
					return nil, err
				}
				files[p] = sf
			}
			if sf == nil {
				if dep := shlibsDependency(infoDir, p, lib); dep != "" {
					template[p] = dep
				}
				continue
			}
			block := sf.libs[lib]
			if block == nil {
				continue
			}
			template[p] = block.dep
			for _, s := range byLib[lib] {
				// A versioned symbol needs its version node (GLIBC_2.34 →
				// 2.34), not the version Debian's symbols file gives the
				// symbol itself: those bumps (sysconf@GLIBC_2.2.5 2.34)
				// describe objects compiled against Debian's own headers,
				// while wheels and python-build-standalone are built
				// against old glibcs. Unversioned ones are looked up by name.
				v, ok := block.nodes[s.Version]
				if s.Version == "Base" {
					v, ok = block.symbols[s.Name+"@Base"]
				}
				if ok && (minver[p] == "" || distver.CompareDeb(v, minver[p]) > 0) {
					minver[p] = v
				}
			}
		}
	}
	out := map[string]string{}
	for p, tmpl := range template {
		if v := minver[p]; v != "" && strings.Contains(tmpl, "#MINVER#") {
			out[p] = strings.TrimSpace(strings.ReplaceAll(tmpl, "#MINVER#", "(>= "+v+")"))
		} else if !strings.Contains(tmpl, "#MINVER#") {
			out[p] = tmpl
		}
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// symbolsFile is a package's DEBIAN/symbols (deb-symbols(5)).
type symbolsFile struct {
	libs map[string]*symbolsBlock // by soname
}

type symbolsBlock struct {
	dep     string            // main dependency template: "libc6 #MINVER#"
	symbols map[string]string // name@version → minimal version
	nodes   map[string]string // version node → lowest minimal version of its symbols
}

// readSymbolsFile reads the symbols file of package p from infoDir, or
// returns nil when the package has none.
func readSymbolsFile(infoDir, p string) (*symbolsFile, error) {
	path := dpkgInfoFile(infoDir, p, "symbols")
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sf := &symbolsFile{libs: map[string]*symbolsBlock{}}
	var cur *symbolsBlock
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case line[0] == '|' || line[0] == '*':
			// Alternative dependencies and meta fields: the main
			// dependency is enough for a minimum version.
		case line[0] == ' ' || line[0] == '\t':
			if cur == nil {
				continue
			}
			fields := strings.Fields(line)
			if len(fields) < 2 {
				continue
			}
			sym := fields[0]
			if strings.HasPrefix(sym, "(") {
				// Tagged symbols: patterns (c++, regex, symver) match
				// many names and are not used; plain tags are dropped.
				end := strings.Index(sym, ")")
				if end < 0 || strings.Contains(sym[:end], "c++") || strings.Contains(sym[:end], "regex") || strings.Contains(sym[:end], "symver") {
					continue
				}
				sym = sym[end+1:]
			}
			name, node, ok := strings.Cut(sym, "@")
			if !ok || name == "" {
				continue
			}
			v := fields[1]
			cur.symbols[sym] = v
			if old, ok := cur.nodes[node]; !ok || distver.CompareDeb(v, old) < 0 {
				cur.nodes[node] = v
			}
		default:
			soname, dep, _ := strings.Cut(line, " ")
			cur = &symbolsBlock{dep: strings.TrimSpace(dep), symbols: map[string]string{}, nodes: map[string]string{}}
			sf.libs[soname] = cur
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return sf, nil
}

// shlibsDependency returns the dependency package p's shlibs file
// (deb-shlibs(5)) states for soname, or "".
func shlibsDependency(infoDir, p, soname string) string {
	path := dpkgInfoFile(infoDir, p, "shlibs")
	if path == "" {
		return ""
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	name, version := splitSoname(soname)
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 3 && !strings.HasSuffix(fields[0], ":") && fields[0] == name && fields[1] == version {
			return strings.Join(fields[2:], " ")
		}
	}
	return ""
}

// splitSoname splits libfoo.so.1 into libfoo and 1, libfoo-1.2.so into
// libfoo and 1.2, as deb-shlibs(5) names libraries.
func splitSoname(s string) (string, string) {
	if i := strings.Index(s, ".so."); i >= 0 {
		return s[:i], s[i+4:]
	}
	if base, ok := strings.CutSuffix(s, ".so"); ok {
		if i := strings.LastIndex(base, "-"); i >= 0 {
			return base[:i], base[i+1:]
		}
	}
	return s, ""
}

// dpkgInfoFile finds p's control file of the given kind in infoDir, with
// or without the :arch qualifier of multi-arch packages.
func dpkgInfoFile(infoDir, p, kind string) string {
	if _, err := os.Stat(filepath.Join(infoDir, p+"."+kind)); err == nil {
		return filepath.Join(infoDir, p+"."+kind)
	}
	for _, name := range infoDirNames(infoDir) { // sorted
		if strings.HasPrefix(name, p+":") && strings.HasSuffix(name, "."+kind) {
			f := filepath.Join(infoDir, name)
			if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() {
				return f
			}
		}
	}
	return ""
}

// infoDirs keeps the sorted names in each dpkg info directory read: one
// directory of several thousand files, searched once per needed package.
var infoDirs sync.Map

func infoDirNames(dir string) []string {
	st, err := os.Stat(dir)
	if err != nil {
		return nil
	}
	key := fmt.Sprintf("%s %d", dir, st.ModTime().UnixNano()) // a file added or removed moves it
	if names, ok := infoDirs.Load(key); ok {
		return names.([]string)
	}
	names, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, n.Name())
	}
	slices.Sort(out)
	infoDirs.Store(key, out)
	return out
}

// rpmRequires lists, the way rpm's ELF dependency generator writes them,
// what the payload's objects need from libraries outside the payload:
// soname()(64bit) for each DT_NEEDED and soname(VERSION)(64bit) for each
// version they need from it (the (64bit) mark for 64-bit objects only).
func rpmRequires(objects []elfObject, names map[string]bool) []string {
	set := map[string]bool{}
	for _, o := range objects {
		mark := ""
		if o.kind.class == elf.ELFCLASS64 {
			mark = "(64bit)"
		}
		for _, n := range o.needed {
			if !inPayload(n, names) {
				set[n+"()"+mark] = true
			}
		}
		for _, vn := range o.verneeds {
			if inPayload(vn.Name, names) {
				continue
			}
			for _, d := range vn.Needs {
				if d.Flags&elf.VER_FLG_BASE != 0 {
					continue
				}
				set[vn.Name+"("+d.Dep+")"+mark] = true
			}
		}
	}
	return sortedKeys(set)
}
