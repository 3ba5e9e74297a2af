package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/modex/modex/circuits"
	"github.com/modex/modex/internal/testutil/modexbin"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/types"
)

// testKeys is the key cache this package's tests share: MODEX_TEST_KEYS
// when set (kept across runs, shared with node/devnet's tests), else a
// directory of this run, so each family's dev setup runs once per
// `go test`, whichever test needs it first.
var testKeys string

// capacity is the batch capacity of every test here (the keys are made
// for it): small, so proofs take seconds.
const capacity = 1

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	testKeys = os.Getenv("MODEX_TEST_KEYS")
	if testKeys == "" {
		dir, err := os.MkdirTemp("", "modex-e2e-keys-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		testKeys = dir
	}
	return modexbin.Main(m)
}

func testParams() types.Params {
	p := types.TestParams()
	p.BatchCapacity = capacity
	return p
}

// ensureKeys makes the dev keys of the families missing from testKeys with
// `modex setup --dev`, in the cache's layout (<keys>/<circuits.BatchKey>).
func ensureKeys(t *testing.T, ctx context.Context, c modexbin.Cmd, fams ...types.Family) {
	t.Helper()
	for _, f := range fams {
		dir := filepath.Join(testKeys, filepath.FromSlash(circuits.BatchKey(f, testParams())))
		if _, err := os.Stat(filepath.Join(dir, prover.PKFile)); err == nil {
			continue
		}
		c.MustRun(t, ctx, "setup", "--dev", "--circuit", f.String(), "--params", fmt.Sprintf("test:%d", capacity), "--keys", dir)
	}
}

// copyFile copies src to dst with mode.
func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// match is the first submatch of re in out, failing the test without one.
func match(t *testing.T, out string, re *regexp.Regexp) string {
	t.Helper()
	m := re.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %s in:\n%s", re, out)
	}
	return m[1]
}

// since is a duration for the log.
func since(t0 time.Time) string { return fmt.Sprintf("%.1fs", time.Since(t0).Seconds()) }
