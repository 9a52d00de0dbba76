package closure

import (
	"context"

	"golang.org/x/sync/errgroup"

	"github.com/venvpkg/venvpkg/internal/wheel"
)

// FromWheels reads the core metadata of each wheel, jobs at a time, checking each archive within lim as installing
// it does, and returns one Dist per wheel in the order given, with Source and Extras left for the caller.
func FromWheels(ctx context.Context, wheels []string, lim wheel.Limits, jobs int) ([]Dist, error) {
	dists := make([]Dist, len(wheels))
	g, _ := errgroup.WithContext(ctx)
	g.SetLimit(max(jobs, 1))
	for i, w := range wheels {
		g.Go(func() error {
			m, err := wheel.ReadMetadataLimits(w, lim) // errors name the wheel
			if err != nil {
				return err
			}
			dists[i] = Dist{Name: m.Name, Version: m.Version, RequiresDist: m.RequiresDist, RequiresPython: m.RequiresPython}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return dists, nil
}
