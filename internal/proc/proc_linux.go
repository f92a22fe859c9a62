package proc

import (
	"io"
	"os"
	"strconv"
)

// dir is /proc/<pid>.
func dir(pid int) string { return "/proc/" + strconv.Itoa(pid) }

// ReadStat reads /proc/<pid>/stat; false when the process is gone or the
// file does not parse.
func ReadStat(pid int) (Stat, bool) {
	data, err := os.ReadFile(dir(pid) + "/stat")
	if err != nil {
		return Stat{}, false
	}
	return parseStat(data)
}

// PIDs lists every process id in /proc (nil when /proc cannot be read).
func PIDs() []int {
	pids, _ := readPIDs()
	return pids
}

func readPIDs() ([]int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	out := []int{}
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 0 {
			out = append(out, pid)
		}
	}
	return out, nil
}

// Each calls fn for every process whose stat parses; it reports whether
// /proc could be scanned at all.
func Each(fn func(pid int, st Stat)) bool {
	pids := PIDs()
	for _, pid := range pids {
		if st, ok := ReadStat(pid); ok {
			fn(pid, st)
		}
	}
	return pids != nil
}

// Cmdline is pid's argv, or nil when it cannot be read (gone, another
// user's kernel thread, no /proc).
func Cmdline(pid int) []string {
	data, err := os.ReadFile(dir(pid) + "/cmdline")
	if err != nil {
		return nil
	}
	return splitCmdline(data)
}

// environ is pid's environment block (only readable for our own user).
func environ(pid int) ([]byte, error) { return os.ReadFile(dir(pid) + "/environ") }

// Mountinfo opens /proc/self/mountinfo, for the filesystem probe.
func Mountinfo() (io.ReadCloser, error) { return os.Open("/proc/self/mountinfo") }

// SelfFDPaths lists what this process's descriptors point at (the link
// targets in /proc/self/fd): tests use it to prove a command closed
// every file of a board.
func SelfFDPaths() ([]string, error) {
	const fdDir = "/proc/self/fd"
	ents, err := os.ReadDir(fdDir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if l, err := os.Readlink(fdDir + "/" + e.Name()); err == nil {
			out = append(out, l)
		}
	}
	return out, nil
}
