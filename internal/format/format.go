// Package format is what a package format is to venvpkg: a name, a
// conventional file name, a flavour of service files and package scripts,
// and a writer that turns the one staged tree plus metadata into a file.
// Each format is a package below this one (deb, rpm, oci); the registry
// package lists them in one place. The pipeline stages the virtualenv once
// and hands the same Input to every format the user asked for.
package format

import (
	"context"
	"io"

	"github.com/venvpkg/venvpkg/internal/config"
	"github.com/venvpkg/venvpkg/internal/interp"
	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pkg"
	"github.com/venvpkg/venvpkg/internal/service"
)

// Format writes one kind of package.
type Format interface {
	// Name is the --format value: "deb", "rpm", "oci".
	Name() string
	// FileName is the conventional name of in's package file.
	FileName(in *Input) string
	// Services is the format's flavour of service units and package
	// scripts, or nil when the format installs no services on a host (an
	// image runs its one program instead).
	Services() *service.Flavour
	// Write writes in's package into outDir and returns its path. The
	// file appears complete or not at all; on error nothing is left.
	Write(ctx context.Context, in *Input, outDir string) (string, error)
}

// Input is the staged tree and what every format may need to describe it.
type Input struct {
	// Package is the common metadata, the staging root, the extra files
	// (configuration, generated service files) and the package scripts;
	// its Version is the Debian form of Version.
	Package pkg.Package

	Version pep440.Version // the project's version
	Release string         // the package release ("1")
	Project string         // the [project] name as written
	Authors string         // copyright holders, "Name <email>, …"
	Prefix  string         // the virtualenv's final path
	// Compiled is true when the payload ships bytecode.
	Compiled bool
	// Python is the target interpreter.
	Python *interp.Info
	// BundledPython is true when the interpreter is inside the prefix.
	BundledPython bool
	// RPMRequires are the RPM Requires of the payload.
	RPMRequires []string
	// SignRPM signs an .rpm (nil: unsigned).
	SignRPM func(data io.Reader) ([]byte, error)
	// Services and ConfigFiles are the project's [tool.venvpkg] tables.
	Services    []config.Service
	ConfigFiles []pkg.File
	// SBOM is the CycloneDX document of the payload, nil without one.
	SBOM []byte
	// BaseImage is the image an image format builds on: an OCI image
	// layout directory, an oci-archive, a docker-archive, or "scratch".
	BaseImage string
	// Source and Revision describe where the project comes from (a
	// repository URL and a VCS revision), empty when unknown.
	Source, Revision string
}
