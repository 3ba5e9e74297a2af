package modexbin

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Cmd is how a test runs the binary: the binary, its working directory and
// its environment (nil: the test's own).
type Cmd struct {
	Bin string
	Dir string
	Env []string
}

// Run runs the binary to completion and returns its stdout; a non-zero exit
// is an error that holds its stderr.
func (c Cmd) Run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, c.Bin, args...)
	cmd.Dir, cmd.Env = c.Dir, c.Env
	cmd.SysProcAttr = procAttr()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("modex %s: %w\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), lastLines(stderr.String(), 60))
	}
	return stdout.String(), nil
}

// MustRun is Run failing the test on an error; it logs the output.
func (c Cmd) MustRun(t testing.TB, ctx context.Context, args ...string) string {
	t.Helper()
	t0 := time.Now()
	out, err := c.Run(ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("$ modex %s  (%.1fs)\n%s", strings.Join(args, " "), time.Since(t0).Seconds(), lastLines(out, 40))
	return out
}

// Proc is a long-running modex (devnet, node) in its own process group.
type Proc struct {
	t      testing.TB
	name   string
	cmd    *exec.Cmd
	exited chan struct{}
	err    error

	mu     sync.Mutex
	lines  []string // stdout and stderr, interleaved
	notify chan struct{}
	killed bool
}

// Start starts the binary; the test's cleanup kills its process group. Its
// output is kept (Output, WaitFor) and shown when the test fails.
func (c Cmd) Start(t testing.TB, name string, args ...string) *Proc {
	t.Helper()
	cmd := exec.Command(c.Bin, args...)
	cmd.Dir, cmd.Env = c.Dir, c.Env
	cmd.SysProcAttr = procAttr()
	p := &Proc{t: t, name: name, cmd: cmd, exited: make(chan struct{}), notify: make(chan struct{})}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			close(p.notify)
			p.notify = make(chan struct{})
			p.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		p.err = cmd.Wait()
		pw.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("%s's output, last lines:\n%s", name, lastLines(p.Output(), 80))
		}
	})
	return p
}

// Output is everything the process printed so far.
func (p *Proc) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// Exited is closed when the process has exited; Err is then its exit error.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Err is the process's exit error (valid once Exited is closed).
func (p *Proc) Err() error { return p.err }

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// WaitFor waits until a line of the output matches re and returns its
// submatches; the process exiting first, or ctx ending, fails the test.
func (p *Proc) WaitFor(ctx context.Context, re *regexp.Regexp) []string {
	p.t.Helper()
	seen := 0
	for {
		p.mu.Lock()
		lines, ch := p.lines[seen:], p.notify
		seen = len(p.lines)
		p.mu.Unlock()
		for _, l := range lines {
			if m := re.FindStringSubmatch(l); m != nil {
				return m
			}
		}
		select {
		case <-ch:
		case <-p.exited:
			// the last lines may have arrived with the exit
			p.mu.Lock()
			rest := p.lines[seen:]
			p.mu.Unlock()
			for _, l := range rest {
				if m := re.FindStringSubmatch(l); m != nil {
					return m
				}
			}
			p.t.Fatalf("%s exited (%v) before printing a line matching %s; its output:\n%s", p.name, p.err, re, lastLines(p.Output(), 80))
		case <-ctx.Done():
			p.t.Fatalf("%s printed no line matching %s: %v; its output:\n%s", p.name, re, ctx.Err(), lastLines(p.Output(), 80))
		}
	}
}

// Kill ends the process group with SIGKILL and waits for the exit.
func (p *Proc) Kill() {
	p.mu.Lock()
	if p.killed {
		p.mu.Unlock()
		return
	}
	p.killed = true
	p.mu.Unlock()
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		p.t.Errorf("%s (pid %d) did not exit after SIGKILL", p.name, p.cmd.Process.Pid)
	}
}

// Stop sends SIGINT (a graceful stop) and waits up to timeout for the exit,
// then kills it; the exit error is returned.
func (p *Proc) Stop(timeout time.Duration) error {
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
		p.mu.Lock()
		p.killed = true
		p.mu.Unlock()
		return p.err
	case <-time.After(timeout):
		p.Kill()
		return fmt.Errorf("%s did not stop within %v after SIGINT: killed", p.name, timeout)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
