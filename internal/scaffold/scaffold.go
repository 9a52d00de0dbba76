// Package scaffold writes the [tool.venvpkg] table a project starts from, as `venvpkg init` does: the maintainer
// from the project's authors or git, the interpreter found on the machine, the lock found in the project, and a
// commented service and configuration-file example when the project has console scripts or runs under gunicorn
// or uvicorn. The table is appended to pyproject.toml as text, so the rest of the file, comments and formatting
// included, stays as it was; an existing table is never touched.
package scaffold

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/venvpkg/venvpkg/internal/atomicfile"
	"github.com/venvpkg/venvpkg/internal/lock"
	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pep503"
	"github.com/venvpkg/venvpkg/internal/pep508"
)

// Options are the inputs of Plan beyond the project directory.
type Options struct {
	// Python, when set, is the interpreter to write instead of the one found on the machine.
	Python string
	// Pythons lists the interpreters to choose from; nil means the /usr/bin/python3.N found on the machine.
	Pythons []string
	// Git returns a git configuration value ("" when unset); nil means running git.
	Git func(ctx context.Context, key string) string
}

// Plan is what init would write.
type Plan struct {
	File    string   // the pyproject.toml written
	Before  []byte   // its content now (nil when it does not exist)
	After   []byte   // its content after init
	Notes   []string // what the user should still do, one line each
	Created bool     // the file does not exist yet
}

// document is what init reads of pyproject.toml.
type document struct {
	Project struct {
		Name           string            `toml:"name"`
		RequiresPython string            `toml:"requires-python"`
		Dependencies   []string          `toml:"dependencies"`
		Authors        []person          `toml:"authors"`
		Maintainers    []person          `toml:"maintainers"`
		Scripts        map[string]string `toml:"scripts"`
	} `toml:"project"`
	Tool struct {
		Venvpkg map[string]any `toml:"venvpkg"`
		Poetry  struct {
			Name         string         `toml:"name"`
			Authors      []string       `toml:"authors"`
			Maintainers  []string       `toml:"maintainers"`
			Scripts      map[string]any `toml:"scripts"`
			Dependencies map[string]any `toml:"dependencies"`
		} `toml:"poetry"`
	} `toml:"tool"`
}

type person struct {
	Name  string `toml:"name"`
	Email string `toml:"email"`
}

// toolTableRE finds a [tool.venvpkg] header (or one of its subtables), which may hold no keys yet.
var toolTableRE = regexp.MustCompile(`(?m)^\s*\[\s*tool\s*\.\s*venvpkg\s*[\].]`)

// ErrExists is returned when pyproject.toml already has a [tool.venvpkg] table.
var ErrExists = errors.New("[tool.venvpkg] already exists")

// Make plans the [tool.venvpkg] table for the project in dir.
func Make(ctx context.Context, dir string, o Options) (*Plan, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	p := &Plan{File: filepath.Join(abs, "pyproject.toml")}
	data, err := os.ReadFile(p.File)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p.Created = true
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", p.File, err)
	default:
		p.Before = data
	}
	var doc document
	if err := toml.Unmarshal(data, &doc); err != nil {
		var derr *toml.DecodeError
		if errors.As(err, &derr) {
			row, col := derr.Position()
			return nil, fmt.Errorf("%s:%d:%d: invalid TOML: %w; fix it before running init", p.File, row, col, err)
		}
		return nil, fmt.Errorf("%s: %w", p.File, err)
	}
	header := toolTableRE.FindIndex(data)
	if doc.Tool.Venvpkg != nil || header != nil {
		line := 0
		if header != nil {
			line = bytes.Count(data[:header[0]], []byte("\n")) + 1
		}
		return nil, fmt.Errorf("%s:%d: %w; init never overwrites it: edit the table by hand (docs/configuration.md lists its keys)", p.File, line, ErrExists)
	}
	git := o.Git
	if git == nil {
		git = runGit
	}

	name := cmp.Or(doc.Project.Name, doc.Tool.Poetry.Name, filepath.Base(abs))
	pkg := pep503.Normalize(name)
	var b strings.Builder
	b.WriteString("\n[tool.venvpkg]\n")
	b.WriteString("# Written by venvpkg init; every key is described in venvpkg's docs/configuration.md.\n")

	// Maintainer: the project's maintainers, then authors, then git's user.
	maint := maintainer(doc, git(ctx, "user.name"), git(ctx, "user.email"))
	if maint != "" {
		fmt.Fprintf(&b, "maintainer = %s\n", strconv.Quote(maint))
	} else {
		b.WriteString("# maintainer = \"Your Team <ops@example.com>\"   # required: no author with an e-mail address, no git user\n")
		p.Notes = append(p.Notes, "set maintainer: neither the project's authors nor git config name one with an e-mail address")
	}

	// Interpreter: the given one, else the newest /usr/bin/python3.N that requires-python allows.
	py := o.Python
	if py == "" {
		cands := o.Pythons
		if cands == nil {
			cands = installedPythons()
		}
		py, err = choosePython(cands, doc.Project.RequiresPython)
		if err != nil {
			p.Notes = append(p.Notes, err.Error())
		}
	}
	if py != "" {
		fmt.Fprintf(&b, "python = %s   # the interpreter the servers run; the virtualenv links to it\n", strconv.Quote(py))
	} else {
		b.WriteString("# python = \"/usr/bin/python3.11\"   # the interpreter the servers run\n")
	}

	// Lock: the first one found where venvpkg looks.
	found, err := lock.Find(abs)
	if err != nil {
		return nil, err
	}
	if found != "" {
		fmt.Fprintf(&b, "lock = %s\n", strconv.Quote(filepath.Base(found)))
	} else {
		b.WriteString("# lock = \"requirements.txt\"   # none found: pip-compile --generate-hashes, uv lock or poetry lock\n")
		p.Notes = append(p.Notes, "lock the dependencies: venvpkg looks for "+lock.DefaultSearch())
	}

	// A commented service and configuration file, when the project looks like a service.
	if svc := serviceExample(doc, pkg); svc != "" {
		b.WriteString(svc)
	}

	out := append([]byte{}, p.Before...)
	if len(out) > 0 && !bytes.HasSuffix(out, []byte("\n")) {
		out = append(out, '\n')
	}
	table := b.String()
	if len(bytes.TrimSpace(out)) == 0 || bytes.HasSuffix(out, []byte("\n\n")) {
		table = strings.TrimPrefix(table, "\n") // no second blank line before the table
	}
	p.After = append(out, table...)
	return p, nil
}

func runGit(ctx context.Context, key string) string {
	out, err := exec.CommandContext(ctx, "git", "config", "--get", key).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

var personRE = regexp.MustCompile(`^\s*(.*?)\s*<([^<>@\s]+@[^<>\s]+)>\s*$`)

// maintainer forms "Name <email>" from the project's maintainers or authors ([project] tables or Poetry's
// "Name <email>" strings), completing a bare e-mail address with git's user.name; else git's user.
func maintainer(doc document, gitName, gitEmail string) string {
	var people []person
	people = append(people, doc.Project.Maintainers...)
	people = append(people, doc.Project.Authors...)
	for _, s := range append(slices.Clone(doc.Tool.Poetry.Maintainers), doc.Tool.Poetry.Authors...) {
		if m := personRE.FindStringSubmatch(s); m != nil {
			people = append(people, person{Name: m[1], Email: m[2]})
		}
	}
	for _, pp := range people {
		if pp.Email != "" && pp.Name != "" {
			return pp.Name + " <" + pp.Email + ">"
		}
	}
	for _, pp := range people {
		if pp.Email != "" && gitName != "" {
			return gitName + " <" + pp.Email + ">"
		}
	}
	if gitName != "" && gitEmail != "" {
		return gitName + " <" + gitEmail + ">"
	}
	return ""
}

var versionedPython = regexp.MustCompile(`^python3\.([0-9]+)$`)

// installedPythons lists /usr/bin/python3.N executables.
func installedPythons() []string {
	entries, err := os.ReadDir("/usr/bin")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if versionedPython.MatchString(e.Name()) {
			p := filepath.Join("/usr/bin", e.Name())
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
				out = append(out, p)
			}
		}
	}
	return out
}

// choosePython picks the newest python3.N of cands that requiresPython allows.
func choosePython(cands []string, requiresPython string) (string, error) {
	var spec pep440.SpecifierSet
	if requiresPython != "" {
		s, err := pep440.ParseSpecifierSet(requiresPython)
		if err != nil {
			return "", fmt.Errorf("requires-python %q: %v", requiresPython, err)
		}
		spec = s
	}
	type cand struct {
		path  string
		minor int
	}
	var ok []cand
	for _, c := range cands {
		m := versionedPython.FindStringSubmatch(filepath.Base(c))
		if m == nil {
			continue
		}
		minor, _ := strconv.Atoi(m[1])
		v, err := pep440.Parse(fmt.Sprintf("3.%d.0", minor))
		if err != nil {
			continue
		}
		if spec != nil {
			// requires-python is about the full version; a minor series fits when its .0 or a later patch does.
			v99, _ := pep440.Parse(fmt.Sprintf("3.%d.99", minor))
			if !spec.Contains(v, true) && !spec.Contains(v99, true) {
				continue
			}
		}
		ok = append(ok, cand{c, minor})
	}
	if len(ok) == 0 {
		if len(cands) == 0 {
			return "", errors.New("no /usr/bin/python3.N found on this machine: install the interpreter the servers run and set python")
		}
		return "", fmt.Errorf("none of %s satisfies requires-python %q: install a matching interpreter and set python", strings.Join(cands, ", "), requiresPython)
	}
	sort.Slice(ok, func(i, j int) bool { return ok[i].minor > ok[j].minor })
	return ok[0].path, nil
}

// serviceExample returns a commented [tool.venvpkg.services] and [tool.venvpkg.config] example when the project
// has console scripts or depends on gunicorn or uvicorn, else "".
func serviceExample(doc document, pkg string) string {
	deps := map[string]bool{}
	for _, d := range doc.Project.Dependencies {
		if r, err := pep508.ParseRequirement(d); err == nil {
			deps[pep503.Normalize(r.Name)] = true
		}
	}
	for n := range doc.Tool.Poetry.Dependencies {
		deps[pep503.Normalize(n)] = true
	}
	var scripts []string
	for s := range doc.Project.Scripts {
		scripts = append(scripts, s)
	}
	for s := range doc.Tool.Poetry.Scripts {
		scripts = append(scripts, s)
	}
	sort.Strings(scripts)
	module := strings.ReplaceAll(pkg, "-", "_")
	var command string
	switch {
	case deps["gunicorn"]:
		command = fmt.Sprintf("gunicorn --workers 4 %s:app   # gunicorn takes the socket from systemd", module)
	case deps["uvicorn"]:
		command = fmt.Sprintf("uvicorn --fd 3 %s:app   # the socket systemd passes is fd 3", module)
	case len(scripts) > 0:
		command = scripts[0]
	default:
		return ""
	}
	var b strings.Builder
	b.WriteString("\n# A service: uncomment and adapt (venvpkg's docs/services.md describes every key).\n")
	fmt.Fprintf(&b, "# [tool.venvpkg.services.%s]\n", pkg)
	fmt.Fprintf(&b, "# command = %q\n", strings.SplitN(command, "   #", 2)[0])
	if deps["gunicorn"] || deps["uvicorn"] {
		fmt.Fprintf(&b, "# listen = \"/run/%s/web.sock\"   # a socket unit; nginx connects here\n", pkg)
	}
	b.WriteString("# environment-file = true   # /etc/default/<package> (deb), /etc/sysconfig/<package> (rpm)\n")
	b.WriteString("#\n# Configuration the operator owns, installed once and kept on upgrades:\n")
	b.WriteString("# [tool.venvpkg.config]\n")
	fmt.Fprintf(&b, "# \"/etc/%s/%s.conf\" = { source = \"deploy/%s.conf\", mode = \"0640\" }\n", pkg, pkg, pkg)
	return b.String()
}

// Diff returns a unified diff of the plan (Before → After), as `init --dry-run` prints it.
func (p *Plan) Diff() string {
	before := splitLines(p.Before)
	after := splitLines(p.After)
	// init only appends: the common prefix is the whole old file, less a final line that gained its newline.
	common := 0
	for common < len(before) && common < len(after) && before[common] == after[common] {
		common++
	}
	ctx := max(common-3, 0)
	var b strings.Builder
	from := "a/pyproject.toml"
	if p.Created {
		from = "/dev/null"
	}
	fmt.Fprintf(&b, "--- %s\n+++ b/pyproject.toml\n", from)
	oldN, newN := len(before)-ctx, len(after)-ctx
	fmt.Fprintf(&b, "@@ -%s +%s @@\n", hunkRange(ctx, oldN), hunkRange(ctx, newN))
	for _, l := range before[ctx:common] {
		b.WriteString(" " + l + "\n")
	}
	for _, l := range before[common:] {
		b.WriteString("-" + l + "\n")
	}
	for _, l := range after[common:] {
		b.WriteString("+" + l + "\n")
	}
	return b.String()
}

func hunkRange(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

func splitLines(b []byte) []string {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// Write writes the plan's file: to a temporary file beside it, synced, then renamed over it, keeping the mode of
// the file it replaces.
func (p *Plan) Write() error {
	mode := fs.FileMode(0o644)
	if st, err := os.Stat(p.File); err == nil {
		mode = st.Mode().Perm()
	}
	return atomicfile.WriteFile(p.File, p.After, mode)
}
