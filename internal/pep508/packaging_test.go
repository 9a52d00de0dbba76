package pep508

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"slices"
	"testing"

	"github.com/venvpkg/venvpkg/internal/testutil"
)

// python is Debian 12's interpreter; its python3-packaging (23.0) is the
// independent implementation these tests compare against.
const python = "/usr/bin/python3.11"

// packagingScript reads {"markers": [...], "envs": [...], "requirements": [...]}
// and writes each marker's value per environment (null when packaging
// rejects the marker or raises while evaluating) and each requirement's
// parts (null when invalid).
const packagingScript = `
import json, sys
from packaging.markers import Marker, InvalidMarker
from packaging.requirements import Requirement, InvalidRequirement
req = json.load(sys.stdin)
markers = []
for text in req["markers"]:
    try:
        m = Marker(text)
    except InvalidMarker:
        markers.append(None)
        continue
    row = []
    for env in req["envs"]:
        try:
            row.append(m.evaluate(env))
        except Exception:
            row.append("error")
    markers.append(row)
reqs = []
for text in req["requirements"]:
    try:
        r = Requirement(text)
    except InvalidRequirement:
        reqs.append(None)
        continue
    reqs.append({"name": r.name, "extras": sorted(r.extras), "specs": sorted(str(s) for s in r.specifier),
                 "url": r.url or "", "marker": str(r.marker) if r.marker else ""})
json.dump({"markers": markers, "requirements": reqs}, sys.stdout)
`

type packagingRequirement struct {
	Name   string   `json:"name"`
	Extras []string `json:"extras"`
	Specs  []string `json:"specs"`
	URL    string   `json:"url"`
	Marker string   `json:"marker"`
}

var corpusMarkers = []string{
	`python_version >= "3.8"`,
	`python_version > "3.10"`,
	`python_version < "3.9" or python_version >= "3.11"`,
	`python_full_version == "3.11.*"`,
	`python_full_version ~= "3.11.0"`,
	`python_full_version != "3.11.2"`,
	`python_full_version >= "3.13.0a1"`,
	`python_full_version < "3.13"`,
	`"3.9" <= python_version`,
	`python_version in "3.8 3.9"`,
	`python_version not in "3.8 3.9"`,
	`sys_platform == "linux"`,
	`sys_platform != "win32" and platform_python_implementation == "CPython"`,
	`"linux" in sys_platform`,
	`"win" not in sys_platform`,
	`os_name == "nt" or (os_name == "posix" and platform_machine == "x86_64")`,
	`(os_name == "nt" or os_name == "posix") and platform_machine == "aarch64"`,
	`platform_machine > "aarch64"`,
	`platform_system == "Linux" and implementation_name == "cpython"`,
	`implementation_version >= "3.11"`,
	`extra == "test"`,
	`extra == "Dev_Tools"`,
	`extra != "docs" and python_version >= "3"`,
	`os.name == "posix"`,
	`platform.machine == "x86_64"`,
	`python_implementation == "CPython"`,
	`platform_version == "7"`,
	`python_version >= '3.8' and python_version<'4'`,
	`python_version > "3"and(os_name=="posix"or os_name=="nt")`,
	`os_name == 'a"b'`,
	`"a" == "a"`,
	`python_version === "3.11"`,
	// Invalid for both. (packaging 23.0 also accepts a stray ")" at the
	// end, which the PEP 508 grammar does not; TestParseMarkerErrors covers it.)
	`python_version >> "3"`,
	`python_version = "3"`,
	`os_name == posix`,
	`(os_name == "posix"`,
	`python == "3"`,
	`os_name == "posix" and`,
	``,
}

var corpusEnvs = []Environment{
	linux311,
	with(linux311, "extra", "test"),
	with(linux311, "extra", "dev-tools", "python_version", "3.8", "python_full_version", "3.8.18",
		"implementation_version", "3.8.18", "platform_machine", "aarch64"),
	{
		"python_version": "3.13", "python_full_version": "3.13.0rc1", "os_name": "nt", "sys_platform": "win32",
		"platform_release": "10", "platform_system": "Windows", "platform_version": "10.0.19045",
		"platform_machine": "AMD64", "platform_python_implementation": "CPython",
		"implementation_name": "cpython", "implementation_version": "3.13.0rc1", "extra": "",
	},
}

var corpusRequirements = []string{
	"flask",
	"Flask==2.3.3",
	"requests[security,tests] >= 2.8.1, == 2.8.*",
	"requests (>=2.8.1,<3)",
	"name[ a , b ]",
	`name; python_version<"2.7"`,
	`name>=3 ; python_version < "2.7" and platform_version=='2'`,
	"pip @ https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee9982d4bbb3c72346a6de940a148ea686",
	`name[quux] @ file:///w/x.whl ; os_name=="a"`,
	"name===foo-1",
	"zope.interface~=5.0",
	"a.b-c_d",
	// Invalid for both.
	"",
	">=1.0",
	"name-",
	"flask 2.0",
	"flask>=2.0.*",
	"flask>=2, <=x",
	"flask>=2,,<3",
	"flask[a,b",
	"flask[a b]",
	"flask (>=2",
	"flask==2 junk",
	"flask; python_version >> '3'",
	"flask;",
	"-e .",
}

func TestAgainstPackaging(t *testing.T) {
	if err := exec.Command(python, "-c", "import packaging.markers").Run(); err != nil {
		testutil.Missing(t, "python3-packaging", python+" with packaging", err)
	}
	in, err := json.Marshal(map[string]any{"markers": corpusMarkers, "envs": corpusEnvs, "requirements": corpusRequirements})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(context.Background(), python, "-c", packagingScript)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("running packaging: %v: %s", err, stderr.String())
	}
	var res struct {
		Markers      [][]any                 `json:"markers"`
		Requirements []*packagingRequirement `json:"requirements"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("decoding packaging's answer: %v", err)
	}

	for i, text := range corpusMarkers {
		m, err := ParseMarker(text)
		want := res.Markers[i]
		if (err == nil) != (want != nil) {
			t.Errorf("ParseMarker(%q) error %v, packaging valid = %v", text, err, want != nil)
			continue
		}
		if err != nil {
			continue
		}
		for j, env := range corpusEnvs {
			w, ok := want[j].(bool)
			if !ok {
				continue // packaging raised (a string compared with a version operator)
			}
			if got := m.Evaluate(env); got != w {
				t.Errorf("ParseMarker(%q).Evaluate(env %d) = %v, packaging says %v", text, j, got, w)
			}
		}
	}

	for i, text := range corpusRequirements {
		r, err := ParseRequirement(text)
		want := res.Requirements[i]
		if (err == nil) != (want != nil) {
			t.Errorf("ParseRequirement(%q) error %v, packaging valid = %v", text, err, want != nil)
			continue
		}
		if err != nil {
			continue
		}
		extras := slices.Sorted(slices.Values(r.Extras))
		var specs []string
		for _, s := range r.Specifier {
			specs = append(specs, s.String())
		}
		slices.Sort(specs)
		if r.Name != want.Name || !slices.Equal(extras, want.Extras) || !slices.Equal(specs, want.Specs) || r.URL != want.URL || r.Marker.String() != want.Marker {
			t.Errorf("ParseRequirement(%q) = %q %v %v %q %q, packaging gives %q %v %v %q %q",
				text, r.Name, extras, specs, r.URL, r.Marker, want.Name, want.Extras, want.Specs, want.URL, want.Marker)
		}
	}
}
