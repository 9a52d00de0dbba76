// Package rpm is the RPM package format: an .rpm whose version sorts as
// the PEP 440 version does, optionally signed, with scriptlets of the RPM
// service flavour.
package rpm

import (
	"context"

	"github.com/venvpkg/venvpkg/internal/distver"
	"github.com/venvpkg/venvpkg/internal/format"
	"github.com/venvpkg/venvpkg/internal/pkg"
	"github.com/venvpkg/venvpkg/internal/service"
)

// Format writes .rpm packages.
type Format struct{}

var _ format.Format = Format{}

// Name implements format.Format.
func (Format) Name() string { return "rpm" }

// Describe is the one-line description --format completion shows.
func (Format) Describe() string { return "RPM package" }

// FileName implements format.Format: name-version-release.arch.rpm; the
// architecture stays Debian's when RPM has no name for it (Write then
// fails saying so).
func (Format) FileName(in *format.Input) string {
	arch, err := pkg.RPMArch(in.Package.Arch)
	if err != nil {
		arch = in.Package.Arch
	}
	return pkg.RPMFileName(in.Package.Name, distver.NewRPMVersion(in.Version, in.Release), arch)
}

// Services implements format.Format.
func (Format) Services() *service.Flavour { return service.RPM }

// Write implements format.Format. The Requires are in.RPMRequires, not the
// Debian Depends.
func (Format) Write(ctx context.Context, in *format.Input, outDir string) (string, error) {
	q := in.Package
	q.Depends = in.RPMRequires // WriteRPM sorts and deduplicates
	q.SignRPM = in.SignRPM
	return pkg.WriteRPM(ctx, &q, distver.NewRPMVersion(in.Version, in.Release), outDir)
}
