package pep503

import "testing"

func TestNormalize(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "flask", "flask"},
		{"upper", "Flask", "flask"},
		{"underscore", "typing_extensions", "typing-extensions"},
		{"runs", "zope..interface__x", "zope-interface-x"},
		{"mixed", "Foo.-_Bar", "foo-bar"},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("%s: Normalize(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestValid(t *testing.T) {
	for _, n := range []string{"a", "flask", "zope.interface", "A_1-b"} {
		if !Valid(n) {
			t.Errorf("Valid(%q) = false, want true", n)
		}
	}
	for _, n := range []string{"", "-a", "a-", "a b", "ä", "a/b"} {
		if Valid(n) {
			t.Errorf("Valid(%q) = true, want false", n)
		}
	}
}
