// Package fleet generates the configuration-management layer that rolls a
// package venvpkg built out to many servers and back: an Ansible role with
// an example rolling-update playbook and inventory, and a Puppet module
// with the same behaviour. Both install the repository's signing key and
// the signed APT (signed-by) or YUM (gpgcheck, repo_gpgcheck) repository
// that `venvpkg publish` writes, pin the package to one version (so the
// same run upgrades and downgrades), template every configuration file of
// [tool.venvpkg.config], enable and start the services and sockets of
// [tool.venvpkg.services], restart them only when the package or their
// configuration changed, and check their health before moving on.
//
// Everything is built from a Spec by text/template with templates embedded
// in the binary; the same Spec gives the same bytes.
package fleet

import (
	"bytes"
	"cmp"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/venvpkg/venvpkg/internal/atomicfile"
	"github.com/venvpkg/venvpkg/internal/config"
	"github.com/venvpkg/venvpkg/internal/distver"
	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/service"
)

//go:embed templates
var templates embed.FS

// Spec is what the generated role and module know about the package.
type Spec struct {
	Package     string // package name, "service-app"
	Prefix      string // the virtualenv's path on the hosts
	Description string // one line
	Homepage    string
	License     string
	Author      string
	// DebVersion and RPMVersion are the versions installed when the
	// inventory names none: the project's version as built.
	DebVersion, RPMVersion string
	// RepoURL is the root of the repository `venvpkg publish` writes
	// (APT under apt/, YUM under rpm/<suite>/); Suite and Component
	// select the APT suite and component and the YUM repository.
	RepoURL, Suite, Component string
	// PublicKey is the repository's armored OpenPGP public key.
	PublicKey []byte
	Services  []Service
	Configs   []ConfigFile
}

// Service is one systemd service of the package.
type Service struct {
	Unit   string // "service-app.service"
	Socket string // "service-app.socket", or "" without listen
	// HealthURL is the URL the HTTP health check requests: the listen
	// address, with a wildcard host replaced by the loopback address; ""
	// when the service does not listen.
	HealthURL string
	// UnixSocket is the socket path when listen is a unix socket.
	UnixSocket string
}

// ConfigFile is one [tool.venvpkg.config] file.
type ConfigFile struct {
	Path         string // installed path
	Owner, Group string
	Mode         string // four octal digits
	Default      []byte // the packaged default, seeding the template
}

// File is one generated file, relative to the output directory.
type File struct {
	Path string
	Data []byte
	Mode os.FileMode
}

// Options are the settings of the generated files that pyproject.toml does
// not hold.
type Options struct {
	// Version is the PEP 440 version to default to; "" means [project]
	// version.
	Version string
	// Release is the package release (default [tool.venvpkg] release,
	// else "1", as venvpkg build uses).
	Release   string
	RepoURL   string
	Suite     string // default "stable"
	Component string // default "main"
	PublicKey []byte
}

// NewSpec builds the Spec of the project cfg.
func NewSpec(cfg *config.Config, o Options) (*Spec, error) {
	raw := o.Version
	if raw == "" {
		raw = cfg.Project.Version
	}
	if raw == "" {
		return nil, fmt.Errorf("%s: [project] version is dynamic; pass --version with the version the hosts should run", cfg.File)
	}
	v, err := pep440.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("version %q: %w", raw, err)
	}
	release := o.Release
	if release == "" {
		release = cfg.Tool.Release
	}
	if release == "" {
		release = "1"
	}
	if err := config.ValidRelease(release); err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	if o.RepoURL == "" {
		return nil, errors.New("no repository URL: pass --repo-url with the URL the repository of venvpkg publish is served at, e.g. https://packages.example.org")
	}
	if err := validURL(o.RepoURL); err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(o.PublicKey)) == 0 {
		return nil, errors.New("no signing key: pass --key with the repository's armored public key (public.asc, written by venvpkg key generate); hosts refuse unsigned repositories")
	}
	if !bytes.HasPrefix(bytes.TrimSpace(o.PublicKey), []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----")) {
		return nil, errors.New("the signing key is not an armored OpenPGP public key (-----BEGIN PGP PUBLIC KEY BLOCK-----); pass the public half, never the private key")
	}
	if cfg.PackageName() == "" {
		return nil, fmt.Errorf("%s: the project has no [project] table, so its name is known only to its build backend; set [tool.venvpkg] name to the package's name", cfg.File)
	}
	author, _ := cfg.Maintainer() // Parse has checked it
	s := &Spec{
		Package:     cfg.PackageName(),
		Prefix:      cfg.Tool.Prefix,
		Description: oneLine(cfg.Project.Description),
		Homepage:    cfg.Project.Homepage(),
		License:     cfg.Project.License.Short(),
		Author:      author,
		DebVersion:  distver.DebVersion(v, release),
		RPMVersion:  distver.NewRPMVersion(v, release).String(),
		RepoURL:     strings.TrimSuffix(o.RepoURL, "/"),
		Suite:       cmp.Or(o.Suite, "stable"),
		Component:   cmp.Or(o.Component, "main"),
		PublicKey:   append(bytes.TrimSpace(o.PublicKey), '\n'),
	}
	if s.Prefix == "" {
		s.Prefix = "/opt/venvs/" + s.Package
	}
	if s.Description == "" {
		s.Description = s.Package
	}
	if s.License == "" {
		s.License = "license (see the project)"
	}
	if s.Author == "" {
		s.Author = s.Package + " maintainers"
	}
	for what, val := range map[string]string{"suite": s.Suite, "component": s.Component} {
		if !wordRE.MatchString(val) {
			return nil, fmt.Errorf("%s %q is not valid: use letters, digits, \".\", \"_\" and \"-\"", what, val)
		}
	}
	for _, svc := range cfg.Services {
		unit := service.UnitName(s.Package, svc.Name, len(cfg.Services))
		fs := Service{Unit: unit + ".service"}
		if svc.Listen != "" {
			fs.Socket = unit + ".socket"
			if strings.HasPrefix(svc.Listen, "/") {
				fs.UnixSocket = svc.Listen
				fs.HealthURL = "http://localhost/"
			} else {
				host, port, err := net.SplitHostPort(svc.Listen)
				if err != nil {
					return nil, fmt.Errorf("service %s: listen %q: %w", svc.Name, svc.Listen, err)
				}
				switch host {
				case "", "0.0.0.0", "*":
					host = "127.0.0.1"
				case "::":
					host = "::1"
				}
				fs.HealthURL = "http://" + net.JoinHostPort(host, port) + "/"
			}
		}
		s.Services = append(s.Services, fs)
	}
	for _, c := range cfg.ConfigFiles {
		data, err := os.ReadFile(c.Source)
		if err != nil {
			return nil, fmt.Errorf("reading the default of %s: %w", c.Path, err)
		}
		s.Configs = append(s.Configs, ConfigFile{Path: c.Path, Owner: c.Owner, Group: c.Group, Mode: fmt.Sprintf("%04o", c.Mode.Perm()), Default: data})
	}
	return s, nil
}

var (
	wordRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	urlRE  = regexp.MustCompile(`^(https?|file)://[^\s"'\\{}<>%$` + "`" + `]+$`)
)

func validURL(u string) error {
	if !urlRE.MatchString(u) {
		return fmt.Errorf("repository URL %q is not valid: give an http://, https:// or file:// URL without spaces, quotes or template characters", u)
	}
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Ident is the package name as an Ansible role, Puppet module and
// variable name: lowercase, "-" and "." written "_", and "pkg_" before a
// name that starts with a digit (identifiers cannot).
func Ident(pkgName string) string {
	id := strings.NewReplacer("-", "_", ".", "_", "+", "_").Replace(strings.ToLower(pkgName))
	if id != "" && id[0] >= '0' && id[0] <= '9' {
		id = "pkg_" + id
	}
	return id
}

// view is what the templates see.
type view struct {
	*Spec
	Ident string
}

// HealthDefault is the health check the role uses when none is chosen:
// HTTP when every service listens, else systemd's state, else (no
// services) a command.
func (v view) HealthDefault() string {
	if len(v.Services) == 0 {
		return "command"
	}
	for _, s := range v.Services {
		if s.HealthURL == "" {
			return "systemd"
		}
	}
	return "http"
}

func (v view) KeyFile() string { return v.Package + ".asc" }

// render runs the embedded template name with the view.
func render(name string, v view) ([]byte, error) {
	t, err := template.New(path.Base(name)).Delims("[[", "]]").Funcs(funcs).Option("missingkey=error").ParseFS(templates, name)
	if err != nil {
		return nil, fmt.Errorf("parsing template %s: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return nil, fmt.Errorf("rendering %s: %w", name, err)
	}
	return b.Bytes(), nil
}

var funcs = template.FuncMap{
	"yaml":      yamlString,
	"puppet":    puppetString,
	"json":      jsonString,
	"relpath":   func(p string) string { return strings.TrimPrefix(p, "/") },
	"dropin":    dropinPath,
	"dir":       path.Dir,
	"configvar": configVar,
	"healthcmd": healthCommand,
	"ref":       func(typ, title string) string { return typ + "[" + puppetString(title) + "]" },
}

// configVar names the Puppet variable holding a configuration file's
// destination: /etc/app/app.conf → config_etc_app_app_conf.
func configVar(p string) string {
	return "config_" + strings.Trim(nonIdentRE.ReplaceAllString(strings.ToLower(p), "_"), "_")
}

var nonIdentRE = regexp.MustCompile(`[^a-z0-9]+`)

// healthCommand is the shell command of the Puppet module's HTTP health
// check of s: the package's own Python requests the listen address (a
// unix socket too) and fails on an error status; a service that does not
// listen is checked with systemctl.
func healthCommand(prefix string, s Service) string {
	py := prefix + "/bin/python"
	switch {
	case s.UnixSocket != "":
		return py + ` -c 'import http.client, socket, sys; c = http.client.HTTPConnection("localhost", timeout=5); c.sock = socket.socket(socket.AF_UNIX); c.sock.connect(sys.argv[1]); c.request("GET", "/"); sys.exit(c.getresponse().status >= 400)' ` + s.UnixSocket
	case s.HealthURL != "":
		return py + ` -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' ` + s.HealthURL
	default:
		return "/bin/systemctl is-active --quiet " + s.Unit
	}
}

// dropinPath is the drop-in written next to a configuration file when the
// user prefers one: /etc/app/app.conf → /etc/app/app.conf.d/50-site.conf.
func dropinPath(p string) string {
	ext := path.Ext(p)
	return p + ".d/50-site" + ext
}

// yamlString quotes s as a YAML double-quoted scalar (also valid JSON).
func yamlString(s string) string { return jsonString(s) }

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// puppetString quotes s as a single-quoted Puppet string.
func puppetString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// jinjaTemplate turns a packaged default into a Jinja2 template that
// renders to the same bytes: text Jinja2 would interpret is kept raw.
func jinjaTemplate(data []byte) []byte {
	if !bytes.Contains(data, []byte("{{")) && !bytes.Contains(data, []byte("{%")) && !bytes.Contains(data, []byte("{#")) {
		return data
	}
	s := strings.ReplaceAll(string(data), "{% endraw %}", "{% endraw %}{{ '{% endraw %}' }}{% raw %}")
	return []byte("{% raw %}" + s + "{% endraw %}")
}

// eppTemplate turns a packaged default into an EPP template that renders
// to the same bytes: "<%" is written "<%%".
func eppTemplate(data []byte) []byte {
	return bytes.ReplaceAll(data, []byte("<%"), []byte("<%%"))
}

// generate renders the template tree under root into files below out.
func generate(spec *Spec, root, out string, extra func(v view) []File) ([]File, error) {
	v := view{Spec: spec, Ident: Ident(spec.Package)}
	var files []File
	err := fs.WalkDir(templates, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(p, root+"/"), ".tmpl")
		rel = strings.ReplaceAll(rel, "IDENT", v.Ident)
		data, err := render(p, v)
		if err != nil {
			return err
		}
		files = append(files, File{Path: path.Join(out, rel), Data: data, Mode: 0o644})
		return nil
	})
	if err != nil {
		return nil, err
	}
	files = append(files, extra(v)...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	for i := 1; i < len(files); i++ {
		if files[i].Path == files[i-1].Path {
			return nil, fmt.Errorf("two generated files are both %s; rename a configuration file", files[i].Path)
		}
	}
	return files, nil
}

// Ansible returns the role roles/<ident>/, the playbook site.yml and the
// example inventory inventory/hosts.yml.
func Ansible(spec *Spec) ([]File, error) {
	return generate(spec, "templates/ansible", "", func(v view) []File {
		role := path.Join("roles", v.Ident)
		fs := []File{{Path: path.Join(role, "files", v.KeyFile()), Data: v.PublicKey, Mode: 0o644}}
		for _, c := range v.Configs {
			fs = append(fs, File{Path: path.Join(role, "templates", relPath(c.Path)+".j2"), Data: jinjaTemplate(c.Default), Mode: 0o644})
		}
		return fs
	})
}

// Puppet returns the module <ident>/ (manifests, templates, files,
// metadata.json, an example).
func Puppet(spec *Spec) ([]File, error) {
	return generate(spec, "templates/puppet", "", func(v view) []File {
		mod := v.Ident
		fs := []File{{Path: path.Join(mod, "files", v.KeyFile()), Data: v.PublicKey, Mode: 0o644}}
		for _, c := range v.Configs {
			fs = append(fs, File{Path: path.Join(mod, "templates", relPath(c.Path)+".epp"), Data: eppTemplate(c.Default), Mode: 0o644})
		}
		return fs
	})
}

func relPath(p string) string { return strings.TrimPrefix(p, "/") }

// Write writes files below dir, creating directories, each through a
// temporary file and a rename. Files of dir that are not generated are
// left alone.
func Write(dir string, files []File) error {
	for _, f := range files {
		if err := atomicfile.WriteFile(filepath.Join(dir, filepath.FromSlash(f.Path)), f.Data, f.Mode); err != nil {
			return err
		}
	}
	return nil
}
