package registry

import (
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/format"
	"github.com/venvpkg/venvpkg/internal/pep440"
	"github.com/venvpkg/venvpkg/internal/pkg"
)

func TestResolve(t *testing.T) {
	fs, err := Resolve([]string{"rpm", "deb", "rpm"})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 || fs[0].Name() != "rpm" || fs[1].Name() != "deb" {
		t.Errorf("Resolve(rpm,deb,rpm) = %v, want rpm then deb once each", fs)
	}
	_, err = Resolve([]string{"deb", "snap"})
	if err == nil || !strings.Contains(err.Error(), `"snap"`) || !strings.Contains(err.Error(), strings.Join(Names(), ", ")) {
		t.Errorf("Resolve(snap): %v, want an error naming snap and the known formats", err)
	}
}

// TestFormatsDiffer: every registered format has its own name and the
// formats that install services bring their own flavour.
func TestFormatsDiffer(t *testing.T) {
	seen := map[string]bool{}
	flavours := map[any]string{}
	for _, f := range All {
		if f.Name() == "" || seen[f.Name()] {
			t.Errorf("format name %q is empty or repeated", f.Name())
		}
		seen[f.Name()] = true
		if f.Describe() == "" {
			t.Errorf("%s has no description", f.Name())
		}
		if fl := f.Services(); fl != nil {
			if other, ok := flavours[fl]; ok {
				t.Errorf("%s and %s share one service flavour", f.Name(), other)
			}
			flavours[fl] = f.Name()
			if fl.Name != f.Name() {
				t.Errorf("%s's service flavour is called %q", f.Name(), fl.Name)
			}
		}
	}
}

// TestFileNamesDiffer: the formats of one build never write the same file.
func TestFileNamesDiffer(t *testing.T) {
	in := &format.Input{Package: pkg.Package{Name: "app", Version: "1.0~rc1-1", Arch: "amd64"}, Version: pep440.MustParse("1.0rc1"), Release: "1"}
	seen := map[string]string{}
	for _, f := range All {
		name := f.FileName(in)
		if other, ok := seen[name]; ok {
			t.Errorf("%s and %s both write %s", f.Name(), other, name)
		}
		seen[name] = f.Name()
	}
	if seen["app_1.0~rc1-1_amd64.deb"] != "deb" || seen["app-1.0~rc1-1.x86_64.rpm"] != "rpm" {
		t.Errorf("file names: %v", seen)
	}
}
