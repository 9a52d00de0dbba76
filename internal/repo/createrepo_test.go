package repo

import (
	"context"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/testutil"
)

// mdPackage is the part of a primary.xml package entry the comparison
// with createrepo_c looks at.
type mdPackage struct {
	Name    string `xml:"name"`
	Arch    string `xml:"arch"`
	Version struct {
		Epoch string `xml:"epoch,attr"`
		Ver   string `xml:"ver,attr"`
		Rel   string `xml:"rel,attr"`
	} `xml:"version"`
	Checksum    string `xml:"checksum"`
	Summary     string `xml:"summary"`
	Description string `xml:"description"`
	Packager    string `xml:"packager"`
	URL         string `xml:"url"`
	Time        struct {
		Build string `xml:"build,attr"`
	} `xml:"time"`
	Size struct {
		Package   string `xml:"package,attr"`
		Installed string `xml:"installed,attr"`
		Archive   string `xml:"archive,attr"`
	} `xml:"size"`
	Location struct {
		Href string `xml:"href,attr"`
	} `xml:"location"`
	Format struct {
		License     string `xml:"license"`
		Vendor      string `xml:"vendor"`
		Group       string `xml:"group"`
		BuildHost   string `xml:"buildhost"`
		SourceRPM   string `xml:"sourcerpm"`
		HeaderRange struct {
			Start string `xml:"start,attr"`
			End   string `xml:"end,attr"`
		} `xml:"header-range"`
		Provides  []mdEntry `xml:"provides>entry"`
		Requires  []mdEntry `xml:"requires>entry"`
		Conflicts []mdEntry `xml:"conflicts>entry"`
		Obsoletes []mdEntry `xml:"obsoletes>entry"`
		Files     []mdFile  `xml:"file"`
	} `xml:"format"`
}

type mdEntry struct {
	Name  string `xml:"name,attr"`
	Flags string `xml:"flags,attr"`
	Epoch string `xml:"epoch,attr"`
	Ver   string `xml:"ver,attr"`
	Rel   string `xml:"rel,attr"`
	Pre   string `xml:"pre,attr"`
}

type mdFile struct {
	Type string `xml:"type,attr"`
	Path string `xml:",chardata"`
}

type mdOther struct {
	Package []struct {
		PkgID     string `xml:"pkgid,attr"`
		Changelog []struct {
			Author string `xml:"author,attr"`
			Date   string `xml:"date,attr"`
			Text   string `xml:",chardata"`
		} `xml:"changelog"`
	} `xml:"package"`
}

type mdFilelists struct {
	Package []struct {
		PkgID string   `xml:"pkgid,attr"`
		Name  string   `xml:"name,attr"`
		Files []mdFile `xml:"file"`
	} `xml:"package"`
}

func readRepodata(t *testing.T, dir string) (primary []mdPackage, filelists mdFilelists, other mdOther) {
	t.Helper()
	md, err := os.ReadFile(filepath.Join(dir, "repodata/repomd.xml"))
	if err != nil {
		t.Fatal(err)
	}
	locs, err := repomdLocations(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range locs {
		gz, err := os.ReadFile(filepath.Join(dir, l))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasSuffix(l, "primary.xml.gz"):
			var doc struct {
				Package []mdPackage `xml:"package"`
			}
			if err := xml.Unmarshal(gunzip(t, gz), &doc); err != nil {
				t.Fatal(err)
			}
			primary = doc.Package
		case strings.HasSuffix(l, "filelists.xml.gz"):
			if err := xml.Unmarshal(gunzip(t, gz), &filelists); err != nil {
				t.Fatal(err)
			}
		case strings.HasSuffix(l, "other.xml.gz"):
			if err := xml.Unmarshal(gunzip(t, gz), &other); err != nil {
				t.Fatal(err)
			}
		}
	}
	return primary, filelists, other
}

// TestRepodataMatchesCreaterepo indexes the same packages with publish and
// with createrepo_c, the reference implementation of the rpm-md format,
// and compares primary.xml, filelists.xml and other.xml field by field.
func TestRepodataMatchesCreaterepo(t *testing.T) {
	testutil.NeedTool(t, "createrepo_c", "createrepo-c")
	s, _ := testSigner(t)
	pkgs := t.TempDir()
	files := []string{
		testRPM(t, pkgs, "hello", "1.0.0", "1", "noarch", "v1", s),
		testRPM(t, pkgs, "hello", "1.1.0", "1", "noarch", "v2", s),
		venvpkgRPM(t, pkgs, s),
	}
	root := t.TempDir()
	if _, err := Publish(context.Background(), Dir{Root: root}, files, Options{Signer: s}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "rpm/stable")
	ours, oursFiles, oursOther := readRepodata(t, dir)

	ref := filepath.Join(t.TempDir(), "ref")
	if err := os.MkdirAll(ref, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", filepath.Join(dir, "packages"), ref).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	if out, err := exec.Command("createrepo_c", "--quiet", "--no-database", "--simple-md-filenames", ref).CombinedOutput(); err != nil {
		t.Fatalf("createrepo_c: %v: %s", err, out)
	}
	theirs, theirFiles, theirOther := readRepodata(t, ref)
	if len(ours) != len(theirs) || len(ours) != len(files) {
		t.Fatalf("publish lists %d packages, createrepo_c %d, want %d", len(ours), len(theirs), len(files))
	}
	byLoc := map[string]mdPackage{}
	for _, p := range theirs {
		byLoc[p.Location.Href] = p
	}
	for _, p := range ours {
		ref, ok := byLoc[p.Location.Href]
		if !ok {
			t.Errorf("createrepo_c has no package at %s", p.Location.Href)
			continue
		}
		if !reflect.DeepEqual(p, ref) {
			t.Errorf("%s differs from createrepo_c's entry:\n ours:   %+v\n theirs: %+v", p.Location.Href, p, ref)
		}
	}
	files1 := map[string][]mdFile{}
	for _, p := range theirFiles.Package {
		files1[p.PkgID] = p.Files
	}
	for _, p := range oursFiles.Package {
		if !reflect.DeepEqual(p.Files, files1[p.PkgID]) {
			t.Errorf("filelists of %s differ from createrepo_c's:\n ours:   %v\n theirs: %v", p.Name, p.Files, files1[p.PkgID])
		}
	}
	if len(oursOther.Package) != len(theirOther.Package) {
		t.Fatalf("other.xml lists %d packages, createrepo_c's %d", len(oursOther.Package), len(theirOther.Package))
	}
	changelogs := 0
	for i, p := range oursOther.Package {
		for _, q := range theirOther.Package {
			if q.PkgID == p.PkgID && !reflect.DeepEqual(p, q) {
				t.Errorf("other.xml entry %d differs from createrepo_c's:\n ours:   %+v\n theirs: %+v", i, p, q)
			}
		}
		changelogs += len(p.Changelog)
	}
	if changelogs == 0 {
		t.Error("no package has a changelog; the comparison of other.xml shows nothing")
	}
}
