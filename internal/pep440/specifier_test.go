package pep440

import (
	"strings"
	"testing"
)

func TestSpecifierContains(t *testing.T) {
	tests := []struct {
		name    string
		spec    string
		version string
		want    bool
	}{
		// Compatible release, from PEP 440's examples.
		{"compatible minor", "~=2.2", "2.3", true},
		{"compatible same", "~=2.2", "2.2", true},
		{"compatible next major", "~=2.2", "3.0", false},
		{"compatible below", "~=2.2", "2.1", false},
		{"compatible micro", "~=1.4.5", "1.4.6", true},
		{"compatible micro next minor", "~=1.4.5", "1.5.0", false},
		{"compatible post", "~=2.2.post3", "2.3", true},
		{"compatible post below", "~=2.2.post3", "2.2", false},
		{"compatible post next major", "~=2.2.post3", "3.0", false},
		{"compatible pre", "~=1.4.5a4", "1.4.5", true},
		{"compatible pre same", "~=1.4.5a4", "1.4.5a4", true},
		{"compatible pre later micro", "~=1.4.5a4", "1.4.9", true},
		{"compatible pre next minor", "~=1.4.5a4", "1.5", false},
		{"compatible four parts", "~=1.4.5.0", "1.4.5.9", true},
		{"compatible four parts next", "~=1.4.5.0", "1.4.6.0", false},
		{"compatible epoch", "~=1!2.2", "2.3", false},
		{"compatible local candidate", "~=2.2", "2.3+local", true},

		// Version matching.
		{"equal", "==1.1", "1.1", true},
		{"equal padded", "==1.1", "1.1.0", true},
		{"equal not post", "==1.1", "1.1.post1", false},
		{"equal post", "==1.1.post1", "1.1.post1", true},
		{"equal not pre", "==1.1", "1.1a1", false},
		{"equal not dev", "==1.1.dev1", "1.1", false},
		{"equal spelling", "==1.1RC1", "1.1rc1", true},
		{"equal ignores candidate local", "==1.0", "1.0+local", true},
		{"equal with local", "==1.0+local", "1.0+local", true},
		{"equal with local needs it", "==1.0+local", "1.0", false},
		{"equal with other local", "==1.0+local", "1.0+other", false},
		{"prefix post", "==1.1.*", "1.1.post1", true},
		{"prefix pre", "==1.1.*", "1.1a1", true},
		{"prefix longer", "==1.1.*", "1.1.5", true},
		{"prefix other", "==1.1.*", "1.2", false},
		{"prefix shorter candidate", "==1.0.0.*", "1.0", true},
		{"prefix dev of final", "==1.0.*", "1.dev0", true},
		{"prefix epoch", "==1!1.*", "1!1.2", true},
		{"prefix epoch mismatch", "==1!1.*", "1.2", false},
		{"prefix local candidate", "==1.1.*", "1.1+local", true},
		{"not equal", "!=1.1", "1.2", true},
		{"not equal same", "!=1.1", "1.1.0", false},
		{"not equal prefix", "!=1.1.*", "1.1.5", false},
		{"not equal prefix other", "!=1.1.*", "1.2", true},

		// Inclusive ordered comparisons.
		{"ge", ">=1.0", "1.0", true},
		{"ge below", ">=1.0", "0.9", false},
		{"ge local", ">=1.0", "1.0+local", true},
		{"ge pre below", ">=1.0", "1.0rc1", false},
		{"le", "<=1.0", "1.0", true},
		{"le local", "<=1.0", "1.0+local", true},
		{"le post", "<=1.0", "1.0.post1", false},

		// Exclusive ordered comparisons.
		{"gt", ">1.7", "1.7.1", true},
		{"gt same", ">1.7", "1.7", false},
		{"gt post of same", ">1.7", "1.7.post1", false},
		{"gt post of padded same", ">1.7", "1.7.0.post1", false},
		{"gt local of same", ">1.7", "1.7+local", false},
		{"gt post spec", ">1.7.post2", "1.7.post3", true},
		{"gt post spec later", ">1.7.post2", "1.7.1", true},
		{"gt next", ">1.7", "1.8", true},
		{"gt next pre", ">1.7", "1.8a1", true},
		{"lt", "<1.7", "1.6", true},
		{"lt same", "<1.7", "1.7", false},
		{"lt pre of same", "<1.7", "1.7rc1", false},
		{"lt dev of same", "<1.7", "1.7.dev0", false},
		{"lt pre of padded same", "<1.7", "1.7.0a1", false},
		{"lt pre of earlier", "<1.7", "1.6.1rc1", true},
		{"lt pre spec", "<1.7rc1", "1.7a1", true},
		{"lt pre spec dev", "<1.7rc1", "1.7.dev0", true},
		{"lt local", "<1.7", "1.6+local", true},

		// PEP 440 excludes from >V only V's own post-releases and local
		// versions, and from <V only V's own pre-releases; the versions of
		// other releases that share V's release segment are ordinary.
		{"gt pre takes later pre local", ">1.0a1", "1.0a2+local", true},
		{"gt pre takes post of final", ">1.0a1", "1.0.post0", true},
		{"gt pre takes final local", ">1.0a1", "1.0+local", true},
		{"gt pre refuses its post", ">1.0a1", "1.0a1.post1", false},
		{"gt pre refuses its local", ">1.0a1", "1.0a1+local", false},
		{"gt dev takes post of final", ">1.0.dev1", "1.0.post0", true},
		{"gt dev takes final", ">1.0.dev1", "1.0", true},
		{"gt dev takes later dev", ">1.0.dev1", "1.0.dev2", true},
		{"gt dev refuses its local", ">1.0.dev1", "1.0.dev1+local", false},
		{"gt post takes later post local", ">1.0.post1", "1.0.post2+local", true},
		{"gt post refuses its local", ">1.0.post1", "1.0.post1+local", false},
		{"gt refuses dev of its post", ">1.0", "1.0.post1.dev0", false},
		{"gt refuses local of its post", ">1.0", "1.0.post1+local", false},
		{"lt post takes dev of final", "<1.0.post1", "1.0.dev0", true},
		{"lt post takes pre of final", "<1.0.post1", "1.0rc1", true},
		{"lt post refuses its dev", "<1.0.post1", "1.0.post1.dev0", false},
		{"lt refuses post of its pre", "<1.0", "1.0rc1.post1", false},
		{"lt dev spec", "<1.0.dev5", "1.0.dev4", true},

		// Arbitrary equality.
		{"identity", "===1.0", "1.0", true},
		{"identity not padded", "===1.0", "1.0.0", false},
		{"identity case", "===1.0RC1", "1.0rc1", true},
		{"identity other", "===foobar", "1.0", false},
		// === is a string comparison of the version as written, not of
		// its normal form.
		{"identity as written", "===1.0RC1", "1.0RC1", true},
		{"identity not normalised", "===1.0rc1", "1.0c1", false},
		{"identity v prefix", "===v1.0", "v1.0", true},
		{"identity v prefix not written", "===v1.0", "1.0", false},
		{"identity normal form not written", "===1.0", "v1.0", false},
		{"identity local", "===1.0+abc", "1.0+ABC", true},
	}
	for _, tt := range tests {
		s, err := ParseSpecifier(tt.spec)
		if err != nil {
			t.Errorf("%s: ParseSpecifier(%q) error: %v", tt.name, tt.spec, err)
			continue
		}
		if got := s.Contains(MustParse(tt.version)); got != tt.want {
			t.Errorf("%s: ParseSpecifier(%q).Contains(%q) = %v, want %v", tt.name, tt.spec, tt.version, got, tt.want)
		}
	}
}

func TestParseSpecifier(t *testing.T) {
	tests := []struct {
		name, in string
		want     Specifier
	}{
		{"plain", "==1.0", Specifier{"==", "1.0"}},
		{"spaces", "  >=  1.0 ", Specifier{">=", "1.0"}},
		{"wildcard", "!= 1.3.*", Specifier{"!=", "1.3.*"}},
		{"identity", "===foo-bar", Specifier{"===", "foo-bar"}},
		{"compatible", "~=1.4.2", Specifier{"~=", "1.4.2"}},
		{"lt", "<2", Specifier{"<", "2"}},
		{"gt", ">v2", Specifier{">", "v2"}},
		{"local", "==1.0+ubuntu.1", Specifier{"==", "1.0+ubuntu.1"}},
	}
	for _, tt := range tests {
		got, err := ParseSpecifier(tt.in)
		if err != nil {
			t.Errorf("%s: ParseSpecifier(%q) error: %v", tt.name, tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s: ParseSpecifier(%q) = %#v, want %#v", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestParseSpecifierInvalid(t *testing.T) {
	tests := []struct{ name, in, wantErr string }{
		{"no operator", "1.0", "expected an operator"},
		{"reversed operator", "=>1.0", "expected an operator"},
		{"single equals", "=1.0", "expected an operator"},
		{"missing version", ">=", "missing version"},
		{"bad version", "==1.0-", `invalid version "1.0-"`},
		{"wildcard with ge", ">=1.0.*", "allowed only with == and !="},
		{"wildcard with compatible", "~=1.0.*", "allowed only with == and !="},
		{"wildcard after pre", "==1.0a1.*", "must follow the release"},
		{"wildcard after local", "==1.0+abc.*", "must follow the release"},
		{"local with ge", ">=1.0+local", "local version label"},
		{"local with compatible", "~=1.0+local", "local version label"},
		{"compatible one part", "~=1", "at least two release components"},
		{"identity space", "=== a b", "single word"},
		{"space in wildcard", "==1.0 .*", "unexpected space"},
	}
	for _, tt := range tests {
		got, err := ParseSpecifier(tt.in)
		if err == nil {
			t.Errorf("%s: ParseSpecifier(%q) = %v, want an error", tt.name, tt.in, got)
			continue
		}
		if !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: ParseSpecifier(%q) error %q, want it to contain %q", tt.name, tt.in, err, tt.wantErr)
		}
	}
}

func TestSpecifierSet(t *testing.T) {
	tests := []struct {
		name        string
		set         string
		version     string
		prereleases bool
		want        bool
	}{
		{"empty final", "", "1.0", false, true},
		{"empty pre refused", "", "1.0a1", false, false},
		{"empty pre allowed", "", "1.0a1", true, true},
		{"empty dev refused", "", "1.0.dev1", false, false},
		{"range inside", ">=1.0,<2", "1.5", false, true},
		{"range upper", ">=1.0,<2", "2.0", false, false},
		{"range lower", ">=1.0,<2", "0.9", false, false},
		{"range pre refused", ">=1.0,<2", "1.5rc1", false, false},
		{"range pre allowed", ">=1.0,<2", "1.5rc1", true, true},
		{"range pre of upper", ">=1.0,<2", "2.0rc1", true, false},
		{"spec names pre", ">=1.0b1", "1.0b2", false, true},
		{"wildcard names pre", "==2.0rc1", "2.0rc1", false, true},
		{"not equal pre does not ask", "!=1.0a1", "1.0a2", false, false},
		{"exclusions", ">=1.0, !=1.3.*, <2", "1.3.4", false, false},
		{"exclusions other", ">=1.0, !=1.3.*, <2", "1.4", false, true},
		{"post allowed", ">=1.0", "1.0.post1", false, true},
		{"dev of final below post", ">=1.0.dev0,<1.0.post1", "1.0.dev0", true, true},
		{"dev of final below post names pre", ">=1.0.dev0,<1.0.post1", "1.0.dev0", false, true},
		{"dev of post refused", ">=1.0.dev0,<1.0.post1", "1.0.post1.dev0", true, false},
	}
	for _, tt := range tests {
		set, err := ParseSpecifierSet(tt.set)
		if err != nil {
			t.Errorf("%s: ParseSpecifierSet(%q) error: %v", tt.name, tt.set, err)
			continue
		}
		if got := set.Contains(MustParse(tt.version), tt.prereleases); got != tt.want {
			t.Errorf("%s: ParseSpecifierSet(%q).Contains(%q, %v) = %v, want %v", tt.name, tt.set, tt.version, tt.prereleases, got, tt.want)
		}
	}
}

func TestParseSpecifierSetString(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"spaces", " >= 1.0 , < 2 ", ">=1.0,<2"},
		{"one", "~=1.4", "~=1.4"},
	}
	for _, tt := range tests {
		set, err := ParseSpecifierSet(tt.in)
		if err != nil {
			t.Errorf("%s: ParseSpecifierSet(%q) error: %v", tt.name, tt.in, err)
			continue
		}
		if got := set.String(); got != tt.want {
			t.Errorf("%s: ParseSpecifierSet(%q).String() = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
	for _, in := range []string{">=1.0,,<2", ">=1.0,", ",", ">=1.0,bogus"} {
		if set, err := ParseSpecifierSet(in); err == nil {
			t.Errorf("ParseSpecifierSet(%q) = %v, want an error", in, set)
		}
	}
}

func FuzzSpecifier(f *testing.F) {
	f.Add(">=1.0,<2", "1.5")
	f.Add("~=1.4.5a4", "1.4.9")
	f.Add("==1.1.*", "1.1.post1")
	f.Add("!=1!2.*", "1!2.0+local")
	f.Add(">1.7", "1.7.post1")
	f.Add("<1.7", "1.7rc1")
	f.Add("===foobar", "1.0")
	f.Add("==1.0+ubuntu.1", "1.0+ubuntu-1")
	f.Fuzz(func(t *testing.T, specs, version string) {
		set, err := ParseSpecifierSet(specs)
		if err != nil {
			return
		}
		again, err := ParseSpecifierSet(set.String())
		if err != nil {
			t.Fatalf("ParseSpecifierSet(%q).String() = %q, which fails to parse: %v", specs, set.String(), err)
		}
		if again.String() != set.String() {
			t.Fatalf("ParseSpecifierSet(%q) round trip = %q, want %q", specs, again.String(), set.String())
		}
		v, err := Parse(version)
		if err != nil {
			return
		}
		for _, s := range set {
			if s.Op != "==" && s.Op != "!=" {
				continue
			}
			eq := Specifier{Op: "==", Version: s.Version}
			ne := Specifier{Op: "!=", Version: s.Version}
			if eq.Contains(v) == ne.Contains(v) {
				t.Fatalf("==%s and !=%s agree on %q", s.Version, s.Version, version)
			}
		}
		if set.Contains(v, false) && !set.Contains(v, true) {
			t.Fatalf("ParseSpecifierSet(%q).Contains(%q) true without pre-releases but false with them", specs, version)
		}
	})
}
