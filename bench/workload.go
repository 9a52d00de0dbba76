package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/venvpkg/venvpkg/internal/pep503"
	"github.com/venvpkg/venvpkg/internal/testutil/debwheel"
	"github.com/venvpkg/venvpkg/internal/wheel"
)

// fullPackages are the Debian packages repacked into the dependency wheels of the full workload: Flask and its
// dependencies, an HTTP client stack, serialisation, an ORM, templating and numerics. Eight of them carry C
// extensions (markupsafe, yaml, msgpack, zope.interface, simplejson, psutil, greenlet, numpy).
var fullPackages = []string{
	"python3-flask", "python3-click", "python3-itsdangerous", "python3-jinja2", "python3-markupsafe",
	"python3-werkzeug", "python3-blinker",
	"python3-requests", "python3-certifi", "python3-charset-normalizer", "python3-idna", "python3-urllib3",
	"python3-yaml", "python3-msgpack", "python3-simplejson",
	"python3-zope.interface", "python3-attr", "python3-six", "python3-typing-extensions",
	"python3-pygments", "python3-sqlalchemy", "python3-mako", "python3-tz",
	"python3-dateutil", "python3-psutil", "python3-greenlet", "python3-pyparsing", "python3-packaging", "python3-markdown",
	"python3-gunicorn", "python3-numpy",
}

// tinyPackages make the workload of -tiny: the web app of the end-to-end tests (one C extension).
var tinyPackages = debwheel.WebAppPackages

// workload is one prepared benchmark input: a project, its lock and the wheels the lock pins.
type workload struct {
	Scale     int
	Dir       string   // scratch directory of this scale
	Project   string   // the application's source tree
	Wheels    string   // --find-links directory holding every pinned wheel
	WheelList []string // the pinned wheels
	Files     int      // files inside the wheels
	Bytes     int64    // uncompressed bytes inside the wheels
}

// baseWheels repacks pkgs from Debian into dir (cached by debwheel's .deb cache; the wheels are deterministic).
func baseWheels(ctx context.Context, cacheDir, dir string, pkgs []string) ([]string, error) {
	ws, err := debwheel.Repack(ctx, cacheDir, dir, pkgs...)
	if err != nil {
		return nil, fmt.Errorf("repacking Debian packages into wheels: %w", err)
	}
	// Some Debian packages ship the same distribution (python3-setuptools and pkg_resources); keep one each.
	seen := map[string]bool{}
	var out []string
	for _, w := range ws {
		fn, err := wheel.ParseFilename(filepath.Base(w))
		if err != nil {
			return nil, err
		}
		n := pep503.Normalize(fn.Distribution)
		if seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, w)
	}
	sort.Strings(out)
	return out, nil
}

// prepareWorkload lays out the workload of one scale under dir: the base wheels plus scale-1 renamed clones of
// each, the application project pinning all of them, and its requirements.txt.
func prepareWorkload(dir string, scale int, base []string) (*workload, error) {
	w := &workload{Scale: scale, Dir: dir, Project: filepath.Join(dir, "benchapp"), Wheels: filepath.Join(dir, "wheels")}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(w.Wheels, 0o755); err != nil {
		return nil, err
	}
	type pin struct{ name, version string }
	var pins []pin
	for _, src := range base {
		fn, err := wheel.ParseFilename(filepath.Base(src))
		if err != nil {
			return nil, err
		}
		dst := filepath.Join(w.Wheels, filepath.Base(src))
		if err := copyFile(src, dst); err != nil {
			return nil, err
		}
		w.WheelList = append(w.WheelList, dst)
		pins = append(pins, pin{fn.Distribution, fn.Version})
		for k := 2; k <= scale; k++ {
			out, name, err := cloneWheel(src, w.Wheels, k)
			if err != nil {
				return nil, fmt.Errorf("cloning %s: %w", filepath.Base(src), err)
			}
			w.WheelList = append(w.WheelList, out)
			pins = append(pins, pin{name, fn.Version})
		}
	}
	for _, p := range w.WheelList {
		n, size, err := zipStats(p)
		if err != nil {
			return nil, err
		}
		w.Files += n
		w.Bytes += size
	}
	sort.Slice(pins, func(i, j int) bool { return pep503.Normalize(pins[i].name) < pep503.Normalize(pins[j].name) })
	var lock, deps strings.Builder
	lock.WriteString("# The bench workload's lock: every wheel in ../wheels, pinned exactly.\n")
	for _, p := range pins {
		fmt.Fprintf(&lock, "%s==%s\n", pep503.Normalize(p.name), p.version)
		fmt.Fprintf(&deps, "    %q,\n", pep503.Normalize(p.name))
	}
	files := map[string]string{
		"pyproject.toml":              fmt.Sprintf(appPyproject, deps.String()),
		"requirements.txt":            lock.String(),
		"setup.cfg":                   "",
		"src/benchapp/__init__.py":    "\"\"\"The bench workload's web service.\"\"\"\n\n__version__ = \"1.0.0\"\n",
		"src/benchapp/app.py":         appModule,
		"src/benchapp/cli.py":         "from benchapp.app import create_app\n\n\ndef main():\n    create_app().run()\n",
		"src/benchapp/templates/a.j2": "<p>{{ greeting }}</p>\n",
	}
	for rel, body := range files {
		p := filepath.Join(w.Project, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	return w, nil
}

const appPyproject = `[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "benchapp"
version = "1.0.0"
description = "The web service venvpkg's benchmark packages"
license = {text = "MIT"}
authors = [{name = "venvpkg bench", email = "bench@example.invalid"}]
dependencies = [
%s]

[project.scripts]
benchapp = "benchapp.cli:main"

[tool.setuptools.packages.find]
where = ["src"]

[tool.setuptools.package-data]
benchapp = ["templates/*.j2"]

[tool.venvpkg]
python = "/usr/bin/python3.11"
maintainer = "venvpkg bench <bench@example.invalid>"
`

// appModule is the application; editLine changes its GREETING line for the warm rebuild.
const appModule = `"""Routes of the bench web service."""

GREETING = "hello"


def create_app():
    from flask import Flask, render_template_string

    app = Flask(__name__)

    @app.route("/")
    def index():
        return render_template_string("<p>{{ g }}</p>", g=GREETING)

    return app
`

var greetingLine = regexp.MustCompile(`(?m)^GREETING = .*$`)

// editLine makes the one-line source change of a warm rebuild: GREETING names the run.
func editLine(project string, n int) error {
	p := filepath.Join(project, "src", "benchapp", "app.py")
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	out := greetingLine.ReplaceAll(data, []byte(fmt.Sprintf("GREETING = \"hello %d\"", n)))
	if bytes.Equal(out, data) {
		return fmt.Errorf("%s has no GREETING line to change", p)
	}
	return os.WriteFile(p, out, 0o644)
}

// cloneWheel writes a copy of the wheel src as the distribution "<name>-clone<k>": every file moves under a
// top-level directory benchclone<k>/ so clones never collide with the original, the .dist-info is renamed,
// entry points (console scripts would collide) and .data are dropped, and RECORD is rewritten.
func cloneWheel(src, outDir string, k int) (path, name string, err error) {
	fn, err := wheel.ParseFilename(filepath.Base(src))
	if err != nil {
		return "", "", err
	}
	zr, err := zip.OpenReader(src)
	if err != nil {
		return "", "", err
	}
	defer zr.Close()
	name = fmt.Sprintf("%s_clone%d", fn.Distribution, k)
	oldInfo := fn.Distribution + "-" + fn.Version + ".dist-info/"
	newInfo := name + "-" + fn.Version + ".dist-info/"
	prefix := fmt.Sprintf("benchclone%d/", k)
	type member struct {
		name string
		data []byte
		mode os.FileMode
	}
	var members []member
	for _, f := range zr.File {
		rel := f.Name
		if strings.HasSuffix(rel, "/") || strings.Contains(strings.SplitN(rel, "/", 2)[0], ".data") {
			continue
		}
		data, err := readZipMember(f)
		if err != nil {
			return "", "", err
		}
		switch {
		case strings.HasPrefix(rel, oldInfo):
			base := strings.TrimPrefix(rel, oldInfo)
			if base == "RECORD" || base == "entry_points.txt" {
				continue
			}
			if base == "METADATA" {
				data = regexp.MustCompile(`(?m)^Name: .*$`).ReplaceAll(data, []byte("Name: "+name))
			}
			rel = newInfo + base
		default:
			rel = prefix + rel
		}
		members = append(members, member{rel, data, f.Mode()})
	}
	sort.Slice(members, func(i, j int) bool { return members[i].name < members[j].name })
	var record bytes.Buffer
	for _, m := range members {
		sum := sha256.Sum256(m.data)
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", m.name, base64.RawURLEncoding.EncodeToString(sum[:]), len(m.data))
	}
	fmt.Fprintf(&record, "%sRECORD,,\n", newInfo)
	members = append(members, member{newInfo + "RECORD", record.Bytes(), 0o644})

	tag := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(src), fn.Distribution+"-"+fn.Version+"-"), ".whl")
	path = filepath.Join(outDir, fmt.Sprintf("%s-%s-%s.whl", name, fn.Version, tag))
	f, err := os.Create(path)
	if err != nil {
		return "", "", err
	}
	zw := zip.NewWriter(f)
	for _, m := range members {
		hdr := &zip.FileHeader{Name: m.name, Method: zip.Deflate, Modified: zr.File[0].Modified}
		hdr.SetMode(m.mode)
		zf, err := zw.CreateHeader(hdr)
		if err == nil {
			_, err = zf.Write(m.data)
		}
		if err != nil {
			f.Close()
			return "", "", err
		}
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return "", "", err
	}
	return path, name, f.Close()
}

func readZipMember(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// zipStats counts the files in a wheel and their uncompressed bytes.
func zipStats(p string) (int, int64, error) {
	zr, err := zip.OpenReader(p)
	if err != nil {
		return 0, 0, err
	}
	defer zr.Close()
	var n int
	var size int64
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, "/") {
			n++
			size += int64(f.UncompressedSize64)
		}
	}
	return n, size, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
