package wheel

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkInstall installs a wheel of 1000 Python-like modules (8 KiB
// each) into a fresh staging root per iteration.
func BenchmarkInstall(b *testing.B) {
	dir := b.TempDir()
	files := demoFiles("bench", "1.0", true)
	line := "def function_%04d(argument):\n    return argument * %d  # some text to compress\n"
	for i := 0; i < 1000; i++ {
		var sb strings.Builder
		for sb.Len() < 8<<10 {
			fmt.Fprintf(&sb, line, sb.Len(), i)
		}
		files[fmt.Sprintf("bench/sub%02d/mod%04d.py", i%20, i)] = []byte(sb.String())
	}
	whl := makeWheel(b, dir, "bench-1.0-py3-none-any.whl", files)
	fi, err := os.Stat(whl)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		root := filepath.Join(dir, fmt.Sprintf("root%d", i))
		dest := Destination{Root: root, Scheme: testScheme(prefix), Python: prefix + "/bin/python", Installer: "venvpkg"}
		if _, err := Install(context.Background(), whl, dest); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.RemoveAll(root)
		b.StartTimer()
	}
}
