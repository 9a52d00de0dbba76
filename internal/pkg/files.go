package pkg

import (
	"cmp"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/files"
)

// File is a file added to the payload besides the staging root's tree:
// generated units, configuration files from the project, documentation.
// Its parent directories are added as the format needs them.
type File struct {
	Path string // final absolute path
	Data []byte
	Mode os.FileMode // permission bits
	// Owner and Group name the file's owner; empty means root. Names
	// resolve on the target host at install time.
	Owner, Group string
	// Config marks a configuration file: listed in conffiles in a .deb,
	// %config(noreplace) in an .rpm, so an administrator's edit survives
	// upgrades.
	Config bool
}

// Scripts are the package's scripts as shell text: preinst, postinst,
// prerm and postrm in a .deb; %pre, %post, %preun and %postun in an .rpm.
// Empty means none.
type Scripts struct {
	PreInstall, PostInstall, PreRemove, PostRemove string
}

// extras writes p.Files and p.Scripts to a temporary directory, since
// nfpm reads both from disk, and returns the contents for the files, the
// scripts for nfpm, and a function removing the directory. have lists the
// paths the staging root already provides; a File may not replace one.
func extras(p *Package, have map[string]bool, mtime time.Time) (files.Contents, nfpm.Scripts, func(), error) {
	dir, err := os.MkdirTemp("", "venvpkg-pkg-")
	if err != nil {
		return nil, nfpm.Scripts{}, nil, fmt.Errorf("creating a directory for generated files: %w", err)
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	fail := func(err error) (files.Contents, nfpm.Scripts, func(), error) {
		cleanup()
		return nil, nfpm.Scripts{}, nil, err
	}
	var cs files.Contents
	seen := map[string]bool{}
	for i, f := range p.Files {
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path {
			return fail(fmt.Errorf("file %q: give a clean absolute path", f.Path))
		}
		if have[f.Path] || seen[f.Path] {
			return fail(fmt.Errorf("file %s is in the payload twice", f.Path))
		}
		seen[f.Path] = true
		src := filepath.Join(dir, fmt.Sprintf("file-%d", i))
		if err := os.WriteFile(src, f.Data, 0o600); err != nil {
			return fail(err)
		}
		typ := files.TypeFile
		if f.Config {
			typ = files.TypeConfigNoReplace
		}
		cs = append(cs, &files.Content{
			Type: typ, Source: src, Destination: f.Path,
			FileInfo: &files.ContentFileInfo{
				Owner: cmp.Or(f.Owner, "root"), Group: cmp.Or(f.Group, "root"),
				Mode: f.Mode.Perm(), MTime: mtime, Size: int64(len(f.Data)),
			},
		})
	}
	var sc nfpm.Scripts
	for _, s := range []struct {
		name, body string
		dst        *string
	}{
		{"preinstall", p.Scripts.PreInstall, &sc.PreInstall},
		{"postinstall", p.Scripts.PostInstall, &sc.PostInstall},
		{"preremove", p.Scripts.PreRemove, &sc.PreRemove},
		{"postremove", p.Scripts.PostRemove, &sc.PostRemove},
	} {
		if s.body == "" {
			continue
		}
		if !strings.HasPrefix(s.body, "#!") {
			return fail(fmt.Errorf("the %s script must start with an interpreter line (#!/bin/sh)", s.name))
		}
		f := filepath.Join(dir, s.name)
		if err := os.WriteFile(f, []byte(s.body), 0o755); err != nil {
			return fail(err)
		}
		*s.dst = f
	}
	return cs, sc, cleanup, nil
}

// parentDirs returns directory entries for the parents of the extra files
// that cs does not hold yet, for which keep returns true, sorted.
func parentDirs(cs files.Contents, extra files.Contents, mtime time.Time, keep func(string) bool) files.Contents {
	have := map[string]bool{}
	for _, c := range cs {
		have[c.Destination] = true
	}
	var dirs files.Contents
	for _, c := range extra {
		for d := path.Dir(c.Destination); d != "/" && !have[d]; d = path.Dir(d) {
			have[d] = true
			if keep(d) {
				dirs = append(dirs, &files.Content{
					Type: files.TypeDir, Destination: d,
					FileInfo: &files.ContentFileInfo{Owner: "root", Group: "root", Mode: 0o755, MTime: mtime},
				})
			}
		}
	}
	return dirs
}

// payload lists the staging root and the extra files with their parent
// directories, sorted by path; keepDir filters directories (RPM packages
// own only their own directories). It returns the scripts and a cleanup.
func payload(p *Package, cs files.Contents, keepDir func(string) bool) (files.Contents, nfpm.Scripts, func(), error) {
	have := map[string]bool{}
	for _, c := range cs {
		have[c.Destination] = true
	}
	extra, sc, cleanup, err := extras(p, have, p.MTime)
	if err != nil {
		return nil, nfpm.Scripts{}, nil, err
	}
	var all files.Contents
	for _, c := range cs {
		if c.Type != files.TypeDir || keepDir(c.Destination) {
			all = append(all, c)
		}
	}
	all = append(all, parentDirs(cs, extra, p.MTime, keepDir)...)
	all = append(all, extra...)
	slices.SortFunc(all, func(a, b *files.Content) int { return strings.Compare(a.Destination, b.Destination) })
	return all, sc, cleanup, nil
}
