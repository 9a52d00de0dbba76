package repo

import (
	"cmp"
	"context"
	"slices"
	"strings"
)

// Published is one package file of a repository, as its indexes list it.
type Published struct {
	Path      string // storage name: apt/pool/main/w/webapp/webapp_1.0.0-1_amd64.deb
	Format    string // "deb" or "rpm"
	Suite     string
	Component string // APT component; "" for YUM
	Name      string
	Version   string // as the package manager writes it: 1.0.0-1, or version-release for RPM
	Arch      string
}

// Contents lists every package of every APT suite and YUM repository in
// st, read through their signed indexes (InRelease and the Packages files
// it lists; repomd.xml and its primary metadata), sorted by format, suite,
// name and path. A package listed by several suites appears once per suite.
func Contents(ctx context.Context, st Storage) ([]Published, error) {
	var out []Published
	names, err := st.List(ctx, AptRoot+"/dists")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		suite, file, _ := strings.Cut(strings.TrimPrefix(n, AptRoot+"/dists/"), "/")
		if file != "InRelease" {
			continue
		}
		s, err := readAPTSuite(ctx, st, suite, nil)
		if err != nil {
			return nil, err
		}
		for comp, es := range s.components {
			for _, e := range es {
				out = append(out, Published{Path: AptRoot + "/" + e.filename(), Format: "deb", Suite: suite, Component: comp,
					Name: e.name(), Version: e.version(), Arch: e.arch()})
			}
		}
	}
	names, err = st.List(ctx, RPMRoot)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		suite, file, _ := strings.Cut(strings.TrimPrefix(n, RPMRoot+"/"), "/")
		if file != "repodata/repomd.xml" {
			continue
		}
		root := RPMRoot + "/" + suite + "/"
		r, err := readYUMRepo(ctx, st, root, nil)
		if err != nil {
			return nil, err
		}
		for _, p := range r.packages {
			out = append(out, Published{Path: root + p.location, Format: "rpm", Suite: suite,
				Name: p.info.Name, Version: p.info.Version + "-" + p.info.Release, Arch: p.info.Arch})
		}
	}
	slices.SortFunc(out, func(a, b Published) int {
		return cmp.Or(strings.Compare(a.Format, b.Format), strings.Compare(a.Suite, b.Suite), strings.Compare(a.Component, b.Component),
			strings.Compare(a.Name, b.Name), strings.Compare(a.Path, b.Path))
	})
	return out, nil
}
