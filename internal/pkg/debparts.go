package pkg

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/venvpkg/venvpkg/internal/debarchive"
)

// Tree is a set of staged files that the .deb's data member writes as one
// part of its own (debarchive.Part), after the directories and the files
// of no tree: a cached dependency's installed tree, or the project's.
// Trees keep the order of Package.Trees, so the layout of data.tar depends
// only on which trees the payload has, never on the cache.
type Tree struct {
	Name string
	// Files are the final paths of the regular files and symlinks the
	// tree owns; directories always belong to the first part.
	Files []string
	// CacheDir keeps the tree's md5sums between builds ("" for none).
	CacheDir string
}

// writeDebData is debarchive.Write; tests replace it to make a write fail
// half-way.
var writeDebData = debarchive.Write

// debParts lists the staging root and the extra files as data.tar parts:
// first every directory and every file of no tree (the virtualenv's own
// files and the extra files), sorted by path, then each tree's files in
// the order of p.Trees, sorted by path.
func debParts(ctx context.Context, p *Package) ([]debarchive.Part, error) {
	owner := map[string]int{}
	for i, t := range p.Trees {
		for _, f := range t.Files {
			owner[f] = i + 1
		}
	}
	parts := make([]debarchive.Part, 1+len(p.Trees))
	parts[0] = debarchive.Part{Name: "the virtualenv", MTime: p.MTime}
	for i, t := range p.Trees {
		parts[i+1] = debarchive.Part{Name: t.Name, MTime: p.MTime, CacheDir: t.CacheDir}
	}
	root := p.Root
	info, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("staging root: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("staging root %s is not a directory", root)
	}
	have := map[string]bool{}
	err = filepath.WalkDir(root, func(file string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if file == root {
			return nil
		}
		final := "/" + filepath.ToSlash(strings.TrimPrefix(file, root+string(filepath.Separator)))
		have[final] = true
		e := debarchive.Entry{Path: final}
		switch t := d.Type(); {
		case t.IsDir():
			e.Type, e.Mode = debarchive.Dir, 0o755
		case t&fs.ModeSymlink != 0:
			target, err := os.Readlink(file)
			if err != nil {
				return err
			}
			e.Type, e.Link, e.Mode = debarchive.Symlink, target, 0o777
		case t.IsRegular():
			st, err := d.Info()
			if err != nil {
				return err
			}
			e.Type, e.Source, e.Size, e.Mode = debarchive.File, file, st.Size(), 0o644
			if st.Mode().Perm()&0o111 != 0 {
				e.Mode = 0o755
			}
		default:
			return fmt.Errorf("%s is a %s; packages may hold only directories, regular files and symlinks", final, t.Type())
		}
		i := 0
		if e.Type != debarchive.Dir {
			i = owner[final]
		}
		parts[i].Entries = append(parts[i].Entries, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing staging root %s: %w", root, err)
	}
	for _, f := range p.Files {
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path {
			return nil, fmt.Errorf("file %q: give a clean absolute path", f.Path)
		}
		if have[f.Path] {
			return nil, fmt.Errorf("file %s is in the payload twice", f.Path)
		}
		have[f.Path] = true
		for d := path.Dir(f.Path); d != "/" && !have[d]; d = path.Dir(d) {
			have[d] = true
			parts[0].Entries = append(parts[0].Entries, debarchive.Entry{Path: d, Type: debarchive.Dir, Mode: 0o755})
		}
		parts[0].Entries = append(parts[0].Entries, debarchive.Entry{
			Path: f.Path, Type: debarchive.File, Mode: f.Mode.Perm(), Size: int64(len(f.Data)), Data: f.Data,
			Owner: f.Owner, Group: f.Group,
		})
	}
	for i := range parts {
		slices.SortFunc(parts[i].Entries, func(a, b debarchive.Entry) int { return strings.Compare(a.Path, b.Path) })
	}
	return parts, nil
}

// debControl is the control member's content for p.
func debControl(p *Package) *debarchive.Control {
	c := &debarchive.Control{
		Package: p.Name, Version: p.Version, Architecture: p.Arch, Maintainer: p.Maintainer,
		Section: p.Section, Priority: p.Priority, Depends: p.Depends, Homepage: p.Homepage,
		Description: controlDescription(p.Summary, p.Description),
		Scripts: map[string]string{
			"preinst": p.Scripts.PreInstall, "postinst": p.Scripts.PostInstall,
			"prerm": p.Scripts.PreRemove, "postrm": p.Scripts.PostRemove,
		},
	}
	for _, f := range p.Files {
		if f.Config {
			c.Conffiles = append(c.Conffiles, f.Path)
		}
	}
	slices.Sort(c.Conffiles)
	return c
}

// checkScripts refuses maintainer scripts without an interpreter line.
func checkScripts(s Scripts) error {
	for _, sc := range []struct{ name, body string }{
		{"preinstall", s.PreInstall}, {"postinstall", s.PostInstall},
		{"preremove", s.PreRemove}, {"postremove", s.PostRemove},
	} {
		if sc.body != "" && !strings.HasPrefix(sc.body, "#!") {
			return fmt.Errorf("the %s script must start with an interpreter line (#!/bin/sh)", sc.name)
		}
	}
	return nil
}
