package wheel

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/csv"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
)

// recordRow is one row of a RECORD file.
type recordRow struct {
	Path string
	Hash string // "sha256=<urlsafe base64, no padding>" or ""
	Size int64  // -1 when the field is empty
	Line int
}

// parseRecord parses a RECORD file: CSV rows of path, hash and size.
func parseRecord(r io.Reader) ([]recordRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	var rows []recordRow
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return nil, fmt.Errorf("RECORD: %w", err)
		}
		if len(rec) != 3 {
			return nil, fmt.Errorf("RECORD line %d: %d fields; want path,hash,size", line, len(rec))
		}
		row := recordRow{Path: rec[0], Hash: rec[1], Size: -1, Line: line}
		if row.Path == "" {
			return nil, fmt.Errorf("RECORD line %d: empty path", line)
		}
		if row.Hash != "" {
			algo, digest, ok := strings.Cut(row.Hash, "=")
			if !ok || digest == "" {
				return nil, fmt.Errorf("RECORD line %d: hash %q is not algorithm=digest", line, row.Hash)
			}
			if newHash(algo) == nil {
				return nil, fmt.Errorf("RECORD line %d: hash algorithm %q is not allowed; use sha256 or stronger", line, algo)
			}
		}
		if rec[2] != "" {
			n, err := strconv.ParseInt(rec[2], 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("RECORD line %d: size %q is not a non-negative integer", line, rec[2])
			}
			row.Size = n
		}
		rows = append(rows, row)
	}
}

// newHash returns a hash for a RECORD algorithm name, nil if not allowed.
func newHash(algo string) hash.Hash {
	switch algo {
	case "sha256":
		return sha256.New()
	case "sha384":
		return sha512.New384()
	case "sha512":
		return sha512.New()
	}
	return nil
}

// hashes keeps one reusable hash per algorithm.
type hashes struct{ m map[string]hash.Hash }

func (h *hashes) get(algo string) hash.Hash {
	if h.m == nil {
		h.m = make(map[string]hash.Hash, 1)
	}
	x := h.m[algo]
	if x == nil {
		x = newHash(algo)
		h.m[algo] = x
	}
	x.Reset()
	return x
}

// encodeDigest renders a digest as RECORD does: urlsafe base64, no padding.
func encodeDigest(algo string, sum []byte) string {
	return algo + "=" + base64.RawURLEncoding.EncodeToString(sum)
}

// sameDigest compares a RECORD hash field with a computed one, tolerating
// the padding the specification forbids but some tools wrote.
func sameDigest(recorded, computed string) bool {
	return strings.TrimRight(recorded, "=") == computed || recorded == computed
}

// writeRecord renders rows as CSV with "\n" line ends.
func writeRecord(rows []recordRow) []byte {
	var b bytes.Buffer
	for _, r := range rows {
		writeField(&b, r.Path)
		b.WriteByte(',')
		writeField(&b, r.Hash)
		b.WriteByte(',')
		if r.Size >= 0 {
			b.WriteString(strconv.FormatInt(r.Size, 10))
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// writeField quotes a CSV field only when it must, as Python's csv module does.
func writeField(b *bytes.Buffer, s string) {
	if !strings.ContainsAny(s, ",\"\r\n") {
		b.WriteString(s)
		return
	}
	b.WriteByte('"')
	b.WriteString(strings.ReplaceAll(s, `"`, `""`))
	b.WriteByte('"')
}
