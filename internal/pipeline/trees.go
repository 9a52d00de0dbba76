package pipeline

import (
	"cmp"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/venvpkg/venvpkg/internal/audit"
	"github.com/venvpkg/venvpkg/internal/pkg"
	"github.com/venvpkg/venvpkg/internal/treecache"
	"github.com/venvpkg/venvpkg/internal/wheel"
)

// payloadTrees records which files each wheel put into the staging root,
// so that packaging can write and check them tree by tree, reusing what
// the tree cache kept of earlier builds.
type payloadTrees struct {
	cache     *treecache.Cache // nil with --no-tree-cache
	wheels    []string         // wheel paths; the project's is last
	installed []*wheel.Installed
}

// files lists the final paths wheel i installed, with the bytecode
// compiled for its modules.
func (t payloadTrees) files(i int, cacheTag string, compiled bool) []string {
	inst := t.installed[i]
	fs := slices.Clone(inst.Files)
	if compiled {
		for _, f := range inst.Files {
			if strings.HasSuffix(f, ".py") {
				fs = append(fs, path.Join(path.Dir(f), "__pycache__", strings.TrimSuffix(path.Base(f), ".py")+"."+cacheTag+".pyc"))
			}
		}
	}
	return fs
}

// deb lists the trees of the .deb's data member: the dependencies sorted
// by name and version, then the project. A pyc that did not compile is
// listed but absent, which only means it is in no part. Only the
// dependencies' trees have a cache directory, and only with the tree
// cache; the parts are the same either way.
func (t payloadTrees) deb(cacheTag string, compiled bool) []pkg.Tree {
	if len(t.installed) == 0 {
		return nil
	}
	n := len(t.installed) - 1 // the project's wheel is last
	trees := make([]pkg.Tree, 0, n+1)
	for i := range n {
		inst := t.installed[i]
		tr := pkg.Tree{Name: inst.Name + "-" + inst.Version, Files: t.files(i, cacheTag, compiled)}
		if t.cache != nil {
			if aux := t.cache.AuxDir(t.wheels[i]); aux != "" {
				tr.CacheDir = filepath.Join(aux, "deb")
			}
		}
		trees = append(trees, tr)
	}
	slices.SortStableFunc(trees, func(a, b pkg.Tree) int { return cmp.Compare(a.Name, b.Name) })
	inst := t.installed[n]
	return append(trees, pkg.Tree{Name: inst.Name + "-" + inst.Version, Files: t.files(n, cacheTag, compiled)})
}

// buildEnvDir keeps the project's PEP 517 build environments between
// builds (pybuild.Frontend.EnvCacheDir); the audit refuses its path in
// the payload with the rest of the cache directory.
func (b *builder) buildEnvDir() string { return filepath.Join(b.cacheDir, "buildenv") }

// audit lists the trees whose audit results the tree cache keeps: the
// same files as the .deb's parts, in the entry's aux/audit.
func (t payloadTrees) audit(cacheTag string, compiled bool) []audit.Tree {
	var out []audit.Tree
	for _, tr := range t.deb(cacheTag, compiled) {
		if tr.CacheDir != "" {
			out = append(out, audit.Tree{Files: tr.Files, CacheDir: filepath.Join(filepath.Dir(tr.CacheDir), "audit")})
		}
	}
	return out
}
