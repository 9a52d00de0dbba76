package lock

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pep503"
	"github.com/venvpkg/venvpkg/internal/pep508"
)

// File is one artifact a pylock.toml entry names: a wheel of [[packages.wheels]],
// the [packages.sdist] or a [packages.archive].
type File struct {
	Name   string            // file name
	URL    string            // remote location as written; "" for a local file
	Path   string            // absolute local path; "" for a remote file
	Size   int64             // bytes; -1 when the lock does not say
	Hashes map[string]string // algorithm → lowercase hex digest
	Sdist  bool              // a source distribution rather than a wheel
}

// PylockMajor is the lock-version major this reader understands.
const PylockMajor = 1

var pylockNameRE = regexp.MustCompile(`^pylock\.([^.]+\.)?toml$`)

// IsPylock reports whether a lock file name is a PEP 751 lock file:
// pylock.toml or pylock.<name>.toml.
func IsPylock(p string) bool { return pylockNameRE.MatchString(filepath.Base(p)) }

type pylockDoc struct {
	LockVersion    *string         `toml:"lock-version"`
	Environments   []string        `toml:"environments"`
	RequiresPython string          `toml:"requires-python"`
	DefaultGroups  []string        `toml:"default-groups"`
	Packages       []pylockPackage `toml:"packages"`
}

type pylockPackage struct {
	Name           string         `toml:"name"`
	Version        string         `toml:"version"`
	Marker         string         `toml:"marker"`
	RequiresPython string         `toml:"requires-python"`
	VCS            map[string]any `toml:"vcs"`
	Directory      map[string]any `toml:"directory"`
	Archive        *pylockFile    `toml:"archive"`
	Sdist          *pylockFile    `toml:"sdist"`
	Wheels         []pylockFile   `toml:"wheels"`
}

type pylockFile struct {
	Name   string            `toml:"name"`
	URL    string            `toml:"url"`
	Path   string            `toml:"path"`
	Size   *int64            `toml:"size"`
	Hashes map[string]string `toml:"hashes"`
}

// ParsePylock reads a PEP 751 lock file for the target environment env:
// it checks lock-version (an unknown major is an error), requires-python
// and environments, evaluates every package's marker (with the lock's
// default-groups as dependency_groups and no extras), and returns one
// Requirement per package with its wheels and sdist as Files. Paths are
// made absolute relative to the lock file. Entries named self (the project
// being built, which lockers list as a directory) are left out; any other
// vcs or directory entry is an error naming the package. Every file must
// carry a hash, so the lock is always in hash-checking mode.
func ParsePylock(file string, env pep508.Environment, self string) (*Lock, error) {
	var doc pylockDoc
	if err := readTOML(file, &doc); err != nil {
		return nil, err
	}
	if err := checkLockVersion(file, doc.LockVersion); err != nil {
		return nil, err
	}
	pyVersion, err := pep440.Parse(env["python_full_version"])
	if err != nil {
		return nil, fmt.Errorf("%s: the target's python_full_version %q: %w", file, env["python_full_version"], err)
	}
	if doc.RequiresPython != "" {
		spec, err := pep440.ParseSpecifierSet(doc.RequiresPython)
		if err != nil {
			return nil, fmt.Errorf("%s: requires-python %q: %w", file, doc.RequiresPython, err)
		}
		if !spec.Contains(pyVersion, true) {
			return nil, fmt.Errorf("%s: requires-python %q excludes the target Python %s; lock for it or choose another --python", file, doc.RequiresPython, pyVersion)
		}
	}
	menv := pep508.Environment{}
	for k, v := range env {
		menv[k] = v
	}
	menv["extras"] = ""
	menv["dependency_groups"] = strings.Join(doc.DefaultGroups, ",")
	if len(doc.Environments) > 0 {
		match := false
		for _, e := range doc.Environments {
			m, err := pep508.ParseMarker(e)
			if err != nil {
				return nil, fmt.Errorf("%s: environments: %q: %w", file, e, err)
			}
			match = match || m.Evaluate(menv)
		}
		if !match {
			return nil, fmt.Errorf("%s: the target (Python %s on %s %s) matches none of the lock's environments: %s; lock for it",
				file, pyVersion, menv["sys_platform"], menv["platform_machine"], strings.Join(doc.Environments, "; "))
		}
	}

	l := &Lock{Path: file, HashMode: true}
	seen := map[string]string{} // normalised name → where
	var errs []error
	base := filepath.Dir(file)
	selfName := pep503.Normalize(self)
	for i, p := range doc.Packages {
		where := fmt.Sprintf("%s: packages[%d]", file, i)
		if p.Name == "" || !pep503.Valid(p.Name) {
			errs = append(errs, fmt.Errorf("%s: name %q is not a valid project name", where, p.Name))
			continue
		}
		where = fmt.Sprintf("%s (%s)", where, p.Name)
		if p.Marker != "" {
			m, err := pep508.ParseMarker(p.Marker)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: marker: %w", where, err))
				continue
			}
			if !m.Evaluate(menv) {
				continue
			}
		}
		name := pep503.Normalize(p.Name)
		if prev, dup := seen[name]; dup {
			errs = append(errs, fmt.Errorf("%s: a second entry for %s applies to the target (the first is %s); the lock must hold exactly one per name after markers", where, name, prev))
			continue
		}
		seen[name] = where
		if name == selfName {
			continue // the project itself is built from its source tree
		}
		switch {
		case p.VCS != nil:
			errs = append(errs, fmt.Errorf("%s: package %s is a vcs entry, which venvpkg does not support; lock a wheel or sdist of it from an index", where, p.Name))
			continue
		case p.Directory != nil:
			errs = append(errs, fmt.Errorf("%s: package %s is a directory entry, which venvpkg does not support; build it into a wheel and lock that", where, p.Name))
			continue
		}
		if p.RequiresPython != "" {
			spec, err := pep440.ParseSpecifierSet(p.RequiresPython)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: requires-python %q: %w", where, p.RequiresPython, err))
				continue
			}
			if !spec.Contains(pyVersion, true) {
				errs = append(errs, fmt.Errorf("%s: %s %s requires Python %s, not %s", where, p.Name, p.Version, p.RequiresPython, pyVersion))
				continue
			}
		}
		req := Requirement{Name: name, Display: p.Name, Marker: p.Marker, Source: where}
		if p.Version == "" {
			errs = append(errs, fmt.Errorf("%s: package %s has no version; venvpkg pins every package by version (lockers write it for index packages)", where, p.Name))
			continue
		}
		v, err := pep440.Parse(p.Version)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: version %q: %w", where, p.Version, err))
			continue
		}
		req.Version = v.String()
		ok := true
		addFile := func(what string, pf pylockFile, sdist bool) {
			f, err := pylockFileOf(base, pf, sdist)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %s: %w", where, what, err))
				ok = false
				return
			}
			req.Files = append(req.Files, f)
		}
		for j, w := range p.Wheels {
			addFile(fmt.Sprintf("wheels[%d]", j), w, false)
		}
		if p.Sdist != nil {
			addFile("sdist", *p.Sdist, true)
		}
		if p.Archive != nil {
			addFile("archive", *p.Archive, true)
			if ok {
				last := &req.Files[len(req.Files)-1]
				last.Sdist = !strings.HasSuffix(last.Name, ".whl")
			}
		}
		if !ok {
			continue
		}
		if len(req.Files) == 0 {
			errs = append(errs, fmt.Errorf("%s: package %s names no wheels, sdist or archive", where, p.Name))
			continue
		}
		l.Requirements = append(l.Requirements, req)
	}
	if len(errs) > 0 {
		if len(errs) > maxErrors {
			errs = append(errs[:maxErrors:maxErrors], fmt.Errorf("%s: %d more problems not shown", file, len(errs)-maxErrors))
		}
		return nil, errors.Join(errs...)
	}
	sort.Slice(l.Requirements, func(i, j int) bool { return l.Requirements[i].Name < l.Requirements[j].Name })
	return l, nil
}

func checkLockVersion(file string, v *string) error {
	if v == nil {
		return fmt.Errorf("%s: lock-version is missing; is this a PEP 751 lock file?", file)
	}
	major, _, _ := strings.Cut(*v, ".")
	if major != fmt.Sprint(PylockMajor) {
		return fmt.Errorf("%s: unknown lock-version %q: venvpkg reads lock-version %d.x; regenerate the lock with a locker that writes it, or upgrade venvpkg", file, *v, PylockMajor)
	}
	return nil
}

func pylockFileOf(base string, pf pylockFile, sdist bool) (File, error) {
	f := File{URL: pf.URL, Size: -1, Hashes: map[string]string{}, Sdist: sdist}
	switch {
	case pf.Path != "":
		p := filepath.FromSlash(pf.Path)
		if !filepath.IsAbs(p) {
			p = filepath.Join(base, p)
		}
		f.Path, f.URL = filepath.Clean(p), ""
	case pf.URL != "":
		u, err := url.Parse(pf.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file") {
			return File{}, fmt.Errorf("url %q is not an http(s) or file URL", redactUserinfo(pf.URL))
		}
		if u.Scheme == "file" {
			f.Path, f.URL = filepath.Clean(u.Path), ""
		}
	default:
		return File{}, errors.New("neither url nor path is given")
	}
	f.Name = pf.Name
	if f.Name == "" {
		if f.Path != "" {
			f.Name = filepath.Base(f.Path)
		} else {
			u, _ := url.Parse(f.URL)
			n, err := url.PathUnescape(path.Base(u.EscapedPath()))
			if err != nil {
				return File{}, fmt.Errorf("url %q: %w", redactUserinfo(f.URL), err)
			}
			f.Name = n
		}
	}
	if f.Name == "" || strings.ContainsAny(f.Name, "/\\\x00") || strings.HasPrefix(f.Name, ".") {
		return File{}, fmt.Errorf("file name %q is not a plain file name", f.Name)
	}
	if !sdist && !strings.HasSuffix(f.Name, ".whl") {
		return File{}, fmt.Errorf("%s is not a wheel (.whl)", f.Name)
	}
	if pf.Size != nil {
		if *pf.Size < 0 {
			return File{}, fmt.Errorf("size %d is negative", *pf.Size)
		}
		f.Size = *pf.Size
	}
	for k, v := range pf.Hashes {
		algo := strings.ToLower(k)
		if algo == "md5" || algo == "sha1" {
			continue // too weak to count; another algorithm must be given
		}
		f.Hashes[algo] = strings.ToLower(v)
	}
	if f.Hashes["sha256"] == "" && f.Hashes["sha384"] == "" && f.Hashes["sha512"] == "" {
		return File{}, fmt.Errorf("%s has no sha256 (or sha384, sha512) hash; md5 and sha1 are refused", f.Name)
	}
	return f, nil
}

var userinfoRE = regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*://)[^/@\s]+@`)

func redactUserinfo(s string) string { return userinfoRE.ReplaceAllString(s, "${1}***@") }

// readTOML decodes a TOML lock file (size-limited) into v; syntax errors name the file, line and column.
func readTOML(file string, v any) error {
	data, err := readLimited(file)
	if err != nil {
		return fmt.Errorf("reading %s: %w", filepath.Base(file), err)
	}
	if err := toml.Unmarshal(data, v); err != nil {
		var derr *toml.DecodeError
		if errors.As(err, &derr) {
			row, col := derr.Position()
			return fmt.Errorf("%s:%d:%d: invalid TOML: %w", file, row, col, err)
		}
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}
