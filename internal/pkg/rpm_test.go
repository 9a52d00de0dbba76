package pkg

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/distver"
	"github.com/venvpkg/venvpkg/internal/testutil"
)

func extraFiles() ([]File, Scripts) {
	return []File{
			{Path: "/etc/demo/demo.conf", Data: []byte("key = value\n"), Mode: 0o640, Group: "demo", Config: true},
			{Path: "/usr/lib/systemd/system/demo.service", Data: []byte("[Service]\nExecStart=/opt/venvs/demo/bin/demo\n"), Mode: 0o644},
			{Path: "/usr/share/doc/demo/README", Data: []byte("demo\n"), Mode: 0o644},
		}, Scripts{
			PreInstall: "#!/bin/sh\necho pre \"$1\"\n",
			PostRemove: "#!/bin/sh\necho postun \"$1\"\n",
		}
}

func writeTestRPM(t *testing.T, root, out string) string {
	t.Helper()
	p := testPackage(root)
	p.Depends = []string{"/usr/bin/python3.11", "libpq >= 13"}
	p.Files, p.Scripts = extraFiles()
	path, err := WriteRPM(context.Background(), p, distver.RPMVersion{Epoch: "1", Version: "1.0~rc1", Release: "1"}, out)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// TestWriteRPM writes the staged tree plus extra files and scripts, reads
// the result back with rpm and checks that a second write is identical.
func TestWriteRPM(t *testing.T) {
	testutil.NeedTool(t, "rpm", "rpm")
	root := stageTree(t, testMTime)
	p1 := writeTestRPM(t, root, t.TempDir())
	p2 := writeTestRPM(t, stageTree(t, testMTime.AddDate(3, 0, 0)), t.TempDir())
	if filepath.Base(p1) != "demo-1.0~rc1-1.x86_64.rpm" {
		t.Errorf("file name = %s, want demo-1.0~rc1-1.x86_64.rpm", filepath.Base(p1))
	}
	a, err := os.ReadFile(p1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("two writes of the same package differ")
	}
	q := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("rpm", append([]string{"-qp"}, append(args, p1)...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("rpm -qp %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if got := q("--qf", "%{EPOCH}:%{VERSION}-%{RELEASE} %{ARCH} %{BUILDHOST} %{LICENSE} %{URL}\n"); got != "1:1.0~rc1-1 x86_64 reproducible MIT https://example.com/demo\n" {
		t.Errorf("rpm -qp --qf = %q", got)
	}
	wantList := strings.Join([]string{
		"/etc/demo", "/etc/demo/demo.conf",
		"/opt/venvs/demo", "/opt/venvs/demo/bin", "/opt/venvs/demo/bin/demo", "/opt/venvs/demo/bin/python",
		"/opt/venvs/demo/bin/python3", "/opt/venvs/demo/include", "/opt/venvs/demo/lib",
		"/opt/venvs/demo/lib/python3.11", "/opt/venvs/demo/lib/python3.11/site-packages",
		"/opt/venvs/demo/lib/python3.11/site-packages/demo", "/opt/venvs/demo/lib/python3.11/site-packages/demo/__init__.py",
		"/opt/venvs/demo/pyvenv.cfg", "/usr/lib/systemd/system/demo.service",
		"/usr/share/doc/demo", "/usr/share/doc/demo/README",
	}, "\n") + "\n"
	if got := q("--list"); got != wantList {
		t.Errorf("rpm -qp --list =\n%s\nwant (no shared directories such as /opt or /usr/lib/systemd/system)\n%s", got, wantList)
	}
	if got := q("--configfiles"); got != "/etc/demo/demo.conf\n" {
		t.Errorf("--configfiles = %q", got)
	}
	if got := q("--docfiles"); got != "/usr/share/doc/demo/README\n" {
		t.Errorf("--docfiles = %q", got)
	}
	if got := q("--qf", "[%{FILENAMES} %{FILEFLAGS:fflags} %{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME}\n]"); !strings.Contains(got, "/etc/demo/demo.conf cn -rw-r----- root:demo\n") {
		t.Errorf("demo.conf is not %%config(noreplace) 0640 root:demo:\n%s", got)
	}
	scripts := q("--scripts")
	for _, want := range []string{"preinstall scriptlet (using /bin/sh):\n#!/bin/sh\necho pre \"$1\"", "postuninstall scriptlet (using /bin/sh):\n#!/bin/sh\necho postun \"$1\""} {
		if !strings.Contains(scripts, want) {
			t.Errorf("--scripts lacks %q:\n%s", want, scripts)
		}
	}
	if got := q("--requires"); !strings.Contains(got, "/usr/bin/python3.11\n") || !strings.Contains(got, "libpq >= 13\n") {
		t.Errorf("--requires = %q", got)
	}
	if out, err := exec.Command("rpm", "-K", p1).CombinedOutput(); err != nil || !strings.Contains(string(out), "digests OK") {
		t.Errorf("rpm -K: %v\n%s", err, out)
	}
}

func TestWriteRPMErrors(t *testing.T) {
	root := stageTree(t, testMTime)
	tests := []struct {
		name   string
		modify func(*Package, *distver.RPMVersion)
		want   string
	}{
		{"hyphen in version", func(p *Package, v *distver.RPMVersion) { v.Version = "1.0-2" }, "RPM version \"1.0-2\" is not valid"},
		{"bad epoch", func(p *Package, v *distver.RPMVersion) { v.Epoch = "x" }, "epoch"},
		{"no license", func(p *Package, v *distver.RPMVersion) { p.License = "" }, "requires a License"},
		{"unknown arch", func(p *Package, v *distver.RPMVersion) { p.Arch = "pdp11" }, "no RPM name"},
		{"file twice", func(p *Package, v *distver.RPMVersion) {
			p.Files = []File{{Path: "/opt/venvs/demo/pyvenv.cfg", Mode: 0o644}}
		}, "in the payload twice"},
		{"script without interpreter", func(p *Package, v *distver.RPMVersion) { p.Scripts.PreInstall = "echo hi\n" }, "interpreter line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			p := testPackage(root)
			v := distver.RPMVersion{Version: "1.0", Release: "1"}
			tt.modify(p, &v)
			_, err := WriteRPM(context.Background(), p, v, out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("WriteRPM error = %v, want one containing %q", err, tt.want)
			}
			if entries, _ := os.ReadDir(out); len(entries) != 0 {
				t.Errorf("a failed write left %d files in the output directory", len(entries))
			}
		})
	}
}

// TestWriteDebFilesAndScripts checks that extra files get their owner,
// mode and conffile entry and that the scripts land in control.tar.
func TestWriteDebFilesAndScripts(t *testing.T) {
	testutil.NeedTool(t, "dpkg-deb", "dpkg")
	p := testPackage(stageTree(t, testMTime))
	p.Files, p.Scripts = extraFiles()
	deb, err := WriteDeb(context.Background(), p, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctrl := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "-e", deb, ctrl).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -e: %v\n%s", err, out)
	}
	if conf, _ := os.ReadFile(filepath.Join(ctrl, "conffiles")); string(conf) != "/etc/demo/demo.conf\n" {
		t.Errorf("conffiles = %q", conf)
	}
	for name, want := range map[string]string{"preinst": "echo pre", "postrm": "echo postun"} {
		data, err := os.ReadFile(filepath.Join(ctrl, name))
		if err != nil || !strings.Contains(string(data), want) {
			t.Errorf("%s = %q (%v), want it to contain %q", name, data, err, want)
		}
	}
	out, err := exec.Command("dpkg-deb", "-c", deb).CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"drwxr-xr-x root/root         0 2000-01-01 00:00 ./etc/demo/\n", "-rw-r----- root/demo        12 2000-01-01 00:00 ./etc/demo/demo.conf\n", "./usr/lib/systemd/system/\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("dpkg-deb -c lacks %q:\n%s", want, out)
		}
	}
}
