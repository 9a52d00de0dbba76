package pipeline

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/venvpkg/venvpkg/internal/format"
	"github.com/venvpkg/venvpkg/internal/format/registry"
	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pkg"
	"github.com/venvpkg/venvpkg/internal/service"
)

// packageFormats looks up the requested formats in the registry and
// removes duplicates, keeping their order.
func packageFormats(in []string) ([]string, []format.Format, error) {
	fs, err := registry.Resolve(in)
	if err != nil {
		return nil, nil, err
	}
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name()
	}
	return names, fs, nil
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
	for _, f := range b.writers {
		in := b.formatInput(p, v, conf)
		if fl := f.Services(); fl != nil {
			gen, err := service.Generate(spec, fl)
			if err != nil {
				return fmt.Errorf("%s: [tool.venvpkg.services]: %w", b.cfg.File, err)
			}
			in.Package.Scripts = pkg.Scripts(gen.Scripts)
			for _, g := range gen.Files {
				in.Package.Files = append(in.Package.Files, pkg.File(g))
			}
		}
		spin := b.log.Spinner("writing the " + f.Name() + " package")
		out, err := f.Write(ctx, in, b.outDir)
		spin.Done()
		if err != nil {
			return err
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
		if b.opts.Report && f.Services() != nil { // reports read .deb and .rpm files, not images
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

// formatInput is what every format gets: the package's metadata with the
// configuration files, and what some formats need besides.
func (b *builder) formatInput(p *pkg.Package, v pep440.Version, conf []pkg.File) *format.Input {
	in := &format.Input{
		Package:       *p,
		Version:       v,
		Release:       b.release,
		Project:       b.project.Name,
		Authors:       b.copyrightHolders(),
		Prefix:        b.prefix,
		Compiled:      !b.opts.NoCompile,
		Python:        b.py,
		BundledPython: b.dist != nil,
		RPMRequires:   b.rpmRequires(),
		Services:      b.cfg.Services,
		ConfigFiles:   conf,
		SBOM:          b.sbom,
		BaseImage:     b.opts.BaseImage,
		Source:        sourceURL(b.cfg.Project.URLs),
		Revision:      gitRevision(context.Background(), b.projDir),
	}
	in.Package.Files = append([]pkg.File{}, conf...)
	if b.signer != nil {
		in.SignRPM = b.signer.SignRPM
	}
	return in
}

// sourceURL is the project's [project.urls] entry for its source code.
func sourceURL(urls map[string]string) string {
	for _, want := range []string{"source", "source code", "repository", "code"} {
		for k, v := range urls {
			if strings.EqualFold(k, want) {
				return v
			}
		}
	}
	return ""
}

// gitRevision is the commit of the project's git HEAD, "" outside git.
func gitRevision(ctx context.Context, dir string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "--verify", "-q", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
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
