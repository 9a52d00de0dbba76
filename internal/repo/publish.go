// Package repo publishes packages into signed APT and YUM/DNF repositories:
// the Debian archive layout (pool/, dists/<suite>/ with Packages, Release,
// InRelease and Release.gpg, Acquire-By-Hash; see
// https://wiki.debian.org/DebianRepository/Format) and the rpm-md layout
// createrepo writes (repodata/ with primary, filelists and other, repomd.xml
// and its detached signature repomd.xml.asc).
//
// A publish is a transaction on a Storage: under the repository's lock it
// writes new packages first, then new index files under new or temporary
// names, and switches to them with renames, the signed Release (or
// repomd.xml) last, so a client never reads a half-written repository and a
// failure at any point leaves the previous published state in place.
package repo

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"golang.org/x/sync/errgroup"

	"github.com/venvpkg/venvpkg/internal/sign"
)

// Roots of the two repository trees inside the repository.
const (
	AptRoot = "apt" // served as the APT archive root: deb URL/apt suite component
	RPMRoot = "rpm" // YUM repositories: baseurl URL/rpm/<suite>
)

// tmpSuffix marks index files written but not yet renamed into place.
const tmpSuffix = ".venvpkg-new"

// DefaultArchitectures are always indexed, so that hosts of these
// architectures find a Packages file even when the suite holds only
// Architecture: all packages.
var DefaultArchitectures = []string{"amd64", "arm64"}

// ErrConflict means a package of the same name, version and architecture is
// already published with different content.
var ErrConflict = errors.New("already published with different content")

// Options control a publish.
type Options struct {
	Suite       string // APT suite and YUM repository name; default "stable"
	Codename    string // APT codename; default Suite
	Component   string // APT component of the new packages; default "main"
	Origin      string // APT Release Origin (optional)
	Label       string // APT Release Label (optional)
	Description string // APT Release Description (optional)
	// Architectures are indexed in addition to those of the packages and
	// those the suite already lists; default DefaultArchitectures.
	Architectures []string
	// Keep, when positive, keeps only the Keep newest versions of every
	// package name and architecture in the suite (and component).
	Keep int
	// DryRun reports what a publish would do and writes nothing.
	DryRun bool
	// Signer signs Release, InRelease and repomd.xml; required unless
	// DryRun. Its public key is published as KeyPath(Suite), and RPMs
	// signed with it are accepted.
	Signer *sign.Signer
	// TrustedKeys are the keys besides the Signer's that RPMs may be
	// signed with (build keys kept apart from the repository key).
	TrustedKeys *sign.Keyring
	// Now is the Date of the Release file and the revision of repomd.xml;
	// zero means the current time.
	Now time.Time
	// Log, when set, receives one line per change.
	Log io.Writer
}

// Result says what a publish did (or, with DryRun, would do). Paths are
// relative to the repository root.
type Result struct {
	Added     []string // packages written
	Unchanged []string // packages already published with the same content
	Pruned    []string // packages removed by Keep
	Indexes   []string // index and signature files written
}

var suiteRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func (o *Options) defaults() error {
	if o.Suite == "" {
		o.Suite = "stable"
	}
	if o.Codename == "" {
		o.Codename = o.Suite
	}
	if o.Component == "" {
		o.Component = "main"
	}
	if o.Architectures == nil {
		o.Architectures = DefaultArchitectures
	}
	for _, f := range [][2]string{{"suite", o.Suite}, {"codename", o.Codename}, {"component", o.Component}} {
		if !suiteRE.MatchString(f[1]) {
			return fmt.Errorf("%s %q is not valid: use letters, digits, \".\", \"_\" and \"-\"", f[0], f[1])
		}
	}
	for _, a := range o.Architectures {
		if !debArchRE.MatchString(a) || a == "all" {
			return fmt.Errorf("architecture %q is not valid: give Debian architectures such as amd64 (\"all\" packages are listed under every one)", a)
		}
	}
	for _, f := range [][2]string{{"origin", o.Origin}, {"label", o.Label}, {"description", o.Description}} {
		if strings.ContainsAny(f[1], "\r\n") {
			return fmt.Errorf("%s %q spans several lines; Release fields allow one", f[0], f[1])
		}
	}
	if o.Keep < 0 {
		return fmt.Errorf("keep %d is negative; give the number of versions to keep, or 0 for all", o.Keep)
	}
	if o.Signer == nil && !o.DryRun {
		return errors.New("no signing key: clients refuse unsigned repositories; pass a key")
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	o.Now = o.Now.UTC().Truncate(time.Second)
	return nil
}

func (o *Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

// input is one package file given to Publish, verified and hashed.
type input struct {
	file    string
	sum     fileSum
	control paragraph // .deb
	rpm     *rpmInfo  // .rpm
	// untrusted, for an .rpm signed by a key the repository does not
	// trust, refuses it unless the same file is already published.
	untrusted error
}

// KeyPath returns where publish writes the armored public key of the
// suite's signing key, relative to the repository root: the key hosts put
// in apt's signed-by and dnf's gpgkey.
func KeyPath(suite string) string { return "keys/" + suite + ".asc" }

// readInput verifies a .deb (verifyDeb) or .rpm (verifyRPM) completely and
// hashes it, in one pass over the file.
func readInput(ctx context.Context, file string, rv rpmVerifier) (*input, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	in := &input{file: file}
	h := newHashingWriter()
	sum := h.sum
	defer func() { sum() }() // stops the hashing goroutines on every return
	r := bufio.NewReaderSize(io.TeeReader(ctxReader{ctx, f}, h), 256<<10)
	switch {
	case strings.HasSuffix(file, ".deb"):
		in.control, err = verifyDeb(r)
	case strings.HasSuffix(file, ".rpm"):
		in.rpm, err = verifyRPM(r, rv)
		var ue *untrustedError
		if errors.As(err, &ue) {
			in.untrusted, err = fmt.Errorf("%s: %w; nothing was published", file, ue), nil
		}
	default:
		return nil, fmt.Errorf("%s is neither a .deb nor an .rpm", file)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w; nothing was published", file, err)
	}
	in.sum, sum = h.sum(), func() fileSum { return fileSum{} }
	return in, nil
}

// Publish adds the .deb and .rpm files to the repository in st: .deb files
// to the APT suite, .rpm files to the YUM repository of the suite. It holds
// the repository's lock throughout (except with DryRun).
func Publish(ctx context.Context, st Storage, files []string, o Options) (_ *Result, err error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, errors.New("no packages given; name the .deb and .rpm files to publish")
	}
	// Every package is verified before anything is written, so a damaged
	// or untrusted one leaves the repository as it was.
	rv := rpmVerifier{keys: o.TrustedKeys}
	if o.Signer != nil {
		rv.keys = o.Signer.Keyring().Union(o.TrustedKeys)
	}
	// Packages are verified in parallel; the first failure in argument
	// order is reported.
	inputs, errs := make([]*input, len(files)), make([]error, len(files))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, file := range files {
		g.Go(func() error {
			inputs[i], errs[i] = readInput(ctx, file, rv)
			return nil
		})
	}
	g.Wait()
	if err := cmp.Or(errs...); err != nil {
		return nil, err
	}
	var debs, rpms []*input
	for _, in := range inputs {
		if in.rpm != nil {
			rpms = append(rpms, in)
		} else {
			debs = append(debs, in)
		}
	}
	if !o.DryRun {
		unlock, err := st.Lock(ctx)
		if err != nil {
			return nil, err
		}
		defer func() { err = errors.Join(err, unlock()) }()
	}
	// An RPM signed by a key the repository does not trust is refused,
	// unless it is already published (a republish after a key rotation).
	// A dry run without a key cannot tell which keys are trusted.
	if o.Signer != nil {
		for _, in := range rpms {
			if in.untrusted == nil {
				continue
			}
			name := RPMRoot + "/" + o.Suite + "/packages/" + in.rpm.fileName()
			if sum, err := sumStored(ctx, st, name); err != nil || sum.sha256 != in.sum.sha256 {
				return nil, in.untrusted
			}
		}
	}
	// A refusal in either tree (a changed package under a published
	// version) must come before the other tree is written: plan both
	// first, as a dry run does.
	if !o.DryRun {
		plan := o
		plan.DryRun, plan.Log = true, nil
		if len(debs) > 0 || o.Keep > 0 {
			if err := publishAPT(ctx, st, debs, &plan, &Result{}); err != nil {
				return nil, fmt.Errorf("publishing to APT suite %s: %w", o.Suite, err)
			}
		}
		if len(rpms) > 0 || o.Keep > 0 {
			if err := publishYUM(ctx, st, rpms, &plan, &Result{}); err != nil {
				return nil, fmt.Errorf("publishing to YUM repository %s: %w", o.Suite, err)
			}
		}
	}
	res := &Result{}
	if len(debs) > 0 || o.Keep > 0 {
		if err := publishAPT(ctx, st, debs, &o, res); err != nil {
			return res, fmt.Errorf("publishing to APT suite %s: %w", o.Suite, err)
		}
	}
	if len(rpms) > 0 || o.Keep > 0 {
		if err := publishYUM(ctx, st, rpms, &o, res); err != nil {
			return res, fmt.Errorf("publishing to YUM repository %s: %w", o.Suite, err)
		}
	}
	if err := publishKey(ctx, st, &o, res); err != nil {
		return res, err
	}
	return res, nil
}

// sumStored hashes the stored object name.
func sumStored(ctx context.Context, st Storage, name string) (fileSum, error) {
	r, err := st.Open(ctx, name)
	if err != nil {
		return fileSum{}, err
	}
	defer r.Close()
	return sumReader(ctxReader{ctx, r})
}

// publishKey writes the signer's armored public key to KeyPath(o.Suite)
// when it is not there already, after the indexes it verifies.
func publishKey(ctx context.Context, st Storage, o *Options, res *Result) error {
	name := KeyPath(o.Suite)
	have, err := readAll(ctx, st, name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	if o.Signer == nil {
		if err != nil { // a dry run without a key: the key would be written when missing
			res.Indexes = append(res.Indexes, name)
		}
		return nil
	}
	pub, perr := o.Signer.PublicKey()
	if perr != nil {
		return perr
	}
	if err == nil && bytes.Equal(have, pub) {
		return nil
	}
	res.Indexes = append(res.Indexes, name)
	if o.DryRun {
		return nil
	}
	o.logf("writing %s", name)
	return putBytes(ctx, st, name, pub)
}

func readAll(ctx context.Context, st Storage, name string) ([]byte, error) {
	r, err := st.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(ctxReader{ctx, r})
}

func putBytes(ctx context.Context, st Storage, name string, data []byte) error {
	if err := st.Put(ctx, name, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}

// putFile stores the package file in as name, checking that what was
// stored is what was hashed when the file was read.
func putFile(ctx context.Context, st Storage, name string, in *input) error {
	f, err := os.Open(in.file)
	if err != nil {
		return err
	}
	defer f.Close()
	h := newHashingWriter()
	err = st.Put(ctx, name, io.TeeReader(f, h))
	got := h.sum()
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if got != in.sum {
		return fmt.Errorf("%s changed while it was being published; publish it again", in.file)
	}
	return nil
}

// hashingWriter hashes what is written to it with SHA-256 and SHA-512,
// each in a goroutine of its own, so that hashing a package overlaps with
// verifying or storing it. sum must be called once writing is done.
type hashingWriter struct {
	chans [2]chan *chunk
	sums  [2]hash.Hash
	n     int64
	wg    sync.WaitGroup
}

// chunk is a copy of one Write, shared by the hashing goroutines and
// returned to chunks by the last of them.
type chunk struct {
	b    []byte
	refs atomic.Int32
}

var chunks = sync.Pool{New: func() any { return &chunk{} }}

func newHashingWriter() *hashingWriter {
	w := &hashingWriter{sums: [2]hash.Hash{sha256.New(), sha512.New()}}
	for i := range w.chans {
		w.chans[i] = make(chan *chunk, 4)
		w.wg.Add(1)
		go func(ch chan *chunk, h hash.Hash) {
			defer w.wg.Done()
			for c := range ch {
				h.Write(c.b)
				if c.refs.Add(-1) == 0 {
					chunks.Put(c)
				}
			}
		}(w.chans[i], w.sums[i])
	}
	return w
}

func (w *hashingWriter) Write(p []byte) (int, error) {
	c := chunks.Get().(*chunk) // the caller may reuse p once Write returns
	c.b = append(c.b[:0], p...)
	c.refs.Store(int32(len(w.chans)))
	for _, ch := range w.chans {
		ch <- c
	}
	w.n += int64(len(p))
	return len(p), nil
}

// sum stops the hashing goroutines and returns the size and digests.
func (w *hashingWriter) sum() fileSum {
	for _, c := range w.chans {
		close(c)
	}
	w.wg.Wait()
	return fileSum{size: w.n, sha256: hex.EncodeToString(w.sums[0].Sum(nil)), sha512: hex.EncodeToString(w.sums[1].Sum(nil))}
}

// removeLeftovers deletes temp files a failed publish left under prefix.
func removeLeftovers(ctx context.Context, st Storage, names []string) error {
	for _, n := range names {
		base := path.Base(n)
		if strings.HasSuffix(n, tmpSuffix) || strings.HasPrefix(base, ".") && strings.HasSuffix(base, ".tmp") {
			if err := st.Remove(ctx, n); err != nil {
				return fmt.Errorf("removing %s left by an earlier publish: %w", n, err)
			}
		}
	}
	return nil
}

// aptSuite is the published state of one APT suite: what its InRelease,
// the file apt reads first and publish renames last, lists.
type aptSuite struct {
	release    paragraph
	components map[string][]debEntry
	arches     []string
	files      map[string]fileSum // index files listed in InRelease
	// signed is false when InRelease is missing, Release or Release.gpg
	// do not match it (a publish failed between the renames), or the
	// signatures are not the signer's (a new key): the suite is then
	// rewritten even when no package changes.
	signed bool
}

// readAPTSuite reads dists/<suite>/InRelease and the Packages files it
// lists, through their by-hash names, which hold exactly the listed
// content even when a failed publish renamed newer files into place.
func readAPTSuite(ctx context.Context, st Storage, suite string, signer *sign.Signer) (*aptSuite, error) {
	dir := AptRoot + "/dists/" + suite + "/"
	s := &aptSuite{components: map[string][]debEntry{}, files: map[string]fileSum{}}
	in, err := readAll(ctx, st, dir+"InRelease")
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %sInRelease: %w", dir, err)
	}
	block, _ := clearsign.Decode(in)
	if block == nil {
		return nil, fmt.Errorf("%sInRelease is not a clear-signed message; repair or remove the suite", dir)
	}
	paras, err := parseDeb822(bytes.NewReader(block.Plaintext))
	if err != nil || len(paras) != 1 {
		return nil, fmt.Errorf("reading %sInRelease: not one paragraph (%v)", dir, err)
	}
	s.release = paras[0]
	s.arches = strings.Fields(s.release.Get("Architectures"))
	s.files = releaseHashes(s.release)
	s.signed = true
	if signer != nil {
		release, rerr := readAll(ctx, st, dir+"Release")
		gpg, gerr := readAll(ctx, st, dir+"Release.gpg")
		s.signed = rerr == nil && gerr == nil &&
			bytes.Equal(bytes.TrimRight(release, "\n"), bytes.TrimRight(block.Plaintext, "\n")) &&
			verifyClear(signer, in) == nil &&
			signer.VerifyDetached(release, gpg) == nil
	}
	for _, comp := range strings.Fields(s.release.Get("Components")) {
		seen := map[string]bool{}
		s.components[comp] = nil
		for _, arch := range s.arches {
			name := comp + "/binary-" + arch + "/Packages"
			sum, ok := s.files[name]
			if !ok {
				continue
			}
			data, err := readAll(ctx, st, dir+comp+"/binary-"+arch+"/by-hash/SHA256/"+sum.sha256)
			if errors.Is(err, fs.ErrNotExist) {
				data, err = readAll(ctx, st, dir+name)
			}
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", dir+name, err)
			}
			if got := sumOf(data); got.sha256 != sum.sha256 {
				return nil, fmt.Errorf("%s%s does not have the SHA256 InRelease lists; the suite is damaged, republish it", dir, name)
			}
			paras, err := parseDeb822(bytes.NewReader(data))
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", dir+name, err)
			}
			for _, p := range paras {
				e := debEntry{fields: p}
				if e.filename() == "" || seen[e.filename()] {
					continue
				}
				seen[e.filename()] = true
				s.components[comp] = append(s.components[comp], e)
			}
		}
	}
	return s, nil
}

func verifyClear(s *sign.Signer, msg []byte) error {
	_, err := s.VerifyClearSigned(msg)
	return err
}

// poolReferences returns every pool file the suites other than skip
// reference, with its SHA256.
func poolReferences(ctx context.Context, st Storage, skip string) (map[string]string, error) {
	names, err := st.List(ctx, AptRoot+"/dists")
	if err != nil {
		return nil, err
	}
	refs := map[string]string{}
	for _, n := range names {
		rest, ok := strings.CutPrefix(n, AptRoot+"/dists/")
		if !ok {
			continue
		}
		suite, file, _ := strings.Cut(rest, "/")
		if suite == skip || file != "InRelease" {
			continue
		}
		s, err := readAPTSuite(ctx, st, suite, nil)
		if err != nil {
			return nil, err
		}
		for _, es := range s.components {
			for _, e := range es {
				refs[e.filename()] = e.sha256()
			}
		}
	}
	return refs, nil
}

func publishAPT(ctx context.Context, st Storage, debs []*input, o *Options, res *Result) error {
	dists := AptRoot + "/dists/" + o.Suite + "/"
	if !o.DryRun {
		names, err := st.List(ctx, AptRoot)
		if err != nil {
			return err
		}
		if err := removeLeftovers(ctx, st, names); err != nil {
			return err
		}
	}
	old, err := readAPTSuite(ctx, st, o.Suite, o.Signer)
	if err != nil {
		return err
	}
	if len(debs) == 0 && old.release == nil {
		return nil // nothing published, nothing to prune
	}
	others, err := poolReferences(ctx, st, o.Suite)
	if err != nil {
		return err
	}
	// This suite's references, to find conflicts.
	refs := map[string]string{}
	for _, es := range old.components {
		for _, e := range es {
			refs[e.filename()] = e.sha256()
		}
	}
	components := map[string][]debEntry{}
	for comp, es := range old.components {
		components[comp] = slices.Clone(es)
	}
	changed := old.release == nil || !old.signed
	var toWrite []*input
	var toWritePaths []string
	seenNew := map[string]string{}
	for _, in := range debs {
		pp := poolPath(o.Component, in.control)
		if prev, ok := seenNew[pp]; ok {
			if prev != in.sum.sha256 {
				return fmt.Errorf("%s: %s is given twice with different content", in.file, pp)
			}
			continue
		}
		seenNew[pp] = in.sum.sha256
		sum, inSuite := refs[pp]
		if !inSuite {
			sum, inSuite = others[pp], others[pp] != ""
		}
		if inSuite && sum != in.sum.sha256 {
			return fmt.Errorf("%s: %s %s (%s) is %w (%s); publish a new version or release instead",
				in.file, in.control.Get("Package"), in.control.Get("Version"), in.control.Get("Architecture"), ErrConflict, AptRoot+"/"+pp)
		}
		entry := newDebEntry(in.control, pp, in.sum)
		if _, here := refs[pp]; here && slices.ContainsFunc(components[o.Component], func(e debEntry) bool { return e.filename() == pp }) {
			res.Unchanged = append(res.Unchanged, AptRoot+"/"+pp)
			o.logf("unchanged %s", AptRoot+"/"+pp)
			continue
		}
		// Same pool file in another component of this suite, or new.
		if !inSuite {
			toWrite = append(toWrite, in)
			toWritePaths = append(toWritePaths, pp)
		}
		components[o.Component] = append(components[o.Component], entry)
		res.Added = append(res.Added, AptRoot+"/"+pp)
		o.logf("adding %s", AptRoot+"/"+pp)
		changed = true
	}
	if _, ok := components[o.Component]; !ok && len(debs) > 0 {
		components[o.Component] = nil
	}
	var pruned []string
	if o.Keep > 0 {
		for comp, es := range components {
			kept, gone := keepNewestDebs(es, o.Keep)
			components[comp] = kept
			for _, e := range gone {
				pruned = append(pruned, e.filename())
				res.Pruned = append(res.Pruned, AptRoot+"/"+e.filename())
				o.logf("pruning %s", AptRoot+"/"+e.filename())
				changed = true
			}
		}
	}
	if !changed {
		return nil
	}
	archSet := map[string]bool{}
	for _, a := range append(slices.Clone(old.arches), o.Architectures...) {
		archSet[a] = true
	}
	for _, es := range components {
		for _, e := range es {
			if e.arch() != "all" {
				archSet[e.arch()] = true
			}
		}
	}
	arches := sortedKeys(archSet)
	indexes, err := suiteIndexes(components, arches)
	if err != nil {
		return err
	}
	release := releaseFile(releaseInfo{
		Origin: o.Origin, Label: o.Label, Suite: o.Suite, Codename: o.Codename, Description: o.Description,
		Date: after(o.Now, releaseDate(old.release)), Architectures: arches, Components: sortedKeys(components),
	}, indexes)
	for _, f := range indexes {
		res.Indexes = append(res.Indexes, dists+f.path)
	}
	res.Indexes = append(res.Indexes, dists+"Release", dists+"Release.gpg", dists+"InRelease")
	if o.DryRun {
		return nil
	}
	var inRelease, releaseGPG bytes.Buffer
	if err := o.Signer.ClearSign(&inRelease, release); err != nil {
		return err
	}
	if err := o.Signer.ArmoredDetachSign(&releaseGPG, bytes.NewReader(release)); err != nil {
		return err
	}

	// 1. Packages: new names, invisible until an index lists them.
	for i, in := range toWrite {
		if err := putFile(ctx, st, AptRoot+"/"+toWritePaths[i], in); err != nil {
			return err
		}
	}
	// 2. by-hash copies: content-addressed names, new or identical.
	for _, f := range indexes {
		dir := path.Dir(dists + f.path)
		for _, h := range []string{"SHA256/" + f.sum.sha256, "SHA512/" + f.sum.sha512} {
			if err := putBytes(ctx, st, dir+"/by-hash/"+h, f.data); err != nil {
				return err
			}
		}
	}
	// 3. Indexes and Release files under temp names, then renamed into
	// place, InRelease last.
	staged := []struct {
		name string
		data []byte
	}{}
	for _, f := range indexes {
		staged = append(staged, struct {
			name string
			data []byte
		}{dists + f.path, f.data})
	}
	staged = append(staged, []struct {
		name string
		data []byte
	}{{dists + "Release", release}, {dists + "Release.gpg", releaseGPG.Bytes()}, {dists + "InRelease", inRelease.Bytes()}}...)
	for _, s := range staged {
		if err := putBytes(ctx, st, s.name+tmpSuffix, s.data); err != nil {
			return err
		}
	}
	for _, s := range staged {
		if err := st.Rename(ctx, s.name+tmpSuffix, s.name); err != nil {
			return fmt.Errorf("renaming %s into place: %w", s.name, err)
		}
	}
	// 4. Clean up: pruned packages no suite references, and by-hash files
	// neither the new nor the previous Release lists.
	for comp := range components {
		for _, e := range components[comp] {
			others[e.filename()] = e.sha256()
		}
	}
	for _, p := range pruned {
		if _, used := others[p]; used {
			continue
		}
		if err := st.Remove(ctx, AptRoot+"/"+p); err != nil {
			return fmt.Errorf("removing pruned %s: %w", p, err)
		}
	}
	keepHashes := map[string]bool{}
	for _, f := range indexes {
		keepHashes[f.sum.sha256], keepHashes[f.sum.sha512] = true, true
	}
	for _, s := range old.files {
		keepHashes[s.sha256], keepHashes[s.sha512] = true, true
	}
	names, err := st.List(ctx, strings.TrimSuffix(dists, "/"))
	if err != nil {
		return err
	}
	for _, n := range names {
		if strings.Contains(n, "/by-hash/") && !keepHashes[path.Base(n)] {
			if err := st.Remove(ctx, n); err != nil {
				return fmt.Errorf("removing old %s: %w", n, err)
			}
		}
	}
	return nil
}

// after returns now, or one second after prev when now is not later: a
// client that has seen prev may refuse an older index as a replay, so
// dates never go backwards, even with an old SOURCE_DATE_EPOCH.
func after(now, prev time.Time) time.Time {
	if !prev.IsZero() && !now.After(prev) {
		return prev.Add(time.Second)
	}
	return now
}

// releaseDate returns the Date of a Release paragraph, or the zero time.
func releaseDate(p paragraph) time.Time {
	t, err := time.Parse(time.RFC1123Z, p.Get("Date"))
	if err != nil {
		t, err = time.Parse(time.RFC1123, p.Get("Date"))
	}
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// keepNewestDebs keeps the keep newest versions of every name and
// architecture.
func keepNewestDebs(es []debEntry, keep int) (kept, gone []debEntry) {
	sorted := slices.Clone(es)
	sortDebEntries(sorted)
	count := map[string]int{}
	for _, e := range sorted {
		k := e.name() + " " + e.arch()
		count[k]++
		if count[k] > keep {
			gone = append(gone, e)
		} else {
			kept = append(kept, e)
		}
	}
	return kept, gone
}

// keepNewestRPMs keeps the keep newest versions of every name and
// architecture.
func keepNewestRPMs(ps []rpmPackage, keep int) (kept, gone []rpmPackage) {
	sorted := slices.Clone(ps)
	sortRPMs(sorted)
	count := map[string]int{}
	for _, p := range sorted {
		k := p.info.Name + " " + p.info.Arch
		count[k]++
		if count[k] > keep {
			gone = append(gone, p)
		} else {
			kept = append(kept, p)
		}
	}
	return kept, gone
}

// yumRepo is the published state of a YUM repository: what its
// repomd.xml, renamed into place last, lists.
type yumRepo struct {
	exists   bool
	revision time.Time // of the published repomd.xml
	packages []rpmPackage
	meta     []string // repodata files repomd.xml lists
	// signed is false when repomd.xml.asc is not the signer's signature of
	// repomd.xml (a failed publish, or a new key).
	signed bool
}

func readYUMRepo(ctx context.Context, st Storage, root string, signer *sign.Signer) (*yumRepo, error) {
	r := &yumRepo{}
	md, err := readAll(ctx, st, root+"repodata/repomd.xml")
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return nil, err
	}
	r.exists, r.signed = true, true
	if signer != nil {
		asc, err := readAll(ctx, st, root+"repodata/repomd.xml.asc")
		r.signed = err == nil && signer.VerifyDetached(md, asc) == nil
	}
	if r.revision, err = repomdRevision(md); err != nil {
		return nil, fmt.Errorf("%srepodata/repomd.xml: %w", root, err)
	}
	if r.meta, err = repomdLocations(md); err != nil {
		return nil, fmt.Errorf("%srepodata/repomd.xml: %w", root, err)
	}
	var primary string
	for _, l := range r.meta {
		if strings.HasSuffix(l, "-primary.xml.gz") {
			primary = l
		}
	}
	if primary == "" {
		return nil, fmt.Errorf("%srepodata/repomd.xml lists no primary metadata; the repository is damaged", root)
	}
	gz, err := readAll(ctx, st, root+primary)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", root+primary, err)
	}
	listed, err := primaryLocations(gz)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", root+primary, err)
	}
	for _, l := range listed {
		if !strings.HasPrefix(l.href, "packages/") || path.Clean(l.href) != l.href {
			return nil, fmt.Errorf("%s lists %q, which venvpkg does not publish; the repository is damaged", root+primary, l.href)
		}
		// Only the headers are read: the package was verified when it was
		// added, and a repository of many packages is not read whole on
		// every publish.
		info, err := readPublishedRPM(ctx, st, root+l.href)
		if err != nil {
			return nil, err
		}
		p := rpmPackage{info: info, location: l.href, sum: fileSum{size: l.size, sha256: l.sha256}}
		r.packages = append(r.packages, p)
	}
	return r, nil
}

type primaryLocation struct {
	href, sha256 string
	size         int64
}

// primaryLocations reads the package locations, checksums and sizes of a
// primary.xml.gz.
func primaryLocations(gz []byte) ([]primaryLocation, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	var doc struct {
		Package []struct {
			Checksum struct {
				Type  string `xml:"type,attr"`
				Value string `xml:",chardata"`
			} `xml:"checksum"`
			Location struct {
				Href string `xml:"href,attr"`
			} `xml:"location"`
			Size struct {
				Package int64 `xml:"package,attr"`
			} `xml:"size"`
		} `xml:"package"`
	}
	if err := xml.NewDecoder(io.LimitReader(zr, 1<<30)).Decode(&doc); err != nil {
		return nil, err
	}
	var out []primaryLocation
	for _, p := range doc.Package {
		if p.Checksum.Type != "sha256" {
			return nil, fmt.Errorf("package %s has a %s checksum, not sha256", p.Location.Href, p.Checksum.Type)
		}
		if len(p.Checksum.Value) != 64 || strings.Trim(p.Checksum.Value, "0123456789abcdef") != "" || p.Size.Package <= 0 {
			return nil, fmt.Errorf("package %s has no valid sha256 checksum and size", p.Location.Href)
		}
		out = append(out, primaryLocation{p.Location.Href, p.Checksum.Value, p.Size.Package})
	}
	return out, nil
}

func publishYUM(ctx context.Context, st Storage, rpms []*input, o *Options, res *Result) error {
	root := RPMRoot + "/" + o.Suite + "/"
	names, err := st.List(ctx, strings.TrimSuffix(root, "/"))
	if err != nil {
		return err
	}
	if !o.DryRun {
		if err := removeLeftovers(ctx, st, names); err != nil {
			return err
		}
	}
	old, err := readYUMRepo(ctx, st, root, o.Signer)
	if err != nil {
		return err
	}
	if !old.exists && len(rpms) == 0 {
		return nil
	}
	pkgs := slices.Clone(old.packages)
	have := map[string]int{}
	for i, p := range pkgs {
		have[p.location] = i
	}
	changed := !old.exists || !old.signed
	var toWrite []*input
	for _, in := range rpms {
		loc := "packages/" + in.rpm.fileName()
		if i, ok := have[loc]; ok {
			if pkgs[i].sum.sha256 != in.sum.sha256 {
				return fmt.Errorf("%s: %s %s-%s (%s) is %w (%s); publish a new version or release instead",
					in.file, in.rpm.Name, in.rpm.Version, in.rpm.Release, in.rpm.Arch, ErrConflict, root+loc)
			}
			res.Unchanged = append(res.Unchanged, root+loc)
			o.logf("unchanged %s", root+loc)
			continue
		}
		have[loc] = len(pkgs)
		pkgs = append(pkgs, rpmPackage{info: in.rpm, location: loc, sum: in.sum})
		toWrite = append(toWrite, in)
		res.Added = append(res.Added, root+loc)
		o.logf("adding %s", root+loc)
		changed = true
	}
	var gone []rpmPackage
	if o.Keep > 0 {
		pkgs, gone = keepNewestRPMs(pkgs, o.Keep)
		for _, p := range gone {
			res.Pruned = append(res.Pruned, root+p.location)
			o.logf("pruning %s", root+p.location)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	sortRPMs(pkgs)
	meta, err := repodata(pkgs)
	if err != nil {
		return err
	}
	md := repomdXML(meta, after(o.Now, old.revision))
	for _, m := range meta {
		res.Indexes = append(res.Indexes, root+m.location)
	}
	res.Indexes = append(res.Indexes, root+"repodata/repomd.xml", root+"repodata/repomd.xml.asc")
	if o.DryRun {
		return nil
	}
	var asc bytes.Buffer
	if err := o.Signer.ArmoredDetachSign(&asc, bytes.NewReader(md)); err != nil {
		return err
	}
	// 1. Packages; a file of the same name not listed by repomd.xml is
	// left over from a failed publish and is replaced.
	for _, in := range toWrite {
		if err := putFile(ctx, st, root+"packages/"+in.rpm.fileName(), in); err != nil {
			return err
		}
	}
	// 2. Metadata under content-addressed names.
	for _, m := range meta {
		if err := putBytes(ctx, st, root+m.location, m.data); err != nil {
			return err
		}
	}
	// 3. repomd.xml and its signature under temp names, then renamed.
	for _, f := range []struct {
		name string
		data []byte
	}{{root + "repodata/repomd.xml", md}, {root + "repodata/repomd.xml.asc", asc.Bytes()}} {
		if err := putBytes(ctx, st, f.name+tmpSuffix, f.data); err != nil {
			return err
		}
	}
	for _, n := range []string{root + "repodata/repomd.xml", root + "repodata/repomd.xml.asc"} {
		if err := st.Rename(ctx, n+tmpSuffix, n); err != nil {
			return fmt.Errorf("renaming %s into place: %w", n, err)
		}
	}
	// 4. Clean up: packages no longer listed (pruned, or left by a failed
	// publish) and metadata neither the new nor the previous repomd.xml
	// lists.
	keep := map[string]bool{}
	for _, p := range pkgs {
		keep[p.location] = true
	}
	for _, m := range meta {
		keep[m.location] = true
	}
	for _, l := range old.meta {
		keep[l] = true
	}
	for _, n := range names {
		rel := strings.TrimPrefix(n, root)
		if strings.HasPrefix(rel, "packages/") || strings.HasPrefix(rel, "repodata/") && !strings.HasPrefix(rel, "repodata/repomd.xml") {
			if keep[rel] {
				continue
			}
			if err := st.Remove(ctx, n); err != nil {
				return fmt.Errorf("removing %s: %w", n, err)
			}
		}
	}
	return nil
}

// readPublishedRPM reads the headers of a published package.
func readPublishedRPM(ctx context.Context, st Storage, name string) (*rpmInfo, error) {
	r, err := st.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	info, err := readRPM(bufio.NewReader(ctxReader{ctx, r}))
	if err != nil {
		return nil, fmt.Errorf("reading published %s: %w", name, err)
	}
	return info, nil
}
