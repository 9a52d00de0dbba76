package deb

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/format"
	"github.com/venvpkg/venvpkg/internal/pkg"
)

func tags(ovs []pkg.LintianOverride) string {
	var ts []string
	for _, o := range ovs {
		ts = append(ts, o.Tag)
	}
	return strings.Join(ts, " ")
}

// TestLintianOverrides: each override is there exactly when its cause is.
func TestLintianOverrides(t *testing.T) {
	root := t.TempDir()
	bin := filepath.Join(root, "opt/venvs/app/bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	in := &format.Input{Package: pkg.Package{Root: root}, Prefix: "/opt/venvs/app"}
	if got := tags(lintianOverrides(in)); got != "dir-or-file-in-opt" {
		t.Errorf("bare /opt virtualenv: %q", got)
	}
	os.WriteFile(filepath.Join(bin, "app"), []byte("#!/opt/venvs/app/bin/python\n"), 0o755)
	os.WriteFile(filepath.Join(bin, "tool"), []byte("#!/bin/sh\n"), 0o755)
	in.Compiled, in.BundledPython = true, true
	want := "dir-or-file-in-opt package-installs-python-pycache-dir embedded-library unstripped-binary-or-object unusual-interpreter"
	if got := tags(lintianOverrides(in)); got != want {
		t.Errorf("compiled, bundled, with console scripts: %q, want %q", got, want)
	}
	in.Prefix, in.Compiled, in.BundledPython = "/srv/app", false, false
	if got := tags(lintianOverrides(in)); got != "" {
		t.Errorf("outside /opt, no bytecode, no scripts under the prefix: %q", got)
	}
}
