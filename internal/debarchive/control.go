package debarchive

import (
	"archive/tar"
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Control is the package's metadata: the fields of DEBIAN/control
// (deb-control(5)) and the other control members.
type Control struct {
	Package      string
	Version      string // full Debian version
	Architecture string
	Maintainer   string
	Section      string
	Priority     string
	Depends      []string // written in this order, joined by ", "
	Homepage     string
	// Description is the synopsis, then the extended description's
	// lines, separated by "\n"; an empty line is written as " .".
	Description string
	// Conffiles are the final paths of the configuration files.
	Conffiles []string
	// Scripts maps maintainer script names (preinst, postinst, prerm,
	// postrm) to their text; empty scripts are left out.
	Scripts map[string]string
}

// scriptNames are the maintainer scripts in the order they are archived.
var scriptNames = []string{"preinst", "postinst", "prerm", "postrm"}

// controlFile renders the control file; installedKiB is Installed-Size.
func (c *Control) controlFile(installedKiB int64) ([]byte, error) {
	var b bytes.Buffer
	field := func(name, value string) error {
		if value == "" {
			return nil
		}
		if strings.ContainsAny(value, "\r\n") {
			return fmt.Errorf("control field %s %q spans several lines", name, value)
		}
		fmt.Fprintf(&b, "%s: %s\n", name, value)
		return nil
	}
	for _, f := range []struct{ name, value string }{
		{"Package", c.Package},
		{"Version", c.Version},
		{"Section", c.Section},
		{"Priority", c.Priority},
		{"Architecture", c.Architecture},
		{"Maintainer", c.Maintainer},
		{"Installed-Size", fmt.Sprint(installedKiB)},
		{"Depends", strings.Join(c.Depends, ", ")},
		{"Homepage", c.Homepage},
	} {
		if err := field(f.name, f.value); err != nil {
			return nil, err
		}
	}
	lines := strings.Split(c.Description, "\n")
	if strings.TrimSpace(lines[0]) == "" {
		return nil, fmt.Errorf("control field Description has no synopsis")
	}
	fmt.Fprintf(&b, "Description: %s\n", lines[0])
	for _, l := range lines[1:] {
		if strings.TrimSpace(l) == "" {
			l = "."
		}
		fmt.Fprintf(&b, " %s\n", l)
	}
	return b.Bytes(), nil
}

// controlTar writes control.tar.gz: control, md5sums, conffiles and the
// maintainer scripts, owned by root, dated mtime.
func (c *Control) controlTar(installedKiB int64, md5sums []byte, mtime time.Time) ([]byte, error) {
	control, err := c.controlFile(installedKiB)
	if err != nil {
		return nil, err
	}
	type member struct {
		name string
		data []byte
		mode int64
	}
	members := []member{{"control", control, 0o644}, {"md5sums", md5sums, 0o644}}
	if len(c.Conffiles) > 0 {
		members = append(members, member{"conffiles", []byte(strings.Join(c.Conffiles, "\n") + "\n"), 0o644})
	}
	for _, name := range scriptNames {
		if s := c.Scripts[name]; s != "" {
			members = append(members, member{name, []byte(s), 0o755})
		}
	}
	var buf bytes.Buffer
	gz, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(dirHeader("./", mtime)); err != nil {
		return nil, err
	}
	for _, m := range members {
		h := &tar.Header{
			Typeflag: tar.TypeReg, Name: "./" + m.name, Mode: m.mode, Size: int64(len(m.data)),
			Uname: "root", Gname: "root", ModTime: mtime, Format: tar.FormatGNU,
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(m.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func dirHeader(name string, mtime time.Time) *tar.Header {
	return &tar.Header{
		Typeflag: tar.TypeDir, Name: name, Mode: 0o755,
		Uname: "root", Gname: "root", ModTime: mtime, Format: tar.FormatGNU,
	}
}
