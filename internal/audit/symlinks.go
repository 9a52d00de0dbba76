package audit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// maxLinkHops bounds symlink chains, like the kernel's ELOOP limit.
const maxLinkHops = 40

// Dangling is one symlink whose target will not exist once installed.
type Dangling struct {
	Path   string // final path of the link
	Target string // the link's target as written
}

// DanglingError reports the dangling symlinks of a payload.
type DanglingError struct {
	Links []Dangling // sorted by Path
}

func (e *DanglingError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s in the payload would dangle once installed; ship their targets or remove the links:",
		len(e.Links), plural(len(e.Links), "symlink", "symlinks"))
	for i, l := range e.Links {
		if i == maxListed {
			fmt.Fprintf(&b, "\n  ... and %d more", len(e.Links)-maxListed)
			break
		}
		fmt.Fprintf(&b, "\n  %s -> %s", l.Path, l.Target)
	}
	return b.String()
}

// CheckSymlinks returns a *DanglingError listing every symlink below root
// whose target does not exist on the installed system. Targets are
// resolved as the installed filesystem would resolve them: a relative
// target against the link's directory, an absolute one from "/", every
// intermediate link followed inside the payload. A path that is not in the
// payload is looked up on the build host, standing in for the target
// system (for example /usr/bin/python3.11), unless it lies in one of owned:
// the final directories the package owns entirely, such as the virtualenv
// prefix, where only the payload counts.
func CheckSymlinks(root string, owned []string) error {
	r := &resolver{root: root}
	for _, o := range owned {
		r.owned = append(r.owned, path.Clean("/"+o))
	}
	var dangling []Dangling
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		final := finalPath(root, p)
		ok, err := r.exists(final, 0)
		if err != nil {
			return fmt.Errorf("resolving %s -> %s: %w", final, target, err)
		}
		if !ok {
			dangling = append(dangling, Dangling{Path: final, Target: target})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("checking symlinks below %s: %w", root, err)
	}
	if len(dangling) == 0 {
		return nil
	}
	slices.SortFunc(dangling, func(a, b Dangling) int { return strings.Compare(a.Path, b.Path) })
	return &DanglingError{Links: dangling}
}

type resolver struct {
	root  string
	owned []string // cleaned absolute final paths
}

func (r *resolver) isOwned(p string) bool {
	for _, o := range r.owned {
		if p == o || o == "/" || strings.HasPrefix(p, o+"/") {
			return true
		}
	}
	return false
}

// exists reports whether the final path p (absolute, clean) resolves to an
// existing file on the installed system.
func (r *resolver) exists(p string, hops int) (bool, error) {
	comps := strings.Split(strings.TrimPrefix(path.Clean(p), "/"), "/")
	if len(comps) == 1 && comps[0] == "" {
		return true, nil // "/"
	}
	cur := "/"
	for i, c := range comps {
		next := path.Join(cur, c)
		rest := path.Join(comps[i+1:]...)
		st, err := os.Lstat(filepath.Join(r.root, filepath.FromSlash(next)))
		if errors.Is(err, fs.ErrNotExist) {
			if r.isOwned(next) {
				return false, nil
			}
			_, err := os.Stat(path.Join(next, rest))
			return err == nil, nil
		}
		if err != nil {
			return false, err
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			if hops >= maxLinkHops {
				return false, nil
			}
			target, err := os.Readlink(filepath.Join(r.root, filepath.FromSlash(next)))
			if err != nil {
				return false, err
			}
			if !path.IsAbs(target) {
				target = path.Join(cur, target)
			}
			return r.exists(path.Join(target, rest), hops+1)
		}
		if !st.IsDir() && rest != "" {
			return false, nil
		}
		cur = next
	}
	return true, nil
}
