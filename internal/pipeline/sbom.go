package pipeline

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/venvpkg/venvpkg/internal/audit"
	"github.com/venvpkg/venvpkg/internal/payload"
	"github.com/venvpkg/venvpkg/internal/pep503"
	"github.com/venvpkg/venvpkg/internal/repo"
	"github.com/venvpkg/venvpkg/internal/report"
	"github.com/venvpkg/venvpkg/internal/sbom"
	"github.com/venvpkg/venvpkg/internal/vuln"
	"github.com/venvpkg/venvpkg/internal/wheel"
)

// SBOMPath is where the SBOM is installed: <prefix>/sbom.cdx.json.
func SBOMPath(prefix string) string { return prefix + "/" + payload.SBOMName }

// scanPayload starts reading the staged payload below root for the SBOM;
// the function returned waits for the result (and may be called again).
func scanPayload(root string) func() (*payload.Tree, error) {
	type result struct {
		tree *payload.Tree
		err  error
	}
	done := make(chan result, 1)
	go func() {
		t, err := payload.ScanDir(root)
		done <- result{t, err}
	}()
	return sync.OnceValues(func() (*payload.Tree, error) {
		r := <-done
		return r.tree, r.err
	})
}

// writeSBOM describes the staged payload (as scan read it) in a CycloneDX
// SBOM, installs it at SBOMPath and returns its bytes (written beside
// every package too).
func (b *builder) writeSBOM(scan func() (*payload.Tree, error), shl *audit.ShlibReport, interpPkg string) ([]byte, error) {
	tree, err := scan()
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
		sum, err := b.finder.SHA256(w)
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
	source := sbom.InterpreterSystem
	if b.dist != nil {
		source = sbom.InterpreterBundled
	}
	bom := sbom.Build(sbom.Input{
		Project: b.project.Name,
		Package: b.name,
		Prefix:  b.prefix,
		Arch:    b.res.Arch,
		Dists:   dists,
		Wheels:  wheels,
		Interpreter: sbom.Interpreter{
			Implementation: impl,
			Version:        b.py.Version,
			Path:           b.py.Executable,
			Source:         source,
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

// checkVulns checks the payload's distributions, as the SBOM lists them,
// against Options.VulnDB, and refuses to go on when a finding that is not
// ignored is at or above Options.VulnFailOn.
func (b *builder) checkVulns() error {
	if b.opts.VulnDB == "" {
		return nil
	}
	failOn := cmp.Or(b.opts.VulnFailOn, "any")
	th, err := vuln.ParseThreshold(failOn)
	if err != nil {
		return err
	}
	db, err := vuln.Load(b.opts.VulnDB)
	if err != nil {
		return err
	}
	b.vulnDB = db
	installed, err := vuln.FromSBOM(b.sbom, b.name)
	if err != nil {
		return err
	}
	res := vuln.NewResult(db, installed, vuln.Options{Ignores: vuln.IgnoresFrom(b.cfg)})
	var table bytes.Buffer
	if err := res.WriteTable(&table); err != nil {
		return err
	}
	if n := res.Failing(th); n > 0 {
		return fmt.Errorf("refusing to write the package: %d of its distributions' vulnerabilities are at or above --vuln-fail-on %s; upgrade the pins in the lock, or accept an advisory with a reason and an expiry date in [[tool.venvpkg.ignore-vulnerabilities]]:\n%s",
			n, failOn, strings.TrimRight(table.String(), "\n"))
	}
	for _, line := range strings.Split(strings.TrimRight(table.String(), "\n"), "\n") {
		b.log.Infof("vulnerabilities: %s", line)
	}
	return nil
}

// writeReport writes the HTML report of the package file beside it.
func (b *builder) writeReport(ctx context.Context, pkgFile string) (string, error) {
	p, err := report.Load(pkgFile)
	if err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	if b.vulnDB != nil {
		p.CheckVulns(b.vulnDB, vuln.Options{Ignores: vuln.IgnoresFrom(b.cfg)})
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, p); err != nil {
		return "", err
	}
	return putBeside(ctx, pkgFile, filepath.Base(report.FileName(pkgFile)), buf.Bytes())
}
