package gethtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/modex/modex/contracts/compiler"
)

// EnvBinary names the geth binary tests run; `make test` sets it to the
// one `make geth` built.
const EnvBinary = "MODEX_GETH"

// Module is go-ethereum's module path; geth is built from its cmd/geth at
// the version this module requires.
const Module = "github.com/ethereum/go-ethereum"

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// Binary is the path of the geth that tests run: $MODEX_GETH when set
// (it must exist), else build/geth-<version>/geth under the module root,
// built with the go command into that cache when missing (the same place
// `make geth` builds it). It fails the test, never skips it.
func Binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() { binPath, binErr = findBinary() })
	if binErr != nil {
		t.Fatalf("gethtest: %v", binErr)
	}
	return binPath
}

func findBinary() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if err := executable(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w (run `make geth`, or unset %s to let the tests build it)", EnvBinary, p, err, EnvBinary)
		}
		return p, nil
	}
	root, err := compiler.ModuleRoot()
	if err != nil {
		return "", fmt.Errorf("no %s and %w: run `make geth` and set %s", EnvBinary, err, EnvBinary)
	}
	version, err := Version()
	if err != nil {
		return "", fmt.Errorf("no %s, and %w (run `make geth`)", EnvBinary, err)
	}
	dir := filepath.Join(root, "build", "geth-"+version)
	p := filepath.Join(dir, "geth")
	if executable(p) == nil {
		return p, nil
	}
	if err := build(dir, version); err != nil {
		return "", fmt.Errorf("building geth %s into %s: %w (or run `make geth`)", version, dir, err)
	}
	return p, executable(p)
}

func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", p)
	}
	return nil
}

// Version is the go-ethereum version this module requires (go list -m in
// the module root).
func Version() (string, error) {
	root, err := compiler.ModuleRoot()
	if err != nil {
		return "", err
	}
	goCmd, err := GoCommand()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(goCmd, "list", "-m", "-f", "{{.Version}} {{with .Replace}}{{.Path}}{{end}}", Module)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list -m %s: %w", Module, err)
	}
	version, replaced, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	if replaced != "" {
		return "", fmt.Errorf("%s is replaced (%s): build geth yourself and set %s", Module, replaced, EnvBinary)
	}
	if version == "" {
		return "", fmt.Errorf("go list -m %s: no version", Module)
	}
	return version, nil
}

// GoCommand is the go command that tests build with: the one on PATH, else
// the toolchain's that built the test.
func GoCommand() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if executable(p) == nil {
		return p, nil
	}
	return "", errors.New("no go command on PATH")
}

// build installs cmd/geth at version into dir/geth, holding a lock so that
// test processes of several packages build it once; the binary appears
// whole (installed beside, then renamed).
func build(dir, version string) error {
	goCmd, err := GoCommand()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	final := filepath.Join(dir, "geth")
	if executable(final) == nil {
		return nil // another process built it while this one waited
	}
	tmp, err := os.MkdirTemp(dir, "install-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(os.Stderr, "gethtest: building geth %s into %s (once; `make geth` does the same)\n", version, dir)
	cmd := exec.Command(goCmd, "install", Module+"/cmd/geth@"+version)
	// outside any module: go-ethereum's own go.mod pins geth's dependencies;
	// -pgo=off as `make geth` (it shares the build cache with our packages)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=-pgo=off", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return os.Rename(filepath.Join(tmp, "geth"), final)
}
