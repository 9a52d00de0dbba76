// Package registry is the one place the package formats are listed. A new
// format is a package below internal/format and one line here.
package registry

import (
	"fmt"
	"strings"

	"github.com/venvpkg/venvpkg/internal/format"
	"github.com/venvpkg/venvpkg/internal/format/deb"
	"github.com/venvpkg/venvpkg/internal/format/oci"
	"github.com/venvpkg/venvpkg/internal/format/rpm"
)

// Described is a format with a one-line description for --help and
// completion.
type Described interface {
	format.Format
	Describe() string
}

// All are the formats venvpkg writes, in the order help lists them.
var All = []Described{
	deb.Format{},
	rpm.Format{},
	oci.Format{},
	oci.Format{Docker: true},
}

// Names lists the --format values.
func Names() []string {
	names := make([]string, len(All))
	for i, f := range All {
		names[i] = f.Name()
	}
	return names
}

// Lookup returns the format called name.
func Lookup(name string) (format.Format, error) {
	for _, f := range All {
		if f.Name() == name {
			return f, nil
		}
	}
	return nil, fmt.Errorf("--format %q is not supported; use one or more of %s, separated by commas", name, strings.Join(Names(), ", "))
}

// Resolve looks up a --format list, dropping repeats and keeping order.
func Resolve(names []string) ([]format.Format, error) {
	var out []format.Format
	seen := map[string]bool{}
	for _, n := range names {
		f, err := Lookup(n)
		if err != nil {
			return nil, err
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, f)
		}
	}
	return out, nil
}
