package build

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/venvpkg/venvpkg/internal/audit"
	"github.com/venvpkg/venvpkg/internal/index"
	"github.com/venvpkg/venvpkg/internal/payload"
	"github.com/venvpkg/venvpkg/internal/pep503"
	"github.com/venvpkg/venvpkg/internal/repo"
	"github.com/venvpkg/venvpkg/internal/sbom"
	"github.com/venvpkg/venvpkg/internal/wheel"
)

// SBOMPath is where the SBOM is installed: <prefix>/sbom.cdx.json.
func SBOMPath(prefix string) string { return prefix + "/" + payload.SBOMName }

// writeSBOM describes the staged payload in a CycloneDX SBOM, installs it
// at SBOMPath and returns its bytes (written beside every package too).
func (b *builder) writeSBOM(ctx context.Context, shl *audit.ShlibReport, interpPkg string) ([]byte, error) {
	tree, err := payload.ScanDir(b.root)
	if err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	dists, err := tree.Distributions()
	if err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	wheels := map[string]sbom.Wheel{}
	// The dependency wheels are inputs; the project's wheel is built here
	// and its bytes depend on the build backend, so it is not listed.
	for _, w := range b.wheels {
		fn, err := wheel.ParseFilename(filepath.Base(w))
		if err != nil {
			return nil, fmt.Errorf("sbom: %w", err)
		}
		sum, err := index.SHA256File(w)
		if err != nil {
			return nil, fmt.Errorf("sbom: %w", err)
		}
		wheels[pep503.Normalize(fn.Distribution)] = sbom.Wheel{File: filepath.Base(w), SHA256: sum}
	}
	impl := b.py.Implementation
	if impl == "cpython" || impl == "" {
		impl = "CPython"
	}
	tool := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		tool = bi.Main.Version
	}
	bom := sbom.Build(sbom.Input{
		Project: b.cfg.Project.Name,
		Package: b.name,
		Prefix:  b.prefix,
		Arch:    b.res.Arch,
		Dists:   dists,
		Wheels:  wheels,
		Interpreter: sbom.Interpreter{
			Implementation: impl,
			Version:        b.py.Version,
			Path:           b.py.Executable,
			Source:         sbom.InterpreterSystem,
			Package:        interpPkg,
		},
		Libraries: shl.Needs,
		Time:      b.epoch,
		Tool:      tool,
	})
	var buf bytes.Buffer
	if err := sbom.Encode(&buf, bom); err != nil {
		return nil, err
	}
	dst := filepath.Join(b.root, filepath.FromSlash(SBOMPath(b.prefix)))
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	return buf.Bytes(), nil
}

// SBOMFileName is the name of the SBOM written beside a package file:
// the package's file name with .cdx.json for its extension.
func SBOMFileName(pkgFile string) string {
	base := filepath.Base(pkgFile)
	return strings.TrimSuffix(base, filepath.Ext(base)) + ".cdx.json"
}

// putBeside writes data atomically into the directory of the package file.
func putBeside(ctx context.Context, pkgFile, name string, data []byte) (string, error) {
	dir := filepath.Dir(pkgFile)
	if err := (repo.Dir{Root: dir}).Put(ctx, name, bytes.NewReader(data)); err != nil {
		return "", fmt.Errorf("writing %s: %w", name, err)
	}
	return filepath.Join(dir, name), nil
}
