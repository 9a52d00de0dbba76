// Package distver maps PEP 440 versions to Debian and RPM versions that sort
// as PEP 440 does, and compares versions as dpkg and rpm do. It is a leaf
// package: the package writers, the repository publisher and the fleet
// generators share it without linking a package-writing library.
package distver
