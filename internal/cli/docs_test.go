package cli

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/venvpkg/venvpkg/internal/format/registry"
	"github.com/venvpkg/venvpkg/internal/testutil"
)

// docCommand is one venvpkg command line shown in a document.
type docCommand struct {
	where string // file:line
	line  string // as shown, continuations joined
}

// docFiles returns README.md and docs/*.md of the checkout.
func docFiles(t *testing.T) []string {
	t.Helper()
	root, err := testutil.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{filepath.Join(root, "README.md")}, files...)
}

var promptRE = regexp.MustCompile(`^\s*(\$\s+)?(venvpkg\s.*)$`)

// docCommands extracts every venvpkg command from the code blocks (fenced or indented) of a Markdown file.
func docCommands(t *testing.T, file string) []docCommand {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	root, _ := testutil.ModuleRoot()
	rel, _ := filepath.Rel(root, file)
	var out []docCommand
	sc := bufio.NewScanner(f)
	fenced, n := false, 0
	var pending *docCommand
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		inBlock := fenced || strings.HasPrefix(line, "    ")
		if pending != nil {
			pending.line += " " + strings.TrimSpace(strings.TrimSuffix(line, `\`))
			if !strings.HasSuffix(line, `\`) {
				out = append(out, *pending)
				pending = nil
			}
			continue
		}
		if !inBlock {
			continue
		}
		m := promptRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		c := docCommand{where: rel + ":" + strconv.Itoa(n), line: strings.TrimSuffix(m[2], `\`)}
		if strings.HasSuffix(m[2], `\`) {
			pending = &c
			continue
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// splitWords splits a shell command line into words, honouring single and double quotes and dropping a trailing
// comment. Placeholders stay as written.
func splitWords(s string) []string {
	var words []string
	var cur strings.Builder
	in := byte(0)
	has := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case in != 0:
			if c == in {
				in = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '\'' || c == '"':
			in, has = c, true
		case c == '#' && (i == 0 || s[i-1] == ' '):
			i = len(s)
		case c == ' ' || c == '\t':
			if has {
				words = append(words, cur.String())
				cur.Reset()
				has = false
			}
		default:
			cur.WriteByte(c)
			has = true
		}
	}
	if has {
		words = append(words, cur.String())
	}
	return words
}

// synopsisWords turns a usage synopsis into a command line: "[--algo ed25519|rsa4096]" → "--algo ed25519", and
// shell operators end the command.
func synopsisWords(words []string) []string {
	var out []string
	for _, w := range words {
		if w == "|" || w == "&&" || w == ";" || w == ">" || w == "2>&1" {
			break
		}
		w = strings.Trim(w, "[]")
		if i := strings.IndexByte(w, '|'); i > 0 && !strings.Contains(w, "://") {
			w = w[:i]
		}
		if w != "" {
			out = append(out, w)
		}
	}
	return out
}

// TestDocCommands checks every venvpkg command that README.md and docs/*.md show against the command line as
// built: the subcommand exists, every flag exists and takes the value shown, and --format values are known. A
// renamed or removed flag fails here until the documents say the same.
func TestDocCommands(t *testing.T) {
	var total int
	for _, file := range docFiles(t) {
		for _, c := range docCommands(t, file) {
			total++
			words := synopsisWords(splitWords(c.line))[1:] // without "venvpkg"
			root := newRoot(io.Discard, io.Discard)
			cmd, rest, err := root.Find(words)
			if err != nil {
				t.Errorf("%s: %q: %v", c.where, c.line, err)
				continue
			}
			if cmd == root && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
				t.Errorf("%s: %q: no venvpkg command %q", c.where, c.line, rest[0])
				continue
			}
			if slices.Contains(rest, "...") {
				continue // an elided command line ("venvpkg publish ...") names only the command
			}
			cmd.InitDefaultHelpFlag()
			if err := cmd.ParseFlags(rest); err != nil {
				t.Errorf("%s: %q: %v", c.where, c.line, err)
				continue
			}
			if f := cmd.Flags().Lookup("format"); f != nil && f.Changed {
				for _, v := range strings.Split(f.Value.String(), ",") {
					if !slices.Contains(registry.Names(), strings.TrimSpace(v)) && !isPlaceholder(v) {
						t.Errorf("%s: %q: --format %q is not a package format", c.where, c.line, v)
					}
				}
			}
			if err := cobra.MaximumNArgs(maxArgs(cmd))(cmd, cmd.Flags().Args()); err != nil && maxArgs(cmd) >= 0 {
				t.Errorf("%s: %q: %v", c.where, c.line, err)
			}
		}
	}
	if total < 10 {
		t.Fatalf("found only %d venvpkg commands in the documents; is the extraction broken?", total)
	}
}

// isPlaceholder reports whether a value is a placeholder such as NAME or FILE.
func isPlaceholder(s string) bool {
	return s != "" && strings.ToUpper(s) == s && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_.") == ""
}

// maxArgs is the most positional arguments a command takes by its Use line, or -1 for any number.
func maxArgs(cmd *cobra.Command) int {
	words := strings.Fields(cmd.Use)[1:]
	n := 0
	for _, w := range words {
		if strings.HasPrefix(w, "-") || strings.HasPrefix(w, "[-") {
			continue
		}
		if strings.Contains(w, "...") {
			return -1
		}
		n++
	}
	return n
}

// TestBuildFlagsDocumented: every flag of venvpkg build is in docs/configuration.md's reference, so a new flag
// cannot ship undocumented.
func TestBuildFlagsDocumented(t *testing.T) {
	root, err := testutil.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := os.ReadFile(filepath.Join(root, "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	newBuildCmd().Flags().VisitAll(func(f *pflag.Flag) {
		if !strings.Contains(string(ref), "`--"+f.Name) {
			t.Errorf("venvpkg build --%s is not described in docs/configuration.md", f.Name)
		}
	})
}
