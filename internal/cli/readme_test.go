package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/testutil"
	"github.com/venvpkg/venvpkg/internal/testutil/debwheel"
	"github.com/venvpkg/venvpkg/internal/wheel"
)

// consoleStep is one "$ command" of a console block with the output lines the document shows for it.
type consoleStep struct {
	line    int
	command string
	output  []string
}

// consoleBlock returns the steps of the first ```console block after the heading in a Markdown file.
func consoleBlock(t *testing.T, file, heading string) []consoleStep {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var steps []consoleStep
	sc := bufio.NewScanner(bytes.NewReader(data))
	n, found, in := 0, false, false
	for sc.Scan() {
		n++
		l := sc.Text()
		switch {
		case !found:
			found = strings.TrimSpace(l) == heading
		case !in:
			in = strings.TrimSpace(l) == "```console"
		case strings.TrimSpace(l) == "```":
			return steps
		case strings.HasPrefix(l, "$ "):
			steps = append(steps, consoleStep{line: n, command: strings.TrimPrefix(l, "$ ")})
		case len(steps) > 0:
			s := &steps[len(steps)-1]
			s.output = append(s.output, l)
		}
	}
	t.Fatalf("%s: no ```console block under %q", file, heading)
	return nil
}

// trimOutput drops the blank lines and comments that separate steps.
func trimOutput(lines []string) []string {
	var out []string
	for _, l := range lines {
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "# ") {
			continue
		}
		out = append(out, l)
	}
	return out
}

// TestReadmeFullExample runs README.md's "A full example" as a user would: the files it shows are written as
// shown, the lock is made from the wheels Debian ships (the README elides its hashes), and each venvpkg and dpkg-deb
// command runs in the example's directory with the output the README shows, line for line. The commands after
// "on a server" need a server and are left to the end-to-end tests.
func TestReadmeFullExample(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a package (-short)")
	}
	testutil.NeedFile(t, "/usr/bin/python3.11", "python3.11")
	testutil.NeedGlob(t, "/usr/share/python-wheels/setuptools-*.whl", "python3-setuptools-whl")
	testutil.NeedTool(t, "dpkg-deb", "dpkg")
	testutil.NeedTool(t, "apt-get", "apt")
	root, err := testutil.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme := filepath.Join(root, "README.md")
	steps := consoleBlock(t, readme, "## A full example")

	work := t.TempDir()
	t.Chdir(work)
	t.Setenv("VENVPKG_CACHE_DIR", filepath.Join(work, ".cache"))
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	wheels, err := debwheel.WebApp(context.Background(), testutil.CacheDir(), filepath.Join(work, "wheels"))
	if err != nil {
		t.Fatal(err)
	}

	runSteps(t, work, wheels, steps)
	// The publishing section goes on from the packages the full example wrote.
	runSteps(t, work, wheels, consoleBlock(t, readme, "## Publishing"))
}

// runSteps runs the steps of a console block in work: shell globs are expanded, absolute paths under /srv are
// taken inside work, and the output must be the lines shown (fingerprints aside).
func runSteps(t *testing.T, work string, wheels []string, steps []consoleStep) {
	t.Helper()
	for _, s := range steps {
		where := fmt.Sprintf("README.md:%d: $ %s", s.line, s.command)
		var words []string
		for _, w := range splitWords(s.command) {
			if strings.HasPrefix(w, "/srv/") {
				w = filepath.Join(work, w)
			}
			if strings.ContainsAny(w, "*?[") {
				m, _ := filepath.Glob(w)
				if len(m) == 0 {
					t.Fatalf("%s: %s matches no file", where, w)
				}
				words = append(words, m...)
				continue
			}
			words = append(words, w)
		}
		switch {
		case len(words) == 0:
			continue
		case words[0] == "cat" && strings.HasSuffix(words[1], "requirements.txt"):
			writeLock(t, where, words[1], wheels, s.output)
		case words[0] == "cat":
			writeShown(t, words[1], s.output)
		case words[0] == "venvpkg":
			var out bytes.Buffer
			if code := Execute(context.Background(), words[1:], &out, &out); code != 0 {
				t.Fatalf("%s: exit status %d:\n%s", where, code, out.String())
			}
			compareLines(t, where, out.String(), s.output)
		case words[0] == "dpkg-deb":
			out, err := exec.Command(words[0], words[1:]...).CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", where, err, out)
			}
			compareLines(t, where, string(out), s.output)
		case words[0] == "apt-get" || strings.HasPrefix(words[0], "/opt/"):
			// On a server: the end-to-end tests install packages in a clean chroot.
		default:
			t.Fatalf("%s: the test does not know how to run this step; teach it or change the README", where)
		}
	}
}

// writeShown writes a file with the lines a "$ cat FILE" step shows.
func writeShown(t *testing.T, name string, lines []string) {
	t.Helper()
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

var pinRE = regexp.MustCompile(`^([A-Za-z0-9._-]+)==([^ ]+)`)

// writeLock writes the requirements file the README shows in part (its hashes elided with "..."): every wheel with
// its sha256, in pip-compile's shape; the pins the README shows must be among them.
func writeLock(t *testing.T, where, name string, wheels, shown []string) {
	t.Helper()
	var lines []string
	pins := map[string]string{}
	sort.Strings(wheels)
	for _, w := range wheels {
		fn, err := wheel.ParseFilename(filepath.Base(w))
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(w)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		pin := strings.ToLower(fn.Distribution) + "==" + fn.Version
		pins[strings.ToLower(fn.Distribution)] = fn.Version
		lines = append(lines, pin+" \\", "    --hash=sha256:"+hex.EncodeToString(sum[:]))
	}
	for _, l := range shown {
		if m := pinRE.FindStringSubmatch(l); m != nil && pins[strings.ToLower(m[1])] != m[2] {
			t.Errorf("%s: shows %s==%s, but the wheels the example uses are %v", where, m[1], m[2], pins)
		}
	}
	writeShown(t, name, lines)
}

var fingerprintRE = regexp.MustCompile(`\b[0-9A-F]{40}\b`)

// compareLines checks that a command printed exactly the lines the document shows; OpenPGP fingerprints, new for
// every key, are compared as placeholders.
func compareLines(t *testing.T, where, got string, want []string) {
	t.Helper()
	got = fingerprintRE.ReplaceAllString(got, "<fingerprint>")
	g := trimOutput(strings.Split(strings.TrimRight(got, "\n"), "\n"))
	w := trimOutput(strings.Split(fingerprintRE.ReplaceAllString(strings.Join(want, "\n"), "<fingerprint>"), "\n"))
	if strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Errorf("%s printed\n%s\nbut README.md shows\n%s", where, strings.Join(g, "\n"), strings.Join(w, "\n"))
	}
}
