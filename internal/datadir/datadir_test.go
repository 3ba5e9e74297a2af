package datadir

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/modex/modex/internal/testutil/child"
)

// wantInUse checks that err is an *InUseError for dir naming pid.
func wantInUse(t *testing.T, err error, dir string, pid int) {
	t.Helper()
	var ie *InUseError
	if !errors.As(err, &ie) || !errors.Is(err, ErrInUse) {
		t.Fatalf("got %T %v, want *InUseError wrapping ErrInUse", err, err)
	}
	if ie.Dir != dir || ie.PID != pid {
		t.Fatalf("InUseError{Dir %q, PID %d}, want {%q, %d}", ie.Dir, ie.PID, dir, pid)
	}
	if msg := err.Error(); !strings.Contains(msg, dir) || !strings.Contains(msg, "pid "+strconv.Itoa(pid)) {
		t.Fatalf("message %q names neither the directory nor pid %d", msg, pid)
	}
}

func TestAcquireRelease(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b") // created
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Held() || !l.Covers(dir) || !l.Covers(dir+"/.") || l.Covers(t.TempDir()) {
		t.Fatalf("held %v covers %v", l.Held(), l.Covers(dir))
	}
	// a second lock of this process is refused too (flock is per open file)
	_, err = Acquire(dir)
	wantInUse(t, err, dir, os.Getpid())
	if !strings.Contains(err.Error(), "this process") {
		t.Errorf("message %q", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatalf("second release: %v", err)
	}
	if l.Held() || l.Covers(dir) {
		t.Fatal("released lock still held")
	}
	if _, err := os.Stat(filepath.Join(dir, LockFile)); err != nil {
		t.Fatalf("the lock file goes away on release: %v", err)
	}
	l2, err := Acquire(dir)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	defer l2.Release()
	if got := readPID(filepath.Join(dir, LockFile)); got != os.Getpid() {
		t.Fatalf("lock file names pid %d, want %d", got, os.Getpid())
	}
}

func TestAcquireNotADirectory(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(f); err == nil || errors.Is(err, ErrInUse) {
		t.Fatalf("a file as the directory: %v", err)
	}
	if _, err := Acquire(""); err == nil || errors.Is(err, ErrInUse) {
		t.Fatalf("no directory: %v", err)
	}
}

const childEnv = "MODEX_DATADIR_CHILD"

// TestHolderChild is the child process of TestOtherProcess: it locks the
// directory MODEX_DATADIR_CHILD names, says "locked", and holds the lock
// until its stdin closes (or it is killed).
func TestHolderChild(t *testing.T) {
	dir := os.Getenv(childEnv)
	if dir == "" {
		t.Skip("child process of TestOtherProcess")
	}
	l, err := Acquire(dir)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(3)
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := l.Release(); err != nil {
		fmt.Println("error:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

// holder is a child process holding dir's lock.
type holder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

func startHolder(t *testing.T, dir string) *holder {
	t.Helper()
	c := child.Start(t, "TestHolderChild", childEnv, dir)
	if c.Line != "locked" {
		t.Fatalf("child: %q", c.Line)
	}
	return &holder{cmd: c.Cmd, stdin: c.Stdin}
}

// TestOtherProcess: a directory another process holds is refused with its
// PID; the lock is free once that process releases it, and once it is
// SIGKILLed (the kernel drops it).
func TestOtherProcess(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("in child")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.WriteFile(data, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}

	h := startHolder(t, dir)
	_, err := Acquire(dir)
	wantInUse(t, err, dir, h.cmd.Process.Pid)
	if b, err := os.ReadFile(data); err != nil || string(b) != "precious" {
		t.Fatalf("refused Acquire touched the data: %q %v", b, err)
	}
	// stop: the holder releases and exits
	h.stdin.Close()
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("holder: %v", err)
	}
	l, err := Acquire(dir)
	if err != nil {
		t.Fatalf("after the holder stopped: %v", err)
	}
	l.Release()

	h = startHolder(t, dir)
	_, err = Acquire(dir)
	wantInUse(t, err, dir, h.cmd.Process.Pid)
	if err := h.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := h.cmd.Wait(); err == nil {
		t.Fatal("holder exited cleanly after SIGKILL")
	}
	l, err = Acquire(dir)
	if err != nil {
		t.Fatalf("after the holder was SIGKILLed: %v", err)
	}
	l.Release()
}
