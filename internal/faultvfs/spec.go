package faultvfs

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseRule reads a rule written as "<fault>[-<op>]:<file>:<n>[+]", the
// form test hooks take from the environment:
//
//	enospc:-wal:1       the first write to the WAL fails with ENOSPC
//	short:main:2        the second write to the main file is short
//	eio-sync:-journal:1 the first fsync of the journal fails with EIO
//	eio-read:*:5+       every read of any file from the fifth on fails
//
// The op defaults to write; file is main (or empty), -journal, -wal,
// -shm, temp, -super or *; a trailing + on n keeps failing from the nth
// on (Forever).
func ParseRule(spec string) (Rule, error) {
	parts := strings.Split(spec, ":")
	if len(parts) != 3 {
		return Rule{}, fmt.Errorf("fault spec %q: want <fault>[-<op>]:<file>:<n>[+]", spec)
	}
	var r Rule
	faultName, opName, hasOp := strings.Cut(parts[0], "-")
	f, ok := ParseFault(faultName)
	if !ok {
		return Rule{}, fmt.Errorf("fault spec %q: unknown fault %q (enospc, eio, short)", spec, faultName)
	}
	r.Fault, r.Op = f, OpWrite
	if hasOp {
		if r.Op, ok = ParseOp(opName); !ok {
			return Rule{}, fmt.Errorf("fault spec %q: unknown operation %q", spec, opName)
		}
	}
	if r.File, ok = parseFile(parts[1]); !ok {
		return Rule{}, fmt.Errorf("fault spec %q: unknown file %q (main, -journal, -wal, -shm, temp, -super, *)", spec, parts[1])
	}
	n, onwards := strings.CutSuffix(parts[2], "+")
	var err error
	if r.N, err = strconv.Atoi(n); err != nil || r.N < 1 {
		return Rule{}, fmt.Errorf("fault spec %q: n must be a positive integer", spec)
	}
	if onwards {
		r.Times = Forever
	}
	return r, nil
}

func parseFile(s string) (string, bool) {
	switch s {
	case "", "main":
		return MainDB, true
	case Journal, WAL, SHM, Temp, Super, AnyFile:
		return s, true
	}
	return "", false
}
