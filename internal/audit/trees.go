package audit

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/venvpkg/venvpkg/internal/atomicfile"
)

// Tree is a part of the payload whose audit results can be kept between
// builds: a dependency's installed tree from the tree cache, whose files
// never change. What ScanTrees and SharedLibraries find in it is written
// to CacheDir, keyed by what else the result depends on (the forbidden
// strings), and read back instead of its files next time.
type Tree struct {
	// Files are the final paths of the tree's regular files and symlinks.
	Files []string
	// CacheDir keeps the results; a tree without one is always read.
	CacheDir string
}

// keptTree is a Tree during one check: whether its result was kept, and
// the result being gathered when it was not.
type keptTree struct {
	dir   string
	file  string
	done  bool // the kept result is there
	leaks []Leak
	elf   []keptELF
}

// keptELF is what SharedLibraries keeps of one ELF object.
type keptELF struct {
	Final    string
	Class    int
	Machine  int
	Needed   []string
	Sonames  []string
	Imports  []elf.ImportedSymbol
	Verneeds []elf.DynamicVersionNeed
}

// keptTrees opens the trees with a cache directory for the check named
// what, whose result also depends on inputs, and maps their files' final
// paths to them.
func keptTrees(trees []Tree, what string, inputs [][]byte) ([]*keptTree, map[string]*keptTree) {
	h := sha256.New()
	h.Write([]byte("venvpkg-audit 2 " + what + "\n"))
	for _, in := range inputs {
		h.Write([]byte(hex.EncodeToString(in) + "\n"))
	}
	name := what + "-" + hex.EncodeToString(h.Sum(nil))[:32] + ".json"
	var out []*keptTree
	owner := map[string]*keptTree{}
	for _, t := range trees {
		if t.CacheDir == "" {
			continue
		}
		k := &keptTree{dir: t.CacheDir, file: filepath.Join(t.CacheDir, name)}
		for _, f := range t.Files {
			owner[f] = k
		}
		_, err := os.Stat(k.file)
		k.done = err == nil
		out = append(out, k)
	}
	return out, owner
}

func (k *keptTree) load(v any) error {
	data, err := os.ReadFile(k.file)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// save writes v atomically (atomicfile: temporary name, fsync, rename).
func (k *keptTree) save(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(k.dir, 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(k.file, data, 0o644)
}
