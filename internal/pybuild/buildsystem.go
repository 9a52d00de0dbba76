package pybuild

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// LegacyBackend is the backend used when a project does not name one:
// setuptools running setup.py, as PEP 517 and pip prescribe.
const LegacyBackend = "setuptools.build_meta:__legacy__"

// LegacyRequires are the build requirements of a project without a
// [build-system] table.
var LegacyRequires = []string{"setuptools>=40.8.0"}

// BuildSystem is the [build-system] table of pyproject.toml (PEP 518, 517).
type BuildSystem struct {
	Requires []string // PEP 508 requirements for the build environment
	Backend  string   // "module.path:object.path"
	// BackendPath holds absolute directories inside the source tree that
	// go first on sys.path to import an in-tree backend.
	BackendPath []string
	// Legacy is set when pyproject.toml or its [build-system] table is
	// missing, so the setuptools defaults apply (and wheel is added to
	// the requirements when it can be found, as older setuptools needs it).
	Legacy bool
}

type pyprojectFile struct {
	BuildSystem *struct {
		Requires     *[]string `toml:"requires"`
		BuildBackend *string   `toml:"build-backend"`
		BackendPath  []string  `toml:"backend-path"`
	} `toml:"build-system"`
}

var backendRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*)?$`)

// ReadBuildSystem reads the [build-system] table of srcDir/pyproject.toml.
// A missing file or table gives setuptools' legacy backend with
// LegacyRequires; a table without build-backend gives the legacy backend
// with the table's requires. backend-path entries must stay inside srcDir.
func ReadBuildSystem(srcDir string) (*BuildSystem, error) {
	file := filepath.Join(srcDir, "pyproject.toml")
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return legacy(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading build system: %w", err)
	}
	var doc pyprojectFile
	if err := toml.Unmarshal(data, &doc); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return nil, fmt.Errorf("%s:%d:%d: %w", file, row, col, err)
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	t := doc.BuildSystem
	if t == nil {
		return legacy(), nil
	}
	if t.Requires == nil {
		return nil, fmt.Errorf("%s: [build-system] has no requires key; list the build requirements, for example requires = [\"setuptools>=61\"]", file)
	}
	bs := &BuildSystem{Requires: append([]string{}, *t.Requires...), Backend: LegacyBackend}
	for _, r := range bs.Requires {
		if strings.TrimSpace(r) == "" {
			return nil, fmt.Errorf("%s: [build-system] requires holds an empty requirement; remove it", file)
		}
	}
	if t.BuildBackend != nil {
		bs.Backend = strings.TrimSpace(*t.BuildBackend)
		if !backendRE.MatchString(bs.Backend) {
			return nil, fmt.Errorf("%s: build-backend %q is not a module path with an optional :object path, such as \"setuptools.build_meta\"", file, *t.BuildBackend)
		}
	}
	if len(t.BackendPath) > 0 {
		root, err := filepath.EvalSymlinks(srcDir)
		if err != nil {
			return nil, fmt.Errorf("reading build system: %w", err)
		}
		root, err = filepath.Abs(root)
		if err != nil {
			return nil, fmt.Errorf("reading build system: %w", err)
		}
		for _, p := range t.BackendPath {
			dir, err := insideTree(root, p)
			if err != nil {
				return nil, fmt.Errorf("%s: backend-path entry %q %w; keep in-tree backends inside the project", file, p, err)
			}
			bs.BackendPath = append(bs.BackendPath, dir)
		}
	}
	return bs, nil
}

func legacy() *BuildSystem {
	return &BuildSystem{Requires: append([]string{}, LegacyRequires...), Backend: LegacyBackend, Legacy: true}
}

// insideTree resolves the backend-path entry p against root and checks
// that it stays inside root once symlinks are resolved.
func insideTree(root, p string) (string, error) {
	if filepath.IsAbs(p) {
		return "", errors.New("is absolute")
	}
	dir := filepath.Join(root, p)
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("cannot be resolved: %w", err)
	}
	rel, err := filepath.Rel(root, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", errors.New("is outside the source tree")
	}
	return real, nil
}
