package lock

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/venvpkg/venvpkg/internal/pep508"
)

// maxFileSize bounds one requirements file; real locks are far smaller.
const maxFileSize = 16 << 20

// maxErrors bounds the problems reported at once.
const maxErrors = 50

// ParseRequirementsFile reads the requirements file at path (and the files
// it includes), evaluates markers against env and returns the pinned
// requirements. Every problem found is reported, each naming its
// "file:line", joined into one error.
func ParseRequirementsFile(path string, env pep508.Environment) (*Lock, error) {
	return ParseRequirementsFileWith(path, env, Options{})
}

// Options adjusts ParseRequirementsFileWith.
type Options struct {
	// ProjectDir is the directory of the project being built. A line that
	// names it as a local path, editable ("-e .", which uv export writes
	// for the project by default) or not ("."), is skipped: venvpkg builds
	// the project from its source tree. Other paths are still refused.
	ProjectDir string
}

// ParseRequirementsFileWith is ParseRequirementsFile with options.
func ParseRequirementsFileWith(path string, env pep508.Environment, opts Options) (*Lock, error) {
	r := &reader{env: env, lock: &Lock{Path: path}}
	if opts.ProjectDir != "" {
		r.project = canonicalDir(opts.ProjectDir)
	}
	if err := r.readFile(path, false, ""); err != nil {
		return nil, err
	}
	if len(r.errs) == 0 {
		r.resolve()
	}
	if len(r.errs) > 0 {
		errs := r.errs
		if len(errs) > maxErrors {
			errs = append(errs[:maxErrors:maxErrors], fmt.Errorf("%s: %d more problems not shown", path, len(r.errs)-maxErrors))
		}
		return nil, errors.Join(errs...)
	}
	return r.lock, nil
}

// reader collects the lines of a requirements file and its includes.
type reader struct {
	env     pep508.Environment
	lock    *Lock
	project string // canonical project directory, "" if unknown

	stack   []string // absolute paths of the files being read, outermost first
	display []string // the same paths as shown in messages

	reqs        []reqLine // requirement lines whose markers hold
	cons        []reqLine // constraint lines whose markers hold
	hashSources []string  // where hash-checking mode was turned on
	errs        []error
}

// reqLine is one requirement (or constraint) line.
type reqLine struct {
	text   string // the requirement as written, without options
	req    pep508.Requirement
	hashes []string
	source string // "path:line"
}

func (r *reader) errorf(source, format string, args ...any) {
	r.errs = append(r.errs, errors.New(source+": "+fmt.Sprintf(format, args...)))
}

// readFile reads one file. constraint is true for -c files and everything
// they include. from is the "path:line" of the -r or -c option naming the
// file, "" for the top-level file. It returns an error only when the
// top-level file cannot be read; other problems are collected in r.errs.
func (r *reader) readFile(path string, constraint bool, from string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("reading requirements file %s: %w", path, err)
	}
	for i, p := range r.stack {
		if p == abs {
			chain := append(append([]string{}, r.display[i:]...), path)
			r.errorf(from, "circular include: %s; remove one of the -r/-c options", strings.Join(chain, " -> "))
			return nil
		}
	}
	data, err := readLimited(path)
	if err != nil {
		if from == "" {
			return fmt.Errorf("reading requirements file: %w", err)
		}
		r.errorf(from, "reading included file: %v", err)
		return nil
	}
	r.stack = append(r.stack, abs)
	r.display = append(r.display, path)
	defer func() {
		r.stack = r.stack[:len(r.stack)-1]
		r.display = r.display[:len(r.display)-1]
	}()
	for _, ln := range logicalLines(string(data)) {
		r.line(path, ln, constraint)
	}
	return nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s is larger than %d MiB; is it really a requirements file?", path, maxFileSize>>20)
	}
	return data, nil
}

// logicalLine is one line after joining continuations and removing comments.
type logicalLine struct {
	num  int // 1-based number of its first physical line
	text string
}

// logicalLines joins lines ending in "\" with the next one, ends such a
// run at a comment line, removes comments ("#" at the start of a line or
// after whitespace) and drops blank lines.
func logicalLines(data string) []logicalLine {
	data = strings.TrimPrefix(data, "\uFEFF")
	var out []logicalLine
	var cur strings.Builder
	start, open := 0, false
	emit := func(num int, text string) {
		if text = strings.TrimSpace(stripComment(text)); text != "" {
			out = append(out, logicalLine{num: num, text: text})
		}
	}
	for i, phys := range strings.Split(data, "\n") {
		phys = strings.TrimSuffix(phys, "\r")
		num := i + 1
		switch {
		case strings.HasPrefix(strings.TrimLeft(phys, " \t"), "#"):
			if open {
				emit(start, cur.String())
				cur.Reset()
				open = false
			}
		case strings.HasSuffix(phys, `\`):
			if !open {
				start, open = num, true
			}
			cur.WriteString(strings.TrimSuffix(phys, `\`))
		case open:
			cur.WriteString(phys)
			emit(start, cur.String())
			cur.Reset()
			open = false
		default:
			emit(num, phys)
		}
	}
	if open {
		emit(start, cur.String())
	}
	return out
}

func stripComment(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
			return s[:i]
		}
	}
	return s
}

// splitOptions separates the requirement at the start of a line from the
// options after it: the options begin at the first "-" that follows
// whitespace outside quotes.
func splitOptions(line string) (req, opts string) {
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '-' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return strings.TrimSpace(line[:i]), line[i:]
		}
	}
	return strings.TrimSpace(line), ""
}

// tokens splits an option string at whitespace; quotes group words and
// are removed.
func tokens(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote, inWord = c, true
		case c == ' ' || c == '\t':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out, nil
}

type optKind int

const (
	optRequirement optKind = iota
	optConstraint
	optEditable
	optIndexURL
	optExtraIndexURL
	optFindLinks
	optNoIndex
	optRequireHashes
	optTrustedHost
	optPreferBinary
	optOnlyBinary
	optNoBinary
	optPre
	optUseFeature
	optHash
)

type optSpec struct {
	kind     optKind
	hasValue bool
}

// knownOptions are the options pip accepts in requirements files that a
// lock of pinned wheels can honour or safely ignore.
var knownOptions = map[string]optSpec{
	"-r":                {optRequirement, true},
	"--requirement":     {optRequirement, true},
	"-c":                {optConstraint, true},
	"--constraint":      {optConstraint, true},
	"-e":                {optEditable, true},
	"--editable":        {optEditable, true},
	"-i":                {optIndexURL, true},
	"--index-url":       {optIndexURL, true},
	"--extra-index-url": {optExtraIndexURL, true},
	"-f":                {optFindLinks, true},
	"--find-links":      {optFindLinks, true},
	"--no-index":        {optNoIndex, false},
	"--require-hashes":  {optRequireHashes, false},
	"--trusted-host":    {optTrustedHost, true},
	"--prefer-binary":   {optPreferBinary, false},
	"--only-binary":     {optOnlyBinary, true},
	"--no-binary":       {optNoBinary, true},
	"--pre":             {optPre, false},
	"--use-feature":     {optUseFeature, true},
	"--hash":            {optHash, true},
}

type option struct {
	name  string
	spec  optSpec
	value string
}

// parseOptions reads the options in s.
func parseOptions(s string) ([]option, error) {
	toks, err := tokens(s)
	if err != nil {
		return nil, err
	}
	var opts []option
	for i := 0; i < len(toks); i++ {
		tok := toks[i]
		var name, value string
		var hasValue bool
		switch {
		case strings.HasPrefix(tok, "--"):
			name, value, hasValue = strings.Cut(tok, "=")
		case strings.HasPrefix(tok, "-") && len(tok) >= 2:
			name = tok[:2]
			if len(tok) > 2 {
				value, hasValue = tok[2:], true
			}
		default:
			return nil, fmt.Errorf("unexpected %q after the options; write one requirement per line", tok)
		}
		spec, ok := knownOptions[name]
		if !ok {
			return nil, fmt.Errorf("unknown option %q (requirements files of pinned wheels accept -r, -c, -i/--index-url, --extra-index-url, -f/--find-links, --no-index, --require-hashes, --hash, --trusted-host, --prefer-binary, --only-binary, --no-binary, --pre)", name)
		}
		switch {
		case spec.hasValue && !hasValue:
			if i+1 == len(toks) {
				return nil, fmt.Errorf("option %s needs a value", name)
			}
			i++
			value = toks[i]
		case !spec.hasValue && hasValue:
			return nil, fmt.Errorf("option %s takes no value", name)
		}
		opts = append(opts, option{name: name, spec: spec, value: value})
	}
	return opts, nil
}

// line handles one logical line of path.
func (r *reader) line(path string, ln logicalLine, constraint bool) {
	source := fmt.Sprintf("%s:%d", path, ln.num)
	reqText, optText := splitOptions(ln.text)
	opts, err := parseOptions(optText)
	if err != nil {
		r.errorf(source, "%v", err)
		return
	}
	if reqText == "" {
		r.options(path, source, opts, constraint)
		return
	}
	var hashes []string
	for _, o := range opts {
		if o.spec.kind != optHash {
			r.errorf(source, "option %s must be on a line of its own, not after the requirement %q", o.name, reqText)
			return
		}
		h, err := parseHash(o.value)
		if err != nil {
			r.errorf(source, "%s: %v", reqText, err)
			return
		}
		if !containsString(hashes, h) {
			hashes = append(hashes, h)
		}
	}
	req, err := pep508.ParseRequirement(reqText)
	if err != nil {
		if len(hashes) == 0 && r.isProject(filepath.Dir(path), reqText) {
			return
		}
		if looksLikePathOrURL(reqText) {
			hint := ""
			if !strings.Contains(reqText, ":") && r.project == "" {
				hint = "; if it is the project itself, leave it out (uv export --no-emit-project): venvpkg builds the project from its source tree"
			}
			r.errorf(source, "%q is a path or URL, which is not supported: pin the package as name==<version> and put its wheel in a --find-links directory%s", reqText, hint)
			return
		}
		r.errorf(source, "%v", err)
		return
	}
	if req.URL != "" {
		r.errorf(source, "direct reference %q is not supported: pin the package as %s==<version> and put its wheel in a --find-links directory", reqText, req.Name)
		return
	}
	if hasArchiveSuffix(req.Name) {
		r.errorf(source, "%q is a path to an archive, which is not supported: pin the package as name==<version> and put its wheel in a --find-links directory", reqText)
		return
	}
	if len(hashes) > 0 && !constraint {
		r.hashSources = append(r.hashSources, source+" has --hash")
	}
	if !req.Marker.Evaluate(r.env) {
		return
	}
	rl := reqLine{text: reqText, req: req, hashes: hashes, source: source}
	if constraint {
		r.cons = append(r.cons, rl)
	} else {
		r.reqs = append(r.reqs, rl)
	}
}

// options handles a line holding only options.
func (r *reader) options(path, source string, opts []option, constraint bool) {
	dir := filepath.Dir(path)
	for _, o := range opts {
		switch o.spec.kind {
		case optRequirement, optConstraint:
			if strings.Contains(o.value, "://") {
				r.errorf(source, "%s %s: including requirements from a URL is not supported; download the file and include it by path", o.name, o.value)
				continue
			}
			inc := o.value
			if !filepath.IsAbs(inc) {
				inc = filepath.Join(dir, inc)
			}
			// Constraint files make everything below them constraints.
			asConstraint := constraint || o.spec.kind == optConstraint
			if err := r.readFile(inc, asConstraint, source); err != nil {
				r.errs = append(r.errs, err)
			}
		case optEditable:
			if r.isProject(dir, o.value) {
				continue
			}
			r.errorf(source, "editable requirement \"%s %s\" is not supported: venvpkg installs pinned wheels and builds the project itself from its source tree; export without it (uv export --no-emit-project) or remove the line", o.name, o.value)
		case optIndexURL:
			r.lock.IndexURLs = append(r.lock.IndexURLs, o.value)
		case optExtraIndexURL:
			r.lock.ExtraIndexURLs = append(r.lock.ExtraIndexURLs, o.value)
		case optFindLinks:
			r.lock.FindLinks = append(r.lock.FindLinks, findLinksPath(dir, o.value))
		case optNoIndex:
			r.lock.NoIndex = true
		case optRequireHashes:
			r.hashSources = append(r.hashSources, source+" has --require-hashes")
		case optPreferBinary:
			r.lock.PreferBinary = true
		case optOnlyBinary:
			r.lock.OnlyBinary = append(r.lock.OnlyBinary, o.value)
		case optNoBinary:
			r.lock.NoBinary = append(r.lock.NoBinary, o.value)
		case optTrustedHost, optPre, optUseFeature:
			// Nothing to do: no network without TLS, and every package is pinned.
		case optHash:
			r.errorf(source, "--hash %s must follow a requirement on the same line (continue the line with \\)", o.value)
		}
	}
}

// isProject reports whether value, a local path or file: URL written in a
// file in dir, names the project being built. Extras ("[dev]") and an
// "#egg=" fragment are ignored.
func (r *reader) isProject(dir, value string) bool {
	if r.project == "" {
		return false
	}
	v, _, _ := strings.Cut(value, "#")
	if i := strings.IndexByte(v, '['); i >= 0 && strings.HasSuffix(v, "]") {
		v = v[:i]
	}
	if rest, ok := strings.CutPrefix(v, "file://"); ok {
		if !strings.HasPrefix(rest, "/") {
			return false // file://host/path
		}
		v = rest
	} else if rest, ok := strings.CutPrefix(v, "file:"); ok {
		v = rest
	}
	if v == "" || strings.Contains(v, "://") {
		return false
	}
	if !filepath.IsAbs(v) {
		v = filepath.Join(dir, v)
	}
	return canonicalDir(v) == r.project
}

// canonicalDir is dir made absolute with symlinks resolved where possible.
func canonicalDir(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	return filepath.Clean(dir)
}

// findLinksPath makes a local find-links path absolute, relative to the
// directory of the file naming it. URLs are returned unchanged.
func findLinksPath(dir, value string) string {
	if strings.Contains(value, "://") || strings.HasPrefix(value, "file:") {
		return value
	}
	p := value
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return p
}

// hashLengths are the hex digest lengths of the algorithms pip accepts in
// hash-checking mode.
var hashLengths = map[string]int{"sha256": 64, "sha384": 96, "sha512": 128}

// parseHash validates "algo:hex" and returns it lowercased.
func parseHash(v string) (string, error) {
	algo, digest, ok := strings.Cut(v, ":")
	if !ok {
		return "", fmt.Errorf("invalid --hash %q; write --hash=sha256:<hex digest>", v)
	}
	algo = strings.ToLower(algo)
	want, ok := hashLengths[algo]
	if !ok {
		switch algo {
		case "md5", "sha1", "sha224":
			return "", fmt.Errorf("--hash %q: %s is too weak and is refused; use sha256 (pip-compile --generate-hashes and uv export write sha256)", v, algo)
		}
		return "", fmt.Errorf("--hash %q: unknown algorithm %q; use sha256, sha384 or sha512", v, algo)
	}
	digest = strings.ToLower(digest)
	if len(digest) != want || strings.Trim(digest, "0123456789abcdef") != "" {
		return "", fmt.Errorf("--hash %q: a %s digest is %d hexadecimal digits", v, algo, want)
	}
	return algo + ":" + digest, nil
}

func looksLikePathOrURL(s string) bool {
	if strings.Contains(s, "://") || strings.ContainsAny(s, `/\`) || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "~") {
		return true
	}
	if i := strings.IndexByte(s, ':'); i > 0 && !strings.ContainsAny(s[:i], " ;=<>!~[(") {
		return true // scheme such as git+https: or file:
	}
	return hasArchiveSuffix(strings.Fields(s)[0])
}

func hasArchiveSuffix(s string) bool {
	s = strings.ToLower(s)
	for _, ext := range []string{".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar"} {
		if strings.HasSuffix(s, ext) {
			return true
		}
	}
	return false
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortStrings(s []string) []string {
	sort.Strings(s)
	return s
}
