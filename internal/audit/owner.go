package audit

import (
	"context"
	"path/filepath"
	"strings"
)

// InterpreterPackage returns the Debian package a package built against the system interpreter must depend on: for
// Debian's own /usr/bin/python3.X, python3.X (the versioned package that owns the versioned path the virtualenv
// links to); else the package dpkg says owns the interpreter's path or its real path. ok is false when no package
// owns it: the target hosts must then provide the interpreter at that path themselves.
func InterpreterPackage(ctx context.Context, executable, realPath, versionXY string) (pkg string, ok bool) {
	if filepath.Dir(executable) == "/usr/bin" && strings.HasPrefix(filepath.Base(executable), "python3") {
		return "python" + versionXY, true
	}
	paths := []string{executable}
	if realPath != "" && realPath != executable {
		paths = append(paths, realPath)
	}
	owners, err := dpkgSearch(ctx, paths)
	if err != nil {
		return "", false
	}
	for _, p := range paths {
		if name := owners[p]; name != "" {
			return name, true
		}
	}
	return "", false
}
