package closure

import (
	"fmt"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/pep508"
)

// env311 is the marker environment of Debian 12's CPython 3.11.
var env311 = pep508.Environment{
	"python_version": "3.11", "python_full_version": "3.11.2", "os_name": "posix", "sys_platform": "linux",
	"platform_system": "Linux", "platform_machine": "x86_64", "platform_python_implementation": "CPython",
	"implementation_name": "cpython", "implementation_version": "3.11.2", "platform_release": "6.1.0",
	"platform_version": "#1 SMP Debian 6.1.0",
}

func envWith(k, v string) pep508.Environment {
	e := pep508.Environment{}
	for key, val := range env311 {
		e[key] = val
	}
	e[k] = v
	return e
}

// Requires-Dist of Flask 2.2.2 and its dependencies, as their wheels' METADATA write them.
var (
	flask = Dist{Name: "Flask", Version: "2.2.2", Source: "requirements.txt:3", RequiresDist: []string{
		"Werkzeug (>=2.2.2)", "Jinja2 (>=3.0)", "itsdangerous (>=2.0)", "click (>=8.0)",
		`importlib-metadata (>=3.6.0) ; python_version < "3.10"`,
		"asgiref (>=3.2) ; extra == 'async'", "python-dotenv ; extra == 'dotenv'",
	}, RequiresPython: ">=3.7"}
	werkzeug     = Dist{Name: "Werkzeug", Version: "2.2.2", Source: "requirements.txt:9", RequiresDist: []string{"MarkupSafe (>=2.1.1)", "watchdog ; extra == 'watchdog'"}, RequiresPython: ">=3.7"}
	jinja2       = Dist{Name: "Jinja2", Version: "3.1.2", Source: "requirements.txt:5", RequiresDist: []string{"MarkupSafe (>=2.0)", "Babel (>=2.7) ; extra == 'i18n'"}, RequiresPython: ">=3.7"}
	itsdangerous = Dist{Name: "itsdangerous", Version: "2.1.2", Source: "requirements.txt:4", RequiresPython: ">=3.7"}
	click        = Dist{Name: "click", Version: "8.1.3", Source: "requirements.txt:2", RequiresDist: []string{`colorama ; platform_system == "Windows"`, `importlib-metadata ; python_version < "3.8"`}, RequiresPython: ">=3.7"}
	markupsafe   = Dist{Name: "MarkupSafe", Version: "2.1.2", Source: "requirements.txt:8", RequiresPython: ">=3.7"}
	asgiref      = Dist{Name: "asgiref", Version: "3.6.0", Source: "requirements.txt:1", RequiresPython: ">=3.7"}
	myapp        = Dist{Name: "myapp", Version: "1.4.0", RequiresDist: []string{"flask>=2.2"}}
)

func with(d Dist, change func(*Dist)) Dist {
	d.RequiresDist = append([]string(nil), d.RequiresDist...)
	change(&d)
	return d
}

func messages(r *Result) string {
	var b strings.Builder
	for _, p := range r.Problems {
		b.WriteString(p.Message + "\n")
	}
	return b.String()
}

func TestComplete(t *testing.T) {
	r := Check(myapp, []Dist{click, flask, itsdangerous, jinja2, markupsafe, werkzeug}, env311)
	if err := r.Err(); err != nil {
		t.Fatalf("Check(the whole Flask closure) error:\n%v", err)
	}
	if len(r.Unused) != 0 {
		t.Errorf("Unused = %q, want none", r.Unused)
	}
}

// TestFlaskAlone is the lock of the issue: flask==2.2.2 and nothing else is refused, naming all four missing
// requirements with the chain that needs them, in one run.
func TestFlaskAlone(t *testing.T) {
	r := Check(myapp, []Dist{flask}, env311)
	want := []string{
		"Flask 2.2.2 requires Werkzeug>=2.2.2, which the lock does not pin (needed by myapp → Flask)",
		"Flask 2.2.2 requires Jinja2>=3.0, which the lock does not pin (needed by myapp → Flask)",
		"Flask 2.2.2 requires itsdangerous>=2.0, which the lock does not pin (needed by myapp → Flask)",
		"Flask 2.2.2 requires click>=8.0, which the lock does not pin (needed by myapp → Flask)",
	}
	if got := messages(r); got != strings.Join(want, "\n")+"\n" {
		t.Errorf("Check(flask alone) problems:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	for _, p := range r.Problems {
		if p.Kind != Missing {
			t.Errorf("problem %q has kind %d, want Missing", p.Message, p.Kind)
		}
	}
	if r.Err() == nil {
		t.Error("Err() = nil, want the problems")
	}
}

func TestProjectRequirementMissing(t *testing.T) {
	r := Check(myapp, nil, env311)
	want := "myapp 1.4.0 requires flask>=2.2, which the lock does not pin\n"
	if got := messages(r); got != want {
		t.Errorf("problems:\n%swant:\n%s", got, want)
	}
}

func TestMarkers(t *testing.T) {
	all := []Dist{click, flask, itsdangerous, jinja2, markupsafe, werkzeug}
	tests := []struct {
		name string
		env  pep508.Environment
		want string
	}{
		{"python 3.11 needs no importlib-metadata", env311, ""},
		{"python 3.9 needs importlib-metadata", envWith("python_version", "3.9"),
			"Flask 2.2.2 requires importlib-metadata>=3.6.0, which the lock does not pin (needed by myapp → Flask)\n"},
		{"windows needs colorama", envWith("platform_system", "Windows"),
			"click 8.1.3 requires colorama, which the lock does not pin (needed by myapp → Flask → click)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := messages(Check(myapp, all, tt.env)); got != tt.want {
				t.Errorf("problems:\n%swant:\n%s", got, tt.want)
			}
		})
	}
}

func TestExtras(t *testing.T) {
	base := []Dist{click, flask, itsdangerous, jinja2, markupsafe, werkzeug}
	flaskAsync := []Dist{click, with(flask, func(d *Dist) { d.Extras = []string{"async"} }), itsdangerous, jinja2, markupsafe, werkzeug}
	needAsgiref := "Flask 2.2.2 requires asgiref>=3.2, which the lock does not pin (needed by myapp → Flask)\n"
	tests := []struct {
		name    string
		project Dist
		pins    []Dist
		want    string
	}{
		{"no extra, no asgiref", myapp, base, ""},
		{"project asks flask[async]", with(myapp, func(d *Dist) { d.RequiresDist = []string{"flask[async]>=2.2"} }), base, needAsgiref},
		{"lock pins flask[async]", myapp, flaskAsync, needAsgiref},
		{"project extra requested", with(myapp, func(d *Dist) {
			d.RequiresDist = []string{"flask>=2.2", "flask[async] ; extra == 'web'"}
			d.Extras = []string{"Web"}
		}), base, needAsgiref},
		{"project extra not requested", with(myapp, func(d *Dist) {
			d.RequiresDist = []string{"flask>=2.2", "flask[async] ; extra == 'web'"}
		}), base, ""},
		{"extra satisfied", with(myapp, func(d *Dist) { d.RequiresDist = []string{"flask[async]>=2.2"} }), append(base, asgiref), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := messages(Check(tt.project, tt.pins, env311)); got != tt.want {
				t.Errorf("problems:\n%swant:\n%s", got, tt.want)
			}
		})
	}
}

func TestConflicts(t *testing.T) {
	old := with(werkzeug, func(d *Dist) { d.Version = "2.0.3" })
	r := Check(myapp, []Dist{click, flask, itsdangerous, jinja2, markupsafe, old}, env311)
	want := "Flask 2.2.2 requires Werkzeug>=2.2.2, but the lock pins Werkzeug 2.0.3 (requirements.txt:9) (needed by myapp → Flask)\n"
	if got := messages(r); got != want {
		t.Errorf("problems:\n%swant:\n%s", got, want)
	}
	if len(r.Problems) == 1 && r.Problems[0].Kind != Conflict {
		t.Errorf("kind = %d, want Conflict", r.Problems[0].Kind)
	}
}

// TestPrereleases follows pip: a requirement accepts a pinned pre-release when its specifier admits the version
// (pip matches dependencies with prereleases=True once a version is chosen), and <V still excludes V's own
// pre-releases (PEP 440).
func TestPrereleases(t *testing.T) {
	rest := []Dist{click, itsdangerous, jinja2, markupsafe}
	tests := []struct {
		name     string
		version  string
		werkzeug string // Flask's requirement on Werkzeug
		ok       bool
	}{
		{"later pre-release meets >=", "2.3.0rc1", "Werkzeug (>=2.2.2)", true},
		{"pre-release of the bound misses >=", "2.2.2rc1", "Werkzeug (>=2.2.2)", false},
		{"dev release of the bound misses >=", "2.2.2.dev3", "Werkzeug (>=2.2.2)", false},
		{"pre-release of the upper bound misses <", "3.0.0a1", "Werkzeug (>=2.2.2,<3)", false},
		{"pre-release below the upper bound meets <", "2.9.0b1", "Werkzeug (>=2.2.2,<3)", true},
		{"named pre-release", "3.0.0rc2", "Werkzeug (==3.0.0rc2)", true},
		{"post-release meets ==", "2.2.2.post1", "Werkzeug (==2.2.2.*)", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := with(werkzeug, func(d *Dist) { d.Version = tt.version })
			f := with(flask, func(d *Dist) { d.RequiresDist[0] = tt.werkzeug })
			r := Check(myapp, append(rest, f, w), env311)
			if (r.Err() == nil) != tt.ok {
				t.Errorf("Werkzeug %s against %q: problems %q, want ok=%v", tt.version, tt.werkzeug, messages(r), tt.ok)
			}
		})
	}
}

func TestRequiresPython(t *testing.T) {
	new := with(jinja2, func(d *Dist) { d.RequiresPython = ">=3.12" })
	unusedOld := Dist{Name: "typed-ast", Version: "1.5.4", Source: "requirements.txt:11", RequiresPython: "<3.8"}
	r := Check(myapp, []Dist{click, flask, itsdangerous, new, markupsafe, werkzeug, unusedOld}, env311)
	want := "Jinja2 3.1.2 requires Python >=3.12, which excludes the target interpreter's 3.11.2 (requirements.txt:5) (needed by myapp → Flask → Jinja2)\n" +
		"typed-ast 1.5.4 requires Python <3.8, which excludes the target interpreter's 3.11.2 (requirements.txt:11) (nothing requires it)\n"
	if got := messages(r); got != want {
		t.Errorf("problems:\n%swant:\n%s", got, want)
	}
	proj := with(myapp, func(d *Dist) { d.RequiresPython = ">=3.12" })
	r = Check(proj, []Dist{click, flask, itsdangerous, jinja2, markupsafe, werkzeug}, env311)
	if got, want := messages(r), "myapp 1.4.0 requires Python >=3.12, which excludes the target interpreter's 3.11.2\n"; got != want {
		t.Errorf("project problems:\n%swant:\n%s", got, want)
	}
}

func TestUnusedPins(t *testing.T) {
	r := Check(myapp, []Dist{click, flask, itsdangerous, jinja2, markupsafe, werkzeug, asgiref}, env311)
	if r.Err() != nil {
		t.Fatalf("Err() = %v, want nil: an unused pin is a warning", r.Err())
	}
	want := "asgiref 3.6.0 (requirements.txt:1) is pinned but nothing installed requires it"
	if len(r.Unused) != 1 || !strings.HasPrefix(r.Unused[0], want) {
		t.Errorf("Unused = %q, want one line starting %q", r.Unused, want)
	}
}

// TestEveryProblemInOneRun mixes a missing requirement, a conflict, an excluded interpreter and bad metadata.
func TestEveryProblemInOneRun(t *testing.T) {
	pins := []Dist{
		with(click, func(d *Dist) { d.RequiresPython = ">=3.12" }),
		flask,
		with(jinja2, func(d *Dist) { d.Version = "2.11.3" }),
		with(werkzeug, func(d *Dist) { d.RequiresDist = append(d.RequiresDist, "not a requirement!") }),
		markupsafe,
	}
	r := Check(myapp, pins, env311)
	kinds := map[Kind]int{}
	for _, p := range r.Problems {
		kinds[p.Kind]++
	}
	if kinds[Missing] != 1 || kinds[Conflict] != 1 || kinds[PythonExcluded] != 1 || kinds[BadMetadata] != 1 {
		t.Errorf("problems:\n%swant one of each kind, got %v", messages(r), kinds)
	}
	for _, want := range []string{"requires itsdangerous>=2.0, which the lock does not pin", "requires Jinja2>=3.0, but the lock pins Jinja2 2.11.3",
		"click 8.1.3 requires Python >=3.12", `Requires-Dist "not a requirement!"`} {
		if !strings.Contains(r.Err().Error(), want) {
			t.Errorf("Err() does not mention %q:\n%v", want, r.Err())
		}
	}
}

// TestSelfExtras follows an extra that asks for more extras of its own distribution, as "all" extras do.
func TestSelfExtras(t *testing.T) {
	all := with(werkzeug, func(d *Dist) {
		d.RequiresDist = append(d.RequiresDist, "Werkzeug[watchdog] ; extra == 'all'")
		d.Extras = []string{"all"}
	})
	r := Check(myapp, []Dist{click, flask, itsdangerous, jinja2, markupsafe, all}, env311)
	want := "Werkzeug 2.2.2 requires watchdog, which the lock does not pin (needed by myapp → Flask → Werkzeug)\n"
	if got := messages(r); got != want {
		t.Errorf("problems:\n%swant:\n%s", got, want)
	}
}

func TestPinnedTwiceAndSelfReference(t *testing.T) {
	self := with(werkzeug, func(d *Dist) { d.RequiresDist = append(d.RequiresDist, "Werkzeug[watchdog] ; extra == 'all'") })
	r := Check(myapp, []Dist{click, flask, itsdangerous, jinja2, markupsafe, self, with(werkzeug, func(d *Dist) { d.Version = "2.2.3"; d.Source = "requirements.txt:10" })}, env311)
	want := "Werkzeug is pinned twice: 2.2.2 (requirements.txt:9) and 2.2.3 (requirements.txt:10); keep one\n"
	if got := messages(r); got != want {
		t.Errorf("problems:\n%swant:\n%s", got, want)
	}
}

// BenchmarkCheck checks a synthetic lock four times the size of the benchmark's web service (31 distributions),
// each with five Requires-Dist entries carrying markers and extras.
func BenchmarkCheck(b *testing.B) {
	const n = 124
	pins := make([]Dist, n)
	var roots []string
	for i := range pins {
		d := Dist{Name: fmt.Sprintf("Dist_%d", i), Version: fmt.Sprintf("1.%d.0", i), RequiresPython: ">=3.8", Source: fmt.Sprintf("requirements.txt:%d", i+1)}
		for k := 1; k <= 5; k++ {
			j := (i*7 + k*13) % n
			switch k {
			case 1:
				d.RequiresDist = append(d.RequiresDist, fmt.Sprintf("dist-%d>=1.0,<2", j))
			case 2:
				d.RequiresDist = append(d.RequiresDist, fmt.Sprintf(`dist-%d (~=1.%d) ; python_version >= "3.8"`, j, j))
			case 3:
				d.RequiresDist = append(d.RequiresDist, fmt.Sprintf(`dist-%d[extra] ; platform_system == "Windows"`, j))
			case 4:
				d.RequiresDist = append(d.RequiresDist, fmt.Sprintf(`dist-%d ; extra == "test"`, j))
			case 5:
				d.RequiresDist = append(d.RequiresDist, fmt.Sprintf(`dist-%d!=1.0.1 ; python_version < "3.10" or sys_platform == "linux"`, j))
			}
		}
		pins[i] = d
		if i%4 == 0 {
			roots = append(roots, fmt.Sprintf("dist-%d>=1", i))
		}
	}
	project := Dist{Name: "benchapp", Version: "1.0.0", RequiresDist: roots}
	b.ReportAllocs()
	for b.Loop() {
		if err := Check(project, pins, env311).Err(); err != nil {
			b.Fatal(err)
		}
	}
}
