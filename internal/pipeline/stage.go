package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"

	"github.com/venvpkg/venvpkg/internal/treecache"
)

// openStage stages into the tree cache's kept staging root of this
// prefix (treecache.Stage) instead of a new directory, so a warm build
// links only the trees that changed. The stage is named by the prefix
// alone, not by the project's directory, so builds from temporary copies
// (a tarball, a fresh CI checkout) reuse one stage instead of leaving one
// each; a stage holds nothing of the project between builds. When
// another build holds it, this one stages into tmp as before.
func (b *builder) openStage(ctx context.Context, tc *treecache.Cache) error {
	tc.SHA256 = b.finder.SHA256
	name := sha256.Sum256([]byte("prefix " + b.prefix))
	st, err := tc.OpenStage(filepath.Join(b.cacheDir, "stage", hex.EncodeToString(name[:12])))
	if err != nil || st == nil {
		return err
	}
	keys := make([]treecache.Key, len(b.wheels))
	for i, w := range b.wheels {
		if keys[i], err = tc.Key(w); err != nil {
			st.Close()
			return err
		}
	}
	if err := st.Prepare(ctx, keys); err != nil {
		st.Close()
		return err
	}
	b.stage, b.root, b.stageKeys = st, st.Root(), keys
	return nil
}

// saveStage records what the stage holds once the build succeeded. The
// packages are written by then: a stage that cannot be recorded costs the
// next build its reuse (it starts from an empty root), not this build.
func (b *builder) saveStage() {
	if b.stage == nil {
		return
	}
	files := map[string]bool{}
	for i := range b.wheels {
		for _, f := range b.trees.files(i, b.py.CacheTag, !b.opts.NoCompile) {
			files[strings.TrimPrefix(f, "/")] = true
		}
	}
	if err := b.stage.Save(b.stageKeys, files); err != nil {
		b.log.Warnf("the staging root is not kept for the next build: %v", err)
	}
}
