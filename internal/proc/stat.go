package proc

import (
	"bytes"
	"strconv"
	"strings"
)

// Stat is the part of /proc/<pid>/stat kanbanshim uses.
type Stat struct {
	State byte // R, S, D, Z, T, …
	PPID  int
	PGRP  int
}

// Zombie reports a process that has exited but not been reaped.
func (s Stat) Zombie() bool { return s.State == 'Z' }

// parseStat parses the text of /proc/<pid>/stat. The command name may
// hold spaces and parentheses, so fields are counted from the last ')'.
func parseStat(data []byte) (Stat, bool) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return Stat{}, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 3 || len(f[0]) != 1 {
		return Stat{}, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgrp, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil {
		return Stat{}, false
	}
	return Stat{State: f[0][0], PPID: ppid, PGRP: pgrp}, true
}

// splitCmdline splits a NUL-separated command line (nil when empty).
func splitCmdline(data []byte) []string {
	if len(data) == 0 {
		return nil
	}
	return strings.Split(string(bytes.TrimRight(data, "\x00")), "\x00")
}
