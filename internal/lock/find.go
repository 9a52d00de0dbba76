package lock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/venvpkg/venvpkg/internal/pep508"
)

// DefaultNames are the lock files looked for in the project directory when none is named, in this order: the
// standard lock first, then the tools' own locks (which always carry hashes), then a requirements file.
var DefaultNames = []string{"pylock.toml", "uv.lock", "poetry.lock", "requirements.txt"}

// SearchOrder describes where the lock is looked for, for help texts, docs and errors alike.
func SearchOrder() string { return "--lock, else " + DefaultSearch() }

// DefaultSearch describes where the lock is looked for when --lock is not given.
func DefaultSearch() string {
	return "[tool.venvpkg] lock, else the first of " + strings.Join(DefaultNames, ", ") + " in the project directory"
}

// Find returns the first default lock file present in dir, or "" when there is none.
func Find(dir string) (string, error) {
	for _, name := range DefaultNames {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("looking for a lock file: %w", err)
		}
	}
	return "", nil
}

// LoadOptions says what Load needs beyond the file and the target environment.
type LoadOptions struct {
	// ProjectDir is the project's directory: a requirements file that names it is the project itself.
	ProjectDir string
	// Project is the project's name: pylock.toml and uv.lock list the project as an entry of their own.
	Project string
	// Extras are the project's extras to install (uv.lock and poetry.lock select their dependencies).
	Extras []string
	// Dependencies are the project's default dependencies as PEP 508 strings, the roots of a poetry.lock walk
	// (a Poetry lock has no entry for the project).
	Dependencies []string
}

// Load reads any lock format venvpkg knows, chosen by the file's name: pylock.toml (PEP 751), uv.lock, poetry.lock,
// else a requirements file.
func Load(path string, env pep508.Environment, o LoadOptions) (*Lock, error) {
	switch {
	case IsPylock(path):
		return ParsePylock(path, env, o.Project)
	case IsUVLock(path):
		return ParseUVLock(path, env, o.Project, o.Extras)
	case IsPoetryLock(path):
		return ParsePoetryLock(path, env, o.Dependencies)
	}
	return ParseRequirementsFileWith(path, env, Options{ProjectDir: o.ProjectDir})
}

// PoetryDependencies reads [tool.poetry.dependencies] of a pyproject.toml as PEP 508 strings (name, extras and
// markers; the python entry and optional dependencies left out), for projects that declare their dependencies
// for Poetry rather than in [project]. Version constraints are not carried: the lock pins the versions.
func PoetryDependencies(pyproject string) ([]string, error) {
	data, err := os.ReadFile(pyproject)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Tool struct {
			Poetry struct {
				Dependencies map[string]any `toml:"dependencies"`
			} `toml:"poetry"`
		} `toml:"tool"`
	}
	if err := toml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", pyproject, err)
	}
	var out []string
	for name, v := range doc.Tool.Poetry.Dependencies {
		if strings.EqualFold(name, "python") {
			continue
		}
		es, err := poetryEdges(name, v)
		if err != nil {
			return nil, fmt.Errorf("%s: [tool.poetry.dependencies] %s: %w", pyproject, name, err)
		}
		for _, e := range es {
			if e.optional {
				continue
			}
			s := name
			if len(e.extras) > 0 {
				s += "[" + strings.Join(e.extras, ",") + "]"
			}
			if m, ok := v.(map[string]any); ok {
				if py, ok := m["python"].(string); ok {
					if c, ok := poetryConstraint(py); ok && c != "" {
						var ms []string
						for _, part := range strings.Split(c, ",") {
							op := strings.TrimRight(part, "0123456789.*")
							ms = append(ms, fmt.Sprintf("python_version %s %q", op, strings.TrimPrefix(part, op)))
						}
						e.marker = andMarker(e.marker, strings.Join(ms, " and "))
					}
				}
			}
			if e.marker != nil {
				s += " ; " + e.marker.String()
			}
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out, nil
}

func andMarker(m *pep508.Marker, more string) *pep508.Marker {
	text := more
	if m != nil {
		text = "(" + m.String() + ") and (" + more + ")"
	}
	pm, err := pep508.ParseMarker(text)
	if err != nil {
		return m
	}
	return pm
}
