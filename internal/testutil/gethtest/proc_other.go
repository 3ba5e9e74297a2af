//go:build !linux

package gethtest

import "syscall"

// procAttr puts a child in its own process group (killed as one).
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
