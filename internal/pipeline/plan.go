package pipeline

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/venvpkg/venvpkg/internal/distver"
	"github.com/venvpkg/venvpkg/internal/format"
	"github.com/venvpkg/venvpkg/internal/index"
	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pep503"
	"github.com/venvpkg/venvpkg/internal/pkg"
)

// Plan is what a build would do, as `venvpkg build --dry-run` reports it: every pin resolved to the artifact it
// would use, the interpreter and its tags, the services, configuration files and package files. Making it reads
// the configuration, probes the interpreter, reads the lock and the package sources (index pages are cached as in
// a build), and writes nothing else: no download, no build, no package.
type Plan struct {
	Project     string         `json:"project"`
	Version     string         `json:"version,omitempty"` // "" when the built wheel will say
	Interpreter PlanInterp     `json:"interpreter"`
	Lock        string         `json:"lock,omitempty"`
	Artifacts   []PlanArtifact `json:"artifacts"`
	Services    []PlanService  `json:"services,omitempty"`
	ConfigFiles []string       `json:"config_files,omitempty"`
	Packages    []string       `json:"packages"` // the files --out would receive
	Warnings    []string       `json:"warnings,omitempty"`
}

// PlanInterp is the interpreter a build uses.
type PlanInterp struct {
	Path     string   `json:"path"`
	Version  string   `json:"version"`
	Platform string   `json:"platform"`
	Bundled  bool     `json:"bundled"`
	Tags     []string `json:"tags"` // the best-ranked wheel tags it supports, best first
}

// PlanArtifact is the file a pin resolves to.
type PlanArtifact struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	File    string `json:"file"`
	From    string `json:"from"`   // the local path, or the URL without credentials
	Status  string `json:"status"` // local, cached or download
	Sdist   bool   `json:"sdist"`  // built into a wheel by the build
	Source  string `json:"source"` // the lock line that pins it
}

// PlanService is one service a package would run.
type PlanService struct {
	Name    string `json:"name"`
	Command string `json:"command"`
	User    string `json:"user"`
	Listen  string `json:"listen,omitempty"`
}

// plan fills b.res.Plan instead of building.
func (b *builder) plan(ctx context.Context) error {
	p := &Plan{
		Project: b.projectName(),
		Lock:    displayPath(b.lockPath),
		Interpreter: PlanInterp{
			Path: b.py.Executable, Version: b.py.Version, Platform: b.py.Platform, Bundled: b.distSrc != nil,
		},
	}
	for i, t := range b.py.Supported().Tags() {
		if i == 5 {
			break
		}
		p.Interpreter.Tags = append(p.Interpreter.Tags, t.String())
	}
	p.Version = b.opts.Version
	if p.Version == "" && b.cfg.Project.Version != "" && !b.cfg.Project.IsDynamic("version") {
		p.Version = b.cfg.Project.Version
	}
	arts, err := b.planArtifacts(ctx)
	if err != nil {
		return err
	}
	p.Artifacts = arts
	for _, s := range b.cfg.Services {
		p.Services = append(p.Services, PlanService{Name: s.Name, Command: s.Command, User: s.User, Listen: s.Listen})
	}
	for _, c := range b.cfg.ConfigFiles {
		p.ConfigFiles = append(p.ConfigFiles, c.Path)
	}
	sort.Strings(p.ConfigFiles)
	p.Packages = b.plannedPackages(p)
	p.Warnings = b.res.Warnings
	b.res.Plan = p
	return nil
}

// projectName is the package name when the configuration gives it, else what the built wheel will.
func (b *builder) projectName() string {
	if b.name != "" {
		return b.name
	}
	if b.cfg.Project.Name != "" {
		return pep503.Normalize(b.cfg.Project.Name)
	}
	return ""
}

// planArtifacts chooses every pin's artifact as the build would, and says whether it is local, cached or would be
// downloaded.
func (b *builder) planArtifacts(ctx context.Context) ([]PlanArtifact, error) {
	if err := b.newFinder(); err != nil {
		return nil, err
	}
	self := pep503.Normalize(b.cfg.Project.Name)
	var picks []*pick
	out := []PlanArtifact{}
	for _, r := range b.lock.Requirements {
		switch {
		case r.Name == self:
		case r.VCS != nil:
			out = append(out, PlanArtifact{Name: r.Display, Version: r.Version, File: "(git checkout)", From: r.VCS.String(),
				Status: "git", Sdist: true, Source: r.Source})
		default:
			picks = append(picks, &pick{req: r})
		}
	}
	if err := b.chooseAll(ctx, picks); err != nil {
		return nil, err
	}
	for _, p := range picks {
		a := p.art
		from := a.Path
		if from == "" {
			from = index.Redact(a.URL)
		}
		out = append(out, PlanArtifact{
			Name: p.req.Display, Version: p.req.Version, File: a.Filename, From: from,
			Status: b.finder.Status(a, p.allowed), Sdist: !a.IsWheel(), Source: p.req.Source,
		})
	}
	return out, nil
}

// plannedPackages names the package files the build would write. The architecture is that of the build host when
// an artifact is platform-specific (or the interpreter is bundled), else "all"; the build decides it for certain
// from the ELF files of the payload.
func (b *builder) plannedPackages(p *Plan) []string {
	arch := "all"
	if b.distSrc != nil {
		arch = pkg.DebArch()
	}
	for _, a := range p.Artifacts {
		if a.Sdist || !strings.HasSuffix(a.File, "-any.whl") {
			arch = pkg.DebArch()
		}
	}
	name, version := p.Project, p.Version
	if name == "" {
		name = "<name>"
	}
	var out []string
	for _, f := range b.writers {
		v, err := pep440.Parse(version)
		if version == "" || err != nil {
			out = append(out, fmt.Sprintf("%s (%s package of the version the built wheel gives)", filepath.Join(b.outDir, name+"_<version>"), f.Name()))
			continue
		}
		in := &format.Input{Package: pkg.Package{Name: name, Version: distver.DebVersion(v, b.release), Arch: arch}, Version: v, Release: b.release}
		out = append(out, filepath.Join(b.outDir, f.FileName(in)))
	}
	return out
}

// dryRun makes the plan and ends the build there when Options.DryRun is set.
func (b *builder) dryRun(ctx context.Context) error {
	if !b.opts.DryRun {
		return nil
	}
	if err := b.plan(ctx); err != nil {
		return err
	}
	return errDryRun
}

// errDryRun is not an error: it ends the steps of a dry run after the plan.
var errDryRun = errors.New("dry run")
