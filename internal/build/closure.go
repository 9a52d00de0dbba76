package build

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/venvpkg/venvpkg/internal/closure"
	"github.com/venvpkg/venvpkg/internal/lock"
	"github.com/venvpkg/venvpkg/internal/pep508"
	"github.com/venvpkg/venvpkg/internal/wheel"
)

// checkLock checks, before anything is installed, that the wheels about to be installed are the whole closure of
// the project's requirements as its built wheel declares them (internal/closure). Problems fail the build unless
// --allow-partial-lock (or [tool.venvpkg] allow-partial-lock) makes them warnings; unused pins are warnings.
func (b *builder) checkLock(ctx context.Context) error {
	project, pins, err := b.closureInput(ctx)
	if err != nil {
		return err
	}
	res := closure.Check(project, pins, pep508.Environment(b.py.Markers))
	for _, u := range res.Unused {
		b.warn(u)
	}
	partial := b.opts.AllowPartialLock || b.cfg.Tool.AllowPartialLock
	if partial {
		b.warn(fmt.Sprintf("the lock's completeness is not enforced (%s): a missing or conflicting requirement is only a warning, and the package may fail at run time", partialSource(b.opts.AllowPartialLock)))
	}
	if len(res.Problems) == 0 {
		b.log.Debugf("lock: %d distributions cover every requirement of %s", len(pins), project.Name)
		return nil
	}
	if partial {
		for _, p := range res.Problems {
			b.warn(p.Message)
		}
		return nil
	}
	where := displayPath(b.lockPath)
	if b.lockPath == "" {
		where = "no lock file was found (looked for " + lock.SearchOrder() + ")"
	}
	return fmt.Errorf("the lock does not install what the project needs (%s):\n%w\npin every requirement with a version that satisfies it (regenerate the lock: pip-compile --generate-hashes, uv export, uv lock), or pass --allow-partial-lock if the lock is partial on purpose",
		where, res.Err())
}

func partialSource(flag bool) string {
	if flag {
		return "--allow-partial-lock"
	}
	return "[tool.venvpkg] allow-partial-lock"
}

// closureInput reads the core metadata of the project's wheel and of every dependency wheel, and pairs each with
// its lock entry (where it is pinned, and the extras the lock asks of it).
func (b *builder) closureInput(ctx context.Context) (closure.Dist, []closure.Dist, error) {
	all := append(append([]string{}, b.wheels...), b.projWheel)
	metas := make([]*wheel.Metadata, len(all))
	g, _ := errgroup.WithContext(ctx)
	g.SetLimit(b.jobs)
	for i, w := range all {
		g.Go(func() error {
			m, err := wheel.ReadMetadataLimits(w, b.opts.WheelLimits) // checks the archive as installing does; errors name the wheel
			if err != nil {
				return err
			}
			metas[i] = m
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return closure.Dist{}, nil, err
	}
	dist := func(m *wheel.Metadata) closure.Dist {
		d := closure.Dist{Name: m.Name, Version: m.Version, RequiresDist: m.RequiresDist, RequiresPython: m.RequiresPython}
		if r, ok := b.lock.Lookup(m.Name); ok {
			d.Source, d.Extras = r.Source, r.Extras
		}
		return d
	}
	project := dist(metas[len(metas)-1])
	project.Source = "" // the project's own entry in a lock names extras, not where it comes from
	pins := make([]closure.Dist, 0, len(b.wheels))
	for _, m := range metas[:len(metas)-1] {
		pins = append(pins, dist(m)) // selectArtifacts leaves the project's own lock entry out
	}
	return project, pins, nil
}
