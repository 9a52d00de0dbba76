package interp

import (
	"os"
	"path/filepath"
)

// Versioned returns the python3.N beside python that is the same file, when python is not such a name itself:
// /usr/bin/python3 → /usr/bin/python3.11 on Debian 12. A virtualenv linking to the versioned path needs only the
// package that provides python3.N (which is what a package built for it depends on), and keeps its minor version
// when python3 later moves to another one. It returns python unchanged when it already names a version, when it
// cannot be read, or when no single python3.N in its directory is the same file.
func Versioned(python string) string {
	if versionedPython.MatchString(filepath.Base(python)) {
		return python
	}
	want, err := os.Stat(python)
	if err != nil {
		return python
	}
	dir := filepath.Dir(python)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return python
	}
	found := ""
	for _, e := range entries {
		if !versionedPython.MatchString(e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if st, err := os.Stat(p); err == nil && os.SameFile(want, st) {
			if found != "" {
				return python // two versioned names for one file: no way to tell which is meant
			}
			found = p
		}
	}
	if found == "" {
		return python
	}
	return found
}
