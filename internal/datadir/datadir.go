// Package datadir keeps one process per data directory, as geth does: an
// exclusive flock(2) on <dir>/LOCK, taken before anything in the directory
// is read or written and held until the process is done with it. The kernel
// releases it when the process dies, SIGKILL included, so a crash never
// leaves a stale lock. The file holds the holder's PID, which a refused
// caller names.
//
// The lock belongs to an open file description: a second Acquire of the
// same directory is refused inside one process as it is across processes,
// so a caller that must lock the directory before it hands it on (the
// devnet wipes it, then builds the node) passes its *Lock along
// (node.Config.DataDirLock) instead of locking twice.
package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// LockFile is the lock's file name inside a data directory. It is never
// removed (removing a lock file others may have open races with them); a
// devnet that wipes its directory wipes everything else.
const LockFile = "LOCK"

// ErrInUse is wrapped by every *InUseError: another process, or another
// Lock of this one, holds the directory.
var ErrInUse = errors.New("data directory in use")

// InUseError: the directory is locked by another holder.
type InUseError struct {
	Dir string
	PID int // the holder's process id as its lock file says (0: unknown)
}

func (e *InUseError) Error() string {
	who := "another process"
	switch {
	case e.PID == os.Getpid():
		who = fmt.Sprintf("this process (pid %d)", e.PID)
	case e.PID > 0:
		who = fmt.Sprintf("another process (pid %d)", e.PID)
	}
	return fmt.Sprintf("data directory %s is in use by %s: one process per data directory (stop it, or choose another directory)", e.Dir, who)
}

func (e *InUseError) Unwrap() error { return ErrInUse }

// Lock is a held lock on a data directory.
type Lock struct {
	dir string
	mu  sync.Mutex
	f   *os.File // nil once released
}

// Acquire creates dir if needed (0700) and locks it without waiting: a
// directory another holder has locked is an *InUseError (ErrInUse) and
// nothing in it is changed.
func Acquire(dir string) (*Lock, error) {
	if dir == "" {
		return nil, errors.New("datadir: no directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("datadir: %w", err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("datadir: lock file: %w", err)
	}
	if err := flock(f); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &InUseError{Dir: dir, PID: readPID(path)}
		}
		return nil, fmt.Errorf("datadir: lock %s: %w", path, err)
	}
	// the PID is for a refused caller's message only: best effort
	if f.Truncate(0) == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{dir: dir, f: f}, nil
}

// flock takes an exclusive, non-blocking lock on f (retried on EINTR).
func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != syscall.EINTR {
			return err
		}
	}
}

// readPID is the PID a lock file names (0: none readable).
func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// Dir is the directory as Acquire was given it.
func (l *Lock) Dir() string { return l.dir }

// Held says whether the lock is still held (not released).
func (l *Lock) Held() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f != nil
}

// Covers says whether l is held and locks dir (the same directory, however
// it is spelled).
func (l *Lock) Covers(dir string) bool {
	if !l.Held() {
		return false
	}
	a, err := os.Stat(l.dir)
	if err != nil {
		return false
	}
	b, err := os.Stat(dir)
	return err == nil && os.SameFile(a, b)
}

// Release unlocks the directory; the lock file stays. Releasing twice is a
// no-op.
func (l *Lock) Release() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	// the PID goes first, so that the next holder's refused callers never
	// read a stale one
	_ = l.f.Truncate(0)
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	if err != nil {
		return fmt.Errorf("datadir: release %s: %w", l.dir, err)
	}
	return nil
}
