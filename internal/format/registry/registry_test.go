package registry

import (
	"strings"
	"testing"
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
