package interp

import (
	"os"
	"path/filepath"
	"testing"
)

func TestVersioned(t *testing.T) {
	dir := t.TempDir()
	write := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	link := func(target, name string) string {
		p := filepath.Join(dir, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	py311 := write("python3.11")
	write("python3.12")
	write("python3.11-config")
	py3 := link("python3.11", "python3") // Debian: a relative link
	abs := link(py311, "python")         // an absolute link
	chain := link("python3", "py")       // a link to a link
	copyPy := write("python-copy")       // a separate file
	hard := filepath.Join(dir, "python-hard")
	if err := os.Link(py311, hard); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	elsewhere := filepath.Join(other, "python3")
	if err := os.Symlink(py311, elsewhere); err != nil {
		t.Fatal(err)
	}

	tests := []struct{ name, in, want string }{
		{"versioned name stays", py311, py311},
		{"python3 link", py3, py311},
		{"absolute link", abs, py311},
		{"chain of links", chain, py311},
		{"hard link", hard, py311},
		{"separate file stays", copyPy, copyPy},
		{"no versioned name beside it", elsewhere, elsewhere},
		{"missing stays", filepath.Join(dir, "python2"), filepath.Join(dir, "python2")},
	}
	for _, tt := range tests {
		if got := Versioned(tt.in); got != tt.want {
			t.Errorf("%s: Versioned(%s) = %s, want %s", tt.name, tt.in, got, tt.want)
		}
	}
	if _, err := os.Stat("/usr/bin/python3.11"); err == nil {
		if real, _ := filepath.EvalSymlinks("/usr/bin/python3"); real == "/usr/bin/python3.11" {
			if got := Versioned("/usr/bin/python3"); got != "/usr/bin/python3.11" {
				t.Errorf("Versioned(/usr/bin/python3) = %s on Debian 12, want /usr/bin/python3.11", got)
			}
		}
	}
}
