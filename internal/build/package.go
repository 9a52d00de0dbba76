package build

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pkg"
	"github.com/venvpkg/venvpkg/internal/service"
)

// Formats are the package formats venvpkg writes.
var Formats = []string{"deb", "rpm"}

// packageFormats checks the requested formats and removes duplicates,
// keeping their order.
func packageFormats(in []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, f := range in {
		switch f {
		case "deb", "rpm":
		default:
			return nil, fmt.Errorf("--format %q is not supported; use deb, rpm or deb,rpm", f)
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out, nil
}

// writePackages writes one package per format from the one staging root:
// the generated service files, the configuration files and each format's
// documentation are added per format, never to the shared root. If any
// format fails, the packages already written are removed again.
func (b *builder) writePackages(ctx context.Context, p *pkg.Package, v pep440.Version) (err error) {
	if err := b.checkCommands(); err != nil {
		return err
	}
	conf, err := b.configFiles()
	if err != nil {
		return err
	}
	spec := service.Spec{Package: b.name, Prefix: b.prefix, Summary: p.Summary, Homepage: p.Homepage, Services: b.cfg.Services}
	var written []string
	defer func() {
		if err != nil {
			for _, w := range written {
				_ = os.Remove(w)
			}
		}
	}()
	for _, f := range b.formats {
		gen, err := service.Generate(spec, service.Format(f))
		if err != nil {
			return fmt.Errorf("%s: [tool.venvpkg.services]: %w", b.cfg.File, err)
		}
		q := *p
		q.Scripts = pkg.Scripts(gen.Scripts)
		q.Files = append([]pkg.File{}, conf...)
		for _, g := range gen.Files {
			q.Files = append(q.Files, pkg.File(g))
		}
		var out string
		spin := b.log.Spinner("writing the " + f + " package")
		switch f {
		case "deb":
			docs, err := pkg.DebDocs(&q, b.project.Name, b.copyrightHolders(), b.prefix)
			if err != nil {
				spin.Done()
				return fmt.Errorf("writing package %s: %w", q.Name, err)
			}
			q.Files = append(q.Files, docs...)
			if o := pkg.LintianOverrides(q.Name, b.lintianOverrides()); o != nil {
				q.Files = append(q.Files, *o)
			}
			out, err = pkg.WriteDeb(ctx, &q, b.outDir)
			if err != nil {
				spin.Done()
				return err
			}
		case "rpm":
			q.Depends = b.rpmRequires()
			if b.signer != nil {
				q.SignRPM = b.signer.SignRPM
			}
			out, err = pkg.WriteRPM(ctx, &q, pkg.NewRPMVersion(v, b.release), b.outDir)
			if err != nil {
				spin.Done()
				return err
			}
		}
		spin.Done()
		written = append(written, out)
		b.res.Packages = append(b.res.Packages, out)
		b.log.Infof("wrote %s", out)
		sb, err := putBeside(ctx, out, SBOMFileName(out), b.sbom)
		if err != nil {
			return err
		}
		written = append(written, sb)
		b.res.SBOMs = append(b.res.SBOMs, sb)
		b.log.Debugf("wrote %s", sb)
		if b.opts.Report {
			rp, err := b.writeReport(ctx, out)
			if err != nil {
				return err
			}
			written = append(written, rp)
			b.res.Reports = append(b.res.Reports, rp)
			b.log.Infof("report %s", rp)
		}
	}
	return nil
}

// rpmRequires lists the RPM Requires: the interpreter's path unless it is
// bundled, the payload's ELF requirements as rpm generates them, and
// [tool.venvpkg] rpm-requires. WriteRPM sorts and deduplicates them.
func (b *builder) rpmRequires() []string {
	var req []string
	if b.dist == nil {
		req = append(req, b.py.Executable)
	}
	req = append(req, b.elfRequires...)
	return append(req, b.cfg.Tool.RPMRequires...)
}

// checkCommands makes sure every service runs a program the payload
// has, so a typo fails the build rather than the service.
func (b *builder) checkCommands() error {
	for _, s := range b.cfg.Services {
		argv, err := service.Command(b.prefix, s)
		if err != nil {
			return fmt.Errorf("%s: [tool.venvpkg.services.%s] %w", b.cfg.File, s.Name, err)
		}
		if !strings.HasPrefix(argv[0], b.prefix+"/") {
			continue // a program of the host, such as /usr/bin/env
		}
		st, err := os.Stat(filepath.Join(b.root, argv[0]))
		if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return fmt.Errorf("%s: [tool.venvpkg.services.%s] command: %s is not a program of the virtualenv; name a console script of the project or of a locked requirement (the virtualenv has: %s)",
				b.cfg.File, s.Name, argv[0], strings.Join(b.venvPrograms(), ", "))
		}
	}
	return nil
}

// venvPrograms lists the executables in the staged prefix/bin.
func (b *builder) venvPrograms() []string {
	entries, err := os.ReadDir(filepath.Join(b.root, b.prefix, "bin"))
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0 {
			names = append(names, e.Name())
		}
	}
	return names
}

// configFiles reads [tool.venvpkg.config] into configuration files.
func (b *builder) configFiles() ([]pkg.File, error) {
	var fs []pkg.File
	for _, c := range b.cfg.ConfigFiles {
		data, err := os.ReadFile(c.Source)
		if err != nil {
			return nil, fmt.Errorf("%s: [tool.venvpkg.config] %q: %w", b.cfg.File, c.Path, err)
		}
		fs = append(fs, pkg.File{Path: c.Path, Data: data, Mode: c.Mode, Owner: c.Owner, Group: c.Group, Config: true})
	}
	return fs, nil
}

// copyrightHolders names the project's authors as its built wheel does:
// Author with a bare Author-email ("Name <email>"), else Author-email
// ("Name <email>, ..."), else Author.
func (b *builder) copyrightHolders() string {
	m := b.project
	name, email := strings.TrimSpace(m.Author), strings.TrimSpace(m.AuthorEmail)
	if name != "" && email != "" && !strings.ContainsAny(email, "<,") {
		return name + " <" + email + ">"
	}
	return cmp.Or(email, name)
}

// lintianOverrides lists the lintian tags that are inherent to a
// virtualenv installed under its own prefix (docs/lintian.md).
func (b *builder) lintianOverrides() []pkg.LintianOverride {
	var ovs []pkg.LintianOverride
	if strings.HasPrefix(b.prefix, "/opt/") {
		ovs = append(ovs, pkg.LintianOverride{Tag: "dir-or-file-in-opt", Reason: "the self-contained virtualenv lives in /opt, the FHS place for add-on application software packages"})
	}
	if !b.opts.NoCompile {
		ovs = append(ovs, pkg.LintianOverride{Tag: "package-installs-python-pycache-dir", Reason: "the bytecode is compiled for the bundled virtualenv with hash-based validation, not for Debian's python3 site-packages, and the services' read-only file system could not write it"})
	}
	if b.dist != nil {
		ovs = append(ovs,
			pkg.LintianOverride{Tag: "embedded-library", Reason: "the bundled python-build-standalone CPython links its own zlib, bzip2, expat and ncurses statically so that it runs on any glibc Linux (docs/interpreter.md)"},
			pkg.LintianOverride{Tag: "unstripped-binary-or-object", Reason: "the bundled interpreter is shipped as its python-build-standalone archive has it; an install_only_stripped archive has no symbols"})
	}
	if b.hasVenvScripts() {
		ovs = append(ovs, pkg.LintianOverride{Tag: "unusual-interpreter", Reason: "console scripts run the virtualenv's own python, which links to the target interpreter"})
	}
	return ovs
}

// hasVenvScripts reports whether prefix/bin holds a script whose
// interpreter is the virtualenv's python.
func (b *builder) hasVenvScripts() bool {
	want := []byte("#!" + b.prefix + "/bin/python")
	dir := filepath.Join(b.root, b.prefix, "bin")
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
