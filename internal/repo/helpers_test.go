package repo

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/files"
	"github.com/goreleaser/nfpm/v2/rpm"

	"github.com/venvpkg/venvpkg/internal/pkg"
	"github.com/venvpkg/venvpkg/internal/sign"
	"github.com/venvpkg/venvpkg/internal/testutil"
)

var (
	testTime = time.Date(2024, 3, 4, 5, 6, 7, 0, time.UTC)
	pkgTime  = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
)

// testDeb writes name_version_arch.deb into dir with one script that prints
// body, and returns its path.
func testDeb(t testing.TB, dir, name, version, arch, body string) string {
	t.Helper()
	root := t.TempDir()
	script := filepath.Join(root, "usr/bin", name)
	if err := os.MkdirAll(filepath.Dir(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho "+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := pkg.WriteDeb(context.Background(), &pkg.Package{
		Name: name, Version: version, Arch: arch, Maintainer: "Acme Ops <ops@acme.example>",
		Summary: name + " test package", Description: "Prints " + body + ".", Root: root, MTime: pkgTime,
		Homepage: "https://acme.example/" + name,
	}, dir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// testRPM writes name-version-release.arch.rpm into dir with nfpm's rpm
// packager, signed by signer when it is not nil, and returns its path.
func testRPM(t testing.TB, dir, name, version, release, arch, body string, signer *sign.Signer) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(src, []byte("#!/bin/sh\necho "+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	info := &nfpm.Info{
		Name: name, Arch: arch, Platform: "linux", Version: version, Release: release,
		Maintainer: "Acme Ops <ops@acme.example>", Description: name + " test package\nPrints " + body + ".",
		Homepage: "https://acme.example/" + name, License: "MIT", MTime: pkgTime,
		Overridables: nfpm.Overridables{
			Contents: files.Contents{
				{Source: src, Destination: "/usr/bin/" + name, FileInfo: &files.ContentFileInfo{Mode: 0o755, MTime: pkgTime}},
				{Type: files.TypeDir, Destination: "/etc/" + name, FileInfo: &files.ContentFileInfo{Mode: 0o755, MTime: pkgTime}},
			},
			RPM: nfpm.RPM{BuildHost: "build.example"},
		},
		Changelog: "",
	}
	if signer != nil {
		info.RPM.Signature.SignFn = signer.SignRPM
	}
	info = nfpm.WithDefaults(info)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name+"-"+version+"-"+release+"."+arch+".rpm")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	if err := rpm.DefaultRPM.Package(info, w); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// testSigner returns a signer with a new Ed25519 key and its public key.
func testSigner(t testing.TB) (*sign.Signer, []byte) {
	t.Helper()
	kp, err := sign.Generate("Repo Test", "repo@acme.example", sign.Ed25519, nil, pkgTime)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.NewSigner(kp.Private, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return testTime }
	return s, kp.Public
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	testutil.Golden(t, filepath.Join("testdata", name), got)
}
