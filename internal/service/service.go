// Package service generates what a package needs to run its programs as
// supervised daemons and to keep the operator's configuration: systemd
// service and socket units (systemd.service(5), systemd.socket(5),
// systemd.exec(5)), a sysusers.d(5) file for the system users, opt-in
// supervisord program files, an example nginx site for services that
// listen, and the package scripts — Debian maintainer scripts
// (deb-postinst(5) and friends, with the enable/restart/stop behaviour of
// debhelper's deb-systemd-helper and deb-systemd-invoke) and RPM scriptlets
// with the semantics of systemd's %systemd_post, %systemd_preun and
// %systemd_postun_with_restart macros.
//
// Everything is plain text built from a Spec; Generate returns the files
// to add to the payload and the four scripts. The same Spec gives the same
// bytes, so packages stay reproducible.
package service

import (
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/venvpkg/venvpkg/internal/config"
)

// Flavour is how one package family installs services: where units,
// environment files and supervisord programs go, and which package
// scripts manage them. Each package format supplies its flavour; a format
// without one (an image) gets no service files.
type Flavour struct {
	Name           string // the package format, for messages and golden trees
	UnitDir        string // packaged systemd units
	EnvironmentDir string // the services' optional environment files
	SupervisorDir  string // supervisord program files
	SupervisorExt  string // their file name extension
	// scripts writes the package scripts: maintainer scripts or
	// scriptlets.
	scripts func(spec *Spec, us []unit) Scripts
}

// The flavours of the two package families venvpkg writes.
var (
	// Deb is Debian's: units in /lib/systemd/system, /etc/default,
	// supervisor's conf.d, maintainer scripts.
	Deb = &Flavour{Name: "deb", UnitDir: "/lib/systemd/system", EnvironmentDir: "/etc/default", SupervisorDir: "/etc/supervisor/conf.d", SupervisorExt: ".conf", scripts: debScripts}
	// RPM is the Red Hat family's: units in /usr/lib/systemd/system,
	// /etc/sysconfig, supervisord.d, scriptlets.
	RPM = &Flavour{Name: "rpm", UnitDir: "/usr/lib/systemd/system", EnvironmentDir: "/etc/sysconfig", SupervisorDir: "/etc/supervisord.d", SupervisorExt: ".ini", scripts: rpmScripts}
)

// Spec describes the package whose services are generated.
type Spec struct {
	Package  string // package name
	Prefix   string // final path of the virtualenv
	Summary  string // one line, used in unit descriptions
	Homepage string // Documentation= of the units, may be empty
	Services []config.Service
}

// File is one generated file of the payload.
type File struct {
	Path         string // final absolute path
	Data         []byte
	Mode         os.FileMode
	Owner, Group string
	// Config marks a configuration file: a conffile in a .deb,
	// %config(noreplace) in an .rpm.
	Config bool
}

// Scripts are the package scripts: preinst, postinst, prerm and postrm of
// a .deb, or %pre, %post, %preun and %postun of an .rpm. An empty string
// means no script.
type Scripts struct {
	PreInstall, PostInstall, PreRemove, PostRemove string
}

// Output is what Generate produces.
type Output struct {
	Files   []File // sorted by path
	Scripts Scripts
}

// unit is one service with its derived names and paths.
type unit struct {
	svc     config.Service
	name    string   // unit name without suffix: "myapp" or "myapp-web"
	argv    []string // command with argv[0] resolved
	hasSock bool
}

// UnitName returns the systemd unit name (without ".service") of the
// service called svc in package pkg when the package has n services:
// the package name for a lone service named like the package, else
// "<pkg>-<svc>".
func UnitName(pkg, svc string, n int) string {
	if n == 1 && svc == pkg {
		return pkg
	}
	return pkg + "-" + svc
}

// Command returns the service's command line as words, its first word
// resolved in prefix/bin unless it names a path.
func Command(prefix string, s config.Service) ([]string, error) {
	argv, err := config.SplitCommand(s.Command)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(argv[0], "/") {
		argv[0] = path.Join(prefix, "bin", argv[0])
	} else if !path.IsAbs(argv[0]) {
		return nil, fmt.Errorf("command %q: the program %q is a relative path; name a program of the virtualenv's bin/ directory or an absolute path", s.Command, argv[0])
	}
	return argv, nil
}

func (s *Spec) units() ([]unit, error) {
	us := make([]unit, 0, len(s.Services))
	for _, svc := range s.Services {
		argv, err := Command(s.Prefix, svc)
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", svc.Name, err)
		}
		us = append(us, unit{svc: svc, name: UnitName(s.Package, svc.Name, len(s.Services)), argv: argv, hasSock: svc.Listen != ""})
	}
	return us, nil
}

// String is the flavour's format name.
func (f *Flavour) String() string { return f.Name }

// EnvironmentFile is the optional environment file of the package's
// services: /etc/default/<pkg> on Debian, /etc/sysconfig/<pkg> on RPM
// systems.
func (f *Flavour) EnvironmentFile(pkg string) string {
	return path.Join(f.EnvironmentDir, pkg)
}

// StateDir, LogsDir and RuntimeDir are the package's directories under
// /var/lib, /var/log and /run. systemd creates them for the services
// (StateDirectory=, LogsDirectory=, RuntimeDirectory=); the scripts create
// the state and log directories on hosts without systemd and remove all
// three on purge.
func StateDir(pkg string) string   { return "/var/lib/" + pkg }
func LogsDir(pkg string) string    { return "/var/log/" + pkg }
func RuntimeDir(pkg string) string { return "/run/" + pkg }

// sharedDirs reports whether the services of spec share the package's
// directories: they do when they all run as one user. systemd makes a
// service's StateDirectory=, LogsDirectory= and RuntimeDirectory= belong
// to its own User=, so services of different users sharing one directory
// would take it from each other on every start; each of them then gets a
// directory of its own below the package's (owned by root, mode 0755).
func sharedDirs(spec *Spec) bool {
	for _, s := range spec.Services {
		if s.User != spec.Services[0].User {
			return false
		}
	}
	return true
}

// dirName is the name a service's StateDirectory=, LogsDirectory= and
// RuntimeDirectory= use, relative to /var/lib, /var/log and /run: the
// package's name, or "<pkg>/<service>" when the services' users differ.
func dirName(spec *Spec, svc config.Service) string {
	if sharedDirs(spec) {
		return spec.Package
	}
	return spec.Package + "/" + svc.Name
}

// ServiceStateDir is the state directory of service svc of spec, its
// working directory.
func ServiceStateDir(spec *Spec, svc config.Service) string { return "/var/lib/" + dirName(spec, svc) }

// supervisorPath is where the supervisor packages of each family read
// program files from.
func (f *Flavour) supervisorPath(unitName string) string {
	return path.Join(f.SupervisorDir, unitName+f.SupervisorExt)
}

// Generate writes the units, sockets, sysusers file, supervisord programs,
// nginx example and scripts of spec for format f. A package without
// services still gets scripts: they remove bytecode written at run time
// so that removing the package leaves nothing under the prefix.
func Generate(spec Spec, f *Flavour) (*Output, error) {
	if f == nil || f.scripts == nil {
		return nil, errors.New("the package format has no service support; use deb or rpm")
	}
	us, err := spec.units()
	if err != nil {
		return nil, err
	}
	out := &Output{}
	add := func(p string, data string, mode os.FileMode, config bool) {
		out.Files = append(out.Files, File{Path: p, Data: []byte(data), Mode: mode, Owner: "root", Group: "root", Config: config})
	}
	for _, u := range us {
		add(path.Join(f.UnitDir, u.name+".service"), serviceUnit(&spec, f, u, len(us)), 0o644, false)
		if u.hasSock {
			add(path.Join(f.UnitDir, u.name+".socket"), socketUnit(&spec, u), 0o644, false)
		}
		if u.svc.Supervisor {
			add(f.supervisorPath(u.name), supervisorProgram(&spec, f, u), 0o644, true)
		}
	}
	if len(us) > 0 {
		add("/usr/lib/sysusers.d/"+spec.Package+".conf", sysusers(&spec), 0o644, false)
	}
	if nginx := nginxSite(&spec, us); nginx != "" {
		add("/usr/share/doc/"+spec.Package+"/examples/nginx.conf", nginx, 0o644, false)
	}
	sort.Slice(out.Files, func(i, j int) bool { return out.Files[i].Path < out.Files[j].Path })
	out.Scripts = f.scripts(&spec, us)
	return out, nil
}

// users lists the distinct users and groups of the services, sorted.
func users(spec *Spec) (us []config.Service) {
	seen := map[string]bool{}
	for _, s := range spec.Services {
		if seen[s.User] {
			continue
		}
		seen[s.User] = true
		us = append(us, s)
	}
	sort.Slice(us, func(i, j int) bool { return us[i].User < us[j].User })
	return us
}

// groups lists the groups that are not also a user's own group.
func groups(spec *Spec) []string {
	own := map[string]bool{}
	for _, s := range users(spec) {
		if s.Group == s.User {
			own[s.User] = true
		}
	}
	seen := map[string]bool{}
	var gs []string
	for _, s := range spec.Services {
		if !own[s.Group] && !seen[s.Group] {
			seen[s.Group] = true
			gs = append(gs, s.Group)
		}
	}
	sort.Strings(gs)
	return gs
}

// sysusers writes sysusers.d(5) lines: extra groups first, then each user
// with its primary group, home in the state directory, no login shell.
func sysusers(spec *Spec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# System users of %s's services (sysusers.d(5)), written by venvpkg.\n", spec.Package)
	for _, g := range groups(spec) {
		fmt.Fprintf(&b, "g %s -\n", g)
	}
	for _, s := range users(spec) {
		id := "-"
		if s.Group != s.User {
			id = "-:" + s.Group
		}
		fmt.Fprintf(&b, "u %s %s %q %s /usr/sbin/nologin\n", s.User, id, gecos(spec, s), ServiceStateDir(spec, s))
	}
	return b.String()
}

func gecos(spec *Spec, _ config.Service) string {
	return spec.Package + " service user"
}

// systemdWord quotes one word of a command line for ExecStart=: "%" is
// doubled (specifiers), words with blanks, quotes or backslashes are
// double-quoted with C escapes. "$" is left alone so that $VAR from the
// environment file expands, as systemd documents.
func systemdWord(w string) string {
	w = strings.ReplaceAll(w, "%", "%%")
	if w != "" && !strings.ContainsAny(w, " \t\"'\\;") {
		return w
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(w) + `"`
}

// shellWord quotes one word for a POSIX shell.
func shellWord(w string) string {
	if w != "" && strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+") == "" {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}

func joinWords(ws []string, quote func(string) string) string {
	q := make([]string, len(ws))
	for i, w := range ws {
		q[i] = quote(w)
	}
	return strings.Join(q, " ")
}

// serviceDefaults are the hardened [Service] directives every unit starts
// from; [tool.venvpkg.services.X.systemd] overrides them by key.
func serviceDefaults(spec *Spec, f *Flavour, u unit, n int) []config.Directive {
	d := func(k, v string) config.Directive { return config.Directive{Key: k, Value: v} }
	ds := []config.Directive{
		d("Type", "simple"),
		d("User", u.svc.User),
		d("Group", u.svc.Group),
	}
	if u.svc.EnvironmentFile {
		ds = append(ds, d("EnvironmentFile", "-"+f.EnvironmentFile(spec.Package)))
	}
	ds = append(ds,
		d("WorkingDirectory", ServiceStateDir(spec, u.svc)),
		d("ExecStart", joinWords(u.argv, systemdWord)),
		d("KillMode", "mixed"),
		d("TimeoutStopSec", "30"),
		d("Restart", u.svc.Restart),
		d("RestartSec", "3"),
		d("StateDirectory", dirName(spec, u.svc)),
		d("LogsDirectory", dirName(spec, u.svc)),
		d("RuntimeDirectory", dirName(spec, u.svc)),
	)
	// systemd removes a runtime directory when its service stops: keep it
	// until shutdown when other services share it or a socket, which
	// outlives restarts of its service, lives in it.
	runtime := "/run/" + dirName(spec, u.svc)
	if (n > 1 && sharedDirs(spec)) || strings.HasPrefix(u.svc.Listen, runtime+"/") {
		ds = append(ds, d("RuntimeDirectoryPreserve", "yes"))
	}
	ds = append(ds, hardening()...)
	return ds
}

// hardening are the sandboxing directives of every service (systemd.exec(5));
// with them `systemd-analyze security` rates a web service about 1.3, "OK".
// docs/services.md says what each forbids and how to loosen it per service.
// MemoryDenyWriteExecute is left out: CPython's ctypes and cffi need
// writable executable memory.
func hardening() []config.Directive {
	d := func(k, v string) config.Directive { return config.Directive{Key: k, Value: v} }
	return []config.Directive{
		d("NoNewPrivileges", "true"),
		d("CapabilityBoundingSet", ""),
		d("ProtectSystem", "strict"),
		d("ProtectHome", "true"),
		d("PrivateTmp", "true"),
		d("PrivateDevices", "true"),
		d("ProtectKernelTunables", "true"),
		d("ProtectKernelModules", "true"),
		d("ProtectKernelLogs", "true"),
		d("ProtectControlGroups", "true"),
		d("ProtectClock", "true"),
		d("ProtectHostname", "true"),
		d("ProtectProc", "invisible"),
		d("ProcSubset", "pid"),
		d("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
		d("RestrictNamespaces", "true"),
		d("RestrictRealtime", "true"),
		d("RestrictSUIDSGID", "true"),
		d("LockPersonality", "true"),
		d("RemoveIPC", "true"),
		d("UMask", "0027"),
		d("SystemCallArchitectures", "native"),
		d("SystemCallFilter", "@system-service"),
		d("SystemCallErrorNumber", "EPERM"),
	}
}

// override applies the user's directives: a key the defaults have is
// replaced in place (all its values), others are appended in key order.
// A directive marked Remove drops the key; an empty value is written as
// the empty assignment "Key=", which systemd reads as "none" or "reset".
func override(defaults, user []config.Directive) []config.Directive {
	byKey := map[string][]config.Directive{}
	for _, d := range user {
		byKey[d.Key] = append(byKey[d.Key], d)
	}
	var out []config.Directive
	done := map[string]bool{}
	for _, d := range defaults {
		us, ok := byKey[d.Key]
		if !ok {
			out = append(out, d)
			continue
		}
		if !done[d.Key] {
			done[d.Key] = true
			for _, u := range us {
				if !u.Remove {
					out = append(out, u)
				}
			}
		}
	}
	for _, d := range user {
		if !done[d.Key] && !d.Remove {
			out = append(out, d)
		}
	}
	return out
}

func description(spec *Spec, u unit) string {
	if u.svc.Description != "" {
		return u.svc.Description
	}
	s := strings.TrimSpace(spec.Summary)
	if s == "" {
		s = spec.Package
	}
	if u.name == spec.Package {
		return s
	}
	return s + " (" + u.svc.Name + ")"
}

func serviceUnit(spec *Spec, f *Flavour, u unit, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s.service: written by venvpkg for the package %s.\n", u.name, spec.Package)
	fmt.Fprintf(&b, "# Change it with a drop-in (systemctl edit %s), not here: upgrades replace this file.\n", u.name)
	b.WriteString("[Unit]\n")
	fmt.Fprintf(&b, "Description=%s\n", strings.ReplaceAll(description(spec, u), "%", "%%"))
	if spec.Homepage != "" {
		fmt.Fprintf(&b, "Documentation=%s\n", strings.ReplaceAll(spec.Homepage, "%", "%%"))
	}
	b.WriteString("After=network.target\n")
	if u.hasSock {
		fmt.Fprintf(&b, "Requires=%s.socket\nAfter=%s.socket\n", u.name, u.name)
	}
	b.WriteString("\n[Service]\n")
	for _, d := range override(serviceDefaults(spec, f, u, n), u.svc.Systemd) {
		fmt.Fprintf(&b, "%s=%s\n", d.Key, d.Value)
	}
	b.WriteString("\n[Install]\nWantedBy=multi-user.target\n")
	return b.String()
}

// listenStream renders listen for ListenStream=: a path as is, host:port
// as systemd writes it (":8000" becomes "8000", every address).
func listenStream(l string) string {
	if strings.HasPrefix(l, ":") {
		return l[1:]
	}
	return l
}

func socketUnit(spec *Spec, u unit) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s.socket: written by venvpkg for the package %s; it starts %s.service on the\n", u.name, spec.Package, u.name)
	b.WriteString("# first connection and hands it the listening socket (sd_listen_fds(3)). The socket stays\n")
	b.WriteString("# open while the service restarts, so connections wait instead of being refused.\n")
	b.WriteString("[Unit]\n")
	fmt.Fprintf(&b, "Description=%s socket\n", strings.ReplaceAll(description(spec, u), "%", "%%"))
	b.WriteString("\n[Socket]\n")
	fmt.Fprintf(&b, "ListenStream=%s\n", listenStream(u.svc.Listen))
	if strings.HasPrefix(u.svc.Listen, "/") {
		b.WriteString("SocketUser=root\n")
		fmt.Fprintf(&b, "SocketGroup=%s\n", u.svc.Group)
		b.WriteString("SocketMode=0660\n")
	}
	b.WriteString("\n[Install]\nWantedBy=sockets.target\n")
	return b.String()
}

// supervisorValue escapes a value for supervisord's configuration, which
// expands "%(name)s": a literal "%" is written "%%".
func supervisorValue(s string) string { return strings.ReplaceAll(s, "%", "%%") }

func supervisorProgram(spec *Spec, f *Flavour, u unit) string {
	cmd := joinWords(u.argv, shellWord)
	if u.svc.EnvironmentFile {
		// supervisord cannot read an environment file: a shell exports
		// its assignments, then exec keeps the program's pid.
		env := f.EnvironmentFile(spec.Package)
		script := fmt.Sprintf("set -a; if [ -r %s ]; then . %s; fi; exec %s", env, env, cmd)
		cmd = "/bin/sh -c " + shellWord(script)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "; supervisord program for the %s service of %s, written by venvpkg.\n", u.svc.Name, spec.Package)
	fmt.Fprintf(&b, "; For hosts without systemd: do not also enable %s.service.\n", u.name)
	fmt.Fprintf(&b, "[program:%s]\n", u.name)
	fmt.Fprintf(&b, "command=%s\n", supervisorValue(cmd))
	fmt.Fprintf(&b, "directory=%s\n", ServiceStateDir(spec, u.svc))
	fmt.Fprintf(&b, "user=%s\n", u.svc.User)
	// supervisord changes only the uid; HOME and USER must follow.
	fmt.Fprintf(&b, "environment=HOME=\"%s\",USER=\"%s\"\n", ServiceStateDir(spec, u.svc), u.svc.User)
	b.WriteString("autostart=true\n")
	autorestart := "true"
	switch u.svc.Restart {
	case "no":
		autorestart = "false"
	case "on-failure", "on-abnormal", "on-abort", "on-watchdog":
		autorestart = "unexpected"
	}
	fmt.Fprintf(&b, "autorestart=%s\n", autorestart)
	b.WriteString("startsecs=1\nstartretries=3\n")
	b.WriteString("stopsignal=TERM\nstopwaitsecs=30\nstopasgroup=true\nkillasgroup=true\n")
	// Output goes to supervisord's own stdout, which systemd, a container
	// runtime or the console collects; nothing to rotate.
	b.WriteString("stdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\nredirect_stderr=true\n")
	return b.String()
}

// nginxSite writes an example reverse-proxy site for every service that
// listens, after gunicorn's documented deployment.
func nginxSite(spec *Spec, us []unit) string {
	var b strings.Builder
	n := 0
	for _, u := range us {
		if !u.hasSock {
			continue
		}
		if n == 0 {
			fmt.Fprintf(&b, "# Example nginx site for %s, written by venvpkg. Copy it to\n", spec.Package)
			fmt.Fprintf(&b, "# /etc/nginx/sites-available/%s, set server_name, and link it from sites-enabled.\n", spec.Package)
			b.WriteString("# A unix socket is created mode 0660 for the service's group: add nginx's user\n")
			b.WriteString("# (www-data, nginx) to that group.\n\n")
			b.WriteString("# Requests naming no known host get no answer.\nserver {\n    listen 80 default_server;\n    return 444;\n}\n")
		}
		n++
		addr := u.svc.Listen
		if strings.HasPrefix(addr, "/") {
			addr = "unix:" + addr
		} else if strings.HasPrefix(addr, ":") {
			addr = "127.0.0.1" + addr
		}
		upstream := strings.NewReplacer("-", "_", ".", "_").Replace(u.name)
		fmt.Fprintf(&b, "\nupstream %s {\n    server %s fail_timeout=0;\n}\n\n", upstream, addr)
		fmt.Fprintf(&b, "server {\n    listen 80;\n    server_name %s.example.org;\n", u.name)
		b.WriteString("    client_max_body_size 4G;\n    keepalive_timeout 5;\n\n")
		b.WriteString("    location / {\n")
		b.WriteString("        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n")
		b.WriteString("        proxy_set_header X-Forwarded-Proto $scheme;\n")
		b.WriteString("        proxy_set_header Host $http_host;\n")
		b.WriteString("        proxy_redirect off;\n")
		fmt.Fprintf(&b, "        proxy_pass http://%s;\n", upstream)
		b.WriteString("    }\n}\n")
	}
	return b.String()
}
