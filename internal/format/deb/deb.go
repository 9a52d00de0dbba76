// Package deb is the Debian package format: a .deb with the documentation
// Debian Policy asks of every binary package, lintian overrides for what
// is inherent to a virtualenv under its own prefix, and maintainer
// scripts of the Debian service flavour.
package deb

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/venvpkg/venvpkg/internal/format"
	"github.com/venvpkg/venvpkg/internal/pkg"
	"github.com/venvpkg/venvpkg/internal/service"
)

// Format writes .deb packages.
type Format struct{}

var _ format.Format = Format{}

// Name implements format.Format.
func (Format) Name() string { return "deb" }

// Describe is the one-line description --format completion shows.
func (Format) Describe() string { return "Debian package" }

// FileName implements format.Format: name_version_arch.deb.
func (Format) FileName(in *format.Input) string { return pkg.DebFileName(&in.Package) }

// Services implements format.Format.
func (Format) Services() *service.Flavour { return service.Deb }

// write is the .deb writer behind the format; a streaming writer of our
// own can take its place without the pipeline noticing.
var write = pkg.WriteDeb

// Write implements format.Format.
func (Format) Write(ctx context.Context, in *format.Input, outDir string) (string, error) {
	q := in.Package
	q.Files = append([]pkg.File{}, q.Files...)
	docs, err := pkg.DebDocs(&q, in.Project, in.Authors, in.Prefix)
	if err != nil {
		return "", fmt.Errorf("writing package %s: %w", q.Name, err)
	}
	q.Files = append(q.Files, docs...)
	if o := pkg.LintianOverrides(q.Name, lintianOverrides(in)); o != nil {
		q.Files = append(q.Files, *o)
	}
	return write(ctx, &q, outDir)
}

// lintianOverrides lists the lintian tags that are inherent to a
// virtualenv installed under its own prefix (docs/lintian.md).
func lintianOverrides(in *format.Input) []pkg.LintianOverride {
	var ovs []pkg.LintianOverride
	if strings.HasPrefix(in.Prefix, "/opt/") {
		ovs = append(ovs, pkg.LintianOverride{Tag: "dir-or-file-in-opt", Reason: "the self-contained virtualenv lives in /opt, the FHS place for add-on application software packages"})
	}
	if in.Compiled {
		ovs = append(ovs, pkg.LintianOverride{Tag: "package-installs-python-pycache-dir", Reason: "the bytecode is compiled for the bundled virtualenv with hash-based validation, not for Debian's python3 site-packages, and the services' read-only file system could not write it"})
	}
	if in.BundledPython {
		ovs = append(ovs,
			pkg.LintianOverride{Tag: "embedded-library", Reason: "the bundled python-build-standalone CPython links its own zlib, bzip2, expat and ncurses statically so that it runs on any glibc Linux (docs/interpreter.md)"},
			pkg.LintianOverride{Tag: "unstripped-binary-or-object", Reason: "the bundled interpreter is shipped as its python-build-standalone archive has it; an install_only_stripped archive has no symbols"})
	}
	if hasVenvScripts(in.Package.Root, in.Prefix) {
		ovs = append(ovs, pkg.LintianOverride{Tag: "unusual-interpreter", Reason: "console scripts run the virtualenv's own python, which links to the target interpreter"})
	}
	return ovs
}

// hasVenvScripts reports whether prefix/bin holds a script whose
// interpreter is the virtualenv's python.
func hasVenvScripts(root, prefix string) bool {
	want := []byte("#!" + prefix + "/bin/python")
	dir := filepath.Join(root, prefix, "bin")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		head := make([]byte, len(want))
		_, rerr := io.ReadFull(f, head)
		_ = f.Close()
		if rerr == nil && bytes.Equal(head, want) {
			return true
		}
	}
	return false
}
