// Package config reads a project's pyproject.toml: the [project] table of the
// core metadata specification (PEP 621) and venvpkg's own [tool.venvpkg]
// packaging settings, which are decoded strictly so that a misspelt key is an
// error instead of a silently ignored setting.
//
// A project need not have a [project] table, nor a pyproject.toml at all:
// setup.py projects and Poetry projects with only [tool.poetry] declare
// their metadata to their build backend, and the build reads it from the
// wheel that backend builds.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/venvpkg/venvpkg/internal/pep503"
)

// FileName is the configuration file read from a project directory.
const FileName = "pyproject.toml"

// Compression names accepted by [tool.venvpkg] compression.
var Compressions = []string{"zstd", "xz", "gzip", "none"}

// Person is an entry of [project].authors or [project].maintainers.
type Person struct {
	Name  string `toml:"name"`
	Email string `toml:"email"`
}

// String formats the person as an RFC 5322 mailbox, "Name <email>".
func (p Person) String() string {
	switch {
	case p.Name != "" && p.Email != "":
		return p.Name + " <" + p.Email + ">"
	case p.Email != "":
		return p.Email
	default:
		return p.Name
	}
}

// License is [project].license: an SPDX expression string (PEP 639) or the
// older table form {text = "..."} / {file = "..."}.
type License struct {
	Expression string
	Text       string
	File       string
}

// setLicense accepts both license forms.
func (l *License) set(v any) error {
	switch v := v.(type) {
	case string:
		l.Expression = v
	case map[string]any:
		for k, x := range v {
			s, ok := x.(string)
			if !ok {
				return fmt.Errorf("license.%s must be a string", k)
			}
			switch k {
			case "text":
				l.Text = s
			case "file":
				l.File = s
			default:
				return fmt.Errorf("license has unknown key %q (want text or file)", k)
			}
		}
	default:
		return fmt.Errorf("license must be a string or a table, not %T", v)
	}
	return nil
}

// Short returns a one-line license name for package metadata.
func (l License) Short() string {
	if l.Expression != "" {
		return l.Expression
	}
	if l.Text != "" && !strings.Contains(strings.TrimSpace(l.Text), "\n") {
		return strings.TrimSpace(l.Text)
	}
	return ""
}

// Project is the [project] table.
type Project struct {
	Name           string            `toml:"name"`
	Version        string            `toml:"version"`
	Description    string            `toml:"description"`
	RequiresPython string            `toml:"requires-python"`
	LicenseRaw     any               `toml:"license"`
	License        License           `toml:"-"`
	URLs           map[string]string `toml:"urls"`
	Authors        []Person          `toml:"authors"`
	Maintainers    []Person          `toml:"maintainers"`
	Dependencies   []string          `toml:"dependencies"`
	Scripts        map[string]string `toml:"scripts"`
	GUIScripts     map[string]string `toml:"gui-scripts"`
	Dynamic        []string          `toml:"dynamic"`
}

// IsDynamic reports whether field is listed in [project].dynamic.
func (p *Project) IsDynamic(field string) bool {
	for _, d := range p.Dynamic {
		if d == field {
			return true
		}
	}
	return false
}

// Homepage picks the project's home page from [project.urls].
func (p *Project) Homepage() string {
	keys := make([]string, 0, len(p.URLs))
	for k := range p.URLs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, want := range []string{"homepage", "home-page", "home", "documentation", "source", "repository"} {
		for _, k := range keys {
			if strings.ReplaceAll(strings.ToLower(k), " ", "-") == want {
				return p.URLs[k]
			}
		}
	}
	return ""
}

// releaseString accepts [tool.venvpkg].release written as a string or an integer.
func releaseString(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	default:
		return "", fmt.Errorf("release must be a string or an integer, not %T", v)
	}
}

// Tool is the [tool.venvpkg] table.
type Tool struct {
	Name        string   `toml:"name"`
	Prefix      string   `toml:"prefix"`
	Python      string   `toml:"python"`
	Lock        string   `toml:"lock"`
	ReleaseRaw  any      `toml:"release"`
	Release     string   `toml:"-"`
	Maintainer  string   `toml:"maintainer"`
	Depends     []string `toml:"depends"`
	Compression string   `toml:"compression"`
	// IndexURL, ExtraIndexURLs and FindLinks are the package sources
	// (--index-url, --extra-index-url, --find-links); find-links
	// directories are relative to the project.
	IndexURL       string   `toml:"index-url"`
	ExtraIndexURLs []string `toml:"extra-index-urls"`
	FindLinks      []string `toml:"find-links"`
	// NoIndex is --no-index: only find-links, no package index.
	NoIndex bool `toml:"no-index"`
	// AllowPartialLock is --allow-partial-lock: a lock that misses
	// requirements or conflicts with them is a warning, not an error.
	AllowPartialLock bool `toml:"allow-partial-lock"`
	// RPMRequires are extra RPM Requires entries ("libpq >= 13"); depends
	// is written in Debian's syntax and applies to .deb files only.
	RPMRequires []string `toml:"rpm-requires"`
	// PythonDist names a relocatable CPython to bundle instead of linking
	// to the host's python (docs/interpreter.md).
	PythonDist *PythonDist `toml:"python-dist"`
	// ServicesRaw is [tool.venvpkg.services]; Config.Services holds the
	// validated services.
	ServicesRaw map[string]Service `toml:"services"`
	// ConfigRaw is [tool.venvpkg.config]; Config.ConfigFiles holds the
	// validated entries.
	ConfigRaw map[string]ConfigFile `toml:"config"`
	// IgnoreVulnerabilities are [[tool.venvpkg.ignore-vulnerabilities]]:
	// advisories accepted for a reason until a date (docs/sbom.md).
	IgnoreVulnerabilities []VulnIgnore `toml:"ignore-vulnerabilities"`
}

// PythonDist is [tool.venvpkg] python-dist: a python-build-standalone
// archive (url or path, pinned by sha256) or a directory holding a CPython
// prefix (path). A relative path is relative to the project directory.
type PythonDist struct {
	URL    string `toml:"url"`
	Path   string `toml:"path"`
	SHA256 string `toml:"sha256"`
}

// lineHas reports whether line row (1-based) of data contains s.
func lineHas(data []byte, row int, s string) bool {
	lines := strings.Split(string(data), "\n")
	return row >= 1 && row <= len(lines) && strings.Contains(lines[row-1], s)
}

func pythonDistKeys() []string { return []string{"path", "sha256", "url"} }

// Config is a project's packaging configuration.
type Config struct {
	Dir     string // project directory
	File    string // path of pyproject.toml (which may not exist)
	Project Project
	Tool    Tool
	// HasProject reports whether the [project] table is present. Without
	// it, the name, version and the rest of the metadata are declared to
	// the build backend (setup.py, [tool.poetry]) and read from the wheel.
	HasProject bool
	// HasBuildSystem reports whether [build-system] is present.
	HasBuildSystem bool
	// Services are the [tool.venvpkg.services] tables, sorted by name,
	// with defaults filled in.
	Services []Service
	// ConfigFiles are the [tool.venvpkg.config] entries, sorted by path.
	ConfigFiles []ConfigFile
	// Warnings are problems that do not stop a build (a configuration
	// file that looks like a secret).
	Warnings []string
}

type document struct {
	Project     *Project       `toml:"project"`
	BuildSystem map[string]any `toml:"build-system"`
	Tool        struct {
		Venvpkg Tool `toml:"venvpkg"`
	} `toml:"tool"`
}

// legacyFiles mark a project built by setuptools without a pyproject.toml.
var legacyFiles = []string{"setup.py", "setup.cfg"}

// Load reads dir/pyproject.toml. Unknown keys in [tool.venvpkg] are errors;
// unknown keys elsewhere belong to other tools and are ignored. A directory
// with setup.py or setup.cfg but no pyproject.toml is a project with an empty
// configuration, as pip builds it.
func Load(dir string) (*Config, error) {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs // errors name the file a user can look for
	}
	file := filepath.Join(dir, FileName)
	data, err := os.ReadFile(file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			for _, f := range legacyFiles {
				if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
					return &Config{Dir: dir, File: file}, nil
				}
			}
			return nil, fmt.Errorf("%s has no pyproject.toml, setup.py or setup.cfg: it is not a Python project", dir)
		}
		return nil, fmt.Errorf("reading project configuration: %w", err)
	}
	return Parse(file, data)
}

// Parse decodes pyproject.toml content; file names it in errors.
func Parse(file string, data []byte) (*Config, error) {
	var doc document
	dec := toml.NewDecoder(strings.NewReader(string(data))).DisallowUnknownFields()
	err := dec.Decode(&doc)
	var strict *toml.StrictMissingError
	var derr *toml.DecodeError
	switch {
	case errors.As(err, &strict):
		var unknown []string
		for _, e := range strict.Errors {
			key := e.Key()
			if len(key) >= 3 && key[0] == "tool" && key[1] == "venvpkg" {
				row, _ := e.Position()
				table, known := "[tool.venvpkg]", knownToolKeys()
				switch {
				case len(key) == 5 && key[2] == "services":
					table, known = "[tool.venvpkg.services."+key[3]+"]", serviceKeys()
				case len(key) == 5 && key[2] == "config":
					table, known = fmt.Sprintf("[tool.venvpkg.config] %q", key[3]), configFileKeys()
				case len(key) >= 4 && key[2] == "ignore-vulnerabilities":
					table, known = "an entry of [[tool.venvpkg.ignore-vulnerabilities]]", vulnIgnoreKeys()
				case len(key) == 4 && key[2] == "python-dist", len(key) == 3 && lineHas(data, row, "python-dist"):
					// go-toml leaves an inline table's own key out of the path.
					table, known = "[tool.venvpkg] python-dist", pythonDistKeys()
				case len(key) == 4 && key[2] == "config":
					// go-toml leaves an inline table's own key out of the path.
					table, known = "an entry of [tool.venvpkg.config]", configFileKeys()
				}
				k := key[len(key)-1]
				hint := ""
				if s := closest(k, known); s != "" {
					hint = fmt.Sprintf("; did you mean %q?", s)
				}
				unknown = append(unknown, fmt.Sprintf("%s:%d: unknown key %q in %s%s (known keys: %s)", file, row, k, table, hint, strings.Join(known, ", ")))
			}
		}
		if len(unknown) > 0 {
			return nil, errors.New(strings.Join(unknown, "; "))
		}
		// Unknown keys outside [tool.venvpkg] belong to other tools: decode leniently.
		doc = document{}
		if err := toml.Unmarshal(data, &doc); err != nil {
			return nil, decodeError(file, err)
		}
	case err != nil:
		if errors.As(err, &derr) {
			return nil, decodeError(file, err)
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	c := &Config{
		Dir:            filepath.Dir(file),
		File:           file,
		Tool:           doc.Tool.Venvpkg,
		HasProject:     doc.Project != nil,
		HasBuildSystem: doc.BuildSystem != nil,
	}
	if doc.Project != nil {
		c.Project = *doc.Project
	}
	if c.Project.LicenseRaw != nil {
		if err := c.Project.License.set(c.Project.LicenseRaw); err != nil {
			return nil, fmt.Errorf("%s: [project] %w", file, err)
		}
	}
	rel, err := releaseString(c.Tool.ReleaseRaw)
	if err != nil {
		return nil, fmt.Errorf("%s: [tool.venvpkg] %w", file, err)
	}
	c.Tool.Release = rel
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func decodeError(file string, err error) error {
	var derr *toml.DecodeError
	if errors.As(err, &derr) {
		row, col := derr.Position()
		if msg := typeMismatch(derr); msg != "" {
			return fmt.Errorf("%s:%d:%d: %s", file, row, col, msg)
		}
		return fmt.Errorf("%s:%d:%d: invalid TOML: %w", file, row, col, err)
	}
	return fmt.Errorf("%s: %w", file, err)
}

// typeMismatch rewords go-toml's "cannot decode TOML integer into struct
// field config.Tool.Prefix of type string" as "tool.venvpkg.prefix must be
// a string, not an integer"; "" for other errors.
func typeMismatch(derr *toml.DecodeError) string {
	rest, ok := strings.CutPrefix(derr.Error(), "toml: cannot decode TOML ")
	if !ok || len(derr.Key()) == 0 {
		return ""
	}
	got, _, _ := strings.Cut(rest, " ")
	i := strings.LastIndex(rest, " of type ")
	if i < 0 {
		return ""
	}
	want := rest[i+len(" of type "):]
	switch {
	case want == "string":
		want = "a string"
	case want == "[]string":
		want = "an array of strings"
	case want == "bool":
		want = "a boolean"
	case strings.HasPrefix(want, "int") || strings.HasPrefix(want, "uint"):
		want = "an integer"
	case strings.HasPrefix(want, "[]"):
		want = "an array of tables"
	default:
		want = "a table"
	}
	article := "a"
	if strings.ContainsAny(got[:1], "aeiou") {
		article = "an"
	}
	return fmt.Sprintf("%s must be %s, not %s %s", strings.Join(derr.Key(), "."), want, article, got)
}

func knownToolKeys() []string {
	return []string{"allow-partial-lock", "compression", "config", "depends", "extra-index-urls", "find-links", "ignore-vulnerabilities", "index-url", "lock", "maintainer", "name", "no-index", "prefix", "python", "python-dist", "release", "rpm-requires", "services"}
}

func (c *Config) validate() error {
	if c.HasProject {
		if c.Project.Name == "" {
			return fmt.Errorf("%s: [project] name is missing", c.File)
		}
		if !pep503.Valid(c.Project.Name) {
			return fmt.Errorf("%s: [project] name %q is not a valid project name (letters, digits, and . _ - between them)", c.File, c.Project.Name)
		}
		if c.Project.Version == "" && !c.Project.IsDynamic("version") {
			return fmt.Errorf("%s: [project] version is missing (set it, or list \"version\" in [project].dynamic)", c.File)
		}
	}
	if _, err := c.Maintainer(); err != nil {
		return err
	}
	if c.Tool.Name != "" {
		if err := ValidPackageName(c.Tool.Name); err != nil {
			return fmt.Errorf("%s: [tool.venvpkg] name: %w", c.File, err)
		}
	}
	if c.Tool.Compression != "" && !validCompression(c.Tool.Compression) {
		return fmt.Errorf("%s: [tool.venvpkg] compression %q is not one of %s", c.File, c.Tool.Compression, strings.Join(Compressions, ", "))
	}
	if c.Tool.Prefix != "" {
		if err := ValidPrefix(c.Tool.Prefix); err != nil {
			return fmt.Errorf("%s: [tool.venvpkg] prefix: %w", c.File, err)
		}
	}
	if c.Tool.Release != "" {
		if err := ValidRelease(c.Tool.Release); err != nil {
			return fmt.Errorf("%s: [tool.venvpkg] release: %w", c.File, err)
		}
	}
	if d := c.Tool.PythonDist; d != nil {
		if d.Path != "" && !filepath.IsAbs(d.Path) {
			d.Path = filepath.Join(c.Dir, d.Path)
		}
		if c.Tool.Python != "" {
			return fmt.Errorf("%s: [tool.venvpkg] has both python and python-dist; keep python-dist to bundle an interpreter, or python to link to the host's", c.File)
		}
	}
	if err := c.validateSources(); err != nil {
		return err
	}
	if err := c.validateIgnores(); err != nil {
		return err
	}
	for _, d := range c.Tool.Depends {
		if err := ValidDebianRelations(d); err != nil {
			return fmt.Errorf("%s: [tool.venvpkg] depends: %w", c.File, err)
		}
	}
	for _, r := range c.Tool.RPMRequires {
		if strings.TrimSpace(r) == "" || strings.ContainsAny(r, ",\r\n") {
			return fmt.Errorf("%s: [tool.venvpkg] rpm-requires: %q must be one requirement such as \"libpq >= 13\"", c.File, r)
		}
	}
	if err := c.validateServices(); err != nil {
		return err
	}
	return c.validateConfigFiles()
}

func validCompression(s string) bool {
	for _, c := range Compressions {
		if s == c {
			return true
		}
	}
	return false
}

// PackageName is the native package name: [tool.venvpkg] name, or the
// normalised project name; "" when neither is known before the build
// (the name then comes from the built wheel).
func (c *Config) PackageName() string {
	if c.Tool.Name != "" {
		return c.Tool.Name
	}
	return pep503.Normalize(c.Project.Name)
}

// Maintainer returns the package's maintainer as "Name <email>":
// [tool.venvpkg] maintainer, else the first maintainer with an email, else
// the first author with an email of [project]; "" when none is given. An
// entry without a name, or an address that does not parse, is an error
// that says what to write: Debian and RPM need a name before the address.
func (c *Config) Maintainer() (string, error) {
	if c.Tool.Maintainer != "" {
		m, err := FormatMaintainer(c.Tool.Maintainer, "")
		if err != nil {
			return "", fmt.Errorf("%s: [tool.venvpkg] maintainer: %w", c.File, err)
		}
		return m, nil
	}
	for _, list := range []struct {
		key    string
		people []Person
	}{{"maintainers", c.Project.Maintainers}, {"authors", c.Project.Authors}} {
		for _, p := range list.people {
			if p.Email == "" {
				continue
			}
			m, err := FormatMaintainer(p.Email, p.Name)
			if err != nil {
				return "", fmt.Errorf("%s: [project] %s: %w; or set [tool.venvpkg] maintainer = \"Name <email>\"", c.File, list.key, err)
			}
			return m, nil
		}
	}
	return "", nil
}

// FormatMaintainer forms a maintainer field, "Name <email>", from an
// address ("Name <email>", "email", or a list of them: the first is used)
// and a name used when the address has none. An address without any name
// is an error: Debian's Maintainer field needs a name (lintian:
// no-phrase-maintainer), as does RPM's Packager.
func FormatMaintainer(address, name string) (string, error) {
	list, err := mail.ParseAddressList(address)
	if err != nil || len(list) == 0 {
		return "", fmt.Errorf("%q is not an email address; write \"Name <email>\"", address)
	}
	a := list[0]
	n := strings.TrimSpace(cmp.Or(a.Name, name))
	if n == "" {
		return "", fmt.Errorf("%q has no name; the package's maintainer field needs \"Name <%s>\"", address, a.Address)
	}
	if strings.ContainsAny(n, "<>,\r\n") {
		return "", fmt.Errorf("name %q may not contain < > , or line breaks", n)
	}
	return n + " <" + a.Address + ">", nil
}

// ValidPackageName checks a Debian/RPM package name: lowercase letters,
// digits, "+", "-" and ".", at least two characters, starting alphanumeric.
func ValidPackageName(name string) error {
	if len(name) < 2 {
		return fmt.Errorf("package name %q is too short (at least two characters)", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '+' || c == '-' || c == '.')
		if !ok {
			return fmt.Errorf("package name %q is invalid: use lowercase letters, digits, and + - . after the first character", name)
		}
	}
	return nil
}

// systemDirs are prefixes a package must never take over whole.
var systemDirs = []string{
	"/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/media", "/mnt",
	"/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/usr/bin", "/usr/games",
	"/usr/include", "/usr/lib", "/usr/lib64", "/usr/libexec", "/usr/local", "/usr/local/bin", "/usr/local/lib",
	"/usr/sbin", "/usr/share", "/usr/src", "/var", "/var/lib", "/var/log", "/var/cache", "/var/tmp", "/opt/venvs",
}

// ValidPrefix checks an install prefix: absolute, clean, and not a system
// directory such as /usr or /etc.
func ValidPrefix(prefix string) error {
	if !filepath.IsAbs(prefix) {
		return fmt.Errorf("%q is relative; use an absolute path such as /opt/venvs/<name>", prefix)
	}
	if filepath.Clean(prefix) != prefix {
		return fmt.Errorf("%q is not clean; write %q", prefix, filepath.Clean(prefix))
	}
	for _, d := range systemDirs {
		if prefix == d {
			return fmt.Errorf("%q is a system directory; use a directory of its own such as /opt/venvs/<name>", prefix)
		}
	}
	if strings.ContainsAny(prefix, " \t\n\"'\\$`") {
		return fmt.Errorf("%q contains whitespace, quotes or shell metacharacters; choose a plain path", prefix)
	}
	return nil
}

// ValidRelease checks a package release: digits, letters, "+", "." and "~".
func ValidRelease(r string) error {
	if r == "" {
		return errors.New("release is empty")
	}
	if r[0] < '0' || r[0] > '9' {
		return fmt.Errorf("release %q must start with a digit", r)
	}
	for _, c := range r {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '+' || c == '.' || c == '~') {
			return fmt.Errorf("release %q may contain only letters, digits, + . and ~", r)
		}
	}
	return nil
}

// validateSources checks index-url, extra-index-urls and find-links: index
// URLs are absolute http(s) URLs; find-links entries are directories or
// http(s)/file URLs.
// ValidIndexURL checks that v is an http(s) URL with a host, as an index URL or a find-links page must be; the
// error hides the URL's credentials.
func ValidIndexURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL such as \"https://pypi.org/simple/\"", redactURL(v))
	}
	return nil
}

func (c *Config) validateSources() error {
	check := func(key, v string) error {
		if err := ValidIndexURL(v); err != nil {
			return fmt.Errorf("%s: [tool.venvpkg] %s: %w", c.File, key, err)
		}
		return nil
	}
	if c.Tool.IndexURL != "" {
		if err := check("index-url", c.Tool.IndexURL); err != nil {
			return err
		}
	}
	for _, v := range c.Tool.ExtraIndexURLs {
		if err := check("extra-index-urls", v); err != nil {
			return err
		}
	}
	for _, v := range c.Tool.FindLinks {
		switch {
		case strings.TrimSpace(v) == "":
			return fmt.Errorf("%s: [tool.venvpkg] find-links: an entry is empty; give a directory or an http(s) URL", c.File)
		case strings.HasPrefix(v, "http://"), strings.HasPrefix(v, "https://"):
			if err := check("find-links", v); err != nil {
				return err
			}
		case strings.Contains(v, "://") && !strings.HasPrefix(v, "file://"):
			return fmt.Errorf("%s: [tool.venvpkg] find-links: %q: use a directory, a file:// or an http(s):// URL", c.File, redactURL(v))
		}
	}
	return nil
}

// redactURL hides the userinfo of a URL in messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		if i := strings.Index(s, "@"); i >= 0 && strings.Contains(s[:i], "://") {
			return s[:strings.Index(s, "://")+3] + "***" + s[i:]
		}
		return s
	}
	u.User = nil
	return strings.Replace(u.String(), "://", "://***@", 1)
}

// closest returns the known key nearest to a misspelt one (at most two edits away, or the same
// letters with - and _ swapped), or "" when none is that close.
func closest(key string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if strings.ReplaceAll(key, "_", "-") == k {
			return k
		}
		if d := editDistance(key, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// debianRelation is one alternative of a Debian relationship field (Debian Policy 7.1): a package name, an
// optional architecture qualifier, an optional version restriction, an optional architecture restriction list
// and optional build profiles.
var debianRelation = regexp.MustCompile(`^([a-z0-9][a-z0-9+.-]+)(:[a-z0-9-]+)?` +
	`([ \t]*\([ \t]*(<<|<=|=|>=|>>)[ \t]*([0-9][A-Za-z0-9.+~:-]*)[ \t]*\))?` +
	`([ \t]*\[[a-z0-9 !-]+\])?([ \t]*<[a-z0-9 !.-]+>)*$`)

// ValidDebianRelations checks s as the entries of a Depends field in Debian's syntax: relations separated by
// commas, alternatives by "|", as in "libpq5 (>= 15) | libpq-dev, tzdata".
func ValidDebianRelations(s string) error {
	for _, rel := range strings.Split(s, ",") {
		for _, alt := range strings.Split(rel, "|") {
			if a := strings.TrimSpace(alt); !debianRelation.MatchString(a) {
				return fmt.Errorf("%q is not a Debian relation: write a package name with an optional version, such as \"libpq5 (>= 15)\" (alternatives with |)", strings.TrimSpace(s))
			}
		}
	}
	return nil
}
