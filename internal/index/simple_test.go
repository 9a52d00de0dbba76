package index_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/index"
)

func TestParseSimpleHTML(t *testing.T) {
	base, _ := url.Parse("https://example.org/simple/demo/")
	page := `<!DOCTYPE html><html><head>
<meta name="pypi:repository-version" content="1.1">
</head><body>
<a href="../../files/demo-1.0-py3-none-any.whl#sha256=ABCDEF" data-requires-python="&gt;=3.8" data-core-metadata="sha256=1234">demo-1.0-py3-none-any.whl</a>
<a href="https://cdn.example.org/demo-0.9.tar.gz" data-yanked="bad &amp; broken">demo-0.9.tar.gz</a>
<a href="demo-0.8.zip" data-yanked data-dist-info-metadata="true">x</a>
<a href="../other/">not a distribution</a>
<a>no href</a>
<a href="..%2Fevil-1.0-py3-none-any.whl">a slash in the name</a>
</body></html>`
	arts, err := index.ParseSimpleHTML(base, []byte(page))
	if err != nil {
		t.Fatal(err)
	}
	if len(arts) != 3 {
		t.Fatalf("got %d artifacts, want 3: %+v", len(arts), arts)
	}
	w := arts[0]
	if w.URL != "https://example.org/files/demo-1.0-py3-none-any.whl" || w.Hashes["sha256"] != "abcdef" || w.RequiresPython != ">=3.8" || w.CoreMetadata == nil || w.CoreMetadata.Hashes["sha256"] != "1234" || !w.IsWheel() {
		t.Errorf("wheel = %+v", w)
	}
	if s := arts[1]; !s.Yanked || s.YankedReason != "bad & broken" || s.IsWheel() || s.Version.String() != "0.9" {
		t.Errorf("yanked sdist = %+v", s)
	}
	if z := arts[2]; !z.Yanked || z.YankedReason != "" || z.CoreMetadata == nil || z.URL != "https://example.org/simple/demo/demo-0.8.zip" {
		t.Errorf("zip sdist = %+v", z)
	}
}

func TestParseSimpleJSON(t *testing.T) {
	base, _ := url.Parse("https://example.org/simple/demo/")
	page := `{"meta": {"api-version": "1.1"}, "name": "demo", "files": [
 {"filename": "demo-1.0-py3-none-any.whl", "url": "/files/demo-1.0-py3-none-any.whl", "hashes": {"sha256": "AA"},
  "requires-python": ">=3.9", "yanked": false, "core-metadata": {"sha256": "bb"}, "size": 123},
 {"filename": "demo-0.9.tar.gz", "url": "https://cdn.example.org/d.tgz", "hashes": {}, "yanked": "security hole", "dist-info-metadata": true},
 {"filename": "../escape-1.0-py3-none-any.whl", "url": "x", "hashes": {}},
 {"filename": "README.txt", "url": "x", "hashes": {}}
]}`
	arts, err := index.ParseSimpleJSON(base, []byte(page))
	if err != nil {
		t.Fatal(err)
	}
	if len(arts) != 2 {
		t.Fatalf("got %d artifacts, want 2: %+v", len(arts), arts)
	}
	w := arts[0]
	if w.URL != "https://example.org/files/demo-1.0-py3-none-any.whl" || w.Hashes["sha256"] != "aa" || w.Size != 123 || w.RequiresPython != ">=3.9" || w.Yanked || w.CoreMetadata.Hashes["sha256"] != "bb" {
		t.Errorf("wheel = %+v", w)
	}
	if s := arts[1]; !s.Yanked || s.YankedReason != "security hole" || s.CoreMetadata == nil || s.Size != -1 {
		t.Errorf("sdist = %+v", s)
	}
}

func TestSimpleAPIVersion(t *testing.T) {
	base, _ := url.Parse("https://example.org/simple/demo/")
	for _, tc := range []struct {
		name string
		fn   func() error
	}{
		{"JSON 2.0", func() error {
			_, err := index.ParseSimpleJSON(base, []byte(`{"meta": {"api-version": "2.0"}, "files": []}`))
			return err
		}},
		{"HTML 2.0", func() error {
			_, err := index.ParseSimpleHTML(base, []byte(`<meta name="pypi:repository-version" content="2.0">`))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.fn(); err == nil || !strings.Contains(err.Error(), "simple API version 2.0") {
				t.Errorf("err = %v, want an unknown-version error", err)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"user and password", "https://user:secret@host.example/simple/", "https://***@host.example/simple/"},
		{"token only", "GET http://tok@127.0.0.1:8080/x: refused", "GET http://***@127.0.0.1:8080/x: refused"},
		{"no userinfo", "https://host.example/simple/", "https://host.example/simple/"},
		{"at in path", "https://host.example/a@b", "https://host.example/a@b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := index.Redact(tc.in); got != tc.want {
				t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseNetrc(t *testing.T) {
	for _, tc := range []struct {
		name, text, host, login, password string
		ok                                bool
	}{
		{"one line", "machine a.example login u password p", "a.example", "u", "p", true},
		{"several lines and comments", "# creds\nmachine a.example\n\tlogin u\n\tpassword p\nmachine b.example login v password q\n", "b.example", "v", "q", true},
		{"default", "machine a.example login u password p\ndefault login d password dp\n", "c.example", "d", "dp", true},
		{"quoted", `machine a.example login "u s" password "p\"q"`, "a.example", "u s", `p"q`, true},
		{"macdef skipped", "macdef init\ncd /\nput x\n\nmachine a.example login u password p\n", "a.example", "u", "p", true},
		{"case-insensitive host", "machine A.Example login u password p", "a.example", "u", "p", true},
		{"no match", "machine a.example login u password p", "b.example", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := index.ParseNetrc(tc.text)
			if err != nil {
				t.Fatal(err)
			}
			m, ok := n.Lookup(tc.host)
			if ok != tc.ok || m.Login != tc.login || m.Password != tc.password {
				t.Errorf("Lookup(%q) = %+v, %v; want %s/%s, %v", tc.host, m, ok, tc.login, tc.password, tc.ok)
			}
		})
	}
	for _, bad := range []string{"login u", "machine", `machine a login "open`, "frobnicate"} {
		if _, err := index.ParseNetrc(bad); err == nil {
			t.Errorf("ParseNetrc(%q) succeeded, want an error", bad)
		}
	}
}

func TestCredentialsStrip(t *testing.T) {
	c := index.NewCredentials(nil)
	got, err := c.Strip("https://u:p@Host.Example/simple/")
	if err != nil || got != "https://Host.Example/simple/" {
		t.Fatalf("Strip = %q, %v", got, err)
	}
	u, _ := url.Parse("https://host.example:443/files/x.whl")
	if user, pass, ok := c.For(u); !ok || user != "u" || pass != "p" {
		t.Errorf("For(%s) = %s, %s, %v", u, user, pass, ok)
	}
	other, _ := url.Parse("https://host.example:8443/")
	if _, _, ok := c.For(other); ok {
		t.Errorf("credentials leaked to another port")
	}
	if _, err := c.Strip("ftp://u:secret@host/"); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("Strip(ftp) error = %v; want one without the password", err)
	}
}
