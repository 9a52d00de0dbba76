package pipeline

import (
	"context"
	"fmt"

	"github.com/venvpkg/venvpkg/internal/closure"
	"github.com/venvpkg/venvpkg/internal/lock"
	"github.com/venvpkg/venvpkg/internal/pep508"
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
	dists, err := closure.FromWheels(ctx, append(append([]string{}, b.wheels...), b.projWheel), b.opts.WheelLimits, b.jobs)
	if err != nil {
		return closure.Dist{}, nil, err
	}
	for i := range dists {
		if r, ok := b.lock.Lookup(dists[i].Name); ok {
			dists[i].Source, dists[i].Extras = r.Source, r.Extras
		}
	}
	// A lock entry of the project names extras, not where the project comes from; selectArtifacts leaves that
	// entry out of b.wheels.
	project := dists[len(dists)-1]
	project.Source = ""
	return project, dists[:len(dists)-1], nil
}
