package pipeline_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/venvpkg/venvpkg/internal/cli"
	"github.com/venvpkg/venvpkg/internal/index"
	"github.com/venvpkg/venvpkg/internal/index/indextest"
	"github.com/venvpkg/venvpkg/internal/logging"
	"github.com/venvpkg/venvpkg/internal/pipeline"
)

// startHTTPServer serves dir with `python3 -m http.server` on 127.0.0.1
// and returns its URL once it answers.
func startHTTPServer(t *testing.T, dir string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("/usr/bin/python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", dir, fmt.Sprint(port))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	u := fmt.Sprintf("http://127.0.0.1:%d/", port)
	for i := 0; i < 200; i++ {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			return u
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("python3 -m http.server did not start:\n%s", out.String())
	return ""
}

// linkDir puts symlinks to every file of dirs into one new directory.
func linkDir(t *testing.T, dirs ...string) string {
	t.Helper()
	out := t.TempDir()
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if err := os.Symlink(filepath.Join(d, e.Name()), filepath.Join(out, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

// webappPylock writes a hand-made pylock.toml for testdata/webapp: wheels
// by URL from the test index and by path relative to the lock, with
// markupsafe locked differently for Python 3.11 and 3.12.
func webappPylock(t *testing.T, dir string, srv *indextest.Server, wheels string) {
	t.Helper()
	entries, err := os.ReadDir(wheels)
	if err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(dir, "wheels")
	if err := os.MkdirAll(local, 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("lock-version = \"1.0\"\nenvironments = [\"sys_platform == 'linux'\"]\nrequires-python = \">=3.8\"\ncreated-by = \"hand\"\n")
	for i, e := range entries {
		f := srv.File(e.Name())
		name, version, _ := strings.Cut(e.Name(), "-")
		version, _, _ = strings.Cut(version, "-")
		marker := ""
		if name == "markupsafe" {
			marker = "marker = \"python_version == '3.11'\"\n"
		}
		fmt.Fprintf(&b, "\n[[packages]]\nname = %q\nversion = %q\n%s", name, version, marker)
		if i%2 == 0 {
			fmt.Fprintf(&b, "[[packages.wheels]]\nurl = %q\nsize = %d\nhashes = {sha256 = %q}\n", srv.URL+"/files/"+e.Name(), len(f.Data), f.SHA256)
		} else {
			if err := os.WriteFile(filepath.Join(local, e.Name()), f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "[[packages.wheels]]\npath = %q\nhashes = {sha256 = %q}\n", "wheels/"+e.Name(), f.SHA256)
		}
		// A wheel for another platform that must not be chosen.
		fmt.Fprintf(&b, "[[packages.wheels]]\nname = \"%s-%s-cp311-cp311-win_amd64.whl\"\nurl = \"https://nowhere.invalid/x.whl\"\nhashes = {sha256 = %q}\n", name, version, strings.Repeat("0", 64))
	}
	b.WriteString("\n[[packages]]\nname = \"markupsafe\"\nversion = \"2.1.5\"\nmarker = \"python_version == '3.12'\"\nsdist = {url = \"https://nowhere.invalid/markupsafe-2.1.5.tar.gz\", hashes = {sha256 = \"" + strings.Repeat("1", 64) + "\"}}\n")
	b.WriteString("\n[[packages]]\nname = \"webapp\"\ndirectory = {path = \".\"}\n")
	if err := os.WriteFile(filepath.Join(dir, "pylock.toml"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSourcesByteIdentical builds testdata/webapp from a test index in
// PEP 691 JSON (two builds at once against an empty cache), from the same
// index in PEP 503 HTML only, from a `python3 -m http.server` find-links
// page and from a hand-written pylock.toml, and expects the same package
// bytes every time and one copy of each artifact in the shared cache.
func TestSourcesByteIdentical(t *testing.T) {
	needTools(t)
	wheels := webappWheels(t)
	srv := indextest.New(t, wheels, pythonWheels)
	project := repoPath(t, "testdata/webapp")
	cache := filepath.Join(t.TempDir(), "cache")
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")

	var mu sync.Mutex
	debs := map[string]string{}
	record := func(name string, res *pipeline.Result) {
		mu.Lock()
		defer mu.Unlock()
		if len(res.Packages) != 1 {
			t.Errorf("%s: packages = %v, want one", name, res.Packages)
			return
		}
		debs[name] = res.Packages[0]
	}

	// Two builds at once against the empty cache, from JSON.
	var wg sync.WaitGroup
	for _, name := range []string{"json-1", "json-2"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var log bytes.Buffer
			res, err := pipeline.Run(context.Background(), pipeline.Options{
				ProjectDir: project, Python: python, IndexURL: srv.IndexURL(),
				OutDir: filepath.Join(t.TempDir(), name), CacheDir: cache,
				Log: logging.NewLogger(&log, logging.LevelDebug),
			})
			if err != nil {
				t.Errorf("%s: %v\n%s", name, err, log.String())
				return
			}
			record(name, res)
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	arts, err := index.NewCache(cache).Artifacts()
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, a := range arts {
		count[filepath.Base(a)]++
	}
	for _, w := range []string{"flask-2.2.2-py3-none-any.whl", "markupsafe-2.1.2-cp311-cp311-linux_x86_64.whl", "setuptools-66.1.1-py3-none-any.whl"} {
		if count[w] != 1 {
			t.Errorf("cache holds %d copies of %s, want 1 (all: %v)", count[w], w, arts)
		}
	}
	for w, n := range count {
		if n != 1 {
			t.Errorf("cache holds %d copies of %s", n, w)
		}
	}
	if got := srv.Hits("/simple/flask/"); got < 1 {
		t.Errorf("the index was not asked for flask")
	}

	// HTML only, with a fresh cache.
	srv.Format = indextest.HTMLOnly
	record("html", runBuild(t, pipeline.Options{ProjectDir: project, IndexURL: srv.IndexURL(), OutDir: filepath.Join(t.TempDir(), "html"), CacheDir: filepath.Join(t.TempDir(), "cache")}))
	srv.Format = indextest.Negotiate

	// A find-links page served by python3 -m http.server.
	page := startHTTPServer(t, linkDir(t, wheels, pythonWheels))
	record("find-links", runBuild(t, pipeline.Options{ProjectDir: project, NoIndex: true, FindLinks: []string{page}, OutDir: filepath.Join(t.TempDir(), "fl"), CacheDir: filepath.Join(t.TempDir(), "cache")}))

	// A hand-written pylock.toml, found by default in the project.
	dir := filepath.Join(t.TempDir(), "webapp")
	copyTree(t, project, dir)
	os.Remove(filepath.Join(dir, "requirements.txt"))
	webappPylock(t, dir, srv, wheels)
	record("pylock", runBuild(t, pipeline.Options{ProjectDir: dir, IndexURL: srv.IndexURL(), OutDir: filepath.Join(t.TempDir(), "pylock"), CacheDir: cache}))

	var names []string
	for n := range debs {
		names = append(names, n)
	}
	sort.Strings(names)
	want := sha256File(t, debs["json-1"])
	for _, n := range names {
		if got := sha256File(t, debs[n]); got != want {
			t.Errorf("%s built %s with sha256 %s, json-1 %s", n, filepath.Base(debs[n]), got, want)
		}
	}
	if len(names) != 5 {
		t.Errorf("built %v, want 5 packages", names)
	}
}

// TestIndexCredentialsNeverShown builds the example from an index that
// requires basic auth, with the password in the URL and then in a netrc
// file, through the CLI in verbose mode; the password appears nowhere in
// stdout, stderr, the cache or the package, and an error shows the URL
// redacted.
func TestIndexCredentialsNeverShown(t *testing.T) {
	needTools(t)
	const password = "pw-9f8e7d6c"
	srv := indextest.New(t, pythonWheels)
	srv.User, srv.Password = "deploy", password
	host := strings.TrimPrefix(srv.URL, "http://")
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("NETRC", filepath.Join(home, "no-netrc"))

	run := func(t *testing.T, cache string, args ...string) (string, string, int) {
		t.Helper()
		t.Setenv("VENVPKG_CACHE_DIR", cache)
		var stdout, stderr bytes.Buffer
		code := cli.Execute(context.Background(), args, &stdout, &stderr)
		return stdout.String(), stderr.String(), code
	}
	noPassword := func(t *testing.T, cache string, texts ...string) {
		t.Helper()
		for _, s := range texts {
			if strings.Contains(s, password) {
				t.Errorf("the password appears in the output:\n%s", s)
			}
		}
		filepath.Walk(cache, func(p string, info os.FileInfo, err error) error {
			if err != nil {
				return nil
			}
			if strings.Contains(p, password) {
				t.Errorf("cache path %s holds the password", p)
			}
			if info.Mode().IsRegular() {
				if data, _ := os.ReadFile(p); bytes.Contains(data, []byte(password)) {
					t.Errorf("cache file %s holds the password", p)
				}
			}
			return nil
		})
	}
	hello := repoPath(t, "examples/hello")
	t.Run("URL", func(t *testing.T) {
		cache, out := t.TempDir(), t.TempDir()
		stdout, stderr, code := run(t, cache, "build", hello, "-v", "--python", python, "--out", out,
			"--index-url", "http://deploy:"+password+"@"+host+"/simple/")
		if code != 0 {
			t.Fatalf("build failed:\n%s", index.Redact(stderr))
		}
		noPassword(t, cache, stdout, stderr)
		deb := strings.TrimSpace(stdout)
		if data, err := os.ReadFile(deb); err != nil || bytes.Contains(data, []byte(password)) {
			t.Errorf("package %s: %v, or it holds the password", deb, err)
		}
		x := t.TempDir()
		if o, err := exec.Command("dpkg-deb", "-R", deb, x).CombinedOutput(); err != nil {
			t.Fatalf("dpkg-deb -R: %v\n%s", err, o)
		}
		if o, err := exec.Command("grep", "-rl", password, x).CombinedOutput(); err == nil {
			t.Errorf("the unpacked package holds the password:\n%s", o)
		}
	})
	t.Run("netrc", func(t *testing.T) {
		netrc := filepath.Join(home, ".netrc")
		if err := os.WriteFile(netrc, []byte("machine 127.0.0.1 login deploy password "+password+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("NETRC", netrc)
		cache, out := t.TempDir(), t.TempDir()
		stdout, stderr, code := run(t, cache, "build", hello, "-v", "--python", python, "--out", out, "--index-url", srv.IndexURL())
		if code != 0 {
			t.Fatalf("build failed:\n%s", index.Redact(stderr))
		}
		noPassword(t, cache, stdout, stderr)
	})
	t.Run("error redacted", func(t *testing.T) {
		t.Setenv("NETRC", filepath.Join(home, "no-netrc"))
		cache, out := t.TempDir(), t.TempDir()
		_, stderr, code := run(t, cache, "build", hello, "--python", python, "--out", out, "--retries", "0",
			"--index-url", "http://deploy:wrong-"+password+"@"+host+"/simple/")
		if code == 0 {
			t.Fatal("a build with a wrong password succeeded")
		}
		if !strings.Contains(stderr, "401 Unauthorized") || !strings.Contains(stderr, "http://"+host+"/simple/") {
			t.Errorf("stderr does not name the 401 and the index:\n%s", index.Redact(stderr))
		}
		noPassword(t, cache, stderr)
	})
}

// tarGz writes a .tar.gz of files (name → content) under a top directory.
func tarGz(t *testing.T, path, top string, files map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	tw.WriteHeader(&tar.Header{Name: top + "/", Typeflag: tar.TypeDir, Mode: 0o755})
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: top + "/" + n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(files[n]))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	gz.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSdistBuiltWithSetuptools locks a dependency that exists only as an
// sdist whose backend is setuptools (Debian's wheel, from the same index):
// venvpkg builds it in an isolated environment, installs it into the
// package, and a second build reuses the wheel cached for the sdist.
func TestSdistBuiltWithSetuptools(t *testing.T) {
	needTools(t)
	sdists := t.TempDir()
	sdist := filepath.Join(sdists, "tinylib-0.3.tar.gz")
	tarGz(t, sdist, "tinylib-0.3", map[string]string{
		"pyproject.toml": "[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n\n[project]\nname = \"tinylib\"\nversion = \"0.3\"\n\n[tool.setuptools]\npy-modules = [\"tinylib\"]\n",
		"tinylib.py":     "VALUE = 'built from an sdist'\n",
		"PKG-INFO":       "Metadata-Version: 2.1\nName: tinylib\nVersion: 0.3\n",
	})
	srv := indextest.New(t, sdists, pythonWheels)

	proj := filepath.Join(t.TempDir(), "consumer")
	files := map[string]string{
		"pyproject.toml":   "[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n\n[project]\nname = \"consumer\"\nversion = \"1.0\"\nauthors = [{name = \"t\", email = \"t@example.invalid\"}]\ndependencies = [\"tinylib\"]\n\n[tool.setuptools]\npy-modules = [\"consumer\"]\n",
		"consumer.py":      "import tinylib\n",
		"requirements.txt": "tinylib==0.3 --hash=sha256:" + sha256File(t, sdist) + "\n",
	}
	for n, c := range files {
		if err := os.MkdirAll(proj, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(proj, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cache := t.TempDir()
	var log bytes.Buffer
	res, err := pipeline.Run(context.Background(), pipeline.Options{
		ProjectDir: proj, Python: python, IndexURL: srv.IndexURL(), OutDir: t.TempDir(), CacheDir: cache,
		Log: logging.NewLogger(&log, logging.LevelDebug),
	})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "\ndownloading tinylib-0.3.tar.gz (") {
		t.Errorf("the log has no plain download line with the size:\n%s", log.String())
	}
	if !strings.Contains(log.String(), "building tinylib-0.3.tar.gz from its sdist") {
		t.Errorf("the log does not show the sdist build:\n%s", log.String())
	}
	// setuptools 66 answers get_requires_for_build_wheel with ["wheel"]:
	// the frontend must have looked it up in the same index.
	if srv.Hits("/simple/wheel/") == 0 {
		t.Errorf("wheel, which get_requires_for_build_wheel asks for, was never looked up in the index")
	}
	built, _ := filepath.Glob(filepath.Join(cache, "built", "*", "*", "tinylib-0.3-*.whl"))
	if len(built) != 1 {
		t.Errorf("built-wheel cache holds %v, want one tinylib wheel", built)
	}

	// The package holds tinylib, and the target interpreter imports it.
	x := t.TempDir()
	if o, err := exec.Command("dpkg-deb", "-x", res.Packages[0], x).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -x: %v\n%s", err, o)
	}
	site := filepath.Join(x, "opt/venvs/consumer/lib/python3.11/site-packages")
	out, err := exec.Command(python, "-I", "-c", "import sys; sys.path.insert(0, sys.argv[1]); import tinylib, consumer; print(tinylib.VALUE)", site).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "built from an sdist" {
		t.Fatalf("importing tinylib from the package: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(site, "tinylib-0.3.dist-info", "RECORD")); err != nil {
		t.Errorf("tinylib's dist-info is missing: %v", err)
	}

	// A second build reuses the wheel built from the same sdist.
	log.Reset()
	if _, err := pipeline.Run(context.Background(), pipeline.Options{
		ProjectDir: proj, Python: python, IndexURL: srv.IndexURL(), OutDir: t.TempDir(), CacheDir: cache,
		Log: logging.NewLogger(&log, logging.LevelDebug),
	}); err != nil {
		t.Fatalf("second build: %v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "using the wheel built earlier") {
		t.Errorf("the second build did not reuse the cached wheel:\n%s", log.String())
	}
}
