package audit

import (
	"bytes"
	"cmp"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// DefaultProvided lists the sonames every target system has without a
// dependency of ours: the C library family (libc6 is essential) and the
// dynamic loader, plus libpython, which belongs to the interpreter the
// package already depends on. Entries are path.Match patterns.
var DefaultProvided = []string{
	"libc.so.6", "libm.so.6", "libmvec.so.1", "libpthread.so.0", "libdl.so.2",
	"librt.so.1", "libutil.so.1", "libresolv.so.2", "libanl.so.1",
	"ld-linux*.so.*", "ld64.so.*",
	"libpython3*.so*",
}

// ShlibOptions tunes SharedLibraries.
type ShlibOptions struct {
	// Provided adds sonames (path.Match patterns) the target system
	// provides, on top of DefaultProvided.
	Provided []string
	// Interpreter is the target interpreter's executable. When set, the
	// sonames it needs itself count as provided, because the package
	// depends on the interpreter's package, which depends on them.
	Interpreter string
	// LibDirs are searched for a soname the ld.so cache does not know;
	// nil means the multiarch and standard library directories.
	LibDirs []string
	// DpkgInfoDir holds the packages' symbols and shlibs files; empty
	// means DefaultDpkgInfoDir.
	DpkgInfoDir string
	// Trees whose ELF objects are read once and kept (see Tree).
	Trees []Tree
	// HostCacheDir, when set, keeps which package provides each soname
	// on this host, for as long as the ld.so cache and dpkg's status file
	// are unchanged, so a rebuild runs neither ldconfig nor dpkg -S.
	HostCacheDir string
}

// ShlibReport is what the payload's ELF objects need from the system.
type ShlibReport struct {
	// HasELF reports whether the payload holds any ELF object, which makes
	// the package architecture-dependent.
	HasELF bool
	// Depends are the Debian packages providing the needed libraries,
	// sorted and unique.
	Depends []string
	// Unresolved lists the sonames found neither in the payload, nor among
	// the provided ones, nor in an installed Debian package.
	Unresolved []Unresolved
	// Needs says why each of Depends is there: one entry per package and
	// soname, sorted, naming the ELF files that need it.
	Needs []Need
	// Versions maps a package of Depends, or a package providing a
	// library every system has (libc6), to the versioned dependency the
	// imported symbols call for: "libc6 (>= 2.34)" (see minimumVersions).
	Versions map[string]string
	// RPMRequires are the ELF requirements rpm would generate for the
	// payload: "libc.so.6()(64bit)", "libc.so.6(GLIBC_2.34)(64bit)".
	RPMRequires []string
}

// Need is a library of a Debian package that ELF files of the payload need.
type Need struct {
	Package string
	Soname  string
	Files   []string // final paths, sorted
}

// Dependency returns the Debian dependency on package p: versioned when
// the payload's symbols call for a minimum version.
func (r *ShlibReport) Dependency(p string) string {
	if v, ok := r.Versions[p]; ok {
		return v
	}
	return p
}

// Unresolved is a soname no provider was found for.
type Unresolved struct {
	Soname string
	Files  []string // final paths of the ELF objects needing it, sorted
	Reason string   // why the host lookup failed
}

// UnresolvedError reports sonames without a provider.
type UnresolvedError struct {
	Unresolved []Unresolved
}

func (e *UnresolvedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d shared %s needed by the payload %s no provider; install the Debian package that ships %s on the build host, or vendor %s in the wheel:",
		len(e.Unresolved), plural(len(e.Unresolved), "library", "libraries"),
		plural(len(e.Unresolved), "has", "have"), plural(len(e.Unresolved), "it", "them"), plural(len(e.Unresolved), "it", "them"))
	for i, u := range e.Unresolved {
		if i == maxListed {
			fmt.Fprintf(&b, "\n  ... and %d more", len(e.Unresolved)-maxListed)
			break
		}
		files := u.Files
		more := ""
		if len(files) > 3 {
			files, more = files[:3], fmt.Sprintf(" and %d more", len(u.Files)-3)
		}
		fmt.Fprintf(&b, "\n  %s (%s), needed by %s%s", u.Soname, u.Reason, strings.Join(files, ", "), more)
	}
	return b.String()
}

// Err returns an *UnresolvedError when r has unresolved sonames, else nil.
func (r *ShlibReport) Err() error {
	if len(r.Unresolved) == 0 {
		return nil
	}
	return &UnresolvedError{Unresolved: r.Unresolved}
}

// elfKind identifies an ABI: a library can satisfy an object only when
// both have the same class and machine.
type elfKind struct {
	class   elf.Class
	machine elf.Machine
}

// elfObject is one ELF file of the payload.
type elfObject struct {
	final    string
	kind     elfKind
	needed   []string
	imports  []elf.ImportedSymbol     // versioned imports name their library
	verneeds []elf.DynamicVersionNeed // versions needed from each library
}

// SharedLibraries reads DT_NEEDED from every ELF object below root and
// finds who provides each soname. A soname is satisfied by the payload
// when some file in it has that name or that DT_SONAME (wheels vendor
// libraries in <name>.libs/), by the system when it matches a provided
// pattern, and otherwise by the Debian package owning the library the
// dynamic loader would find on the build host: looked up in the ld.so
// cache (ldconfig -p) and then in the standard directories, and mapped to
// its package with dpkg -S, trying the path as found, its real path and
// the /usr-merged twins of both. Those packages are the report's Depends.
//
// Sonames without a provider are listed in the report's Unresolved, not
// returned as an error; call the report's Err to fail on them.
func SharedLibraries(ctx context.Context, root string, opts ShlibOptions) (*ShlibReport, error) {
	objects, names, err := readPayloadELF(ctx, root, opts.Trees)
	if err != nil {
		return nil, err
	}
	report := &ShlibReport{HasELF: len(objects) > 0}
	if len(objects) == 0 {
		return report, nil
	}

	provided := slices.Concat(DefaultProvided, opts.Provided)
	if opts.Interpreter != "" {
		needs, err := interpreterNeeds(opts.Interpreter)
		if err != nil {
			return nil, err
		}
		provided = append(provided, needs...)
	}
	isProvided := func(soname string) bool {
		for _, p := range provided {
			if ok, _ := path.Match(p, soname); ok {
				return true
			}
		}
		return false
	}

	h := &hostLibs{libDirs: opts.LibDirs, results: map[hostKey]hostResult{}}
	if h.libDirs == nil {
		h.libDirs = defaultLibDirs()
	}
	hostFile := ""
	if opts.HostCacheDir != "" {
		hostFile = hostCacheFile(opts.HostCacheDir, h.libDirs)
	}
	if hostFile != "" {
		h.loadHostResults(hostFile)
	}
	known := len(h.results)
	deps := map[string]bool{}
	needs := map[[2]string]*Need{}
	unresolved := map[string]*Unresolved{}
	for _, o := range objects {
		for _, soname := range o.needed {
			if inPayload(soname, names) || isProvided(soname) {
				continue
			}
			res, err := h.lookup(ctx, soname, o.kind)
			if err != nil {
				return nil, fmt.Errorf("finding the package of %s (needed by %s): %w", soname, o.final, err)
			}
			if res.pkg != "" {
				deps[res.pkg] = true
				n := needs[[2]string{res.pkg, soname}]
				if n == nil {
					n = &Need{Package: res.pkg, Soname: soname}
					needs[[2]string{res.pkg, soname}] = n
				}
				n.Files = append(n.Files, o.final)
				continue
			}
			u := unresolved[soname]
			if u == nil {
				u = &Unresolved{Soname: soname, Reason: res.reason}
				unresolved[soname] = u
			}
			u.Files = append(u.Files, o.final)
		}
	}
	for d := range deps {
		report.Depends = append(report.Depends, d)
	}
	slices.Sort(report.Depends)
	for _, n := range needs {
		slices.Sort(n.Files)
		n.Files = slices.Compact(n.Files)
		report.Needs = append(report.Needs, *n)
	}
	slices.SortFunc(report.Needs, func(a, b Need) int {
		return cmp.Or(strings.Compare(a.Package, b.Package), strings.Compare(a.Soname, b.Soname))
	})
	for _, u := range unresolved {
		slices.Sort(u.Files)
		u.Files = slices.Compact(u.Files)
		report.Unresolved = append(report.Unresolved, *u)
	}
	slices.SortFunc(report.Unresolved, func(a, b Unresolved) int { return strings.Compare(a.Soname, b.Soname) })
	infoDir := opts.DpkgInfoDir
	if infoDir == "" {
		infoDir = DefaultDpkgInfoDir
	}
	if report.Versions, err = minimumVersions(ctx, objects, names, h, infoDir); err != nil {
		return nil, err
	}
	report.RPMRequires = rpmRequires(objects, names)
	if hostFile != "" && len(h.results) > known {
		if err := h.saveHostResults(hostFile); err != nil {
			return nil, fmt.Errorf("keeping the host's library owners: %w", err)
		}
	}
	return report, nil
}

// readPayloadELF returns the payload's ELF objects and the set of names a
// library in the payload can be found by: every file and symlink basename
// and every DT_SONAME. The objects of kept trees come from their cache.
func readPayloadELF(ctx context.Context, root string, trees []Tree) ([]elfObject, map[string]bool, error) {
	var objects []elfObject
	names := map[string]bool{}
	kept, owner := keptTrees(trees, "elf", nil)
	add := func(k keptELF) {
		for _, s := range k.Sonames {
			names[s] = true
		}
		objects = append(objects, elfObject{final: k.Final, kind: elfKind{elf.Class(k.Class), elf.Machine(k.Machine)}, needed: k.Needed, imports: k.Imports, verneeds: k.Verneeds})
	}
	for _, k := range kept {
		if k.done && k.load(&k.elf) != nil {
			k.done = false // damaged: read again
		}
		if k.done {
			for _, e := range k.elf {
				add(e)
			}
		}
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			names[d.Name()] = true
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		names[d.Name()] = true
		final := finalPath(root, p)
		tree := owner[final]
		if tree != nil && tree.done {
			return nil
		}
		isELF, err := hasELFMagic(p)
		if err != nil || !isELF {
			return err
		}
		f, err := elf.Open(p)
		if err != nil {
			return fmt.Errorf("reading ELF object %s: %w", final, err)
		}
		defer f.Close()
		needed, err := f.DynString(elf.DT_NEEDED)
		if err != nil {
			return fmt.Errorf("reading DT_NEEDED of %s: %w", final, err)
		}
		sonames, err := f.DynString(elf.DT_SONAME)
		if err != nil {
			return fmt.Errorf("reading DT_SONAME of %s: %w", final, err)
		}
		imports, verneeds, err := symbolImports(f)
		if err != nil {
			return fmt.Errorf("reading the symbol versions of %s: %w", final, err)
		}
		k := keptELF{Final: final, Class: int(f.Class), Machine: int(f.Machine), Needed: needed, Sonames: sonames, Imports: imports, Verneeds: verneeds}
		add(k)
		if tree != nil {
			tree.elf = append(tree.elf, k)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("reading shared library needs below %s: %w", root, err)
	}
	for _, k := range kept {
		if !k.done {
			if k.elf == nil {
				k.elf = []keptELF{}
			}
			if err := k.save(k.elf); err != nil {
				return nil, nil, fmt.Errorf("keeping the ELF objects of %s: %w", k.dir, err)
			}
		}
	}
	slices.SortFunc(objects, func(a, b elfObject) int { return strings.Compare(a.final, b.final) })
	return objects, names, nil
}

// inPayload reports whether the payload has the library a DT_NEEDED
// entry names: by soname, or, for a path relative to the object
// ($ORIGIN/../lib/libpython3.11.so.1.0, as python-build-standalone links
// its interpreter), by the file's name.
func inPayload(needed string, names map[string]bool) bool {
	if strings.HasPrefix(needed, "$ORIGIN/") || strings.HasPrefix(needed, "${ORIGIN}/") {
		return names[path.Base(needed)]
	}
	return names[needed]
}

func hasELFMagic(p string) (bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return false, nil
		}
		return false, err
	}
	return string(magic[:]) == elf.ELFMAG, nil
}

// interpreterNeeds returns the DT_NEEDED entries of the interpreter binary.
func interpreterNeeds(interpreter string) ([]string, error) {
	f, err := elf.Open(interpreter)
	if err != nil {
		return nil, fmt.Errorf("reading the interpreter %s as ELF: %w", interpreter, err)
	}
	defer f.Close()
	needed, err := f.DynString(elf.DT_NEEDED)
	if err != nil {
		return nil, fmt.Errorf("reading DT_NEEDED of the interpreter %s: %w", interpreter, err)
	}
	return needed, nil
}

// multiarchTriplets maps GOARCH to the Debian multiarch tuple.
var multiarchTriplets = map[string]string{
	"amd64":    "x86_64-linux-gnu",
	"arm64":    "aarch64-linux-gnu",
	"386":      "i386-linux-gnu",
	"arm":      "arm-linux-gnueabihf",
	"ppc64le":  "powerpc64le-linux-gnu",
	"s390x":    "s390x-linux-gnu",
	"riscv64":  "riscv64-linux-gnu",
	"mips64le": "mips64el-linux-gnuabi64",
	"loong64":  "loongarch64-linux-gnu",
}

func defaultLibDirs() []string {
	var dirs []string
	if t, ok := multiarchTriplets[runtime.GOARCH]; ok {
		dirs = append(dirs, "/lib/"+t, "/usr/lib/"+t)
	}
	return append(dirs, "/lib", "/usr/lib", "/lib64", "/usr/lib64")
}

type hostKey struct {
	soname string
	kind   elfKind
}

type hostResult struct {
	pkg    string // Debian package, "" when unresolved
	reason string
}

// hostLibs finds libraries on the build host and their packages, caching
// the ld.so cache listing and every answer.
type hostLibs struct {
	libDirs []string
	cache   map[string][]string // soname → paths from ldconfig -p
	loaded  bool
	results map[hostKey]hostResult
}

func (h *hostLibs) lookup(ctx context.Context, soname string, kind elfKind) (hostResult, error) {
	key := hostKey{soname, kind}
	if r, ok := h.results[key]; ok {
		return r, nil
	}
	if !h.loaded {
		cache, err := readLdconfigCache(ctx)
		if err != nil {
			return hostResult{}, err
		}
		h.cache, h.loaded = cache, true
	}
	candidates := slices.Clone(h.cache[soname])
	for _, d := range h.libDirs {
		candidates = append(candidates, path.Join(d, soname))
	}
	found := ""
	for _, c := range candidates {
		if matchesKind(c, kind) {
			found = c
			break
		}
	}
	var r hostResult
	if found == "" {
		r.reason = "not found on the build host"
	} else {
		pkg, err := owningPackage(ctx, found)
		if err != nil {
			return hostResult{}, err
		}
		if pkg == "" {
			r.reason = found + " belongs to no Debian package"
		}
		r.pkg = pkg
	}
	h.results[key] = r
	return r, nil
}

// matchesKind reports whether p is an ELF object of the given class and
// machine.
func matchesKind(p string, kind elfKind) bool {
	f, err := elf.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	return f.Class == kind.class && f.Machine == kind.machine
}

// readLdconfigCache lists the ld.so cache: lines such as
// "\tlibz.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libz.so.1".
func readLdconfigCache(ctx context.Context) (map[string][]string, error) {
	ldconfig := ""
	for _, c := range []string{"ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"} {
		if p, err := exec.LookPath(c); err == nil {
			ldconfig = p
			break
		}
	}
	cache := map[string][]string{}
	if ldconfig == "" {
		return cache, nil // no ld.so cache; the standard directories remain
	}
	cmd := exec.CommandContext(ctx, ldconfig, "-p")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s -p: %w: %s", ldconfig, err, strings.TrimSpace(stderr.String()))
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), " (")
		if !ok {
			continue
		}
		_, p, ok := strings.Cut(rest, " => ")
		if !ok {
			continue
		}
		cache[name] = append(cache[name], strings.TrimSpace(p))
	}
	return cache, nil
}

// usrMergeTwin returns the other name of p on a /usr-merged system
// (/lib/x ↔ /usr/lib/x), or "" when p has none.
func usrMergeTwin(p string) string {
	for _, d := range []string{"/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin"} {
		if strings.HasPrefix(p, d+"/") {
			return "/usr" + p
		}
		if strings.HasPrefix(p, "/usr"+d+"/") {
			return strings.TrimPrefix(p, "/usr")
		}
	}
	return ""
}

// owningPackage returns the Debian package dpkg records as owning the
// library at p, or "" when none does.
func owningPackage(ctx context.Context, p string) (string, error) {
	var candidates []string
	add := func(c string) {
		if c != "" && !slices.Contains(candidates, c) {
			candidates = append(candidates, c)
		}
	}
	add(p)
	add(usrMergeTwin(p))
	if real, err := filepath.EvalSymlinks(p); err == nil {
		add(real)
		add(usrMergeTwin(real))
	}
	owners, err := dpkgSearch(ctx, candidates)
	if err != nil {
		return "", err
	}
	for _, c := range candidates {
		if pkg, ok := owners[c]; ok {
			return pkg, nil
		}
	}
	return "", nil
}

// dpkgSearch runs dpkg -S on paths and returns path → package name
// (without ":arch"; the first when several share a path).
func dpkgSearch(ctx context.Context, paths []string) (map[string]string, error) {
	cmd := exec.CommandContext(ctx, "dpkg", append([]string{"-S"}, paths...)...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exitErr *exec.ExitError
	// Status 1 means some path was not found, which is an answer.
	if err != nil && !(errors.As(err, &exitErr) && exitErr.ExitCode() == 1) {
		return nil, fmt.Errorf("dpkg -S %s: %w: %s", strings.Join(paths, " "), err, strings.TrimSpace(stderr.String()))
	}
	owners := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if line == "" || strings.HasPrefix(line, "diversion by ") {
			continue
		}
		pkgs, p, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		p = strings.TrimSpace(p)
		first, _, _ := strings.Cut(pkgs, ", ")
		name, _, _ := strings.Cut(strings.TrimSpace(first), ":")
		if _, seen := owners[p]; !seen && name != "" {
			owners[p] = name
		}
	}
	return owners, nil
}
