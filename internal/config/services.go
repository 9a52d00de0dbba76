package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Service is one [tool.venvpkg.services.<name>] table: a long-running
// program of the package, supervised by systemd (and optionally
// supervisord).
type Service struct {
	// Name is the table's name, the suffix of the unit name.
	Name string `toml:"-"`
	// Command is the command line; its first word is resolved in the
	// virtualenv's bin/ directory unless it is an absolute path.
	Command     string `toml:"command"`
	Description string `toml:"description"`
	// User and Group the service runs as, created on install; both
	// default to the package name (Group defaults to User).
	User  string `toml:"user"`
	Group string `toml:"group"`
	// Listen is a unix socket path or host:port; it makes a socket unit.
	Listen string `toml:"listen"`
	// EnvironmentFile adds /etc/default/<pkg> (deb) or /etc/sysconfig/<pkg>
	// (rpm) as an optional environment file.
	EnvironmentFile bool `toml:"environment-file"`
	// Restart is systemd's Restart= (default on-failure).
	Restart string `toml:"restart"`
	// Supervisor also writes a supervisord program file.
	Supervisor bool `toml:"supervisor"`
	// SystemdRaw is [tool.venvpkg.services.<name>.systemd] as decoded.
	SystemdRaw map[string]any `toml:"systemd"`
	// Systemd are the [Service] directives that table adds or overrides,
	// sorted by key; an array value gives one directive per element, an
	// empty string is written as the empty assignment ("Key=", systemd's
	// "none" or "reset"), and an empty array removes a default directive.
	Systemd []Directive `toml:"-"`
}

// Directive is one systemd unit-file assignment, Key=Value. Remove marks
// a key whose default directive is to be left out.
type Directive struct {
	Key, Value string
	Remove     bool
}

// ConfigFile is one entry of [tool.venvpkg.config]: a file of the project
// installed as a configuration file (a conffile in a .deb,
// %config(noreplace) in an .rpm).
type ConfigFile struct {
	// Path is the installed absolute path, the entry's key.
	Path string `toml:"-"`
	// SourceRaw is the source as written, relative to the project.
	SourceRaw string `toml:"source"`
	// Source is the absolute path of the source file in the project.
	Source  string `toml:"-"`
	ModeRaw any    `toml:"mode"`
	// Mode is the installed mode (default 0644).
	Mode  os.FileMode `toml:"-"`
	Owner string      `toml:"owner"` // default root
	Group string      `toml:"group"` // default root
}

// Restarts are the values of systemd's Restart= a service may use.
var Restarts = []string{"no", "always", "on-success", "on-failure", "on-abnormal", "on-abort", "on-watchdog"}

var (
	serviceNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)
	userNamePattern    = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,30}$`)
	directivePattern   = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)
)

// serviceKeys are the keys of a [tool.venvpkg.services.<name>] table.
func serviceKeys() []string {
	return []string{"command", "description", "environment-file", "group", "listen", "restart", "supervisor", "systemd", "user"}
}

// configFileKeys are the keys of a [tool.venvpkg.config] entry.
func configFileKeys() []string {
	return []string{"group", "mode", "owner", "source"}
}

// ValidUserName checks a system user or group name: lowercase letters,
// digits, "_" and "-", starting with a letter or "_", at most 31
// characters (useradd(8) and sysusers.d(5) accept these everywhere).
func ValidUserName(name string) error {
	if !userNamePattern.MatchString(name) {
		return fmt.Errorf("%q is not a valid user or group name (lowercase letters, digits, _ and -, starting with a letter or _, at most 31 characters)", name)
	}
	return nil
}

// validateServices fills in the services' defaults and checks them.
func (c *Config) validateServices() error {
	names := make([]string, 0, len(c.Tool.ServicesRaw))
	for n := range c.Tool.ServicesRaw {
		names = append(names, n)
	}
	sort.Strings(names)
	c.Services = nil
	for _, n := range names {
		s := c.Tool.ServicesRaw[n]
		s.Name = n
		where := fmt.Sprintf("%s: [tool.venvpkg.services.%s]", c.File, n)
		if !serviceNamePattern.MatchString(n) {
			return fmt.Errorf("%s: the service name %q is not valid in a unit name; use lowercase letters, digits, _ . and -", where, n)
		}
		if strings.TrimSpace(s.Command) == "" {
			return fmt.Errorf("%s: command is missing; set the command line the service runs, e.g. command = \"gunicorn myapp:app\"", where)
		}
		if _, err := SplitCommand(s.Command); err != nil {
			return fmt.Errorf("%s: command: %w", where, err)
		}
		if strings.ContainsAny(s.Description, "\r\n") {
			return fmt.Errorf("%s: description must be one line", where)
		}
		if s.User == "" {
			s.User = c.PackageName()
			if err := ValidUserName(s.User); err != nil {
				return fmt.Errorf("%s: the default user, the package name %q, is not a valid user name; set user = \"...\"", where, s.User)
			}
		} else if err := ValidUserName(s.User); err != nil {
			return fmt.Errorf("%s: user: %w", where, err)
		}
		if s.User == "root" {
			return fmt.Errorf("%s: user: services must not run as root; choose a system user of their own", where)
		}
		if s.Group == "" {
			s.Group = s.User
		} else if err := ValidUserName(s.Group); err != nil {
			return fmt.Errorf("%s: group: %w", where, err)
		}
		if s.Restart == "" {
			s.Restart = "on-failure"
		} else if !contains(Restarts, s.Restart) {
			return fmt.Errorf("%s: restart %q is not one of %s", where, s.Restart, strings.Join(Restarts, ", "))
		}
		if s.Listen != "" {
			if err := validListen(s.Listen); err != nil {
				return fmt.Errorf("%s: listen: %w", where, err)
			}
		}
		ds, err := directives(s.SystemdRaw)
		if err != nil {
			return fmt.Errorf("%s: [tool.venvpkg.services.%s.systemd] %w", c.File, n, err)
		}
		s.Systemd = ds
		c.Services = append(c.Services, s)
	}
	return nil
}

// validListen accepts an absolute unix socket path or host:port.
func validListen(l string) error {
	if strings.HasPrefix(l, "/") {
		if filepath.Clean(l) != l || strings.ContainsAny(l, " \t\n\"'\\$`%;") {
			return fmt.Errorf("unix socket path %q must be clean and free of whitespace, quotes and metacharacters", l)
		}
		return nil
	}
	_, port, err := net.SplitHostPort(l)
	if err != nil {
		return fmt.Errorf("%q is neither an absolute unix socket path nor host:port: %w", l, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: port %q is not a number from 1 to 65535", l, port)
	}
	return nil
}

// directives turns a systemd table into sorted directives.
func directives(raw map[string]any) ([]Directive, error) {
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var ds []Directive
	for _, k := range keys {
		if !directivePattern.MatchString(k) {
			return nil, fmt.Errorf("%q is not a systemd directive name (e.g. LimitNOFILE, Type)", k)
		}
		var vals []any
		if arr, ok := raw[k].([]any); ok {
			if len(arr) == 0 {
				ds = append(ds, Directive{Key: k, Remove: true})
				continue
			}
			vals = arr
		} else {
			vals = []any{raw[k]}
		}
		for _, v := range vals {
			var s string
			switch v := v.(type) {
			case string:
				s = v
			case int64:
				s = strconv.FormatInt(v, 10)
			case bool:
				s = strconv.FormatBool(v)
			default:
				return nil, fmt.Errorf("%s must be a string, an integer, a boolean or an array of them, not %T", k, v)
			}
			if strings.ContainsAny(s, "\r\n") {
				return nil, fmt.Errorf("%s spans several lines; write one line", k)
			}
			ds = append(ds, Directive{Key: k, Value: s})
		}
	}
	return ds, nil
}

// SplitCommand splits a command line into words the way a POSIX shell
// does for plain words, single and double quotes and backslashes; it
// refuses shell syntax (pipes, redirections, substitutions) a service
// manager would not interpret.
func SplitCommand(s string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		in    bool // inside a word
		quote byte
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case quote == '"':
			switch {
			case c == '"':
				quote = 0
			case c == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0:
				i++
				cur.WriteByte(s[i])
			case c == '`' || c == '$' && i+1 < len(s) && s[i+1] == '(':
				return nil, fmt.Errorf("%q uses command substitution; write the command itself", s)
			default:
				cur.WriteByte(c)
			}
		case c == ' ' || c == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case c == '\n' || c == '\r':
			return nil, fmt.Errorf("%q spans several lines; write one line", s)
		case c == '\'' || c == '"':
			quote = c
			in = true
		case c == '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("%q ends with a backslash", s)
			}
			i++
			cur.WriteByte(s[i])
			in = true
		case strings.IndexByte("|&;<>()`", c) >= 0 || c == '$' && i+1 < len(s) && s[i+1] == '(':
			return nil, fmt.Errorf("%q uses shell syntax (%q); a service runs one program, so write its command line only", s, string(c))
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("%q has an unterminated %c quote", s, quote)
	}
	if in {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("command is empty")
	}
	return words, nil
}

// secretPatterns are file names that usually hold credentials.
func looksSecret(name string) bool {
	base := strings.ToLower(filepath.Base(name))
	return base == ".env" || strings.HasPrefix(base, ".env.") ||
		strings.HasSuffix(base, ".key") || strings.HasSuffix(base, ".pem")
}

// validateConfigFiles resolves and checks [tool.venvpkg.config].
func (c *Config) validateConfigFiles() error {
	paths := make([]string, 0, len(c.Tool.ConfigRaw))
	for p := range c.Tool.ConfigRaw {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	c.ConfigFiles = nil
	projDir, err := filepath.Abs(c.Dir)
	if err != nil {
		return err
	}
	realProj, err := filepath.EvalSymlinks(projDir)
	if err != nil {
		realProj = projDir
	}
	for _, p := range paths {
		f := c.Tool.ConfigRaw[p]
		f.Path = p
		where := fmt.Sprintf("%s: [tool.venvpkg.config] %q", c.File, p)
		if !strings.HasPrefix(p, "/etc/") || filepath.Clean(p) != p {
			return fmt.Errorf("%s: configuration files are installed under /etc; write a clean absolute path such as \"/etc/%s/app.conf\"", where, c.PackageName())
		}
		if strings.ContainsAny(p, " \t\n\"'\\$`%;*?[") {
			return fmt.Errorf("%s: the path contains whitespace, quotes, glob or shell metacharacters; choose a plain path", where)
		}
		if f.SourceRaw == "" {
			return fmt.Errorf("%s: source is missing; name the file in the project, e.g. { source = \"deploy/app.conf\" }", where)
		}
		if filepath.IsAbs(f.SourceRaw) {
			return fmt.Errorf("%s: source %q is absolute; give a path relative to the project directory %s", where, f.SourceRaw, projDir)
		}
		src := filepath.Join(projDir, filepath.FromSlash(f.SourceRaw))
		if rel, err := filepath.Rel(projDir, src); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return fmt.Errorf("%s: source %q is outside the project directory %s; keep configuration in the project", where, f.SourceRaw, projDir)
		}
		real, err := filepath.EvalSymlinks(src)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: source %q does not exist in the project directory %s", where, f.SourceRaw, projDir)
		}
		if err != nil {
			return fmt.Errorf("%s: source %q: %w", where, f.SourceRaw, err)
		}
		if rel, err := filepath.Rel(realProj, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return fmt.Errorf("%s: source %q is outside the project directory %s; keep configuration in the project", where, f.SourceRaw, projDir)
		}
		st, err := os.Stat(real)
		if err != nil {
			return fmt.Errorf("%s: source %q: %w", where, f.SourceRaw, err)
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("%s: source %q is not a regular file", where, f.SourceRaw)
		}
		f.Source = src
		f.Mode = 0o644
		switch m := f.ModeRaw.(type) {
		case nil:
		case string:
			n, err := strconv.ParseUint(m, 8, 32)
			if err != nil || n > 0o777 {
				return fmt.Errorf("%s: mode %q is not an octal permission such as \"0640\" (no setuid, setgid or sticky bits)", where, m)
			}
			f.Mode = os.FileMode(n)
		case int64:
			if m < 0 || m > 0o777 {
				return fmt.Errorf("%s: mode %o is not a permission such as 0o640", where, m)
			}
			f.Mode = os.FileMode(m)
		default:
			return fmt.Errorf("%s: mode must be an octal string such as \"0640\", not %T", where, m)
		}
		if f.Owner == "" {
			f.Owner = "root"
		} else if err := ValidUserName(f.Owner); err != nil {
			return fmt.Errorf("%s: owner: %w", where, err)
		}
		if f.Group == "" {
			f.Group = "root"
		} else if err := ValidUserName(f.Group); err != nil {
			return fmt.Errorf("%s: group: %w", where, err)
		}
		if looksSecret(p) || looksSecret(f.SourceRaw) {
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s: %s looks like a secret (.env, *.key, *.pem); a package is readable by everyone who can download it, so install secrets with configuration management instead", c.File, f.SourceRaw))
		}
		c.ConfigFiles = append(c.ConfigFiles, f)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
