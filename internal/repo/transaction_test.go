package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
)

// verifyAPT checks the published APT suite as a client would: InRelease
// verifies with pub, every index it lists is available by hash with the
// listed content, and Release.gpg verifies Release. It returns the
// packages (Filename) of the suite's amd64 index.
func verifyAPT(t *testing.T, root, suite string, pub []byte) []string {
	t.Helper()
	return verifyAPTPair(t, root, suite, pub, false)
}

// verifyAPTPair is verifyAPT that accepts, when pairMayDiffer is set, a
// Release.gpg that does not match Release: clients read InRelease, and a
// publish that fails between renaming Release and Release.gpg leaves the
// pair out of step until the next publish.
func verifyAPTPair(t *testing.T, root, suite string, pub []byte, pairMayDiffer bool) []string {
	t.Helper()
	keys, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(pub))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "apt/dists", suite)
	in, err := os.ReadFile(filepath.Join(dir, "InRelease"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := clearsign.Decode(in)
	if block == nil {
		t.Fatalf("InRelease is not clear-signed:\n%s", in)
	}
	if _, err := block.VerifySignature(keys, nil); err != nil {
		t.Fatalf("InRelease does not verify: %v", err)
	}
	release, err := os.ReadFile(filepath.Join(dir, "Release"))
	if err != nil {
		t.Fatal(err)
	}
	gpg, err := os.Open(filepath.Join(dir, "Release.gpg"))
	if err != nil {
		t.Fatal(err)
	}
	defer gpg.Close()
	if _, err := openpgp.CheckArmoredDetachedSignature(keys, bytes.NewReader(release), gpg, nil); err != nil && !pairMayDiffer {
		t.Errorf("Release.gpg does not verify Release: %v", err)
	}
	paras, err := parseDeb822(bytes.NewReader(block.Plaintext))
	if err != nil || len(paras) != 1 {
		t.Fatalf("InRelease text: %v", err)
	}
	var pkgs []string
	for p, sum := range releaseHashes(paras[0]) {
		for _, byHash := range []string{"SHA256/" + sum.sha256, "SHA512/" + sum.sha512} {
			data, err := os.ReadFile(filepath.Join(dir, filepath.Dir(p), "by-hash", byHash))
			if err != nil {
				t.Errorf("%s is not available by hash: %v", p, err)
				continue
			}
			if got := sumOf(data); got != sum {
				t.Errorf("by-hash copy of %s has %+v, Release lists %+v", p, got, sum)
			}
			if p == "main/binary-amd64/Packages" && strings.HasPrefix(byHash, "SHA256") {
				ps, err := parseDeb822(bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range ps {
					pkgs = append(pkgs, e.Get("Filename"))
					deb, err := os.ReadFile(filepath.Join(root, "apt", e.Get("Filename")))
					if err != nil {
						t.Errorf("Packages lists %s: %v", e.Get("Filename"), err)
					} else if s := sumOf(deb); s.sha256 != e.Get("SHA256") {
						t.Errorf("%s has SHA256 %s, Packages lists %s", e.Get("Filename"), s.sha256, e.Get("SHA256"))
					}
				}
			}
		}
	}
	slices.Sort(pkgs)
	return pkgs
}

// verifyYUM checks the YUM repository of suite as dnf would: repomd.xml.asc
// verifies repomd.xml, every metadata file it lists has the listed
// checksum, and every package primary.xml lists is there with its
// checksum. It returns the package locations.
func verifyYUM(t *testing.T, root, suite string, pub []byte) []string {
	t.Helper()
	pkgs, err := verifyYUMErr(t, root, suite, pub)
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// verifyYUMErr is verifyYUM returning a signature failure of repomd.xml,
// which dnf refuses, as an error.
func verifyYUMErr(t *testing.T, root, suite string, pub []byte) ([]string, error) {
	t.Helper()
	keys, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(pub))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "rpm", suite)
	md, err := os.ReadFile(filepath.Join(dir, "repodata/repomd.xml"))
	if err != nil {
		t.Fatal(err)
	}
	asc, err := os.Open(filepath.Join(dir, "repodata/repomd.xml.asc"))
	if err != nil {
		t.Fatal(err)
	}
	defer asc.Close()
	if _, err := openpgp.CheckArmoredDetachedSignature(keys, bytes.NewReader(md), asc, nil); err != nil {
		return nil, fmt.Errorf("repomd.xml.asc does not verify repomd.xml: %w", err)
	}
	locs, err := repomdLocations(md)
	if err != nil {
		t.Fatal(err)
	}
	var pkgs []string
	for _, l := range locs {
		data, err := os.ReadFile(filepath.Join(dir, l))
		if err != nil {
			t.Fatalf("repomd.xml lists %s: %v", l, err)
		}
		if want := filepath.Base(l); !strings.HasPrefix(want, sumOf(data).sha256+"-") {
			t.Errorf("%s has sha256 %s", l, sumOf(data).sha256)
		}
		if strings.HasSuffix(l, "-primary.xml.gz") {
			for _, p := range primaryPackages(t, data) {
				rpm, err := os.ReadFile(filepath.Join(dir, p[0]))
				if err != nil {
					t.Errorf("primary.xml lists %s: %v", p[0], err)
				} else if s := sumOf(rpm); s.sha256 != p[1] {
					t.Errorf("%s has sha256 %s, primary.xml lists %s", p[0], s.sha256, p[1])
				}
				pkgs = append(pkgs, p[0])
			}
		}
	}
	slices.Sort(pkgs)
	return pkgs, nil
}

func primaryPackages(t *testing.T, gz []byte) [][2]string {
	t.Helper()
	xmlData := gunzip(t, gz)
	var doc struct {
		Package []struct {
			Checksum string `xml:"checksum"`
			Location struct {
				Href string `xml:"href,attr"`
			} `xml:"location"`
		} `xml:"package"`
	}
	if err := xmlUnmarshal(xmlData, &doc); err != nil {
		t.Fatal(err)
	}
	var out [][2]string
	for _, p := range doc.Package {
		out = append(out, [2]string{p.Location.Href, p.Checksum})
	}
	return out
}

// leftovers lists temp files under root.
func leftovers(t *testing.T, root string) []string {
	t.Helper()
	var left []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && (strings.HasSuffix(p, tmpSuffix) || strings.HasSuffix(p, ".tmp")) {
			left = append(left, p)
		}
		return err
	})
	return left
}

func TestPublishLifecycle(t *testing.T) {
	ctx := context.Background()
	s, pub := testSigner(t)
	pkgs := t.TempDir()
	v1 := []string{testDeb(t, pkgs+"/1", "hello", "1.0.0-1", "all", "v1"), testRPM(t, pkgs+"/1", "hello", "1.0.0", "1", "noarch", "v1", s)}
	v2 := []string{testDeb(t, pkgs+"/2", "hello", "1.1.0-1", "all", "v2"), testRPM(t, pkgs+"/2", "hello", "1.1.0", "1", "noarch", "v2", s)}
	v3 := []string{testDeb(t, pkgs+"/3", "hello", "1.2.0-1", "all", "v3"), testRPM(t, pkgs+"/3", "hello", "1.2.0", "1", "noarch", "v3", s)}
	changed := []string{testDeb(t, pkgs+"/x", "hello", "1.0.0-1", "all", "different"), testRPM(t, pkgs+"/x", "hello", "1.0.0", "1", "noarch", "different", s)}
	root := t.TempDir()
	st := Dir{Root: root}
	opts := Options{Signer: s, Now: testTime}

	res, err := Publish(ctx, st, v1, opts)
	if err != nil {
		t.Fatal(err)
	}
	wantAdded := []string{"apt/pool/main/h/hello/hello_1.0.0-1_all.deb", "rpm/stable/packages/hello-1.0.0-1.noarch.rpm"}
	if !slices.Equal(res.Added, wantAdded) {
		t.Errorf("Added = %v, want %v", res.Added, wantAdded)
	}
	if got := verifyAPT(t, root, "stable", pub); !slices.Equal(got, []string{"pool/main/h/hello/hello_1.0.0-1_all.deb"}) {
		t.Errorf("APT suite holds %v", got)
	}
	if got := verifyYUM(t, root, "stable", pub); !slices.Equal(got, []string{"packages/hello-1.0.0-1.noarch.rpm"}) {
		t.Errorf("YUM repository holds %v", got)
	}
	release, _ := os.ReadFile(filepath.Join(root, "apt/dists/stable/InRelease"))

	// The same packages again: nothing changes, not even the signatures.
	later := opts
	later.Now = testTime.Add(3600e9)
	res, err = Publish(ctx, st, v1, later)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Added) != 0 || len(res.Unchanged) != 2 || len(res.Indexes) != 0 {
		t.Errorf("republishing identical packages = %+v, want two unchanged and nothing written", res)
	}
	if again, _ := os.ReadFile(filepath.Join(root, "apt/dists/stable/InRelease")); !bytes.Equal(again, release) {
		t.Error("republishing identical packages rewrote InRelease")
	}

	// Different content under a published name, version and architecture.
	for _, f := range changed {
		_, err = Publish(ctx, st, []string{f}, later)
		if !errors.Is(err, ErrConflict) {
			t.Errorf("publishing changed %s = %v, want ErrConflict", filepath.Base(f), err)
		}
	}

	// A dry run reports and writes nothing.
	before := snapshot(t, root)
	dry := later
	dry.DryRun, dry.Signer = true, nil
	res, err = Publish(ctx, st, v2, dry)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Added) != 2 || len(res.Indexes) == 0 {
		t.Errorf("dry run = %+v, want two packages and the indexes it would write", res)
	}
	if after := snapshot(t, root); !sameFiles(before, after) {
		t.Error("a dry run changed the repository")
	}

	if _, err := Publish(ctx, st, v2, later); err != nil {
		t.Fatal(err)
	}
	if got := verifyAPT(t, root, "stable", pub); len(got) != 2 {
		t.Errorf("after v2 the APT suite holds %v, want v1 and v2", got)
	}
	// --keep 2 with v3 prunes v1 from the indexes and the pool.
	keep := later
	keep.Keep = 2
	res, err = Publish(ctx, st, v3, keep)
	if err != nil {
		t.Fatal(err)
	}
	wantPruned := []string{"apt/pool/main/h/hello/hello_1.0.0-1_all.deb", "rpm/stable/packages/hello-1.0.0-1.noarch.rpm"}
	if !slices.Equal(res.Pruned, wantPruned) {
		t.Errorf("Pruned = %v, want %v", res.Pruned, wantPruned)
	}
	if got := verifyAPT(t, root, "stable", pub); !slices.Equal(got, []string{"pool/main/h/hello/hello_1.1.0-1_all.deb", "pool/main/h/hello/hello_1.2.0-1_all.deb"}) {
		t.Errorf("after --keep 2 the APT suite holds %v", got)
	}
	if got := verifyYUM(t, root, "stable", pub); !slices.Equal(got, []string{"packages/hello-1.1.0-1.noarch.rpm", "packages/hello-1.2.0-1.noarch.rpm"}) {
		t.Errorf("after --keep 2 the YUM repository holds %v", got)
	}
	for _, p := range wantPruned {
		if _, err := os.Stat(filepath.Join(root, p)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("pruned %s is still there: %v", p, err)
		}
	}
	// Only the current and the previous generation of by-hash files stay.
	byHash, _ := filepath.Glob(filepath.Join(root, "apt/dists/stable/main/binary-amd64/by-hash/SHA256/*"))
	if len(byHash) != 6 {
		t.Errorf("by-hash/SHA256 holds %d files, want 6 (3 indexes of the current and previous Release)", len(byHash))
	}
	if left := leftovers(t, root); len(left) > 0 {
		t.Errorf("temp files left: %v", left)
	}
}

func TestPublishSuitesSharePool(t *testing.T) {
	ctx := context.Background()
	s, pub := testSigner(t)
	pkgs := t.TempDir()
	v1 := testDeb(t, pkgs, "hello", "1.0.0-1", "all", "v1")
	v2 := testDeb(t, pkgs, "hello", "1.1.0-1", "all", "v2")
	root := t.TempDir()
	st := Dir{Root: root}
	for _, step := range []struct {
		suite string
		file  string
		keep  int
	}{{"stable", v1, 0}, {"testing", v1, 0}, {"testing", v2, 1}} {
		if _, err := Publish(ctx, st, []string{step.file}, Options{Suite: step.suite, Signer: s, Now: testTime, Keep: step.keep}); err != nil {
			t.Fatal(err)
		}
	}
	// testing pruned v1, but stable still lists it, so the pool keeps it.
	if got := verifyAPT(t, root, "stable", pub); !slices.Equal(got, []string{"pool/main/h/hello/hello_1.0.0-1_all.deb"}) {
		t.Errorf("stable holds %v", got)
	}
	if got := verifyAPT(t, root, "testing", pub); !slices.Equal(got, []string{"pool/main/h/hello/hello_1.1.0-1_all.deb"}) {
		t.Errorf("testing holds %v", got)
	}
}

func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		m[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sameFiles(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// failingStorage fails the nth write operation (Put, Rename or Remove),
// counting from 0, as a crash or a full disk would.
type failingStorage struct {
	Storage
	mu    sync.Mutex
	n     int
	calls int
}

var errInjected = errors.New("injected storage failure")

func (f *failingStorage) step(op, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls-1 == f.n {
		return fmt.Errorf("%s %s: %w", op, name, errInjected)
	}
	return nil
}

func (f *failingStorage) Put(ctx context.Context, name string, r io.Reader) error {
	if err := f.step("put", name); err != nil {
		// Half a file under the temp name, as a crash during the write leaves.
		return errors.Join(err, f.Storage.Put(ctx, name+tmpSuffix, io.LimitReader(r, 10)))
	}
	return f.Storage.Put(ctx, name, r)
}

func (f *failingStorage) Rename(ctx context.Context, from, to string) error {
	if err := f.step("rename", from); err != nil {
		return err
	}
	return f.Storage.Rename(ctx, from, to)
}

func (f *failingStorage) Remove(ctx context.Context, name string) error {
	if err := f.step("remove", name); err != nil {
		return err
	}
	return f.Storage.Remove(ctx, name)
}

// TestPublishFailureKeepsPublishedState makes the storage fail at every
// write of a publish in turn and checks each time that clients still see
// a consistent, verifiable repository holding the old or the new packages,
// and that the next publish completes.
func TestPublishFailureKeepsPublishedState(t *testing.T) {
	ctx := context.Background()
	s, pub := testSigner(t)
	pkgs := t.TempDir()
	v1 := []string{testDeb(t, pkgs+"/1", "hello", "1.0.0-1", "all", "v1"), testRPM(t, pkgs+"/1", "hello", "1.0.0", "1", "noarch", "v1", s)}
	v2 := []string{testDeb(t, pkgs+"/2", "hello", "1.1.0-1", "all", "v2"), testRPM(t, pkgs+"/2", "hello", "1.1.0", "1", "noarch", "v2", s)}
	oldAPT := []string{"pool/main/h/hello/hello_1.0.0-1_all.deb"}
	newAPT := []string{"pool/main/h/hello/hello_1.1.0-1_all.deb"}
	oldYUM := []string{"packages/hello-1.0.0-1.noarch.rpm"}
	newYUM := []string{"packages/hello-1.1.0-1.noarch.rpm"}
	for n := 0; ; n++ {
		root := memTempDir(t)
		if _, err := Publish(ctx, Dir{Root: root, noSync: true}, v1, Options{Signer: s, Now: testTime}); err != nil {
			t.Fatal(err)
		}
		fs := &failingStorage{Storage: Dir{Root: root, noSync: true}, n: n}
		_, err := Publish(ctx, fs, v2, Options{Signer: s, Now: testTime.Add(1e9), Keep: 1})
		if err == nil {
			if n < 10 {
				t.Fatalf("a publish of two packages took only %d writes", n)
			}
			t.Logf("checked a failure at each of %d writes", n)
			return
		}
		if !errors.Is(err, errInjected) {
			t.Fatalf("failure at write %d: %v", n, err)
		}
		// Release and Release.gpg, and repomd.xml and its signature, are
		// renamed one after the other; a failure between the two leaves
		// a pair that clients refuse (apt reads InRelease instead) until
		// the next publish repairs it.
		apt := verifyAPTPair(t, root, "stable", pub, strings.Contains(err.Error(), "Release.gpg"+tmpSuffix))
		if !slices.Equal(apt, oldAPT) && !slices.Equal(apt, newAPT) {
			t.Errorf("after a failure at write %d (%v) the APT suite holds %v", n, err, apt)
		}
		yum, yerr := verifyYUMErr(t, root, "stable", pub)
		if yerr != nil && !strings.Contains(err.Error(), "repomd.xml.asc"+tmpSuffix) {
			t.Errorf("after a failure at write %d (%v): %v", n, err, yerr)
		}
		if yerr == nil && !slices.Equal(yum, oldYUM) && !slices.Equal(yum, newYUM) {
			t.Errorf("after a failure at write %d (%v) the YUM repository holds %v", n, err, yum)
		}
		// The next publish finishes the job and cleans up.
		if _, err := Publish(ctx, Dir{Root: root, noSync: true}, v2, Options{Signer: s, Now: testTime.Add(2e9), Keep: 1}); err != nil {
			t.Fatalf("publishing again after a failure at write %d: %v", n, err)
		}
		if got := verifyAPT(t, root, "stable", pub); !slices.Equal(got, newAPT) {
			t.Errorf("after recovery the APT suite holds %v", got)
		}
		if got := verifyYUM(t, root, "stable", pub); !slices.Equal(got, newYUM) {
			t.Errorf("after recovery the YUM repository holds %v", got)
		}
		if left := leftovers(t, root); len(left) > 0 {
			t.Errorf("after recovery from a failure at write %d temp files are left: %v", n, left)
		}
	}
}

// TestConcurrentPublishes runs publishes of different packages at once;
// the lock serialises them, so every package ends up listed.
func TestConcurrentPublishes(t *testing.T) {
	ctx := context.Background()
	s, pub := testSigner(t)
	pkgs := t.TempDir()
	root := t.TempDir()
	const n = 4
	var files []string
	for i := range n {
		files = append(files, testDeb(t, pkgs, fmt.Sprintf("app%d", i), "1.0-1", "amd64", "x"))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = Publish(ctx, Dir{Root: root, noSync: true}, files[i:i+1], Options{Signer: s, Now: testTime})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := verifyAPT(t, root, "stable", pub); len(got) != n {
		t.Errorf("after %d concurrent publishes the suite holds %v", n, got)
	}
}

func TestPublishErrors(t *testing.T) {
	s, _ := testSigner(t)
	dir := t.TempDir()
	deb := testDeb(t, dir, "hello", "1.0.0-1", "all", "v1")
	other := testDeb(t, dir+"/other", "hello", "1.0.0-1", "all", "other")
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("x"), 0o644)
	fake := filepath.Join(dir, "fake.deb")
	os.WriteFile(fake, []byte("!<arch>\nnonsense"), 0o644)
	for _, tc := range []struct {
		name  string
		files []string
		opts  Options
		want  string
	}{
		{name: "no files", opts: Options{Signer: s}, want: "no packages given"},
		{name: "no key", files: []string{deb}, want: "no signing key"},
		{name: "not a package", files: []string{text}, opts: Options{Signer: s}, want: "neither a .deb nor an .rpm"},
		{name: "corrupt deb", files: []string{fake}, opts: Options{Signer: s}, want: "fake.deb: truncated: the file ends 8 bytes into the ar member header at offset 8"},
		{name: "bad suite", files: []string{deb}, opts: Options{Signer: s, Suite: "../x"}, want: `suite "../x" is not valid`},
		{name: "bad arch", files: []string{deb}, opts: Options{Signer: s, Architectures: []string{"all"}}, want: `architecture "all" is not valid`},
		{name: "negative keep", files: []string{deb}, opts: Options{Signer: s, Keep: -1}, want: "negative"},
		{name: "twice differently", files: []string{deb, other}, opts: Options{Signer: s}, want: "given twice with different content"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Publish(context.Background(), Dir{Root: t.TempDir()}, tc.files, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Publish = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// memTempDir returns a temp directory in /dev/shm when there is one: the
// failure test publishes a hundred times, and only the order of
// operations matters to it, not their durability.
func memTempDir(t *testing.T) string {
	t.Helper()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "venvpkg-repo-test-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

// TestPublishDatesNeverGoBack publishes with a clock that runs backwards
// (an old SOURCE_DATE_EPOCH): the Release Date and the repomd.xml revision
// still advance.
func TestPublishDatesNeverGoBack(t *testing.T) {
	ctx := context.Background()
	s, _ := testSigner(t)
	pkgs := t.TempDir()
	root := t.TempDir()
	for i, v := range []string{"1.0.0", "1.1.0"} {
		files := []string{testDeb(t, pkgs, "hello", v+"-1", "all", v), testRPM(t, pkgs, "hello", v, "1", "noarch", v, s)}
		if _, err := Publish(ctx, Dir{Root: root}, files, Options{Signer: s, Now: testTime.Add(-time.Duration(i) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	release, err := os.ReadFile(filepath.Join(root, "apt/dists/stable/Release"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "Date: Mon, 04 Mar 2024 05:06:08 +0000\n"; !strings.Contains(string(release), want) {
		t.Errorf("Release after a publish with an older clock lacks %q:\n%s", want, release)
	}
	md, err := os.ReadFile(filepath.Join(root, "rpm/stable/repodata/repomd.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("<revision>%d</revision>", testTime.Unix()+1); !strings.Contains(string(md), want) {
		t.Errorf("repomd.xml after a publish with an older clock lacks %s", want)
	}
}

// TestPublishNewKeyResigns republishes unchanged packages with another key:
// the suite and the YUM repository are signed again with the new key.
func TestPublishNewKeyResigns(t *testing.T) {
	ctx := context.Background()
	oldKey, _ := testSigner(t)
	newKey, newPub := testSigner(t)
	pkgs := t.TempDir()
	files := []string{testDeb(t, pkgs, "hello", "1.0.0-1", "all", "v1"), testRPM(t, pkgs, "hello", "1.0.0", "1", "noarch", "v1", oldKey)}
	root := t.TempDir()
	if _, err := Publish(ctx, Dir{Root: root}, files, Options{Signer: oldKey, Now: testTime}); err != nil {
		t.Fatal(err)
	}
	res, err := Publish(ctx, Dir{Root: root}, files, Options{Signer: newKey, Now: testTime})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Unchanged) != 2 || len(res.Indexes) == 0 {
		t.Errorf("republishing with a new key = %+v, want the packages unchanged and the indexes rewritten", res)
	}
	verifyAPT(t, root, "stable", newPub)
	verifyYUM(t, root, "stable", newPub)
}
