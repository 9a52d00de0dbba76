package wheel

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"testing"
)

// TestOpenArchiveZip64 reads an archive with more than 65535 entries, which
// needs the zip64 end of central directory record.
func TestOpenArchiveZip64(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	const n = 70000
	for i := 0; i < n; i++ {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("f%05d", i), Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(w, "%d", i)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	if !bytes.Contains(data[len(data)-200:], []byte{0x50, 0x4b, 0x06, 0x07}) {
		t.Fatal("the test archive has no zip64 locator")
	}
	a, err := openArchive(bytes.NewReader(data), int64(len(data)), Limits{})
	if err != nil {
		t.Fatalf("openArchive(zip64) = %v", err)
	}
	if len(a.entries) != n {
		t.Fatalf("openArchive(zip64) read %d entries, want %d", len(a.entries), n)
	}
	e := &a.entries[n-1]
	b, err := a.readAll(e)
	if err != nil || string(b) != fmt.Sprint(n-1) {
		t.Errorf("readAll(%s) = %q, %v, want %q", e.name, b, err, fmt.Sprint(n-1))
	}
	if _, err := openArchive(bytes.NewReader(data), int64(len(data)), Limits{MaxEntries: n - 1}); err == nil || !strings.Contains(err.Error(), "more than the limit") {
		t.Errorf("openArchive(zip64, MaxEntries %d) = %v, want the entry limit error", n-1, err)
	}
}

// storedZip writes a zip of stored members with the standard library.
func storedZip(t *testing.T, members ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range members {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m[0], Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, m[1])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestOpenArchiveOverlap refuses members whose bytes overlap (the
// overlapping-file zip bomb) even when each local header agrees with its
// central directory entry.
func TestOpenArchiveOverlap(t *testing.T) {
	one := storedZip(t, [2]string{"bbbb", "hello"})
	cd := headerPos(t, one, sigCentral, "bbbb")
	blob := string(one[:cd]) // bbbb's local header, data and descriptor
	data := storedZip(t, [2]string{"aaaa", blob}, [2]string{"bbbb", "hello"})
	if _, err := openArchive(bytes.NewReader(data), int64(len(data)), Limits{}); err != nil {
		t.Fatalf("openArchive(unpatched) = %v", err)
	}
	// Point bbbb's central entry at the copy of its local header inside aaaa.
	lA := headerPos(t, data, sigLocal, "aaaa")
	cB := headerPos(t, data, sigCentral, "bbbb")
	binary.LittleEndian.PutUint32(data[cB+42:], uint32(lA+30+len("aaaa")))
	_, err := openArchive(bytes.NewReader(data), int64(len(data)), Limits{})
	if err == nil || !strings.Contains(err.Error(), "archive members overlap") {
		t.Errorf("openArchive(overlapping members) = %v, want an overlap error", err)
	}
}
