package pyvenv

import (
	"strings"
	"testing"
)

func TestVenvBuildBackend(t *testing.T) {
	v := New(t, DebianPython)
	prefix := strings.TrimSpace(v.Run(t, "python", "-c", "import sys; print(sys.prefix)"))
	if prefix != v.Dir {
		t.Errorf("sys.prefix = %q, want %q", prefix, v.Dir)
	}
	v.InstallBuildBackend(t)
	got := strings.TrimSpace(v.Run(t, "python", "-c", "import setuptools, sys; print(setuptools.__file__.startswith(sys.prefix))"))
	if got != "True" {
		t.Errorf("setuptools imported from outside the venv: %q", got)
	}
}
