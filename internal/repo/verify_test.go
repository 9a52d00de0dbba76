package repo

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/venvpkg/venvpkg/internal/distver"
	"github.com/venvpkg/venvpkg/internal/pkg"
	"github.com/venvpkg/venvpkg/internal/sign"
	"github.com/venvpkg/venvpkg/internal/testutil"
)

// arSpan is where one ar member lies in a .deb.
type arSpan struct {
	name              string
	header, data, end int // offsets of its header, its data and its end
}

// arSpans lists the members of the ar archive b.
func arSpans(t testing.TB, b []byte) []arSpan {
	t.Helper()
	var out []arSpan
	for off := 8; off+60 <= len(b); {
		size, err := strconv.Atoi(strings.TrimSpace(string(b[off+48 : off+58])))
		if err != nil {
			t.Fatalf("ar member at %d: %v", off, err)
		}
		name := strings.TrimSuffix(strings.TrimSpace(string(b[off:off+16])), "/")
		out = append(out, arSpan{name: name, header: off, data: off + 60, end: off + 60 + size})
		off += 60 + size + size%2
	}
	if len(out) != 3 {
		t.Fatalf("the test .deb has %d members, want 3", len(out))
	}
	return out
}

// rpmSpans returns the offsets of the signature header, the main header and
// the payload of the RPM b, and the offset and length of the data of
// signature tag tag (0, 0 when it is missing).
func rpmSpans(t testing.TB, b []byte, tag uint32) (sigHeader, mainHeader, payload, tagOff, tagLen int) {
	t.Helper()
	info, err := readRPM(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	sigHeader = rpmLeadSize
	n := int(binary.BigEndian.Uint32(b[sigHeader+8:]))
	store := sigHeader + 16 + 16*n
	for i := 0; i < n; i++ {
		e := b[sigHeader+16+16*i:]
		if binary.BigEndian.Uint32(e) == tag {
			tagOff, tagLen = store+int(binary.BigEndian.Uint32(e[8:])), int(binary.BigEndian.Uint32(e[12:]))
		}
	}
	return sigHeader, int(info.HeaderStart), int(info.HeaderEnd), tagOff, tagLen
}

// retag renames tags in the signature header of the RPM b, which no
// digest covers.
func retag(t testing.TB, b []byte, tags map[uint32]uint32) []byte {
	t.Helper()
	c := bytes.Clone(b)
	n := int(binary.BigEndian.Uint32(c[rpmLeadSize+8:]))
	done := 0
	for i := 0; i < n; i++ {
		e := c[rpmLeadSize+16+16*i:]
		if to, ok := tags[binary.BigEndian.Uint32(e)]; ok {
			binary.BigEndian.PutUint32(e, to)
			done++
		}
	}
	if done != len(tags) {
		t.Fatalf("retagged %d of %d tags", done, len(tags))
	}
	return c
}

func flip(b []byte, at int) []byte {
	c := bytes.Clone(b)
	c[at] ^= 0x20
	return c
}

// treeSum hashes every name, mode and content below root.
func treeSum(t *testing.T, root string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fmt.Fprintf(h, "%s %v\n", rel, info.Mode())
		if d.Type().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := io.Copy(h, f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// handDeb writes a .deb with gzip members by hand: control with md5sums
// as given (none when md5sums is nil), data holding files.
func handDeb(t *testing.T, md5sums []byte, files map[string]string) []byte {
	t.Helper()
	gz := func(entries func(*tar.Writer)) string {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		tw := tar.NewWriter(zw)
		tw.WriteHeader(&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755})
		entries(tw)
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	add := func(tw *tar.Writer, name, body string) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	control := gz(func(tw *tar.Writer) {
		add(tw, "./control", "Package: hand\nVersion: 1.0-1\nArchitecture: all\nMaintainer: Acme Ops <ops@acme.example>\nDescription: hand-made\n")
		if md5sums != nil {
			add(tw, "./md5sums", string(md5sums))
		}
	})
	data := gz(func(tw *tar.Writer) {
		tw.WriteHeader(&tar.Header{Name: "./usr/", Typeflag: tar.TypeDir, Mode: 0o755})
		for _, name := range []string{"usr/a", "usr/b"} {
			if body, ok := files[name]; ok {
				add(tw, "./"+name, body)
			}
		}
	})
	return arArchive([2]string{"debian-binary", "2.0\n"}, [2]string{"control.tar.gz", control}, [2]string{"data.tar.gz", data})
}

func md5Line(body, name string) string {
	s := md5.Sum([]byte(body))
	return hex.EncodeToString(s[:]) + "  " + name + "\n"
}

// TestPublishRefusesDamagedPackages makes a corpus of damaged packages from
// good ones (truncated inside every part, one byte flipped in every part,
// data appended, contents that disagree with md5sums, payload digests that
// no longer match, bad and untrusted signatures, an unsigned RPM) and
// publishes each into a repository: every one is refused with its own
// error and the repository tree stays byte-identical. dpkg-deb and rpm -K
// must agree that each damaged file is broken.
func TestPublishRefusesDamagedPackages(t *testing.T) {
	ctx := context.Background()
	s, pub := testSigner(t)
	other, _ := testSigner(t)
	good := t.TempDir()
	deb, err := os.ReadFile(testDeb(t, good, "hello", "1.1.0-1", "all", "v2"))
	if err != nil {
		t.Fatal(err)
	}
	rpmFile := testRPM(t, good, "hello", "1.1.0", "1", "noarch", "v2", s)
	rpmData, err := os.ReadFile(rpmFile)
	if err != nil {
		t.Fatal(err)
	}
	unsigned, err := os.ReadFile(testRPM(t, t.TempDir(), "hello", "1.1.0", "1", "noarch", "v2", nil))
	if err != nil {
		t.Fatal(err)
	}
	untrusted, err := os.ReadFile(testRPM(t, t.TempDir(), "hello", "1.1.0", "1", "noarch", "v2", other))
	if err != nil {
		t.Fatal(err)
	}

	type tc struct {
		name, ext string
		data      []byte
		want      string // in the error
		// toolsAccept: dpkg-deb or rpm -K --nosignature accept the file,
		// because the fault is one they do not look for.
		toolsAccept bool
	}
	var cases []tc
	m := arSpans(t, deb)
	cases = append(cases, tc{name: "deb cut in the magic", ext: "deb", data: deb[:5], want: "truncated: the file ends after 5 bytes, inside the ar magic"})
	for _, s := range m {
		cases = append(cases,
			tc{name: "deb cut in the header of " + s.name, ext: "deb", data: deb[:s.header+30], want: fmt.Sprintf("truncated: the file ends 30 bytes into the ar member header at offset %d", s.header)},
			tc{name: "deb cut inside " + s.name, ext: "deb", data: deb[:(s.data+s.end)/2], want: fmt.Sprintf("truncated: the file ends %d bytes into the %d-byte member %s", (s.end-s.data)/2, s.end-s.data, s.name)},
		)
	}
	cases = append(cases,
		tc{name: "deb without the last byte of its data", ext: "deb", data: deb[:m[2].end-1], want: "truncated"},
		tc{name: "deb flipped in debian-binary", ext: "deb", data: flip(deb, m[0].data+1), want: `debian-binary says "2\x0e0\n", not format 2.x`},
		tc{name: "deb flipped in " + m[1].name, ext: "deb", data: flip(deb, (m[1].data+m[1].end)/2), want: m[1].name + ": "},
		tc{name: "deb flipped in " + m[2].name, ext: "deb", data: flip(deb, (m[2].data+m[2].end)/2), want: m[2].name + ": "},
		tc{name: "deb flipped in the name of " + m[2].name, ext: "deb", data: flip(deb, m[2].header+1), want: "member " + m[2].name[:1] + strings.ToUpper(m[2].name[1:2]) + m[2].name[2:] + " where data.tar belongs"},
		tc{name: "deb flipped in the size of " + m[1].name, ext: "deb", data: flip(deb, m[1].header+48), want: "bad ar member header of " + m[1].name},
		tc{name: "deb with a member appended", ext: "deb", toolsAccept: true, data: append(bytes.Clone(deb), arArchive([2]string{"evil", "#!/bin/sh\n"})[8:]...), want: "member evil after " + m[2].name + ": a .deb ends with data.tar"},
		tc{name: "deb with trailing garbage", ext: "deb", toolsAccept: true, data: append(bytes.Clone(deb), "garbage\n"...), want: "8 bytes of trailing data after the last member " + m[2].name},
		tc{name: "deb whose data disagrees with md5sums", ext: "deb", toolsAccept: true,
			data: handDeb(t, []byte(md5Line("a", "usr/a")+md5Line("b", "usr/b")), map[string]string{"usr/a": "a", "usr/b": "B"}),
			want: "data.tar.gz: usr/b has MD5 9d5ed678fe57bcca610140957afab571, md5sums says 92eb5ffee6ae2fec3ad71c777531578f: the contents disagree with md5sums"},
		tc{name: "deb missing a file md5sums lists", ext: "deb", toolsAccept: true,
			data: handDeb(t, []byte(md5Line("a", "usr/a")+md5Line("b", "usr/b")), map[string]string{"usr/a": "a"}),
			want: "md5sums lists usr/b, which data.tar.gz does not hold"},
		tc{name: "deb with a file md5sums does not list", ext: "deb", toolsAccept: true,
			data: handDeb(t, []byte(md5Line("a", "usr/a")), map[string]string{"usr/a": "a", "usr/b": "b"}),
			want: "data.tar.gz holds usr/b, which md5sums does not list"},
		tc{name: "deb without md5sums", ext: "deb", toolsAccept: true,
			data: handDeb(t, nil, map[string]string{"usr/a": "a"}),
			want: "control.tar has no md5sums, and the package has files (usr/a)"},
	)

	sigHeader, mainHeader, payload, sigOff, sigLen := rpmSpans(t, rpmData, sigTagRSA)
	if sigLen == 0 {
		t.Fatal("the signed test RPM has no header signature")
	}
	cases = append(cases,
		tc{name: "rpm cut in the lead", ext: "rpm", data: rpmData[:50], want: "not an .rpm: no RPM lead"},
		tc{name: "rpm cut in the signature header", ext: "rpm", data: rpmData[:sigHeader+40], want: "signature header: truncated: the file ends 24 bytes into the"},
		tc{name: "rpm cut in the main header index", ext: "rpm", data: rpmData[:mainHeader+20], want: "main header: truncated: the file ends 4 bytes into the"},
		tc{name: "rpm cut in the main header data", ext: "rpm", data: rpmData[:payload-10], want: "main header: truncated: the file ends"},
		tc{name: "rpm cut in the payload", ext: "rpm", data: rpmData[:(payload+len(rpmData))/2], want: fmt.Sprintf("truncated: the file ends %d bytes into the payload", (payload+len(rpmData))/2-payload)},
		tc{name: "rpm without its last byte", ext: "rpm", data: rpmData[:len(rpmData)-1], want: "truncated"},
		tc{name: "rpm with trailing garbage", ext: "rpm", data: append(bytes.Clone(rpmData), "garbage\n"...), want: "8 bytes of trailing data after the payload"},
		tc{name: "rpm flipped in the main header", ext: "rpm", data: flip(rpmData, (mainHeader+payload)/2), want: "header SHA256 digest mismatch"},
		tc{name: "rpm flipped in the payload", ext: "rpm", data: flip(rpmData, (payload+len(rpmData))/2), want: "payload SHA256 digest mismatch: the payload is damaged"},
		tc{name: "rpm with a bad signature", ext: "rpm", toolsAccept: true, data: flip(rpmData, sigOff+sigLen-5), want: "header signature: signature by key ID"},
		tc{name: "rpm signed only in rpm 6's form", ext: "rpm", toolsAccept: true, data: retag(t, rpmData, map[uint32]uint32{sigTagRSA: sigTagOpenPGP, sigTagPGP: 2000}), want: "signed only in rpm 6's form (signature tag 278, OPENPGP)"},
		tc{name: "unsigned rpm", ext: "rpm", toolsAccept: true, data: unsigned, want: "the package is not signed: hosts install from the repository with gpgcheck=1 and refuse it; build it with venvpkg build --sign-key FILE"},
		tc{name: "rpm signed by another key", ext: "rpm", toolsAccept: true, data: untrusted, want: "header signature: signed by a key that is not trusted: key ID"},
	)
	if (m[2].end-m[2].data)%2 == 1 {
		// dpkg-deb does not miss the ar padding after an odd-sized last
		// member; a cut file is refused all the same.
		cases = append(cases, tc{name: "deb without its padding byte", ext: "deb", toolsAccept: true, data: deb[:len(deb)-1],
			want: "truncated: the file ends before the padding byte of member " + m[2].name})
	}

	// The tools accept the good packages the corpus is made from.
	testutil.NeedTool(t, "dpkg-deb", "dpkg")
	testutil.NeedTool(t, "rpm", "rpm")
	for _, args := range [][]string{
		{"dpkg-deb", "--info", filepath.Join(good, "hello_1.1.0-1_all.deb")},
		{"dpkg-deb", "--contents", filepath.Join(good, "hello_1.1.0-1_all.deb")},
		{"rpm", "-K", "--nosignature", rpmFile},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
		}
	}

	// The repository already holds good packages.
	root := t.TempDir()
	st := Dir{Root: root}
	opts := Options{Signer: s, Now: testTime}
	v1 := []string{testDeb(t, t.TempDir(), "hello", "1.0.0-1", "all", "v1"), testRPM(t, t.TempDir(), "hello", "1.0.0", "1", "noarch", "v1", s)}
	if _, err := Publish(ctx, st, v1, opts); err != nil {
		t.Fatal(err)
	}
	before := treeSum(t, root)
	dir := t.TempDir()
	seen := map[string]string{}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(dir, fmt.Sprintf("case%02d.%s", i, c.ext))
			if err := os.WriteFile(file, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Publish(ctx, st, []string{file}, opts)
			if err == nil {
				t.Fatalf("Publish(%s) succeeded, want an error containing %q", c.name, c.want)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), file+": ") || !strings.HasSuffix(err.Error(), "nothing was published") {
				t.Errorf("Publish(%s) = %q, want an error naming the file and containing %q", c.name, err, c.want)
			}
			t.Logf("refused: %v", err)
			key := strings.Replace(err.Error(), file, "", 1)
			if prev, dup := seen[key]; dup {
				t.Errorf("%s and %s give the same error %q", prev, c.name, err)
			}
			seen[key] = c.name
			if after := treeSum(t, root); after != before {
				t.Errorf("the repository changed after refusing %s", c.name)
			}
			if !c.toolsAccept {
				crossCheck(t, file, c.ext)
			}
		})
	}

	// The good packages themselves publish, and the untrusted one does
	// once its key is trusted.
	untrustedFile := filepath.Join(dir, "hello-1.1.0-1.noarch.rpm")
	if err := os.WriteFile(untrustedFile, untrusted, 0o644); err != nil {
		t.Fatal(err)
	}
	opts.TrustedKeys = other.Keyring()
	res, err := Publish(ctx, st, []string{filepath.Join(good, "hello_1.1.0-1_all.deb"), untrustedFile}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Added) != 2 {
		t.Errorf("publishing the good packages added %v", res.Added)
	}
	verifyAPT(t, root, "stable", pub)
	verifyYUM(t, root, "stable", pub)
	key, err := os.ReadFile(filepath.Join(root, KeyPath("stable")))
	if err != nil || !bytes.Equal(key, pub) {
		t.Errorf("%s = %q, %v; want the signer's public key", KeyPath("stable"), key, err)
	}
}

// crossCheck asserts that dpkg-deb or rpm -K also finds the file broken.
func crossCheck(t *testing.T, file, ext string) {
	t.Helper()
	if ext == "deb" {
		testutil.NeedTool(t, "dpkg-deb", "dpkg")
		info, ierr := exec.Command("dpkg-deb", "--info", file).CombinedOutput()
		contents, cerr := exec.Command("dpkg-deb", "--contents", file).CombinedOutput()
		if ierr == nil && cerr == nil {
			t.Errorf("dpkg-deb --info and --contents accept %s:\n%s%s", file, info, contents)
		}
		return
	}
	testutil.NeedTool(t, "rpm", "rpm")
	out, err := exec.Command("rpm", "-K", "--nosignature", file).CombinedOutput()
	if err == nil {
		t.Errorf("rpm -K --nosignature accepts %s:\n%s", file, out)
	}
}

// TestRPMSignatureChecksMatchRPM checks verifyRPM's verdict on signatures
// against rpm -K with the key imported: a good signature passes both, a
// damaged one fails both.
func TestRPMSignatureChecksMatchRPM(t *testing.T) {
	testutil.NeedTool(t, "rpm", "rpm")
	s, pub := testSigner(t)
	file := testRPM(t, t.TempDir(), "hello", "1.0.0", "1", "noarch", "v1", s)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, off, n := rpmSpans(t, data, sigTagRSA)
	bad := filepath.Join(t.TempDir(), "bad.rpm")
	if err := os.WriteFile(bad, flip(data, off+n-5), 0o644); err != nil {
		t.Fatal(err)
	}
	db := t.TempDir()
	keyFile := filepath.Join(db, "pub.asc")
	if err := os.WriteFile(keyFile, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("rpm", "--dbpath", db, "--import", keyFile).CombinedOutput(); err != nil {
		t.Fatalf("rpm --import: %v: %s", err, out)
	}
	for _, c := range []struct {
		file string
		ok   bool
	}{{file, true}, {bad, false}} {
		f, err := os.Open(c.file)
		if err != nil {
			t.Fatal(err)
		}
		_, verr := verifyRPM(f, rpmVerifier{keys: s.Keyring()})
		f.Close()
		out, rerr := exec.Command("rpm", "--dbpath", db, "-Kv", c.file).CombinedOutput()
		if (verr == nil) != c.ok || (rerr == nil) != c.ok {
			t.Errorf("%s: verifyRPM = %v, rpm -K = %v (%s); want both to accept it: %v", c.file, verr, rerr, out, c.ok)
		}
	}
}

// TestVerifyDebCompressions builds packages with every data compression
// venvpkg writes, and with dpkg-deb from a tree with md5sums, conffiles
// and a hard link: all verify.
func TestVerifyDebCompressions(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "usr/bin/hello"), []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, comp := range []string{"zstd", "xz", "gzip", "none"} {
		t.Run(comp, func(t *testing.T) {
			file, err := pkg.WriteDeb(context.Background(), &pkg.Package{
				Name: "hello", Version: "1.0-1", Arch: "all", Maintainer: "Acme Ops <ops@acme.example>",
				Summary: "hello", Description: "Says hi.", Root: root, MTime: pkgTime, Compression: comp,
				Files: []pkg.File{{Path: "/etc/hello.conf", Data: []byte("a = 1\n"), Mode: 0o644, Config: true}},
			}, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := verifyDeb(f); err != nil {
				t.Errorf("verifyDeb(%s data) = %v", comp, err)
			}
		})
	}
	t.Run("dpkg-deb", func(t *testing.T) {
		testutil.NeedTool(t, "dpkg-deb", "dpkg")
		tree := t.TempDir()
		for name, body := range map[string]string{
			"DEBIAN/control":     "Package: linked\nVersion: 1.0-1\nArchitecture: all\nMaintainer: A <a@example.org>\nDescription: x\nDepends: libc6 (>= 2.36) | libc6.1, python3:any\n",
			"DEBIAN/conffiles":   "/etc/linked.conf\n",
			"DEBIAN/md5sums":     md5Line("data", "usr/share/linked/a") + md5Line("data", "usr/share/linked/b"),
			"etc/linked.conf":    "k = v\n",
			"usr/share/linked/a": "data",
		} {
			p := filepath.Join(tree, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Link(filepath.Join(tree, "usr/share/linked/a"), filepath.Join(tree, "usr/share/linked/b")); err != nil {
			t.Fatal(err)
		}
		for _, z := range []string{"gzip", "xz", "zstd", "none"} {
			out := filepath.Join(t.TempDir(), "linked.deb")
			if b, err := exec.Command("dpkg-deb", "--root-owner-group", "-Z"+z, "--build", tree, out).CombinedOutput(); err != nil {
				t.Fatalf("dpkg-deb -Z%s: %v: %s", z, err, b)
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := verifyDeb(f); err != nil {
				t.Errorf("verifyDeb(dpkg-deb -Z%s) = %v", z, err)
			}
			f.Close()
		}
	})
}

// benchFiles writes a .deb and a signed .rpm of about 24 MB of files,
// half random and half text, so compression has something to do.
func benchFiles(b *testing.B) (deb, rpm string, s *sign.Signer) {
	b.Helper()
	s, _ = testSigner(b)
	root := b.TempDir()
	rnd := rand.New(rand.NewSource(1))
	for i := 0; i < 48; i++ {
		data := make([]byte, 512<<10)
		if i%2 == 0 {
			rnd.Read(data)
		} else {
			for j := range data {
				data[j] = "abcdefgh ijklmnop\n"[rnd.Intn(18)]
			}
		}
		p := filepath.Join(root, fmt.Sprintf("opt/venvs/bench/lib/f%02d.bin", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	p := &pkg.Package{
		Name: "bench", Version: "1.0-1", Arch: "all", Maintainer: "Acme Ops <ops@acme.example>",
		Summary: "bench", Description: "Benchmark package.", License: "MIT", Root: root, MTime: pkgTime, SignRPM: s.SignRPM,
	}
	out := b.TempDir()
	deb, err := pkg.WriteDeb(context.Background(), p, out)
	if err != nil {
		b.Fatal(err)
	}
	rpm, err = pkg.WriteRPM(context.Background(), p, distver.RPMVersion{Version: "1.0", Release: "1"}, out)
	if err != nil {
		b.Fatal(err)
	}
	return deb, rpm, s
}

// BenchmarkPackageRead compares, per package format, reading the file
// (read: to io.Discard; hash: SHA-256 and SHA-512, what publish did before
// it verified) with readInput, which verifies and hashes in one pass.
func BenchmarkPackageRead(b *testing.B) {
	deb, rpm, s := benchFiles(b)
	rv := rpmVerifier{keys: s.Keyring()}
	for _, file := range []string{deb, rpm} {
		info, err := os.Stat(file)
		if err != nil {
			b.Fatal(err)
		}
		ext := filepath.Ext(file)[1:]
		b.Run(ext+"/read", func(b *testing.B) {
			b.SetBytes(info.Size())
			for b.Loop() {
				f, _ := os.Open(file)
				io.Copy(io.Discard, f)
				f.Close()
			}
		})
		b.Run(ext+"/hash", func(b *testing.B) {
			b.SetBytes(info.Size())
			for b.Loop() {
				f, _ := os.Open(file)
				if _, err := sumReader(f); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
		b.Run(ext+"/verify+hash", func(b *testing.B) {
			b.SetBytes(info.Size())
			for b.Loop() {
				if _, err := readInput(context.Background(), file, rv); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// countingStorage counts the bytes read from objects whose names start
// with prefix.
type countingStorage struct {
	Dir
	prefix string
	n      *int64
}

func (c countingStorage) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	r, err := c.Dir.Open(ctx, name)
	if err != nil || !strings.HasPrefix(name, c.prefix) {
		return r, err
	}
	return countingReader{r, c.n}, nil
}

type countingReader struct {
	io.ReadCloser
	n *int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	*c.n += int64(n)
	return n, err
}

// TestPublishReadsOnlyHeadersOfPublishedRPMs adds a package to a YUM
// repository that holds a large one: the published package is not read
// again beyond its headers.
func TestPublishReadsOnlyHeadersOfPublishedRPMs(t *testing.T) {
	ctx := context.Background()
	s, pub := testSigner(t)
	src := t.TempDir()
	big := make([]byte, 4<<20)
	rand.New(rand.NewSource(1)).Read(big)
	if err := os.WriteFile(filepath.Join(src, "blob"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	large, err := pkg.WriteRPM(ctx, &pkg.Package{
		Name: "large", Arch: "all", Maintainer: "Acme Ops <ops@acme.example>", Summary: "large", Description: "Large.",
		License: "MIT", Root: src, MTime: pkgTime, SignRPM: s.SignRPM,
	}, distver.RPMVersion{Version: "1.0", Release: "1"}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if _, err := Publish(ctx, Dir{Root: root}, []string{large}, Options{Signer: s, Now: testTime}); err != nil {
		t.Fatal(err)
	}
	var n int64
	st := countingStorage{Dir: Dir{Root: root}, prefix: "rpm/stable/packages/", n: &n}
	small := testRPM(t, t.TempDir(), "hello", "1.0.0", "1", "noarch", "v1", s)
	if _, err := Publish(ctx, st, []string{small}, Options{Signer: s, Now: testTime}); err != nil {
		t.Fatal(err)
	}
	if n > 256<<10 {
		t.Errorf("adding a package read %d bytes of the published packages (one of 4 MB); want only their headers", n)
	}
	if got := verifyYUM(t, root, "stable", pub); len(got) != 2 {
		t.Errorf("the repository lists %v, want both packages", got)
	}
}

// TestPublishReportsFirstDamagedFile verifies several packages at once and
// reports the first damaged one in argument order.
func TestPublishReportsFirstDamagedFile(t *testing.T) {
	s, _ := testSigner(t)
	dir := t.TempDir()
	good := testDeb(t, dir, "hello", "1.0.0-1", "all", "v1")
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for i := range 4 {
		p := filepath.Join(dir, fmt.Sprintf("cut%d.deb", i))
		if err := os.WriteFile(p, data[:len(data)/(i+2)], 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	root := t.TempDir()
	for range 3 {
		_, err := Publish(context.Background(), Dir{Root: root}, append([]string{good}, files...), Options{Signer: s})
		if err == nil || !strings.HasPrefix(err.Error(), files[0]+": truncated") {
			t.Errorf("Publish = %v, want the error of %s", err, files[0])
		}
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Errorf("the refused publish wrote %v", entries)
	}
}

// TestPublishConflictWritesNothing publishes a new .deb with an .rpm that
// conflicts with a published one: the refusal comes before the APT suite
// is written.
func TestPublishConflictWritesNothing(t *testing.T) {
	ctx := context.Background()
	s, _ := testSigner(t)
	root := t.TempDir()
	v1 := []string{testDeb(t, t.TempDir(), "hello", "1.0.0-1", "all", "v1"), testRPM(t, t.TempDir(), "hello", "1.0.0", "1", "noarch", "v1", s)}
	if _, err := Publish(ctx, Dir{Root: root}, v1, Options{Signer: s, Now: testTime}); err != nil {
		t.Fatal(err)
	}
	before := treeSum(t, root)
	files := []string{testDeb(t, t.TempDir(), "hello", "1.1.0-1", "all", "v2"), testRPM(t, t.TempDir(), "hello", "1.0.0", "1", "noarch", "changed", s)}
	_, err := Publish(ctx, Dir{Root: root}, files, Options{Signer: s, Now: testTime.Add(time.Hour)})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("Publish = %v, want ErrConflict", err)
	}
	if treeSum(t, root) != before {
		t.Errorf("the refused publish changed the repository (the APT suite was written before the YUM conflict)")
	}
}

// TestVerifyDebStreams verifies a .deb whose one file is 64 MiB: the
// contents are streamed, so far less than that is allocated.
func TestVerifyDebStreams(t *testing.T) {
	const size = 64 << 20
	var data bytes.Buffer
	zw, err := gzip.NewWriterLevel(&data, gzip.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Name: "./big", Mode: 0o644, Size: size, Typeflag: tar.TypeReg})
	h := md5.New()
	zero := make([]byte, 1<<20)
	for range size / len(zero) {
		tw.Write(zero)
		h.Write(zero)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	control := controlTar(t, "Package: big\nVersion: 1\nArchitecture: all\nMaintainer: A <a@example.org>\nDescription: big\n")
	// controlTar writes an empty md5sums; this package needs its line.
	var ctl bytes.Buffer
	ctw := tar.NewWriter(&ctl)
	sums := hex.EncodeToString(h.Sum(nil)) + "  big\n"
	ctw.WriteHeader(&tar.Header{Name: "./md5sums", Mode: 0o644, Size: int64(len(sums))})
	ctw.Write([]byte(sums))
	tr := tar.NewReader(bytes.NewReader(control))
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		if hdr.Name == "./md5sums" {
			continue
		}
		ctw.WriteHeader(hdr)
		io.Copy(ctw, tr)
	}
	if err := ctw.Close(); err != nil {
		t.Fatal(err)
	}
	deb := arArchive([2]string{"debian-binary", "2.0\n"}, [2]string{"control.tar", ctl.String()}, [2]string{"data.tar.gz", data.String()})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := verifyDeb(bytes.NewReader(deb)); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("verifying a .deb with a %d-byte file allocated %d bytes", size, alloc)
	if alloc > 8<<20 {
		t.Errorf("verifying a .deb with a %d-byte file allocated %d bytes; want it streamed", size, alloc)
	}
}
