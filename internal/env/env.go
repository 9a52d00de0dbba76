// Package env is the one table of the environment variables venvpkg reads,
// each with the one function that parses it. Nothing else in venvpkg calls
// os.Getenv for them, so every variable has one meaning and one set of
// rules, listed in docs/configuration.md.
package env

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Var is one environment variable venvpkg reads.
type Var struct {
	Name string
	Doc  string // what it sets, one line
}

// The variables venvpkg reads.
var (
	SourceDateEpoch = Var{"SOURCE_DATE_EPOCH", "seconds since 1970 that date every file, signature and Release; a build without it takes the git HEAD commit time"}
	CacheDir        = Var{"VENVPKG_CACHE_DIR", "the cache directory; default $XDG_CACHE_HOME/venvpkg"}
	SignKey         = Var{"VENVPKG_SIGN_KEY", "an armored OpenPGP private key used when --sign-key is not given"}
	SignPassphrase  = Var{"VENVPKG_SIGN_PASSPHRASE", "the passphrase of a protected signing key"}
	PipIndexURL     = Var{"PIP_INDEX_URL", "the main index when --index-url is not given"}
	PipExtraIndex   = Var{"PIP_EXTRA_INDEX_URL", "more indexes, space-separated, when --extra-index-url is not given"}
	PipFindLinks    = Var{"PIP_FIND_LINKS", "find-links directories or URLs, space-separated, when --find-links is not given"}
	PipNoIndex      = Var{"PIP_NO_INDEX", "1, true, yes or on: no index, as --no-index"}
	Netrc           = Var{"NETRC", "the netrc file with index credentials; default ~/.netrc"}
	VulnDB          = Var{"VENVPKG_VULN_DB", "the vulnerability database venvpkg vuln, report and build --vuln-db read when --db is not given"}
	TestPauseAt     = Var{"VENVPKG_TEST_PAUSE_AT", "test hook: the build stops at the start of the named stage until it is interrupted"}
)

// All lists every variable venvpkg reads.
var All = []Var{SourceDateEpoch, CacheDir, SignKey, SignPassphrase, PipIndexURL, PipExtraIndex, PipFindLinks, PipNoIndex, Netrc, VulnDB, TestPauseAt}

// String is the variable's value, "" when unset.
func (v Var) String() string { return os.Getenv(v.Name) }

// Lookup is the variable's value and whether it is set at all (set and
// empty differs from unset for a passphrase).
func (v Var) Lookup() (string, bool) { return os.LookupEnv(v.Name) }

// List splits a variable holding several values at white space, as pip
// does for PIP_FIND_LINKS and PIP_EXTRA_INDEX_URL.
func (v Var) List() []string { return strings.Fields(os.Getenv(v.Name)) }

// Bool reads a pip-style switch: 1, true, yes or on (any case) is true,
// anything else false.
func (v Var) Bool() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv(v.Name))) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// Epoch parses SOURCE_DATE_EPOCH: ok is false when it is unset or empty;
// anything but a non-negative number of seconds is an error naming the
// value, since a mistyped epoch would silently change every timestamp.
func Epoch() (t time.Time, ok bool, err error) {
	s := strings.TrimSpace(SourceDateEpoch.String())
	if s == "" {
		return time.Time{}, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, false, fmt.Errorf("%s=%q is not a number of seconds since 1970; unset it or give one (e.g. $(git log -1 --format=%%ct))", SourceDateEpoch.Name, s)
	}
	return time.Unix(n, 0).UTC(), true, nil
}

// Cache is the cache directory: $VENVPKG_CACHE_DIR, else
// $XDG_CACHE_HOME/venvpkg, else ~/.cache/venvpkg.
func Cache() string {
	if d := CacheDir.String(); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "venvpkg")
	}
	return filepath.Join(os.TempDir(), "venvpkg-cache")
}
