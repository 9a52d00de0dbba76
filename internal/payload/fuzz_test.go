package payload

import (
	"bufio"
	"bytes"
	"testing"
)

// FuzzReadPackage feeds arbitrary bytes to the .deb and .rpm readers:
// they return an error or a tree, never panic.
func FuzzReadPackage(f *testing.F) {
	f.Add([]byte("!<arch>\ndebian-binary/  0           0     0     100644  4         `\n2.0\n"))
	f.Add(append(append([]byte{}, rpmLeadMagic...), make([]byte, 92)...))
	f.Add(append(append(append([]byte{}, rpmLeadMagic...), make([]byte, 92)...), 0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 3, 0xe8, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		if !IsPackage(data) {
			return
		}
		r := bufio.NewReader(bytes.NewReader(data))
		var tree *Tree
		var err error
		if bytes.HasPrefix(data, rpmLeadMagic) {
			tree, err = readRPM(r)
		} else {
			tree, err = readDeb(r)
		}
		if err == nil {
			if _, err := tree.Distributions(); err != nil {
				return
			}
		}
	})
}
