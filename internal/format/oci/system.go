package oci

import (
	"archive/tar"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/venvpkg/venvpkg/internal/format"
	"github.com/venvpkg/venvpkg/internal/service"
)

func emptyOCI() v1.Image {
	return mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
}

func writeDocker(w io.Writer, img v1.Image, ref string) error {
	tag, err := name.NewTag(ref, name.WithDefaultRegistry(""))
	if err != nil {
		return fmt.Errorf("image name %s: %w", ref, err)
	}
	return tarball.Write(tag, img, w)
}

// accounts are the image's /etc/passwd and /etc/group with the users and
// groups the package runs as.
type accounts struct {
	passwd, group string
	uids, gids    map[string]int
	uid, gid      int // the entrypoint's
}

// firstSystemID is where new system ids are taken from, downwards, as
// systemd-sysusers does.
const firstSystemID = 999

// newAccounts adds to the base image's passwd and group the services'
// users and groups (the package name without services), with numeric ids:
// an existing entry keeps its id, a new one takes the highest free id below
// 1000. The result depends only on the base image and the project.
func newAccounts(passwd, group string, in *format.Input) (*accounts, error) {
	a := &accounts{passwd: passwd, group: group, uids: map[string]int{"root": 0}, gids: map[string]int{"root": 0}}
	usedU, usedG := map[int]bool{}, map[int]bool{}
	for _, l := range lines(passwd) {
		f := strings.Split(l, ":")
		if len(f) >= 4 {
			if id, err := strconv.Atoi(f[2]); err == nil {
				a.uids[f[0]], usedU[id] = id, true
			}
		}
	}
	for _, l := range lines(group) {
		f := strings.Split(l, ":")
		if len(f) >= 3 {
			if id, err := strconv.Atoi(f[2]); err == nil {
				a.gids[f[0]], usedG[id] = id, true
			}
		}
	}
	type acct struct{ user, group string }
	var want []acct
	if len(in.Services) == 0 {
		want = append(want, acct{in.Package.Name, in.Package.Name})
	}
	for _, s := range in.Services {
		want = append(want, acct{s.User, s.Group})
	}
	free := func(used map[int]bool) (int, error) {
		for id := firstSystemID; id >= 100; id-- {
			if !used[id] {
				used[id] = true
				return id, nil
			}
		}
		return 0, fmt.Errorf("the base image has no free system id from 100 to %d", firstSystemID)
	}
	home := service.StateDir(in.Package.Name)
	for _, w := range want {
		if _, ok := a.gids[w.group]; !ok {
			id, err := free(usedG)
			if err != nil {
				return nil, err
			}
			a.gids[w.group] = id
			a.group = appendLine(a.group, fmt.Sprintf("%s:x:%d:", w.group, id))
		}
		if _, ok := a.uids[w.user]; !ok {
			id, err := free(usedU)
			if err != nil {
				return nil, err
			}
			a.uids[w.user] = id
			a.passwd = appendLine(a.passwd, fmt.Sprintf("%s:x:%d:%d:%s:%s:/usr/sbin/nologin", w.user, id, a.gids[w.group], in.Package.Name, home))
		}
	}
	a.uid, a.gid = a.uids[want[0].user], a.gids[want[0].group]
	return a, nil
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func appendLine(file, line string) string {
	if file != "" && !strings.HasSuffix(file, "\n") {
		file += "\n"
	}
	return file + line + "\n"
}

// id looks up an owner or group name; unknown names are root's.
func id(ids map[string]int, name string) int {
	if n, ok := ids[name]; ok {
		return n
	}
	return 0
}

// writeSystem writes the second layer: passwd and group, the
// configuration files at their paths with their owners, and the
// services' state, log and runtime directories owned by the entrypoint's
// user.
func writeSystem(tw *tar.Writer, in *format.Input, a *accounts) error {
	type entry struct {
		h    *tar.Header
		data []byte
	}
	entries := map[string]entry{}
	addDirs := func(p string) {
		for d := path.Dir(p); d != "/" && d != "."; d = path.Dir(d) {
			n := strings.TrimPrefix(d, "/") + "/"
			if _, ok := entries[n]; !ok {
				entries[n] = entry{h: tarHeader(n, tar.TypeDir, 0o755, 0, 0)}
			}
		}
	}
	addFile := func(p string, data []byte, mode int64, uid, gid int) {
		addDirs(p)
		n := strings.TrimPrefix(p, "/")
		h := tarHeader(n, tar.TypeReg, mode, uid, gid)
		h.Size = int64(len(data))
		entries[n] = entry{h: h, data: data}
	}
	addFile("/etc/passwd", []byte(a.passwd), 0o644, 0, 0)
	addFile("/etc/group", []byte(a.group), 0o644, 0, 0)
	for _, f := range in.ConfigFiles {
		mode := int64(f.Mode.Perm())
		if mode == 0 {
			mode = 0o644
		}
		addFile(f.Path, f.Data, mode, id(a.uids, f.Owner), id(a.gids, f.Group))
	}
	for _, d := range []struct {
		p    string
		mode int64
	}{{service.StateDir(in.Package.Name), 0o750}, {service.LogsDir(in.Package.Name), 0o750}, {service.RuntimeDir(in.Package.Name), 0o755}} {
		addDirs(d.p)
		n := strings.TrimPrefix(d.p, "/") + "/"
		entries[n] = entry{h: tarHeader(n, tar.TypeDir, d.mode, a.uid, a.gid)}
	}
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		e := entries[n]
		e.h.ModTime = in.Package.MTime
		if err := tw.WriteHeader(e.h); err != nil {
			return err
		}
		if _, err := tw.Write(e.data); err != nil {
			return err
		}
	}
	return nil
}
