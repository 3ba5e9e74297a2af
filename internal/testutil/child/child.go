// Package child re-runs the current test binary as a child process that
// runs one test (a "child test" that does its work when its environment
// variable is set), for tests that need a second real process: a data
// directory locked by another process, a node killed with SIGKILL.
package child

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Process is a running child test.
type Process struct {
	Cmd   *exec.Cmd
	Stdin io.WriteCloser // closing it asks a child that waits on stdin to finish
	Line  string         // the first line it printed (trimmed)
}

// Start runs the test binary's test named test (an exact name) with
// env=value added to the environment and extra test flags, waits for its
// first line on stdout and returns it. The child is killed at the test's
// cleanup; stdout after the first line is discarded, stderr is the test's.
func Start(t testing.TB, test, env, value string, flags ...string) *Process {
	t.Helper()
	args := append([]string{"-test.run=^" + test + "$", "-test.count=1"}, flags...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), env+"="+value)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("child %s: first line %q: %v", test, line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return &Process{Cmd: cmd, Stdin: stdin, Line: strings.TrimSpace(line)}
}
