package treecache

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStageKeepsOnlyWantedTrees: a stage left by a build holds, after
// Prepare for the next one, what a new root holds after linking the same
// trees; a build that did not Save, or a stage in use, is not trusted.
func TestStageKeepsOnlyWantedTrees(t *testing.T) {
	dir := t.TempDir()
	py, dest := target(t, "/opt/venvs/app")
	c, err := New(filepath.Join(dir, "cache"), py, dest, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	wheels := map[string]string{
		"alpha": makeWheel(t, dir, "alpha", map[string]string{"alpha/__init__.py": "", "alpha/deep/er/mod.py": "X = 1\n"}),
		"beta":  makeWheel(t, dir, "beta", map[string]string{"beta.py": "B = 1\n"}),
		"gamma": makeWheel(t, dir, "gamma", map[string]string{"gamma/__init__.py": "G = 1\n"}),
	}
	keys := map[string]Key{}
	for name, w := range wheels {
		d := dest
		d.Root = filepath.Join(dir, "commit-"+name)
		inst, p, _, err := c.Install(ctx, w, d, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Commit(d.Root, inst, nil, false); err != nil {
			t.Fatal(err)
		}
		if keys[name], err = c.Key(w); err != nil {
			t.Fatal(err)
		}
	}
	// build stages the trees of names into the stage, adds the files a
	// build adds besides (the virtualenv's, the project's) and saves.
	build := func(st *Stage, save bool, names ...string) {
		t.Helper()
		var want []Key
		for _, n := range names {
			want = append(want, keys[n])
		}
		if err := st.Prepare(ctx, want); err != nil {
			t.Fatal(err)
		}
		d := dest
		d.Root = st.Root()
		files := map[string]bool{}
		for _, n := range names {
			inst, p, _, err := c.Install(ctx, wheels[n], d, st)
			if err != nil || p != nil {
				t.Fatalf("%s: %v (pending %v)", n, err, p)
			}
			for _, f := range inst.Files {
				files[strings.TrimPrefix(f, "/")] = true
			}
		}
		for _, f := range []string{"opt/venvs/app/pyvenv.cfg", "opt/venvs/app/lib/python3.11/site-packages/proj/app.py"} {
			p := filepath.Join(st.Root(), f)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if save {
			if err := st.Save(want, files); err != nil {
				t.Fatal(err)
			}
		}
	}
	fresh := func(names ...string) string {
		t.Helper()
		d := dest
		d.Root = filepath.Join(t.TempDir(), "root")
		for _, n := range names {
			if _, _, _, err := c.Install(ctx, wheels[n], d, nil); err != nil {
				t.Fatal(err)
			}
		}
		return listTree(t, d.Root)
	}
	open := func() *Stage {
		t.Helper()
		st, err := c.OpenStage(filepath.Join(dir, "stage"))
		if err != nil || st == nil {
			t.Fatalf("OpenStage: %v, %v", st, err)
		}
		return st
	}

	st := open()
	if other, err := c.OpenStage(filepath.Join(dir, "stage")); other != nil || err != nil {
		t.Fatalf("a stage in use opened again: %v, %v", other, err)
	}
	build(st, true, "alpha", "beta")
	st.Close()

	st = open()
	if err := st.Prepare(ctx, []Key{keys["beta"], keys["gamma"]}); err != nil {
		t.Fatal(err)
	}
	if !st.Has(keys["beta"]) || st.Has(keys["alpha"]) || st.Has(keys["gamma"]) {
		t.Fatalf("kept: beta %t, alpha %t, gamma %t; want only beta", st.Has(keys["beta"]), st.Has(keys["alpha"]), st.Has(keys["gamma"]))
	}
	if got, want := listTree(t, st.Root()), fresh("beta"); got != want {
		t.Fatalf("prepared stage:\n%s\nwant what linking beta alone gives:\n%s", got, want)
	}
	// Not saved: the next build must not trust it.
	build(st, false, "beta", "gamma")
	st.Close()

	st = open()
	defer st.Close()
	if err := st.Prepare(ctx, []Key{keys["beta"]}); err != nil {
		t.Fatal(err)
	}
	if st.Has(keys["beta"]) {
		t.Fatal("a stage whose build did not finish kept its trees")
	}
	if _, err := os.Stat(st.Root()); !os.IsNotExist(err) {
		t.Fatalf("the root of an unfinished build was not emptied: %v", err)
	}
}
