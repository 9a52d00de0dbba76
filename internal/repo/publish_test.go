package repo

import (
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"io"
	"testing"
)

// goldenDebs are control paragraphs as read from .deb files, with fixed
// checksums, so the golden files do not change with the .deb writer.
func goldenDebs() []debEntry {
	ctl := func(name, version, arch string, extra ...field) paragraph {
		p := paragraph{{"Package", name}, {"Version", version}, {"Architecture", arch}, {"Maintainer", "Acme Ops <ops@acme.example>"}}
		p = append(p, extra...)
		return append(p, field{"Description", name + " service\n Ships " + name + " and its virtualenv.\n .\n Second paragraph."})
	}
	sum := func(s string) fileSum { return sumOf([]byte(s)) }
	var es []debEntry
	for _, c := range []paragraph{
		ctl("hello", "1.0.0-1", "all", field{"Depends", "python3.11"}),
		ctl("hello", "1.1.0-1", "all", field{"Depends", "python3.11"}),
		ctl("webapp", "2.0~rc1-1", "amd64", field{"Source", "webapp-src (2.0~rc1-1)"}, field{"Depends", "libc6 (>= 2.36), python3.11"}),
		ctl("libfoo", "1:0.5-2", "arm64", field{"Homepage", "https://acme.example/foo"}),
	} {
		es = append(es, newDebEntry(c, poolPath("main", c), sum(c.Get("Package")+c.Get("Version"))))
	}
	return es
}

func TestAPTIndexesGolden(t *testing.T) {
	comps := map[string][]debEntry{"main": goldenDebs()}
	arches := []string{"amd64", "arm64"}
	indexes, err := suiteIndexes(comps, arches)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range indexes {
		switch f.path {
		case "main/binary-amd64/Packages":
			checkGolden(t, "Packages-amd64.golden", f.data)
		case "main/binary-arm64/Packages":
			checkGolden(t, "Packages-arm64.golden", f.data)
		case "main/binary-amd64/Packages.gz":
			zr, err := gzip.NewReader(bytes.NewReader(f.data))
			if err != nil {
				t.Fatal(err)
			}
			plain, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(plain, indexes[0].data) {
				t.Errorf("Packages.gz does not hold Packages")
			}
		}
	}
	release := releaseFile(releaseInfo{
		Origin: "Acme", Label: "Acme services", Suite: "stable", Codename: "stable", Description: "Acme's services",
		Date: testTime, Architectures: arches, Components: []string{"main"},
	}, indexes)
	checkGolden(t, "Release.golden", release)
}

func goldenRPMs() []rpmPackage {
	info := func(name, epoch, version, arch string) *rpmInfo {
		return &rpmInfo{
			Name: name, Epoch: epoch, Version: version, Release: "1", Arch: arch,
			Summary: name + " service", Description: "Ships " + name + " & its <virtualenv>.\nSecond line.",
			Packager: "Acme Ops <ops@acme.example>", URL: "https://acme.example/" + name, License: "MIT",
			Group: "Unspecified", BuildHost: "build.example", SourceRPM: name + "-" + version + "-1.src.rpm",
			BuildTime: 1704067200, InstalledSize: 4096, ArchiveSize: 4500, HeaderStart: 1384, HeaderEnd: 5120,
			Provides: []rpmDep{{Name: name, Flags: "EQ", Epoch: "0", Ver: version, Rel: "1"}},
			Requires: []rpmDep{{Name: "/bin/sh", Pre: true}, {Name: "python3.11", Flags: "GE", Epoch: "0", Ver: "3.11"}},
			Files: []rpmFile{
				{Path: "/etc/" + name, Type: "dir"}, {Path: "/etc/" + name + "/config.toml"},
				{Path: "/opt/venvs/" + name + "/bin/" + name}, {Path: "/opt/venvs/" + name + "/lib/x.py"},
				{Path: "/run/" + name + ".pid", Type: "ghost"},
			},
			Changelog: []rpmChange{{Author: "Acme Ops <ops@acme.example> - " + version, Date: 1704067200, Text: "- Release " + version}},
		}
	}
	ps := []rpmPackage{
		{info: info("webapp", "", "2.0", "x86_64"), location: "packages/webapp-2.0-1.x86_64.rpm", sum: sumOf([]byte("webapp"))},
		{info: info("hello", "1", "1.0.0", "noarch"), location: "packages/hello-1.0.0-1.noarch.rpm", sum: sumOf([]byte("hello"))},
	}
	sortRPMs(ps)
	return ps
}

func TestYUMMetadataGolden(t *testing.T) {
	ps := goldenRPMs()
	checkGolden(t, "primary.xml.golden", primaryXML(ps))
	checkGolden(t, "filelists.xml.golden", filelistsXML(ps))
	checkGolden(t, "other.xml.golden", otherXML(ps))
	meta, err := repodata(ps)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "repomd.xml.golden", repomdXML(meta, testTime))
}

func gunzip(t *testing.T, gz []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func xmlUnmarshal(data []byte, v any) error { return xml.Unmarshal(data, v) }
