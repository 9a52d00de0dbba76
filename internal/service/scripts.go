package service

import (
	"fmt"
	"sort"
	"strings"
)

// script assembles a /bin/sh script from a header comment and a body.
type script struct {
	b strings.Builder
}

func newScript(what, pkg string, lines ...string) *script {
	s := &script{}
	s.b.WriteString("#!/bin/sh\n")
	fmt.Fprintf(&s.b, "# %s of %s, written by venvpkg.\n", what, pkg)
	for _, l := range lines {
		s.b.WriteString("# " + l + "\n")
	}
	s.b.WriteString("set -e\n")
	return s
}

func (s *script) add(format string, args ...any) { fmt.Fprintf(&s.b, format, args...) }

func (s *script) String() string { return s.b.String() + "exit 0\n" }

// unitLists returns the socket units, the service units, and both with
// sockets first (a socket must listen before its service starts).
func unitLists(us []unit) (sockets, services, all []string) {
	for _, u := range us {
		services = append(services, u.name+".service")
		if u.hasSock {
			sockets = append(sockets, u.name+".socket")
		}
	}
	all = append(append(all, sockets...), services...)
	return sockets, services, all
}

// createUsersFunc is a shell function that creates the services' users
// and groups: with systemd-sysusers from the packaged sysusers.d lines
// (passed on stdin, since the preinst runs before the file is unpacked),
// else with groupadd and useradd from passwd. Existing users are kept.
func createUsersFunc(spec *Spec) string {
	var b strings.Builder
	b.WriteString("create_users() {\n")
	b.WriteString("\tif command -v systemd-sysusers >/dev/null 2>&1; then\n")
	fmt.Fprintf(&b, "\t\tsystemd-sysusers --replace=/usr/lib/sysusers.d/%s.conf - <<'VENVPKG_SYSUSERS'\n", spec.Package)
	b.WriteString(sysusers(spec))
	b.WriteString("VENVPKG_SYSUSERS\n")
	b.WriteString("\telse\n")
	seen := map[string]bool{}
	var gs []string
	for _, s := range spec.Services {
		if !seen[s.Group] {
			seen[s.Group] = true
			gs = append(gs, s.Group)
		}
	}
	sort.Strings(gs)
	for _, g := range gs {
		fmt.Fprintf(&b, "\t\tgetent group %s >/dev/null || groupadd --system %s\n", g, g)
	}
	for _, s := range users(spec) {
		fmt.Fprintf(&b, "\t\tgetent passwd %s >/dev/null || useradd --system --gid %s --home-dir %s --no-create-home --shell /usr/sbin/nologin --comment %s %s\n",
			s.User, s.Group, ServiceStateDir(spec, s), shellWord(gecos(spec, s)), s.User)
	}
	b.WriteString("\tfi\n}\n\n")
	return b.String()
}

// stateDirsFunc creates each service's state and log directories for its
// user, for supervisors other than systemd (which creates them itself from
// StateDirectory= and LogsDirectory=); parents are root's.
func stateDirsFunc(spec *Spec) string {
	var b strings.Builder
	b.WriteString("create_state_dirs() {\n")
	seen := map[string]bool{}
	for _, s := range spec.Services {
		name := dirName(spec, s)
		for _, d := range []string{"/var/lib/" + name, "/var/log/" + name} {
			if seen[d] {
				continue
			}
			seen[d] = true
			fmt.Fprintf(&b, "\t[ -d %s ] || install -d -o %s -g %s -m 0750 %s\n", d, s.User, s.Group, d)
		}
	}
	b.WriteString("}\n\n")
	return b.String()
}

// bytecodeFunc removes __pycache__ directories under the prefix, which
// hold bytecode the package ships and bytecode an interpreter wrote at run
// time; the package's own files come back with the next unpack. Then
// directories left empty are removed.
func bytecodeFunc(spec *Spec) string {
	return fmt.Sprintf(`remove_bytecode() {
	if [ -d %[1]s ]; then
		find %[1]s -type d -name __pycache__ -prune -exec rm -rf {} +
	fi
}

remove_empty_dirs() {
	if [ -d %[1]s ]; then
		find %[1]s -depth -type d -empty -delete
	fi
}

`, spec.Prefix)
}

// debScripts writes the maintainer scripts (Debian Policy §6): users in
// preinst, so files owned by them unpack with the right owner; enabling
// on first install, and restarting after an upgrade once the new files
// are in place, in postinst; stopping in prerm only on removal; cleanup in
// postrm. Service actions run only when systemd is the running init
// (/run/systemd/system exists) and go through deb-systemd-invoke, which
// honours policy-rc.d.
func debScripts(spec *Spec, us []unit) Scripts {
	sockets, services, all := unitLists(us)
	var sc Scripts
	if len(us) > 0 {
		pre := newScript("preinst", spec.Package, "Creates the services' system users before their files are unpacked.")
		pre.add("\n%s", createUsersFunc(spec))
		pre.add("case \"$1\" in\ninstall|upgrade)\n\tcreate_users\n\t;;\nesac\n\n")
		sc.PreInstall = pre.String()

		post := newScript("postinst", spec.Package,
			"Enables the units on first installation (deb-systemd-helper keeps an admin's",
			"disable across upgrades) and starts them, or restarts them after an upgrade,",
			"when systemd is running.")
		post.add("\nunits=%q\n\n", strings.Join(all, " "))
		post.add("%s", stateDirsFunc(spec))
		post.add("case \"$1\" in\nconfigure|abort-upgrade|abort-deconfigure|abort-remove)\n")
		post.add("\tcreate_state_dirs\n")
		post.add("\tif command -v deb-systemd-helper >/dev/null 2>&1; then\n")
		post.add("\t\tfor unit in $units; do\n")
		post.add("\t\t\tdeb-systemd-helper unmask \"$unit\" >/dev/null || true\n")
		post.add("\t\t\t# was-enabled is true when no state exists yet: the first installation.\n")
		post.add("\t\t\tif deb-systemd-helper --quiet was-enabled \"$unit\"; then\n")
		post.add("\t\t\t\tdeb-systemd-helper enable \"$unit\" >/dev/null || true\n")
		post.add("\t\t\telse\n")
		post.add("\t\t\t\tdeb-systemd-helper update-state \"$unit\" >/dev/null || true\n")
		post.add("\t\t\tfi\n\t\tdone\n\tfi\n")
		post.add("\tif [ -d /run/systemd/system ]; then\n")
		post.add("\t\tsystemctl --system daemon-reload >/dev/null || true\n")
		post.add("\t\tif [ -n \"$2\" ]; then\n")
		if len(sockets) > 0 {
			post.add("\t\t\tdeb-systemd-invoke start %s >/dev/null || true\n", strings.Join(sockets, " "))
		}
		post.add("\t\t\tdeb-systemd-invoke restart %s >/dev/null || true\n", strings.Join(services, " "))
		post.add("\t\telse\n")
		post.add("\t\t\tdeb-systemd-invoke start $units >/dev/null || true\n")
		post.add("\t\tfi\n\tfi\n\t;;\nesac\n\n")
		sc.PostInstall = post.String()
	}

	prerm := newScript("prerm", spec.Package,
		"Stops the services when the package is removed (an upgrade restarts them in",
		"the new postinst instead) and removes bytecode, so no directory is left non-empty.")
	prerm.add("\n%s", bytecodeFunc(spec))
	prerm.add("case \"$1\" in\nremove)\n")
	if len(us) > 0 {
		prerm.add("\tif [ -d /run/systemd/system ] && command -v deb-systemd-invoke >/dev/null 2>&1; then\n")
		prerm.add("\t\tdeb-systemd-invoke stop %s >/dev/null || true\n", strings.Join(append(append([]string{}, services...), sockets...), " "))
		prerm.add("\tfi\n")
	}
	prerm.add("\tremove_bytecode\n\t;;\nupgrade|deconfigure|failed-upgrade)\n\tremove_bytecode\n\t;;\nesac\n\n")
	sc.PreRemove = prerm.String()

	postrm := newScript("postrm", spec.Package,
		"Cleans up after removal; purge also removes the units' enablement, the state,",
		"log and configuration directories. System users are kept, as Debian does.")
	postrm.add("\n%s", bytecodeFunc(spec))
	postrm.add("case \"$1\" in\nremove)\n")
	if len(us) > 0 {
		postrm.add("\tif [ -d /run/systemd/system ]; then\n\t\tsystemctl --system daemon-reload >/dev/null || true\n\tfi\n")
	}
	postrm.add("\tremove_bytecode\n\tremove_empty_dirs\n\t;;\n")
	postrm.add("purge)\n\tremove_bytecode\n\tremove_empty_dirs\n")
	if len(us) > 0 {
		postrm.add("\tif command -v deb-systemd-helper >/dev/null 2>&1; then\n")
		postrm.add("\t\tdeb-systemd-helper purge %s >/dev/null || true\n", strings.Join(all, " "))
		postrm.add("\t\tdeb-systemd-helper unmask %s >/dev/null || true\n", strings.Join(all, " "))
		postrm.add("\tfi\n")
		postrm.add("\trm -rf %s %s %s %s\n", StateDir(spec.Package), LogsDir(spec.Package), RuntimeDir(spec.Package), "/etc/"+spec.Package)
	}
	postrm.add("\t;;\nesac\n\n")
	sc.PostRemove = postrm.String()
	return sc
}

// rpmScripts writes the scriptlets. RPM passes the number of instances of
// the package that will be installed when the scriptlet is done as $1: 1
// on first install, 2 or more in an upgrade, 0 on erase. In an upgrade the
// new package's %pre and %post run first, then the old package's %preun
// and %postun, so the old scriptlets must act only when $1 is 0 and the
// restart belongs to %postun, after the old files are gone.
//
//	%pre     users (like %sysusers_create_package)
//	%post    $1 = 1: preset the units (%systemd_post)
//	%preun   $1 = 0: disable and stop the units (%systemd_preun), remove bytecode
//	%postun  $1 ≥ 1: try-restart the services (%systemd_postun_with_restart);
//	         $1 = 0: remove bytecode and empty directories left under the prefix,
//	         and the runtime directory (state and logs stay, as RPM packages keep them)
func rpmScripts(spec *Spec, us []unit) Scripts {
	_, services, all := unitLists(us)
	var sc Scripts
	if len(us) > 0 {
		pre := newScript("%pre", spec.Package, "Creates the services' system users before their files are installed.")
		pre.add("\n%s", createUsersFunc(spec))
		pre.add("create_users\n\n")
		sc.PreInstall = pre.String()

		post := newScript("%post", spec.Package, "$1 is 1 on first installation: apply the preset policy to the units.")
		post.add("\n%s", stateDirsFunc(spec))
		post.add("create_state_dirs\n")
		post.add("if [ -d /run/systemd/system ]; then\n\tsystemctl daemon-reload >/dev/null 2>&1 || :\nfi\n")
		post.add("if [ \"$1\" -eq 1 ] && command -v systemctl >/dev/null 2>&1; then\n")
		post.add("\tsystemctl --no-reload preset %s >/dev/null 2>&1 || :\n", strings.Join(all, " "))
		post.add("fi\n\n")
		sc.PostInstall = post.String()
	}

	preun := newScript("%preun", spec.Package, "$1 is 0 when the package is erased, not upgraded: stop and disable the units.")
	preun.add("\n%s", bytecodeFunc(spec))
	preun.add("if [ \"$1\" -eq 0 ]; then\n")
	if len(us) > 0 {
		preun.add("\tif command -v systemctl >/dev/null 2>&1; then\n")
		preun.add("\t\tsystemctl --no-reload disable --now %s >/dev/null 2>&1 || :\n", strings.Join(all, " "))
		preun.add("\tfi\n")
	}
	preun.add("\tremove_bytecode\nfi\n\n")
	sc.PreRemove = preun.String()

	postun := newScript("%postun", spec.Package, "$1 is 1 or more after an upgrade: restart running services on the new files.")
	postun.add("\n%s", bytecodeFunc(spec))
	if len(us) > 0 {
		postun.add("if [ -d /run/systemd/system ]; then\n\tsystemctl daemon-reload >/dev/null 2>&1 || :\n")
		postun.add("\tif [ \"$1\" -ge 1 ]; then\n\t\tsystemctl try-restart %s >/dev/null 2>&1 || :\n\tfi\nfi\n", strings.Join(services, " "))
	}
	postun.add("if [ \"$1\" -eq 0 ]; then\n\tremove_bytecode\n\tremove_empty_dirs\n")
	if len(us) > 0 {
		// The runtime directory outlives the services (RuntimeDirectoryPreserve=, socket files).
		postun.add("\trm -rf %s\n", RuntimeDir(spec.Package))
	}
	postun.add("fi\n\n")
	sc.PostRemove = postun.String()
	return sc
}
