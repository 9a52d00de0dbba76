// Package pkg writes the native package: it maps PEP 440 versions onto
// Debian versions without changing their order (deb-version(5), dpkg's
// comparison is reimplemented in CompareDeb) and writes binary packages in
// the Debian format (deb(5), control fields per Debian Policy §5) through
// goreleaser/nfpm, reproducibly: sorted entries, root:root ownership,
// normalised modes and one fixed mtime.
package pkg
