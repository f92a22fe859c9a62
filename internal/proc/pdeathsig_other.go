//go:build !linux

package proc

import "syscall"

// DieWithParent: there is no pdeathsig outside Linux; the child outlives
// a SIGKILLed parent and the dispatcher's crash sweep has to find it.
func DieWithParent(*syscall.SysProcAttr) bool { return false }
