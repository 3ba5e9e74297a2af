package devnet

import (
	"fmt"
	"os"
	"testing"
)

// testKeys is the key cache the package's devnets share: MODEX_TEST_KEYS
// when set (kept across runs), else a directory of this run, so the dev
// setup of every family runs once per `go test`, not once per devnet.
var testKeys string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	testKeys = os.Getenv("MODEX_TEST_KEYS")
	if testKeys == "" {
		dir, err := os.MkdirTemp("", "modex-devnet-keys-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		testKeys = dir
	}
	return m.Run()
}
