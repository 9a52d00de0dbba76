package report_test

import (
	"bytes"
	"context"
	"image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/venvpkg/venvpkg/internal/logging"
	"github.com/venvpkg/venvpkg/internal/pipeline"
	"github.com/venvpkg/venvpkg/internal/report"
	"github.com/venvpkg/venvpkg/internal/testutil"
	"github.com/venvpkg/venvpkg/internal/testutil/debwheel"
	"github.com/venvpkg/venvpkg/internal/vuln"
)

const python = "/usr/bin/python3.11"

// recorder is a proxy that accepts connections and records that they
// happened: Chromium is pointed at it for every request, so any network
// access by the report shows up here.
type recorder struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []string
}

func newRecorder(t *testing.T) *recorder {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 512)
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, _ := c.Read(buf)
			r.mu.Lock()
			r.conns = append(r.conns, strings.SplitN(string(buf[:n]), "\r\n", 2)[0])
			r.mu.Unlock()
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return r
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.conns...)
}

// chromium runs headless Chromium on the file with the given mode flags
// (--dump-dom, --screenshot=...), every request sent to the recorder.
func chromium(t *testing.T, bin string, rec *recorder, file string, mode ...string) []byte {
	t.Helper()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--no-first-run", "--disable-sync",
		"--user-data-dir=" + t.TempDir(),
		"--proxy-server=http://" + rec.ln.Addr().String(), "--proxy-bypass-list=<-loopback>",
		"--window-size=1280,2400", "--hide-scrollbars",
		// Chromium's own background services (component and extension
		// updates, network time, sign-in, metrics) are switched off too, so
		// that any request left is one the page made.
		"--disable-extensions", "--disable-default-apps", "--no-pings", "--disable-domain-reliability",
		"--disable-client-side-phishing-detection", "--disable-breakpad", "--metrics-recording-only",
		"--disable-component-extensions-with-background-pages", "--no-service-autorun", "--password-store=basic",
		"--disable-features=NetworkTimeServiceQuerying,OptimizationHints,AutofillServerCommunication,CertificateTransparencyComponentUpdater,MediaRouter,Translate,SigninInterceptBubbleV2,AccountConsistency"}
	args = append(append(args, mode...), "file://"+file)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(mode, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

func buildWebapp(t *testing.T, o pipeline.Options) *pipeline.Result {
	t.Helper()
	var log bytes.Buffer
	o.Log = logging.NewLogger(&log, logging.LevelDebug)
	o.Python = python
	res, err := pipeline.Run(context.Background(), o)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, log.String())
	}
	return res
}

// TestReportInChromium builds two versions of the web app (the second
// without itsdangerous and with wheel added), writes the report of the
// first (build --report, with the vulnerability fixtures) and of the
// pair, opens both in headless Chromium, checks the rendered DOM for the
// distributions and figures, takes screenshots, and expects no request
// to reach the network.
func TestReportInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two packages and runs Chromium; skipped in -short mode")
	}
	bin := testutil.NeedTool(t, "chromium", "chromium")
	testutil.NeedFile(t, python, "python3.11")
	testutil.NeedFile(t, "/usr/share/python-wheels", "python3-pip-whl")
	root, err := testutil.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	wheels := debwheel.WebAppDir(testutil.CacheDir())
	if err := os.MkdirAll(wheels, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := debwheel.WebApp(context.Background(), testutil.CacheDir(), wheels); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	db := filepath.Join(root, "internal/vuln/testdata/db")
	out, cache := t.TempDir(), t.TempDir()
	findLinks := []string{wheels, "/usr/share/python-wheels"}
	v1 := buildWebapp(t, pipeline.Options{ProjectDir: filepath.Join(root, "testdata/webapp"), FindLinks: findLinks, NoIndex: true,
		OutDir: out, CacheDir: cache, Report: true, VulnDB: db, VulnFailOn: "never"})
	if len(v1.Reports) != 1 || v1.Reports[0] != strings.TrimSuffix(v1.Packages[0], ".deb")+".html" {
		t.Fatalf("build --report wrote %v beside %v", v1.Reports, v1.Packages)
	}

	proj := filepath.Join(t.TempDir(), "webapp")
	if out, err := exec.Command("cp", "-a", filepath.Join(root, "testdata/webapp")+"/.", proj).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	lock := "click==8.1.3\nflask==2.2.2\njinja2==3.1.2\nmarkupsafe==2.1.2\nwerkzeug==2.2.2\nwheel==0.38.4\n"
	if err := os.WriteFile(filepath.Join(proj, "requirements.txt"), []byte(lock), 0o644); err != nil {
		t.Fatal(err)
	}
	pyproject, err := os.ReadFile(filepath.Join(proj, "pyproject.toml"))
	if err != nil {
		t.Fatal(err)
	}
	pyproject = bytes.Replace(pyproject, []byte(`version = "1.0.0"`), []byte(`version = "1.1.0"`), 1)
	if err := os.WriteFile(filepath.Join(proj, "pyproject.toml"), pyproject, 0o644); err != nil {
		t.Fatal(err)
	}
	// v2's lock drops a requirement of Flask's and adds one nothing needs: a partial lock on purpose, which the
	// report must show as removed and added.
	v2 := buildWebapp(t, pipeline.Options{ProjectDir: proj, FindLinks: findLinks, NoIndex: true, OutDir: out, CacheDir: cache, AllowPartialLock: true})

	p1, err := report.Load(v1.Packages[0])
	if err != nil {
		t.Fatal(err)
	}
	p2, err := report.Load(v2.Packages[0])
	if err != nil {
		t.Fatal(err)
	}
	d, err := vuln.Load(db)
	if err != nil {
		t.Fatal(err)
	}
	p1.CheckVulns(d, vuln.Options{})
	p2.CheckVulns(d, vuln.Options{})
	var pair bytes.Buffer
	if err := report.Write(&pair, p1, p2); err != nil {
		t.Fatal(err)
	}
	pairFile := filepath.Join(out, "pair.html")
	if err := os.WriteFile(pairFile, pair.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	rec := newRecorder(t)
	single := v1.Reports[0]
	dom := string(chromium(t, bin, rec, single, "--dump-dom"))
	for _, want := range []string{
		"venvpkg report: webapp 1.0.0-1",
		`data-dist="Flask"`, `data-dist="Werkzeug"`, `data-dist="Jinja2"`, `data-dist="MarkupSafe"`, `data-dist="click"`, `data-dist="itsdangerous"`,
		report.Bytes(p1.Size) + " in ",
		"CPython 3.11.2, system interpreter /usr/bin/python3.11 (Debian package python3.11)",
		"BSD-3-Clause", "<code>libc6", "the C library, which every ELF object of the payload links to", "<code>python3.11", "the interpreter the virtualenv links to",
		"CVE-2023-30861", "CVE-2023-25577", "HIGH 7.5",
		"lib/python3.11/site-packages/werkzeug/debug/shared/jquery.js",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the single report's DOM lacks %q", want)
		}
	}
	for _, d := range p1.Dists {
		if row := `<tr data-dist="` + d.Name + `"><td>` + d.Name + `</td><td>` + d.Version + `</td>`; !strings.Contains(dom, row) {
			t.Errorf("the distributions table lacks %s %s", d.Name, d.Version)
		}
	}
	shot := filepath.Join(t.TempDir(), "report.png")
	chromium(t, bin, rec, single, "--screenshot="+shot)
	checkPNG(t, shot)

	dom = string(chromium(t, bin, rec, pairFile, "--dump-dom"))
	delta := p2.Size - p1.Size
	sign := ""
	if delta > 0 {
		sign = "+"
	}
	for _, want := range []string{
		"webapp 1.0.0-1 → webapp 1.1.0-1",
		`<tr class="added"><td>wheel</td><td class="added">added</td><td></td><td>0.38.4</td>`,
		`<tr class="removed"><td>itsdangerous</td><td class="removed">removed</td><td>2.1.2</td>`,
		`<tr class="upgraded"><td>webapp</td><td class="upgraded">upgraded</td><td>1.0.0</td><td>1.1.0</td>`,
		"Payload " + report.Bytes(p1.Size) + " → " + report.Bytes(p2.Size) + " (<strong>" + sign + report.Bytes(delta) + "</strong>",
		`data-package="webapp_1.0.0-1_amd64.deb"`, `data-package="webapp_1.1.0-1_amd64.deb"`,
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the pair report's DOM lacks %q", want)
		}
	}
	pairShot := filepath.Join(t.TempDir(), "pair.png")
	chromium(t, bin, rec, pairFile, "--screenshot="+pairShot)
	checkPNG(t, pairShot)

	if reqs := pageRequests(rec.requests()); len(reqs) > 0 {
		t.Errorf("opening the reports sent %d requests to the network: %q", len(reqs), reqs)
	}
	// The file itself names nothing to load: no URL in a src, href,
	// url() or @import, and a Content-Security-Policy that forbids loads.
	for _, f := range []string{single, pairFile} {
		html, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if m := externalRef.Find(html); m != nil {
			t.Errorf("%s refers to %q", filepath.Base(f), m)
		}
		if !bytes.Contains(html, []byte(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`)) {
			t.Errorf("%s has no Content-Security-Policy forbidding loads", filepath.Base(f))
		}
	}
	if testutil.Updating() { // go test -update also rewrites docs/report.png
		data, err := os.ReadFile(pairShot)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "docs/report.png"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRecorderSeesRequests shows that the network check can fail: a page
// that loads an image over http is caught by the recorder.
func TestRecorderSeesRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Chromium; skipped in -short mode")
	}
	bin := testutil.NeedTool(t, "chromium", "chromium")
	page := filepath.Join(t.TempDir(), "net.html")
	if err := os.WriteFile(page, []byte(`<!DOCTYPE html><img src="http://example.invalid/x.png">`), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder(t)
	chromium(t, bin, rec, page, "--dump-dom", "--virtual-time-budget=3000")
	if reqs := pageRequests(rec.requests()); len(reqs) == 0 || !strings.Contains(strings.Join(reqs, " "), "example.invalid") {
		t.Errorf("a page loading http://example.invalid/x.png: requests %q; the network check does not see the page's requests", reqs)
	}
}

// externalRef finds a reference that would make a browser load something.
var externalRef = regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?[a-z]+:|url\(|@import|<script|<link|<iframe`)

// chromeServices are the hosts of Chromium's own background services
// (component updater, sign-in), which it contacts at start whatever page
// it opens, even with the flags above: they are not the page's requests.
var chromeServices = []string{"update.googleapis.com", "accounts.google.com", "clients2.google.com"}

// pageRequests drops Chromium's own requests (see chromeServices).
func pageRequests(reqs []string) []string {
	var out []string
	for _, r := range reqs {
		own := false
		for _, h := range chromeServices {
			if strings.HasPrefix(r, "CONNECT "+h+":") || strings.Contains(r, "://"+h+"/") {
				own = true
			}
		}
		if !own {
			out = append(out, r)
		}
	}
	return out
}

// checkPNG decodes the screenshot and expects a picture, not a blank page.
func checkPNG(t *testing.T, file string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", file, err)
	}
	b := img.Bounds()
	if b.Dx() != 1280 || b.Dy() != 2400 {
		t.Errorf("screenshot is %dx%d, want 1280x2400", b.Dx(), b.Dy())
	}
	colors := map[[3]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colors[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
		}
	}
	if len(colors) < 20 {
		t.Errorf("screenshot has %d colours; the page did not render", len(colors))
	}
}
