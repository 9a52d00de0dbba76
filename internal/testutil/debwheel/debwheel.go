// Package debwheel turns Debian's python3-* binary packages into real wheels (the binary distribution format,
// https://packaging.python.org/en/latest/specifications/binary-distribution-format/), so tests have wheels of real
// projects without reaching PyPI. Each Python distribution a .deb ships in usr/lib/python3/dist-packages becomes one
// wheel with a .dist-info directory (METADATA converted from egg-info PKG-INFO, WHEEL, RECORD with sha256 hashes and
// sizes). The bytes are deterministic: the same .deb always gives the same wheel.
package debwheel

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/venvpkg/venvpkg/internal/testutil"
)

// sitePackages is where Debian installs Python 3 distributions, relative to the package root.
const sitePackages = "usr/lib/python3/dist-packages/"

// WebAppPackages are the Debian packages whose wheels testdata/webapp/requirements.txt pins: Flask and all of its
// runtime dependencies.
var WebAppPackages = []string{
	"python3-click",
	"python3-flask",
	"python3-itsdangerous",
	"python3-jinja2",
	"python3-markupsafe",
	"python3-werkzeug",
}

// CacheDir returns $VENVPKG_TEST_CACHE or <module root>/.cache/test.
func CacheDir() string { return testutil.CacheDir() }

// Repack downloads (apt-get download, cached in cacheDir/debs) the given Debian binary packages and returns one
// wheel per Python distribution they ship in usr/lib/python3/dist-packages, written to outDir.
//
// Debian strips a distribution's runtime requirements from its metadata and states them as package Depends
// instead (python3-flask depends on python3-werkzeug, its requires.txt names nothing). A wheel is expected to
// name them, so where one repacked package depends on another repacked in the same call, the wheel gains a
// Requires-Dist on the distributions the other ships: the set of wheels is then a complete, closed lock.
func Repack(ctx context.Context, cacheDir, outDir string, debPackages ...string) ([]string, error) {
	fetch := func(ctx context.Context, dep string) (string, error) {
		return Download(ctx, filepath.Join(cacheDir, "debs"), dep)
	}
	type prepared struct {
		d     *debContents
		dists []*distribution
		deb   string
	}
	var all []prepared
	ships := map[string][]string{} // Debian package → distribution names
	for _, pkg := range debPackages {
		deb, err := Download(ctx, filepath.Join(cacheDir, "debs"), pkg)
		if err != nil {
			return nil, err
		}
		d, dists, err := prepareDeb(ctx, deb)
		if err != nil {
			return nil, err
		}
		all = append(all, prepared{d, dists, deb})
		for _, dist := range dists {
			ships[d.name] = append(ships[d.name], dist.name)
		}
	}
	var wheels []string
	for _, p := range all {
		var reqs []string
		for _, dep := range dependencyNames(p.d.depends) {
			reqs = append(reqs, ships[dep]...)
		}
		for _, dist := range p.dists {
			dist.addRequirements(reqs)
		}
		ws, err := writeDists(ctx, p.d, p.dists, p.deb, outDir, fetch)
		if err != nil {
			return nil, err
		}
		wheels = append(wheels, ws...)
	}
	return wheels, nil
}

// WebAppDir is where tests keep the web app's wheels inside the test cache. Its name changes whenever the
// repacked wheels do, so a test binary built from older code never overwrites the wheels newer code expects (or
// the other way round) in a cache several checkouts share.
func WebAppDir(cacheDir string) string { return filepath.Join(cacheDir, "webapp-wheels-2") }

// WebApp returns the wheels testdata/webapp's requirements.txt pins, repacked from Debian into outDir.
func WebApp(ctx context.Context, cacheDir, outDir string) (wheels []string, err error) {
	return Repack(ctx, cacheDir, outDir, WebAppPackages...)
}

// Download returns the path of the candidate version of Debian package pkg in dir, fetching it with apt-get
// download when dir lacks it or holds a copy whose sha256 differs from the one apt expects.
func Download(ctx context.Context, dir, pkg string) (string, error) {
	out, err := exec.CommandContext(ctx, "apt-get", "download", "--print-uris", pkg).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("apt-get download --print-uris %s: %w: %s", pkg, err, out)
	}
	name, sum, err := parsePrintURIs(string(out))
	if err != nil {
		return "", fmt.Errorf("apt-get download --print-uris %s: %w (run apt-get update?)", pkg, err)
	}
	deb := filepath.Join(dir, name)
	if ok, err := hasSHA256(deb, sum); err != nil {
		return "", err
	} else if ok {
		return deb, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating the .deb cache: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, "download-")
	if err != nil {
		return "", fmt.Errorf("creating the .deb cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "apt-get", "-o", "APT::Sandbox::User=root", "download", pkg)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("apt-get download %s: %w: %s", pkg, err, out)
	}
	if ok, err := hasSHA256(filepath.Join(tmp, name), sum); err != nil {
		return "", err
	} else if !ok {
		return "", fmt.Errorf("apt-get download %s: %s does not have the sha256 %s apt announced", pkg, name, sum)
	}
	if err := os.Rename(filepath.Join(tmp, name), deb); err != nil {
		return "", fmt.Errorf("caching %s: %w", name, err)
	}
	return deb, nil
}

// parsePrintURIs reads one line of `apt-get download --print-uris`: 'URI' file size SHA256:hex.
func parsePrintURIs(out string) (name, sha string, err error) {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 4 || !strings.HasPrefix(f[0], "'") {
			continue
		}
		sum, ok := strings.CutPrefix(f[3], "SHA256:")
		if !ok {
			return "", "", fmt.Errorf("no SHA256 in %q", line)
		}
		return f[1], strings.ToLower(sum), nil
	}
	return "", "", fmt.Errorf("no download URI in %q", out)
}

// hasSHA256 reports whether the file exists with the given hex sha256.
func hasSHA256(p, sum string) (bool, error) {
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, fmt.Errorf("hashing %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)) == sum, nil
}

// entry is one file of a .deb's data archive.
type entry struct {
	data     []byte
	mode     int64
	linkname string // symlink target, as written in the archive
	symlink  bool
	dir      bool
}

// debContents is what RepackDeb needs from a .deb: its fields and its files keyed by path without a leading "./".
type debContents struct {
	name, arch, depends string
	files               map[string]*entry
}

// readDeb reads a .deb with dpkg-deb.
func readDeb(ctx context.Context, deb string) (*debContents, error) {
	fields, err := exec.CommandContext(ctx, "dpkg-deb", "--field", deb, "Package", "Architecture", "Depends").Output()
	if err != nil {
		return nil, fmt.Errorf("dpkg-deb --field %s: %w", deb, err)
	}
	d := &debContents{files: map[string]*entry{}}
	for _, line := range strings.Split(string(fields), "\n") {
		k, v, _ := strings.Cut(line, ":")
		v = strings.TrimSpace(v)
		switch k {
		case "Package":
			d.name = v
		case "Architecture":
			d.arch = v
		case "Depends":
			d.depends = v
		}
	}
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", deb)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("dpkg-deb --fsys-tarfile %s: %w", deb, err)
	}
	tr := tar.NewReader(stdout)
	var readErr error
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr = err
			break
		}
		name := strings.TrimSuffix(strings.TrimPrefix(path.Clean("/"+hdr.Name), "/"), "/")
		e := &entry{mode: hdr.Mode}
		switch hdr.Typeflag {
		case tar.TypeDir:
			e.dir = true
		case tar.TypeSymlink:
			e.symlink, e.linkname = true, hdr.Linkname
		case tar.TypeLink:
			target := strings.TrimPrefix(path.Clean("/"+hdr.Linkname), "/")
			t, ok := d.files[target]
			if !ok {
				readErr = fmt.Errorf("hard link %s points to %s, which comes later in the archive", name, hdr.Linkname)
				break
			}
			e.data = t.data
		case tar.TypeReg:
			if e.data, err = io.ReadAll(tr); err != nil {
				readErr = err
			}
		}
		if readErr != nil {
			break
		}
		d.files[name] = e
	}
	if readErr != nil {
		io.Copy(io.Discard, stdout)
	}
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("dpkg-deb --fsys-tarfile %s: %w: %s", deb, err, stderr.Bytes())
	}
	if readErr != nil {
		return nil, fmt.Errorf("reading the data of %s: %w", deb, readErr)
	}
	return d, nil
}

// RepackDeb writes one wheel per Python distribution in the .deb file to outDir and returns their paths, sorted.
// Symlinks must point to files in the same .deb; Repack also follows them into the packages the .deb depends on.
func RepackDeb(ctx context.Context, deb, outDir string) ([]string, error) {
	return repackDeb(ctx, deb, outDir, nil)
}

// fetchFunc returns the path of a downloaded Debian package.
type fetchFunc func(ctx context.Context, pkg string) (string, error)

func repackDeb(ctx context.Context, deb, outDir string, fetch fetchFunc) ([]string, error) {
	d, dists, err := prepareDeb(ctx, deb)
	if err != nil {
		return nil, err
	}
	return writeDists(ctx, d, dists, deb, outDir, fetch)
}

// prepareDeb reads a .deb and the Python distributions it ships.
func prepareDeb(ctx context.Context, deb string) (*debContents, []*distribution, error) {
	d, err := readDeb(ctx, deb)
	if err != nil {
		return nil, nil, err
	}
	dists, err := findDistributions(d)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", filepath.Base(deb), err)
	}
	if len(dists) == 0 {
		return nil, nil, fmt.Errorf("%s ships no Python distribution (no .egg-info or .dist-info) in /%s; pick a python3-* package", filepath.Base(deb), sitePackages)
	}
	return d, dists, nil
}

// addRequirements adds a Requires-Dist for each name the metadata does not require yet (in any form).
func (dist *distribution) addRequirements(names []string) {
	have := map[string]bool{escapeName(dist.name): true}
	for _, r := range parseHeaders(dist.metadata).all("Requires-Dist") {
		n := r
		if i := strings.IndexAny(r, " ;<>=!~[("); i >= 0 {
			n = r[:i]
		}
		have[escapeName(n)] = true
	}
	var add []string
	for _, n := range names {
		if !have[escapeName(n)] {
			have[escapeName(n)] = true
			add = append(add, "Requires-Dist: "+n)
		}
	}
	if len(add) > 0 {
		dist.metadata = insertHeaders(dist.metadata, add)
	}
}

// writeDists writes one wheel per distribution to outDir.
func writeDists(ctx context.Context, d *debContents, dists []*distribution, deb, outDir string, fetch fetchFunc) ([]string, error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", outDir, err)
	}
	var wheels []string
	res := &resolver{ctx: ctx, main: d, fetch: fetch}
	for _, dist := range dists {
		w, err := writeWheel(res, dist, outDir)
		if err != nil {
			return nil, fmt.Errorf("%s: repacking %s %s: %w", filepath.Base(deb), dist.name, dist.version, err)
		}
		wheels = append(wheels, w)
	}
	sort.Strings(wheels)
	return wheels, nil
}

// distribution is one Python distribution found in dist-packages.
type distribution struct {
	metaDir  string // the .egg-info or .dist-info entry, relative to dist-packages
	distInfo bool
	name     string
	version  string
	metadata []byte            // METADATA for the wheel
	extra    map[string][]byte // other files kept in the wheel's .dist-info, by base name or relative path
	files    []string          // the distribution's own files, relative to dist-packages, sorted
}

var metaDirRE = regexp.MustCompile(`^[^/]+\.(egg-info|dist-info)$`)

// findDistributions finds each distribution's metadata and files. An egg-info beside a dist-info of the same
// project is ignored; files claimed by two distributions are an error.
func findDistributions(d *debContents) ([]*distribution, error) {
	var metaDirs []string
	for name := range d.files {
		rel, ok := strings.CutPrefix(name, sitePackages)
		if ok && metaDirRE.MatchString(rel) {
			metaDirs = append(metaDirs, rel)
		}
	}
	sort.Strings(metaDirs)
	var all []*distribution
	hasDistInfo := map[string]bool{}
	for _, md := range metaDirs {
		dist, err := readDistribution(d, md)
		if err != nil {
			return nil, err
		}
		all = append(all, dist)
		if dist.distInfo {
			hasDistInfo[escapeName(dist.name)] = true
		}
	}
	var dists []*distribution
	owner := map[string]string{}
	for _, dist := range all {
		// Some packages (python3-cryptography) ship a stale egg-info beside the dist-info of the same project.
		if !dist.distInfo && hasDistInfo[escapeName(dist.name)] {
			continue
		}
		md := dist.metaDir
		for _, f := range dist.files {
			if prev, ok := owner[f]; ok {
				return nil, fmt.Errorf("%s is claimed by both %s and %s; their files cannot be told apart", f, prev, md)
			}
			owner[f] = md
		}
		dists = append(dists, dist)
	}
	return dists, nil
}

// readDistribution reads the metadata of the distribution whose metadata entry is md and picks its files.
func readDistribution(d *debContents, md string) (*distribution, error) {
	dist := &distribution{metaDir: md, distInfo: strings.HasSuffix(md, ".dist-info"), extra: map[string][]byte{}}
	metaPath := sitePackages + md
	metaFile := func(name string) ([]byte, bool) {
		e, ok := d.files[metaPath+"/"+name]
		if !ok || e.dir || e.symlink {
			return nil, false
		}
		return e.data, true
	}
	var pkgInfo []byte
	switch {
	case dist.distInfo:
		var ok bool
		if pkgInfo, ok = metaFile("METADATA"); !ok {
			return nil, fmt.Errorf("%s has no METADATA", md)
		}
		for name, e := range d.files {
			rel, ok := strings.CutPrefix(name, metaPath+"/")
			if !ok || e.dir || e.symlink {
				continue
			}
			switch rel {
			case "METADATA", "RECORD", "WHEEL", "INSTALLER", "REQUESTED", "direct_url.json":
				continue
			}
			dist.extra[rel] = e.data
		}
	case d.files[metaPath].dir:
		var ok bool
		if pkgInfo, ok = metaFile("PKG-INFO"); !ok {
			return nil, fmt.Errorf("%s has no PKG-INFO", md)
		}
		for _, name := range []string{"entry_points.txt", "top_level.txt"} {
			if data, ok := metaFile(name); ok {
				dist.extra[name] = data
			}
		}
	default: // a single-file egg-info is the PKG-INFO itself
		pkgInfo = d.files[metaPath].data
	}
	hdr := parseHeaders(pkgInfo)
	dist.name, dist.version = hdr.get("Name"), hdr.get("Version")
	if dist.name == "" || dist.version == "" {
		return nil, fmt.Errorf("%s: metadata lacks Name or Version", md)
	}
	dist.metadata = pkgInfo
	if reqs, ok := metaFile("requires.txt"); ok && !dist.distInfo && len(hdr.all("Requires-Dist")) == 0 {
		converted, extras, err := convertRequires(string(reqs))
		if err != nil {
			return nil, fmt.Errorf("%s/requires.txt: %w", md, err)
		}
		var add []string
		have := map[string]bool{}
		for _, e := range hdr.all("Provides-Extra") {
			have[e] = true
		}
		for _, e := range extras {
			if !have[e] {
				add = append(add, "Provides-Extra: "+e)
			}
		}
		for _, r := range converted {
			add = append(add, "Requires-Dist: "+r)
		}
		dist.metadata = insertHeaders(pkgInfo, add)
	}
	files, err := pickFiles(d, dist)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("found no files of %s %s next to %s", dist.name, dist.version, md)
	}
	dist.files = files
	return dist, nil
}

// pickFiles lists the distribution's own files, relative to dist-packages: those its RECORD or installed-files.txt
// names, else those under the names in top_level.txt, else under its own name.
func pickFiles(d *debContents, dist *distribution) ([]string, error) {
	metaPath := sitePackages + dist.metaDir
	keep := func(rel string) bool {
		e, ok := d.files[sitePackages+rel]
		return ok && !e.dir && !skipped(rel) && !strings.HasPrefix(rel, dist.metaDir+"/")
	}
	var listed []string
	if e, ok := d.files[metaPath+"/RECORD"]; ok && dist.distInfo {
		rows, err := parseRecord(e.data)
		if err != nil {
			return nil, fmt.Errorf("%s/RECORD: %w", dist.metaDir, err)
		}
		for _, r := range rows {
			listed = append(listed, path.Clean(r.path))
		}
	} else if e, ok := d.files[metaPath+"/installed-files.txt"]; ok {
		for _, line := range strings.Split(string(e.data), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				listed = append(listed, path.Join(dist.metaDir, line))
			}
		}
	}
	if listed != nil {
		var files []string
		for _, rel := range listed {
			if !strings.HasPrefix(rel, "../") && keep(rel) {
				files = append(files, rel)
			}
		}
		sort.Strings(files)
		return dedupe(files), nil
	}
	var tops []string
	if e, ok := d.files[metaPath+"/top_level.txt"]; ok {
		for _, line := range strings.Split(string(e.data), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				tops = append(tops, line)
			}
		}
	} else {
		tops = []string{strings.ToLower(regexp.MustCompile(`[-_.]+`).ReplaceAllString(dist.name, "_"))}
	}
	var files []string
	for name := range d.files {
		rel, ok := strings.CutPrefix(name, sitePackages)
		if !ok || !keep(rel) {
			continue
		}
		for _, top := range tops {
			if underTopLevel(rel, top) {
				files = append(files, rel)
				break
			}
		}
	}
	sort.Strings(files)
	return files, nil
}

// underTopLevel reports whether rel (relative to dist-packages) belongs to the top-level package or module top:
// top/..., top.py, or an extension module top.so / top.<tag>.so.
func underTopLevel(rel, top string) bool {
	if strings.HasPrefix(rel, top+"/") || rel == top+".py" {
		return true
	}
	rest, ok := strings.CutPrefix(rel, top+".")
	return ok && !strings.Contains(rest, "/") && (rest == "so" || strings.HasSuffix(rest, ".so"))
}

// skipped reports whether a file never goes into a wheel: bytecode caches and path configuration files.
func skipped(rel string) bool {
	return strings.Contains("/"+rel+"/", "/__pycache__/") || strings.HasSuffix(rel, ".pyc") ||
		(!strings.Contains(rel, "/") && strings.HasSuffix(rel, ".pth"))
}

func dedupe(sorted []string) []string {
	out := sorted[:0]
	for i, s := range sorted {
		if i == 0 || s != sorted[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// resolver reads files of a .deb by path, following symlinks; a symlink that leaves the .deb (Debian replaces
// bundled JavaScript with links into libjs-* packages) is looked up in the packages the .deb depends on, downloaded
// with fetch on first need.
type resolver struct {
	ctx    context.Context
	main   *debContents
	fetch  fetchFunc // nil: symlinks must stay inside the .deb
	deps   []*debContents
	loaded bool
}

// lookup finds the entry at full path p in the .deb or, failing that, in its dependencies.
func (r *resolver) lookup(p string) (*entry, error) {
	if e, ok := r.main.files[p]; ok {
		return e, nil
	}
	if r.fetch == nil {
		return nil, fmt.Errorf("/%s is not in the package", p)
	}
	if !r.loaded {
		r.loaded = true
		for _, dep := range dependencyNames(r.main.depends) {
			deb, err := r.fetch(r.ctx, dep)
			if err != nil {
				return nil, fmt.Errorf("fetching dependency %s to resolve /%s: %w", dep, p, err)
			}
			d, err := readDeb(r.ctx, deb)
			if err != nil {
				return nil, err
			}
			r.deps = append(r.deps, d)
		}
	}
	for _, d := range r.deps {
		if e, ok := d.files[p]; ok {
			return e, nil
		}
	}
	return nil, fmt.Errorf("/%s is not in the package nor in its dependencies %v", p, dependencyNames(r.main.depends))
}

// resolve returns the content and mode of the file at full path p, following symlinks.
func (r *resolver) resolve(p string) ([]byte, int64, error) {
	for hops := 0; hops < 40; hops++ {
		e, err := r.lookup(p)
		if err != nil {
			return nil, 0, err
		}
		switch {
		case e.dir:
			return nil, 0, fmt.Errorf("/%s is a directory", p)
		case !e.symlink:
			return e.data, e.mode, nil
		case strings.HasPrefix(e.linkname, "/"):
			p = strings.TrimPrefix(path.Clean(e.linkname), "/")
		default:
			p = strings.TrimPrefix(path.Clean("/"+path.Join(path.Dir(p), e.linkname)), "/")
		}
	}
	return nil, 0, fmt.Errorf("too many symlinks at /%s", p)
}

// dependencyNames lists the packages of a Depends field that are worth searching for files: the first of each
// alternative, without versions or architecture qualifiers, and without virtual python3 packages.
func dependencyNames(depends string) []string {
	var names []string
	for _, clause := range strings.Split(depends, ",") {
		alt, _, _ := strings.Cut(clause, "|")
		name, _, _ := strings.Cut(strings.TrimSpace(alt), " ")
		name, _, _ = strings.Cut(name, "(")
		name, _, _ = strings.Cut(name, ":")
		if name == "" || name == "python3" || strings.HasPrefix(name, "python3.") || strings.HasPrefix(name, "libc6") {
			continue
		}
		names = append(names, name)
	}
	return names
}
