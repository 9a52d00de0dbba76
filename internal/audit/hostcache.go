package audit

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// hostStateFiles decide what the build host answers for a soname: the
// ld.so cache and dpkg's database.
var hostStateFiles = []string{"/etc/ld.so.cache", "/var/lib/dpkg/status"}

// keptHostResult is one soname lookup as ShlibOptions.HostCacheDir keeps it.
type keptHostResult struct {
	Soname  string
	Class   int
	Machine int
	Package string
	Reason  string
}

// hostCacheFile names the file keeping the lookups of this host state:
// the size and time of the ld.so cache and of dpkg's status file, and the
// library directories searched. "" when the state cannot be read.
func hostCacheFile(dir string, libDirs []string) string {
	h := sha256.New()
	h.Write([]byte("venvpkg-audit-host 1\n"))
	for _, f := range hostStateFiles {
		st, err := os.Stat(f)
		if err != nil {
			return ""
		}
		fmt.Fprintf(h, "%s %d %d\n", f, st.Size(), st.ModTime().UnixNano())
	}
	fmt.Fprintf(h, "%q\n", libDirs)
	return filepath.Join(dir, "host-"+hex.EncodeToString(h.Sum(nil))[:32]+".json")
}

// loadHostResults fills h.results from the kept file, if any.
func (h *hostLibs) loadHostResults(file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		return
	}
	var kept []keptHostResult
	if json.Unmarshal(data, &kept) != nil {
		return
	}
	for _, k := range kept {
		h.results[hostKey{k.Soname, elfKind{elf.Class(k.Class), elf.Machine(k.Machine)}}] = hostResult{pkg: k.Package, reason: k.Reason}
	}
}

// saveHostResults keeps h.results in file, under a temporary name renamed
// into place.
func (h *hostLibs) saveHostResults(file string) error {
	var kept []keptHostResult
	for k, r := range h.results {
		kept = append(kept, keptHostResult{Soname: k.soname, Class: int(k.kind.class), Machine: int(k.kind.machine), Package: r.pkg, Reason: r.reason})
	}
	slices.SortFunc(kept, func(a, b keptHostResult) int {
		if a.Soname != b.Soname {
			if a.Soname < b.Soname {
				return -1
			}
			return 1
		}
		return a.Machine*100 + a.Class - b.Machine*100 - b.Class
	})
	k := &keptTree{dir: filepath.Dir(file), file: file}
	return k.save(kept)
}
