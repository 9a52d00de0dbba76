package wheel

import (
	"reflect"
	"strings"
	"testing"
)

// TestParseMetadataDescribing reads the fields a package's control data
// comes from, as setuptools, flit, hatchling and poetry write them.
func TestParseMetadataDescribing(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Metadata
		home string
		lic  string
	}{
		{
			name: "setuptools setup.py",
			in: "Metadata-Version: 2.1\nName: click\nVersion: 8.1.3\nSummary: Composable command line interface toolkit\n" +
				"Home-page: https://palletsprojects.com/p/click/\nAuthor: Armin Ronacher\nAuthor-email: armin.ronacher@active-4.com\n" +
				"Maintainer: Pallets\nMaintainer-email: contact@palletsprojects.com\nLicense: BSD-3-Clause\n" +
				"Project-URL: Source Code, https://github.com/pallets/click/\nRequires-Python: >=3.7\n" +
				"Description-Content-Type: text/x-rst\nLicense-File: LICENSE.rst\nRequires-Dist: colorama; platform_system == \"Windows\"\n\n" +
				"\\$ click\\_\n==========\n\nClick is a package.\n\n\n",
			want: Metadata{Name: "click", Version: "8.1.3", Summary: "Composable command line interface toolkit",
				HomePage: "https://palletsprojects.com/p/click/", Author: "Armin Ronacher", AuthorEmail: "armin.ronacher@active-4.com",
				Maintainer: "Pallets", MaintainerEmail: "contact@palletsprojects.com", License: "BSD-3-Clause",
				ProjectURLs: []ProjectURL{{"Source Code", "https://github.com/pallets/click/"}}, RequiresPython: ">=3.7",
				RequiresDist: []string{`colorama; platform_system == "Windows"`},
				Description:  "\\$ click\\_\n==========\n\nClick is a package.\n"},
			home: "https://palletsprojects.com/p/click/",
			lic:  "BSD-3-Clause",
		},
		{
			name: "PEP 621 through hatchling, licence expression",
			in: "Metadata-Version: 2.4\nName: app\nVersion: 2.0\nSummary: An app\nProject-URL: Documentation, https://docs.example\n" +
				"Project-URL: Home page, https://example.org\nAuthor-email: Jane Doe <jane@example.org>, ops@example.org\n" +
				"License-Expression: MIT OR Apache-2.0\nLicense: old text\nProvides-Extra: cli\nRequires-Dist: rich; extra == 'cli'\n",
			want: Metadata{Name: "app", Version: "2.0", Summary: "An app",
				ProjectURLs: []ProjectURL{{"Documentation", "https://docs.example"}, {"Home page", "https://example.org"}},
				AuthorEmail: "Jane Doe <jane@example.org>, ops@example.org", LicenseExpression: "MIT OR Apache-2.0", License: "old text",
				ProvidesExtra: []string{"cli"}, RequiresDist: []string{"rich; extra == 'cli'"}},
			home: "https://example.org",
			lic:  "MIT OR Apache-2.0",
		},
		{
			name: "old Description field, UNKNOWN placeholders, long licence",
			in: "Metadata-Version: 1.2\nName: old\nVersion: 1\nHome-page: UNKNOWN\nLicense: Permission is hereby granted,\n" +
				"        free of charge, to any person obtaining a copy of this software and associated documentation files\n" +
				"Description: First line\n        |second line\nProject-URL: https://bare.example\n",
			want: Metadata{Name: "old", Version: "1", HomePage: "UNKNOWN",
				License:     "Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated documentation files",
				Description: "First line |second line", ProjectURLs: []ProjectURL{{"", "https://bare.example"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMetadata(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*m, tt.want) {
				t.Errorf("ParseMetadata = %+v\nwant %+v", *m, tt.want)
			}
			if got := m.Homepage(); got != tt.home {
				t.Errorf("Homepage() = %q, want %q", got, tt.home)
			}
			if got := m.ShortLicense(); got != tt.lic {
				t.Errorf("ShortLicense() = %q, want %q", got, tt.lic)
			}
		})
	}
}
