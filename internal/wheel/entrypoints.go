package wheel

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"unicode"
)

// entryPoint is one line of entry_points.txt: name = module[:attr][ [extras]].
type entryPoint struct {
	Group, Name, Value string
	Module, Attr       string // console_scripts and gui_scripts only
	Line               int
}

// parseEntryPoints parses entry_points.txt ("Entry points specification"):
// INI sections, case-sensitive names, "=" as the only delimiter, "#" and ";"
// comments. Values of console_scripts and gui_scripts must be object
// references (module:attr), which are split into Module and Attr.
func parseEntryPoints(data []byte) ([]entryPoint, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxHeaderLine)
	var eps []entryPoint
	group := ""
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			if line[len(line)-1] != ']' {
				return nil, fmt.Errorf("entry_points.txt:%d: unterminated section header %q", n, line)
			}
			group = strings.TrimSpace(line[1 : len(line)-1])
			if group == "" {
				return nil, fmt.Errorf("entry_points.txt:%d: empty section name", n)
			}
			continue
		}
		if group == "" {
			return nil, fmt.Errorf("entry_points.txt:%d: entry %q comes before any [section]", n, line)
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("entry_points.txt:%d: %q is not name = value", n, line)
		}
		ep := entryPoint{Group: group, Name: strings.TrimSpace(name), Line: n}
		if ep.Name == "" {
			return nil, fmt.Errorf("entry_points.txt:%d: empty entry point name", n)
		}
		ep.Value = strings.TrimSpace(value)
		if ep.Group == "console_scripts" || ep.Group == "gui_scripts" {
			// Only script values become code; other groups belong to
			// the programs that read them.
			var err error
			if ep.Module, ep.Attr, err = parseObjectRef(ep.Value); err != nil {
				return nil, fmt.Errorf("entry_points.txt:%d: %s: %w", n, ep.Name, err)
			}
		}
		eps = append(eps, ep)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("entry_points.txt: %w", err)
	}
	return eps, nil
}

// parseObjectRef splits "pkg.mod:obj.attr [extra1, extra2]" into module and
// attribute chain; extras are dropped, as installers ignore them.
func parseObjectRef(v string) (module, attr string, err error) {
	if i := strings.IndexByte(v, '['); i >= 0 {
		if !strings.HasSuffix(v, "]") {
			return "", "", fmt.Errorf("object reference %q has unterminated extras", v)
		}
		v = strings.TrimSpace(v[:i])
	}
	module, attr, _ = strings.Cut(v, ":")
	module, attr = strings.TrimSpace(module), strings.TrimSpace(attr)
	if !dottedName(module) {
		return "", "", fmt.Errorf("module %q is not a dotted Python name", module)
	}
	if attr != "" && !dottedName(attr) {
		return "", "", fmt.Errorf("attribute %q is not a dotted Python name", attr)
	}
	return module, attr, nil
}

// dottedName reports whether s is identifiers joined by dots.
func dottedName(s string) bool {
	if s == "" {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return false
		}
		for i, c := range part {
			if !(c == '_' || unicode.IsLetter(c) || i > 0 && (unicode.IsDigit(c) || unicode.Is(unicode.Mn, c) || unicode.Is(unicode.Mc, c) || unicode.Is(unicode.Pc, c))) {
				return false
			}
		}
	}
	return true
}

// scriptEntryPoints returns the console_scripts and gui_scripts entries and
// checks that each can become a file in the scripts directory.
func scriptEntryPoints(eps []entryPoint) ([]entryPoint, error) {
	var out []entryPoint
	seen := map[string]string{}
	for _, ep := range eps {
		if ep.Group != "console_scripts" && ep.Group != "gui_scripts" {
			continue
		}
		if err := checkScriptName(ep.Name); err != nil {
			return nil, fmt.Errorf("entry_points.txt:%d: [%s] %w", ep.Line, ep.Group, err)
		}
		if ep.Attr == "" {
			return nil, fmt.Errorf("entry_points.txt:%d: [%s] %s = %s names no callable; write module:function", ep.Line, ep.Group, ep.Name, ep.Module)
		}
		if g, dup := seen[ep.Name]; dup {
			return nil, fmt.Errorf("entry_points.txt:%d: script %q is defined twice (in [%s] and [%s])", ep.Line, ep.Name, g, ep.Group)
		}
		seen[ep.Name] = ep.Group
		out = append(out, ep)
	}
	return out, nil
}

// checkScriptName refuses names that would escape the scripts directory or
// shadow the environment's interpreter.
func checkScriptName(name string) error {
	if name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") || strings.ContainsFunc(name, unicode.IsControl) {
		return fmt.Errorf("script name %q would be written outside the scripts directory", name)
	}
	if reservedScript(name) {
		return fmt.Errorf("script name %q would replace the environment's interpreter", name)
	}
	return nil
}

// reservedScript reports python, python3, python3.N, python3.Nt and pythonw.
func reservedScript(name string) bool {
	switch name {
	case "python", "python3", "pythonw":
		return true
	}
	rest, ok := strings.CutPrefix(name, "python3.")
	if !ok {
		return false
	}
	rest = strings.TrimSuffix(rest, "t")
	if rest == "" {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] < '0' || rest[i] > '9' {
			return false
		}
	}
	return true
}

// maxShebang is the longest "#!interpreter" line the kernel reads whole on
// every Linux version (BINPRM_BUF_SIZE was 128 bytes before 5.1).
const maxShebang = 127

// shebang returns the first line(s) that make a script run under python: a
// plain "#!" line, or, when the path has a space or is too long for the
// kernel, a /bin/sh line that re-executes the file with python (the shell
// reads the exec line; Python sees a string literal).
func shebang(python string) string {
	if len(python)+2 <= maxShebang && !strings.ContainsAny(python, " \t") {
		return "#!" + python + "\n"
	}
	return "#!/bin/sh\n'''exec' \"" + python + "\" \"$0\" \"$@\"\n' '''\n"
}

// checkPython refuses interpreter paths the shebang cannot carry.
func checkPython(python string) error {
	if !strings.HasPrefix(python, "/") {
		return fmt.Errorf("interpreter %q is not an absolute path", python)
	}
	if strings.ContainsAny(python, "\"'`$\\\n\r\x00") {
		return fmt.Errorf("interpreter path %q contains a quote, backslash, dollar sign or newline, which a shebang cannot carry", python)
	}
	return nil
}

// wrapperScript returns the text of a console or GUI script: it imports the
// first name of the attribute chain from the module, calls the chain and
// exits with its result. On POSIX it behaves like pip's wrappers, which
// differ only in stripping Windows suffixes from argv[0].
func wrapperScript(python string, ep entryPoint) []byte {
	first, _, _ := strings.Cut(ep.Attr, ".")
	var b strings.Builder
	b.WriteString(shebang(python))
	b.WriteString("import sys\n")
	b.WriteString("from " + ep.Module + " import " + first + "\n")
	b.WriteString("if __name__ == \"__main__\":\n")
	b.WriteString("    sys.exit(" + ep.Attr + "())\n")
	return []byte(b.String())
}
