package audit

import (
	"errors"
	"slices"
	"testing"
)

func TestCheckSymlinks(t *testing.T) {
	tests := []struct {
		name  string
		tree  map[string]string
		owned []string
		want  []Dangling
	}{
		{
			name: "relative and absolute links into the payload",
			tree: map[string]string{
				"opt/app/bin/python3":             "->python",
				"opt/app/bin/python":              "->/usr/bin/python3.11-from-payload",
				"usr/bin/python3.11-from-payload": "ELF",
				"opt/app/lib64":                   "->lib",
				"opt/app/lib/x.py":                "",
				"opt/app/lib-link/x.py":           "->../lib64/x.py",
			},
			owned: []string{"/opt/app"},
		},
		{
			name:  "absolute link to the host",
			tree:  map[string]string{"opt/app/bin/sh": "->/bin/sh"},
			owned: []string{"/opt/app"},
		},
		{
			name:  "relative link leaving the payload to the host",
			tree:  map[string]string{"opt/app/bin/sh": "->../../../../../../bin/sh"},
			owned: []string{"/opt/app"},
		},
		{
			name: "missing targets",
			tree: map[string]string{
				"opt/app/bin/python":  "->/usr/bin/python3.99-nowhere",
				"opt/app/bin/tool":    "->../libexec/tool",
				"opt/app/lib/site.py": "",
			},
			owned: []string{"/opt/app"},
			want: []Dangling{
				{Path: "/opt/app/bin/python", Target: "/usr/bin/python3.99-nowhere"},
				{Path: "/opt/app/bin/tool", Target: "../libexec/tool"},
			},
		},
		{
			name:  "owned directory is not looked up on the host",
			tree:  map[string]string{"opt/app/bin/sh": "->/bin/sh"},
			owned: []string{"/opt/app", "/bin"},
			want:  []Dangling{{Path: "/opt/app/bin/sh", Target: "/bin/sh"}},
		},
		{
			name:  "through a file",
			tree:  map[string]string{"opt/app/f": "", "opt/app/l": "->f/x"},
			owned: []string{"/opt/app"},
			want:  []Dangling{{Path: "/opt/app/l", Target: "f/x"}},
		},
		{
			name:  "loop",
			tree:  map[string]string{"opt/app/a": "->b", "opt/app/b": "->a"},
			owned: []string{"/opt/app"},
			want:  []Dangling{{Path: "/opt/app/a", Target: "b"}, {Path: "/opt/app/b", Target: "a"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSymlinks(writeTree(t, tt.tree), tt.owned)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CheckSymlinks = %v, want nil", err)
				}
				return
			}
			var de *DanglingError
			if !errors.As(err, &de) {
				t.Fatalf("CheckSymlinks = %v, want a *DanglingError", err)
			}
			if !slices.Equal(de.Links, tt.want) {
				t.Errorf("CheckSymlinks dangling = %+v, want %+v", de.Links, tt.want)
			}
		})
	}
}
