// Package modexbin builds the modex binary for tests that run it as a
// process: Build compiles ./cmd/modex once per test process into a
// temporary directory that Main removes when the tests end.
package modexbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/modex/modex/contracts/compiler"
)

var (
	once     sync.Once
	dir      string
	binPath  string
	buildErr error
	took     time.Duration
)

// Main runs a package's tests (call it from TestMain: os.Exit(modexbin.Main(m)))
// and removes the binary Build made.
func Main(m *testing.M) int {
	code := m.Run()
	if dir != "" {
		os.RemoveAll(dir)
	}
	return code
}

// Build is the path of a modex binary built from this checkout
// (go build -o <tmp>/modex ./cmd/modex), made once per test process.
// Packages that call it remove the binary through Main.
func Build(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		start := time.Now()
		binPath, buildErr = build()
		took = time.Since(start)
	})
	if buildErr != nil {
		t.Fatalf("modexbin: %v", buildErr)
	}
	return binPath
}

// BuildTime is how long Build's compilation took (0 before the first Build).
func BuildTime() time.Duration { return took }

func build() (string, error) {
	root, err := compiler.ModuleRoot()
	if err != nil {
		return "", err
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	if dir, err = os.MkdirTemp("", "modexbin-"); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "modex")
	cmd := exec.Command(goCmd, "build", "-o", out, "./cmd/modex")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/modex: %v: %s", err, b)
	}
	return out, nil
}
