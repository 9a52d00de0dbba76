package pkg

import (
	"github.com/venvpkg/venvpkg/internal/atomicfile"
	"github.com/venvpkg/venvpkg/internal/distver"

	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/files"
	"github.com/goreleaser/nfpm/v2/rpm"
)

// RPMBuildHost is written as the BuildHost of every .rpm instead of the
// machine's name, which would make builds on two hosts differ (the value
// reproducible-builds.org suggests for %_buildhost).
const RPMBuildHost = "reproducible"

// rpmArches maps Debian architecture names to RPM's.
var rpmArches = map[string]string{
	"all":     "noarch",
	"amd64":   "x86_64",
	"arm64":   "aarch64",
	"i386":    "i686",
	"armhf":   "armv7hl",
	"ppc64el": "ppc64le",
	"s390x":   "s390x",
	"riscv64": "riscv64",
	"loong64": "loongarch64",
}

// RPMArch returns the RPM architecture for a Debian architecture name
// ("all" is "noarch", "amd64" is "x86_64").
func RPMArch(debArch string) (string, error) {
	a, ok := rpmArches[debArch]
	if !ok {
		return "", fmt.Errorf("architecture %q has no RPM name known to venvpkg", debArch)
	}
	return a, nil
}

// RPMFileName returns the conventional name-version-release.arch.rpm.
func RPMFileName(name string, v distver.RPMVersion, arch string) string {
	return name + "-" + v.Version + "-" + v.Release + "." + arch + ".rpm"
}

var (
	rpmVersionPattern = regexp.MustCompile(`^[A-Za-z0-9._+~^]+$`)
	rpmEpochPattern   = regexp.MustCompile(`^[0-9]*$`)
)

// rpmCompression maps the package's compression to an rpmpack compressor.
var rpmCompression = map[string]string{"zstd": "zstd", "xz": "xz", "gzip": "gzip", "none": "gzip:0"}

// packageRPM is nfpm's rpm writer; a variable so tests can make it fail.
var packageRPM = rpm.DefaultRPM.Package

// WriteRPM writes p as an .rpm into outDir and returns its path. p.Version
// is ignored in favour of v; p.Arch is a Debian architecture name and
// p.Depends are RPM requirements ("/usr/bin/python3.11", "libpq >= 13").
// Directories the package shares with the system (/opt, /usr/lib/systemd
// and the like) are left out of the payload, configuration files are
// %config(noreplace), and BuildHost is RPMBuildHost, so the same inputs
// always give byte-identical output. On error nothing is left behind.
func WriteRPM(ctx context.Context, p *Package, v distver.RPMVersion, outDir string) (string, error) {
	q := *p
	q.Version = "0" // checked below in RPM terms
	vq, err := q.validate()
	if err != nil {
		return "", fmt.Errorf("writing package %s: %w", p.Name, err)
	}
	switch {
	case !rpmVersionPattern.MatchString(v.Version):
		return "", fmt.Errorf("writing package %s: RPM version %q is not valid; build it with NewRPMVersion", p.Name, v.Version)
	case !rpmVersionPattern.MatchString(v.Release):
		return "", fmt.Errorf("writing package %s: RPM release %q may hold only letters, digits and . _ + ~ ^", p.Name, v.Release)
	case !rpmEpochPattern.MatchString(v.Epoch):
		return "", fmt.Errorf("writing package %s: RPM epoch %q is not a number", p.Name, v.Epoch)
	}
	arch, err := RPMArch(vq.Arch)
	if err != nil {
		return "", fmt.Errorf("writing package %s: %w", p.Name, err)
	}
	comp, ok := rpmCompression[vq.Compression]
	if !ok {
		return "", fmt.Errorf("writing package %s: compression %q is not supported for RPM", p.Name, vq.Compression)
	}
	cs, err := contents(ctx, vq.Root, vq.MTime)
	if err != nil {
		return "", fmt.Errorf("writing package %s: %w", p.Name, err)
	}
	cs, scripts, cleanup, err := payload(vq, cs, func(d string) bool { return !sharedDir(d) })
	if err != nil {
		return "", fmt.Errorf("writing package %s: %w", p.Name, err)
	}
	defer cleanup()
	for _, c := range cs {
		if c.Type == files.TypeFile && strings.HasPrefix(c.Destination, "/usr/share/doc/") {
			c.Type = files.TypeRPMDoc
		}
	}
	changelog, err := rpmChangelog(vq, v)
	if err != nil {
		return "", fmt.Errorf("writing package %s: %w", p.Name, err)
	}
	defer os.RemoveAll(filepath.Dir(changelog))
	description := controlDescription(vq.Summary, vq.Description)
	if _, long, ok := strings.Cut(description, "\n"); ok {
		description = long // RPM keeps the summary in its own tag
	}
	info := &nfpm.Info{
		Name:          vq.Name,
		Arch:          arch,
		Platform:      "linux",
		Epoch:         v.Epoch,
		Version:       v.Version,
		Release:       v.Release,
		VersionSchema: "none",
		Maintainer:    vq.Maintainer,
		Description:   description,
		Homepage:      vq.Homepage,
		License:       vq.License,
		Changelog:     changelog,
		// Every entry carries its own mode, so the umask never applies.
		DisableGlobbing: true,
		MTime:           vq.MTime,
		Overridables: nfpm.Overridables{
			Depends:  vq.Depends,
			Contents: cs,
			Scripts:  scripts,
			RPM: nfpm.RPM{
				Group:       "Unspecified",
				Arch:        arch,
				Summary:     strings.TrimSpace(vq.Summary),
				Compression: comp,
				BuildHost:   RPMBuildHost,
				Packager:    vq.Maintainer,
				Signature: nfpm.RPMSignature{
					PackageSignature: nfpm.PackageSignature{SignFn: vq.SignRPM},
				},
			},
		},
	}
	if info.License == "" {
		return "", fmt.Errorf("writing package %s: RPM requires a License; set [project] license", p.Name)
	}
	name := RPMFileName(vq.Name, v, arch)
	final := filepath.Join(outDir, name)
	tmp, err := atomicfile.Create(final, 0o644)
	if err != nil {
		return "", fmt.Errorf("writing package %s: %w", vq.Name, err)
	}
	defer tmp.Abort()
	w := bufio.NewWriterSize(tmp, 1<<20)
	if err := packageRPM(info, w); err != nil {
		return "", fmt.Errorf("writing package %s: %w", vq.Name, err)
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("writing package %s: %w", vq.Name, err)
	}
	if err := w.Flush(); err != nil {
		return "", fmt.Errorf("writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Commit(); err != nil {
		return "", fmt.Errorf("writing package %s: %w", vq.Name, err)
	}
	return final, nil
}

// sharedDirs are directories other packages (filesystem, systemd,
// supervisor) own or share; an .rpm lists only directories of its own.
var sharedDirs = map[string]bool{
	"/": true, "/etc": true, "/etc/default": true, "/etc/sysconfig": true, "/etc/supervisord.d": true,
	"/etc/supervisor": true, "/etc/supervisor/conf.d": true, "/lib": true, "/opt": true, "/opt/venvs": true,
	"/srv": true, "/usr": true, "/usr/lib": true, "/usr/lib/systemd": true, "/usr/lib/systemd/system": true,
	"/usr/lib/sysusers.d": true, "/usr/lib/tmpfiles.d": true, "/usr/share": true, "/usr/share/doc": true,
	"/usr/share/licenses": true, "/usr/local": true, "/var": true, "/var/lib": true, "/var/log": true,
	"/usr/bin": true, "/usr/sbin": true, "/usr/lib64": true,
}

func sharedDir(d string) bool { return sharedDirs[d] }

// rpmChangelog writes the package's one %changelog entry, dated with its
// timestamp, in the YAML form nfpm reads (as JSON, which YAML includes),
// and returns the file's path in a new temporary directory.
func rpmChangelog(p *Package, v distver.RPMVersion) (string, error) {
	entry := []map[string]any{{
		"semver":   v.Version + "-" + v.Release,
		"date":     p.MTime.UTC().Format(time.RFC3339),
		"packager": p.Maintainer,
		"changes":  []map[string]string{{"commit": "", "note": "Built by venvpkg."}},
	}}
	data, err := json.Marshal(entry)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "venvpkg-changelog-")
	if err != nil {
		return "", err
	}
	f := filepath.Join(dir, "changelog.yml")
	if err := os.WriteFile(f, data, 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	return f, nil
}
