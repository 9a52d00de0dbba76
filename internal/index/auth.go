package index

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/venvpkg/venvpkg/internal/env"
)

// Credentials holds the user names and passwords for package hosts: those
// written in the userinfo of an index or find-links URL, then those of a
// netrc file. URLs are stripped of their userinfo as they are added, so no
// URL that venvpkg keeps, prints or hashes into a cache key carries a
// password; the password is sent only in the Authorization header of
// requests to the host it belongs to.
type Credentials struct {
	mu     sync.Mutex
	byHost map[string]*url.Userinfo // "host:port" (port always explicit)
	netrc  *Netrc
}

// NewCredentials returns credentials backed by a netrc file (nil for none).
func NewCredentials(n *Netrc) *Credentials {
	return &Credentials{byHost: map[string]*url.Userinfo{}, netrc: n}
}

// Strip parses raw, remembers its userinfo (if any) for its host and returns
// the URL without it. Errors never include the password.
func (c *Credentials) Strip(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("invalid URL %s", Redact(raw))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("URL %s: scheme %q is not supported; use http or https", Redact(raw), u.Scheme)
	}
	if u.Host == "" {
		return "", fmt.Errorf("URL %s has no host", Redact(raw))
	}
	if u.User != nil {
		c.mu.Lock()
		c.byHost[hostKey(u)] = u.User
		c.mu.Unlock()
		u.User = nil
	}
	return u.String(), nil
}

// For returns the credentials to send to u's host.
func (c *Credentials) For(u *url.URL) (user, pass string, ok bool) {
	if c == nil {
		return "", "", false
	}
	c.mu.Lock()
	ui := c.byHost[hostKey(u)]
	c.mu.Unlock()
	if ui != nil {
		p, _ := ui.Password()
		return ui.Username(), p, true
	}
	if c.netrc != nil {
		if m, ok := c.netrc.Lookup(u.Hostname()); ok {
			return m.Login, m.Password, true
		}
	}
	return "", "", false
}

func hostKey(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return strings.ToLower(u.Hostname()) + ":" + port
}

// authTransport adds HTTP basic authentication to requests for hosts that
// have credentials, including requests made by following redirects.
type authTransport struct {
	creds *Credentials
	next  http.RoundTripper
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	user, pass, ok := t.creds.For(req.URL)
	if !ok || req.Header.Get("Authorization") != "" {
		return t.next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.SetBasicAuth(user, pass)
	return t.next.RoundTrip(r)
}

var userinfoRE = regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*://)[^/@\s]+@`)

// Redact replaces the userinfo of every URL in s with "***":
// https://user:secret@host/simple/ becomes https://***@host/simple/.
func Redact(s string) string {
	return userinfoRE.ReplaceAllString(s, "${1}***@")
}

// NetrcMachine is one machine (or the default) entry of a netrc file.
type NetrcMachine struct {
	Name, Login, Password string
}

// Netrc is a parsed netrc file, as curl, pip and ftp read it.
type Netrc struct {
	Machines []NetrcMachine
	Default  *NetrcMachine
}

// Lookup returns the entry for host, else the default entry.
func (n *Netrc) Lookup(host string) (NetrcMachine, bool) {
	if n == nil {
		return NetrcMachine{}, false
	}
	for _, m := range n.Machines {
		if strings.EqualFold(m.Name, host) {
			return m, true
		}
	}
	if n.Default != nil {
		return *n.Default, true
	}
	return NetrcMachine{}, false
}

// ParseNetrc parses netrc text: whitespace-separated tokens "machine NAME",
// "default", "login NAME", "password SECRET", "account X" and "macdef NAME"
// (whose body runs to the next blank line and is skipped). Double-quoted
// tokens may hold spaces and backslash escapes.
func ParseNetrc(data string) (*Netrc, error) {
	n := &Netrc{}
	toks, err := netrcTokens(data)
	if err != nil {
		return nil, err
	}
	var cur *NetrcMachine
	flush := func() {
		if cur == nil {
			return
		}
		if cur.Name == "" {
			d := *cur
			n.Default = &d
		} else {
			n.Machines = append(n.Machines, *cur)
		}
		cur = nil
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		next := func() (string, error) {
			if i+1 >= len(toks) || toks[i+1].macro {
				return "", fmt.Errorf("netrc: %q at line %d needs a value", t.text, t.line)
			}
			i++
			return toks[i].text, nil
		}
		if t.macro {
			continue
		}
		switch t.text {
		case "machine":
			flush()
			name, err := next()
			if err != nil {
				return nil, err
			}
			cur = &NetrcMachine{Name: name}
		case "default":
			flush()
			cur = &NetrcMachine{}
		case "login", "password", "account":
			v, err := next()
			if err != nil {
				return nil, err
			}
			if cur == nil {
				return nil, fmt.Errorf("netrc: %q at line %d comes before any machine or default", t.text, t.line)
			}
			switch t.text {
			case "login":
				cur.Login = v
			case "password":
				cur.Password = v
			}
		case "macdef":
			flush()
			if _, err := next(); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("netrc: unexpected token at line %d; want machine, default, login, password, account or macdef", t.line)
		}
	}
	flush()
	return n, nil
}

type netrcToken struct {
	text  string
	line  int
	macro bool // a line of a macdef body
}

func netrcTokens(data string) ([]netrcToken, error) {
	var toks []netrcToken
	line := 1
	inMacro := false
	for i := 0; i < len(data); {
		c := data[i]
		if inMacro {
			// A macro body runs until an empty line.
			end := strings.Index(data[i:], "\n\n")
			if end < 0 {
				return toks, nil
			}
			toks = append(toks, netrcToken{macro: true, line: line})
			line += strings.Count(data[i:i+end+2], "\n")
			i += end + 2
			inMacro = false
			continue
		}
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#' && (i == 0 || data[i-1] == '\n' || data[i-1] == ' ' || data[i-1] == '\t'):
			for i < len(data) && data[i] != '\n' {
				i++
			}
		case c == '"':
			var b strings.Builder
			i++
			for {
				if i >= len(data) {
					return nil, fmt.Errorf("netrc: unterminated quoted token at line %d", line)
				}
				if data[i] == '"' {
					i++
					break
				}
				if data[i] == '\\' && i+1 < len(data) {
					i++
				}
				if data[i] == '\n' {
					line++
				}
				b.WriteByte(data[i])
				i++
			}
			toks = append(toks, netrcToken{text: b.String(), line: line})
		default:
			j := i
			for j < len(data) && !strings.ContainsRune(" \t\r\n", rune(data[j])) {
				j++
			}
			tok := data[i:j]
			toks = append(toks, netrcToken{text: tok, line: line})
			i = j
			if tok == "macdef" {
				// The name follows on this line; the body starts on the next.
				for i < len(data) && (data[i] == ' ' || data[i] == '\t') {
					i++
				}
				k := i
				for k < len(data) && !strings.ContainsRune(" \t\r\n", rune(data[k])) {
					k++
				}
				toks = append(toks, netrcToken{text: data[i:k], line: line})
				i = k
				for i < len(data) && data[i] != '\n' {
					i++
				}
				if i < len(data) {
					i++
					line++
				}
				inMacro = true
			}
		}
	}
	return toks, nil
}

// LoadNetrc reads $NETRC, else ~/.netrc. A missing file gives nil and no
// error; an unreadable or malformed one is an error naming the file (never
// its contents).
func LoadNetrc() (*Netrc, error) {
	path := env.Netrc.String()
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, nil
		}
		path = filepath.Join(home, ".netrc")
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading netrc: %w", err)
	}
	n, err := ParseNetrc(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}
