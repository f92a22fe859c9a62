// Command rsswrap runs a command and reports the command's own peak
// resident set and CPU time on file descriptor 3 ("maxrss_kib utime_ns
// stime_ns"), exiting with the command's status.
//
// The benchmarks need it because a process started straight from the Go
// test binary does not have a clean peak: Go starts children with
// vfork, and exec records the peak of the address space it leaves — the
// test binary's — as the child's starting maximum. This wrapper is small,
// so the figure it passes on is the command's own give or take a
// megabyte or two.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: rsswrap COMMAND [ARG...]")
		os.Exit(2)
	}
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, "rsswrap:", err)
		os.Exit(127)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	report := os.NewFile(3, "report")
	fmt.Fprintf(report, "%d %d %d\n", ru.Maxrss, ru.Utime.Nano(), ru.Stime.Nano())
	os.Exit(cmd.ProcessState.ExitCode())
}
