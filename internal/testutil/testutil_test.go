package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCacheDir(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("ModuleRoot() = %s without go.mod: %v", root, err)
	}
	tests := []struct{ name, env, want string }{
		{"default under the module root", "", filepath.Join(root, ".cache", "test")},
		{"environment override", "/srv/cache", "/srv/cache"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(CacheEnv, tt.env)
			if got := CacheDir(); got != tt.want {
				t.Errorf("CacheDir() with %s=%q = %q, want %q", CacheEnv, tt.env, got, tt.want)
			}
		})
	}
}
