package distver

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/venvpkg/venvpkg/internal/testutil"
)

// dpkgCompareAll asks dpkg --compare-versions for the order of every pair,
// running one shell for the whole batch. The result for pair i is -1, 0 or +1.
func dpkgCompareAll(t *testing.T, pairs [][2]string) []int {
	t.Helper()
	testutil.NeedTool(t, "dpkg", "dpkg")
	var script strings.Builder
	script.WriteString("set -u\n")
	for _, p := range pairs {
		fmt.Fprintf(&script, "if dpkg --compare-versions %s lt %s; then echo -1; elif dpkg --compare-versions %s eq %s; then echo 0; else echo 1; fi\n",
			shellQuote(p[0]), shellQuote(p[1]), shellQuote(p[0]), shellQuote(p[1]))
	}
	cmd := exec.CommandContext(context.Background(), "sh", "-s")
	cmd.Stdin = strings.NewReader(script.String())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dpkg --compare-versions: %v: %s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Fatalf("dpkg --compare-versions complained: %s", stderr.String())
	}
	lines := strings.Fields(string(out))
	if len(lines) != len(pairs) {
		t.Fatalf("dpkg answered %d comparisons, want %d", len(lines), len(pairs))
	}
	res := make([]int, len(lines))
	for i, l := range lines {
		n, err := strconv.Atoi(l)
		if err != nil {
			t.Fatalf("dpkg output line %q: %v", l, err)
		}
		res[i] = n
	}
	return res
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
