package pep440

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseNormalises(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"final", "1.0", "1.0"},
		{"single component", "1", "1"},
		{"leading zeros", "01.02.003", "1.2.3"},
		{"v prefix", "v1.0", "1.0"},
		{"V prefix", "V2.1", "2.1"},
		{"surrounding space", " \t1.0\n", "1.0"},
		{"epoch", "1!2.0", "1!2.0"},
		{"zero epoch dropped", "0!1.0", "1.0"},
		{"upper rc", "1.0RC1", "1.0rc1"},
		{"implicit pre number", "1.0a", "1.0a0"},
		{"dot before pre", "1.0.a1", "1.0a1"},
		{"dash before pre", "1.0-a1", "1.0a1"},
		{"underscore in pre", "1.0_b_2", "1.0b2"},
		{"alpha", "1.0alpha1", "1.0a1"},
		{"beta", "1.0beta2", "1.0b2"},
		{"c", "1.0c1", "1.0rc1"},
		{"pre", "1.0pre1", "1.0rc1"},
		{"preview", "1.0preview1", "1.0rc1"},
		{"post", "1.0.post1", "1.0.post1"},
		{"dash post", "1.0-post1", "1.0.post1"},
		{"post no separator", "1.0post1", "1.0.post1"},
		{"implicit post number", "1.0.post", "1.0.post0"},
		{"r", "1.0-r4", "1.0.post4"},
		{"rev", "1.0rev4", "1.0.post4"},
		{"implicit post", "1.0-1", "1.0.post1"},
		{"pre then implicit post", "1.0rc1-1", "1.0rc1.post1"},
		{"dev", "1.0.dev2", "1.0.dev2"},
		{"implicit dev number", "1.0.dev", "1.0.dev0"},
		{"dash dev", "1.0-dev2", "1.0.dev2"},
		{"dev no separator", "1.0dev2", "1.0.dev2"},
		{"everything", "1!2.0rc1.post3.dev4+ubuntu.1", "1!2.0rc1.post3.dev4+ubuntu.1"},
		{"local separators", "1.0+ubuntu-1_a", "1.0+ubuntu.1.a"},
		{"local upper", "1.0+UBUNTU.1", "1.0+ubuntu.1"},
		{"local leading zeros", "1.0+01.abc", "1.0+1.abc"},
		{"local alnum", "1.0+1a.2", "1.0+1a.2"},
		{"mixed case everything", "V1.0-ALPHA.1-POST.2.DEV.3", "1.0a1.post2.dev3"},
	}
	for _, tt := range tests {
		v, err := Parse(tt.in)
		if err != nil {
			t.Errorf("%s: Parse(%q) error: %v", tt.name, tt.in, err)
			continue
		}
		if got := v.String(); got != tt.want {
			t.Errorf("%s: Parse(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"spaces only", "   "},
		{"word", "french toast"},
		{"trailing dot", "1.0."},
		{"double dot", "1..0"},
		{"empty local", "1.0+"},
		{"two locals", "1.0+abc+def"},
		{"local leading separator", "1.0+-abc"},
		{"local trailing separator", "1.0+abc-"},
		{"inner space", "1.0 beta"},
		{"trailing dash", "1.0-"},
		{"two posts", "1.0.post1.post2"},
		{"implicit post after post", "1.0.post1-1"},
		{"dev before pre", "1.0.dev1a1"},
		{"wildcard", "1.0.*"},
		{"negative", "-1.0"},
		{"v twice", "vv1.0"},
		{"epoch only", "1!"},
		{"huge", "1.99999999999999999999999"},
		{"huge epoch", "99999999999999999999!1"},
		// Only ASCII letters are case-insensitive: U+017F LATIN SMALL LETTER
		// LONG S is not "s", U+212A KELVIN SIGN is not "k", U+0130 is not "i".
		{"long s in post", "1.2.3po\u017ft1"},
		{"long s local", "1.0+\u017f"},
		{"kelvin local", "1.0+\u212a"},
		{"dotted capital i in local", "1.0+\u0130"},
		{"fullwidth digit", "1.\uff10"},
	}
	for _, tt := range tests {
		v, err := Parse(tt.in)
		if err == nil {
			t.Errorf("%s: Parse(%q) = %v, want an error", tt.name, tt.in, v)
			continue
		}
		var ive *InvalidVersionError
		if !errors.As(err, &ive) {
			t.Errorf("%s: Parse(%q) error %v is not an *InvalidVersionError", tt.name, tt.in, err)
		}
		if !strings.Contains(err.Error(), "invalid version") {
			t.Errorf("%s: Parse(%q) error %q does not say \"invalid version\"", tt.name, tt.in, err)
		}
	}
}

func TestAccessors(t *testing.T) {
	v := MustParse("2!1.2.3rc4.post5.dev6+Local.7")
	if got := v.Epoch(); got != 2 {
		t.Errorf("Epoch() = %d, want 2", got)
	}
	if got := v.Release(); !reflect.DeepEqual(got, []int{1, 2, 3}) {
		t.Errorf("Release() = %v, want [1 2 3]", got)
	}
	v.Release()[0] = 99
	if got := v.Release()[0]; got != 1 {
		t.Errorf("Release() shares its slice: after writing 99, Release()[0] = %d", got)
	}
	if kind, n, ok := v.Pre(); kind != "rc" || n != 4 || !ok {
		t.Errorf("Pre() = %q, %d, %v, want \"rc\", 4, true", kind, n, ok)
	}
	if n, ok := v.Post(); n != 5 || !ok {
		t.Errorf("Post() = %d, %v, want 5, true", n, ok)
	}
	if n, ok := v.Dev(); n != 6 || !ok {
		t.Errorf("Dev() = %d, %v, want 6, true", n, ok)
	}
	if got := v.Local(); got != "local.7" {
		t.Errorf("Local() = %q, want \"local.7\"", got)
	}
	if got := v.Public(); got != "2!1.2.3rc4.post5.dev6" {
		t.Errorf("Public() = %q", got)
	}
	if got := v.BaseVersion(); got != "2!1.2.3" {
		t.Errorf("BaseVersion() = %q, want \"2!1.2.3\"", got)
	}
	if !v.IsPrerelease() || !v.IsPostRelease() || !v.IsDevRelease() {
		t.Errorf("IsPrerelease/IsPostRelease/IsDevRelease = %v/%v/%v, want all true", v.IsPrerelease(), v.IsPostRelease(), v.IsDevRelease())
	}

	f := MustParse("1.0")
	if _, _, ok := f.Pre(); ok {
		t.Errorf("Parse(\"1.0\").Pre() ok = true")
	}
	if _, ok := f.Post(); ok {
		t.Errorf("Parse(\"1.0\").Post() ok = true")
	}
	if _, ok := f.Dev(); ok {
		t.Errorf("Parse(\"1.0\").Dev() ok = true")
	}
	if f.IsPrerelease() || f.Local() != "" || f.Epoch() != 0 {
		t.Errorf("Parse(\"1.0\"): IsPrerelease %v, Local %q, Epoch %d", f.IsPrerelease(), f.Local(), f.Epoch())
	}
	if !MustParse("1.0.dev1").IsPrerelease() {
		t.Errorf("1.0.dev1 IsPrerelease() = false, want true")
	}
	if MustParse("1.0.post1").IsPrerelease() {
		t.Errorf("1.0.post1 IsPrerelease() = true, want false")
	}
}

// pepOrder is the ordering example from PEP 440's "Summary of permitted
// suffixes and relative ordering", followed by epoch cases.
var pepOrder = []string{
	"1.dev0",
	"1.0.dev456",
	"1.0a1",
	"1.0a2.dev456",
	"1.0a12.dev456",
	"1.0a12",
	"1.0b1.dev456",
	"1.0b2",
	"1.0b2.post345.dev456",
	"1.0b2.post345",
	"1.0rc1.dev456",
	"1.0rc1",
	"1.0",
	"1.0+abc.5",
	"1.0+abc.7",
	"1.0+5",
	"1.0.post456.dev34",
	"1.0.post456",
	"1.0.15",
	"1.1.dev1",
	"2013.10",
	"2014.04",
	"1!0.1",
	"1!1.0",
	"2!0.0.dev0",
}

func TestCompareOrder(t *testing.T) {
	vs := make([]Version, len(pepOrder))
	for i, s := range pepOrder {
		vs[i] = MustParse(s)
	}
	for i := range vs {
		for j := range vs {
			want := cmpInt(i, j)
			if got := vs[i].Compare(vs[j]); got != want {
				t.Errorf("Parse(%q).Compare(%q) = %d, want %d", pepOrder[i], pepOrder[j], got, want)
			}
		}
	}
}

func TestCompareEqual(t *testing.T) {
	tests := []struct{ name, a, b string }{
		{"trailing zeros", "1.0", "1.0.0.0"},
		{"spelling", "1.0RC1", "1.0.rc.1"},
		{"v prefix", "v1.0", "1.0"},
		{"zero epoch", "0!1.0", "1.0"},
		{"local case", "1.0+ABC", "1.0+abc"},
		{"local separators", "1.0+a-1", "1.0+a.1"},
		{"local leading zero", "1.0+007", "1.0+7"},
		{"implicit numbers", "1.0a.post.dev", "1.0a0.post0.dev0"},
	}
	for _, tt := range tests {
		a, b := MustParse(tt.a), MustParse(tt.b)
		if got := a.Compare(b); got != 0 {
			t.Errorf("%s: Parse(%q).Compare(%q) = %d, want 0", tt.name, tt.a, tt.b, got)
		}
		if !a.Equal(b) {
			t.Errorf("%s: Parse(%q).Equal(%q) = false", tt.name, tt.a, tt.b)
		}
	}
}

func TestCompareLess(t *testing.T) {
	tests := []struct{ name, a, b string }{
		{"release", "1.2", "1.10"},
		{"longer release", "1.0", "1.0.1"},
		{"dev of final before pre", "1.0.dev9", "1.0a0"},
		{"dev of post before post", "1.0.post1.dev1", "1.0.post1"},
		{"final before dev of post", "1.0", "1.0.post0.dev0"},
		{"pre dev before pre", "1.0a1.dev1", "1.0a1"},
		{"a before b", "1.0a9", "1.0b0"},
		{"b before rc", "1.0b9", "1.0rc0"},
		{"no local before local", "1.0", "1.0+0"},
		{"alpha local before numeric", "1.0+zzz", "1.0+0"},
		{"local prefix first", "1.0+abc", "1.0+abc.0"},
		{"long local number", "1.0+99999999999999999999", "1.0+100000000000000000000"},
		{"epoch wins", "99.0", "1!0.0"},
	}
	for _, tt := range tests {
		a, b := MustParse(tt.a), MustParse(tt.b)
		if got := a.Compare(b); got != -1 {
			t.Errorf("%s: Parse(%q).Compare(%q) = %d, want -1", tt.name, tt.a, tt.b, got)
		}
		if got := b.Compare(a); got != 1 {
			t.Errorf("%s: Parse(%q).Compare(%q) = %d, want 1", tt.name, tt.b, tt.a, got)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range pepOrder {
		f.Add(s)
	}
	for _, s := range []string{"v1.0RC1", "1.0-1", "1.0.dev", "1!2.0+ubuntu-1", "1.0+01", " 1.0a.post.dev ", "1.0+-", ""} {
		f.Add(s)
	}
	ref := MustParse("1.0")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil {
			return
		}
		norm := v.String()
		w, err := Parse(norm)
		if err != nil {
			t.Fatalf("Parse(%q) = %q, but Parse(%q) fails: %v", s, norm, norm, err)
		}
		if got := w.String(); got != norm {
			t.Fatalf("Parse(%q).String() = %q, want %q", norm, got, norm)
		}
		v.text, w.text = "", "" // as written: differs by design
		if !reflect.DeepEqual(v, w) {
			t.Fatalf("Parse(%q) = %#v, Parse(%q) = %#v", s, v, norm, w)
		}
		if c := v.Compare(w); c != 0 {
			t.Fatalf("Parse(%q).Compare(Parse(%q)) = %d, want 0", s, norm, c)
		}
		if a, b := v.Compare(ref), ref.Compare(v); a != -b {
			t.Fatalf("Compare is not antisymmetric for %q and 1.0: %d, %d", s, a, b)
		}
	})
}

func TestText(t *testing.T) {
	var v Version
	if err := v.UnmarshalText([]byte("1.0RC1")); err != nil {
		t.Fatalf("UnmarshalText(\"1.0RC1\") error: %v", err)
	}
	b, err := v.MarshalText()
	if err != nil || string(b) != "1.0rc1" {
		t.Errorf("MarshalText() = %q, %v, want \"1.0rc1\"", b, err)
	}
	if err := v.UnmarshalText([]byte("nope")); err == nil {
		t.Errorf("UnmarshalText(\"nope\") succeeded")
	}
}
