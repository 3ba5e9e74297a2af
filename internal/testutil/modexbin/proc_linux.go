package modexbin

import "syscall"

// procAttr puts a child in its own process group (killed as one) and kills
// it when the test process dies.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
