package proc

import "syscall"

// DieWithParent asks the kernel to SIGKILL the child started with attr
// when the thread that started it exits (pdeathsig), and reports whether
// it could. The caller keeps that thread alive (runtime.LockOSThread) as
// long as it should.
func DieWithParent(attr *syscall.SysProcAttr) bool {
	attr.Pdeathsig = syscall.SIGKILL
	return true
}
