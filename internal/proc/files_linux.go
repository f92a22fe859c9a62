package proc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// fileID identifies a file the way the kernel does: device and inode.
type fileID struct {
	dev uint64
	ino uint64
}

// statID returns the (dev, inode) of the file at path, following links
// (which is what makes /proc/PID/fd/N resolve to its target).
func statID(path string) (fileID, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, fmt.Errorf("stat %s: %w", path, ErrUnsupported)
	}
	return fileID{dev: uint64(st.Dev), ino: st.Ino}, nil
}

// ScanOpeners lists the processes that have any of paths open, by walking
// /proc/*/fd and matching each descriptor's (dev, inode) against the paths
// that exist. Processes that cannot be read (other users without
// privilege, or ones that exited mid-scan) are skipped silently; the
// result is therefore a lower bound unless run as root.
func ScanOpeners(paths ...string) ([]Opener, error) {
	want := make(map[fileID]string)
	for _, p := range paths {
		if id, err := statID(p); err == nil {
			want[id] = p
		}
	}
	if len(want) == 0 {
		return nil, nil
	}
	pids, err := readPIDs()
	if err != nil {
		return nil, fmt.Errorf("scan openers: %w", err)
	}
	self := os.Getpid()
	var out []Opener
	for _, pid := range pids {
		files := openFiles(pid, want)
		if len(files) == 0 {
			continue
		}
		out = append(out, Opener{PID: pid, Cmdline: Cmdline(pid), Files: files, Self: pid == self})
	}
	return out, nil
}

// openFiles returns the wanted paths that pid has open, each once.
func openFiles(pid int, want map[fileID]string) []string {
	fdDir := dir(pid) + "/fd"
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return nil
	}
	var files []string
	for _, fd := range fds {
		id, err := statID(filepath.Join(fdDir, fd.Name()))
		if err != nil {
			continue
		}
		if p, ok := want[id]; ok && !slices.Contains(files, p) {
			files = append(files, p)
		}
	}
	return files
}

// FlockHolders lists the granted flock locks on path from /proc/locks.
// It never takes the lock, so it is safe to call while others wait.
func FlockHolders(path string) ([]FlockInfo, error) {
	id, err := statID(path)
	if err != nil {
		return nil, fmt.Errorf("flock holders: %w", err)
	}
	f, err := os.Open("/proc/locks")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("flock holders: %w", ErrUnsupported)
	}
	if err != nil {
		return nil, fmt.Errorf("flock holders: %w", err)
	}
	defer f.Close()
	holders, err := parseProcLocks(f, id)
	if err != nil {
		return nil, fmt.Errorf("flock holders: read /proc/locks: %w", err)
	}
	return holders, nil
}

// lockEntry is one granted FLOCK line of /proc/locks.
type lockEntry struct {
	FlockInfo
	major, minor uint32
	ino          uint64
}

// parseProcLocks picks the granted FLOCK entries on id out of r, which has
// the /proc/locks format:
//
//	1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF
//	1: -> FLOCK  ADVISORY  WRITE 1235 fd:01:5678 0 EOF   (a waiter)
//
// The device is major:minor in hex, the inode decimal. Entries are
// matched on device and inode; if none match exactly, inode-only matches
// on a single device are accepted, because on overlayfs and btrfs the
// st_dev that stat reports differs from the superblock device the kernel
// prints here.
func parseProcLocks(r io.Reader, id fileID) ([]FlockInfo, error) {
	var exact, sameIno []lockEntry
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		e, ok := parseLockLine(sc.Text())
		if !ok || e.ino != id.ino {
			continue
		}
		sameIno = append(sameIno, e)
		if e.major == unix.Major(id.dev) && e.minor == unix.Minor(id.dev) {
			exact = append(exact, e)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(exact) == 0 && oneDevice(sameIno) {
		exact = sameIno
	}
	out := make([]FlockInfo, len(exact))
	for i, e := range exact {
		out[i] = e.FlockInfo
	}
	return out, nil
}

// oneDevice reports whether all entries share a device.
func oneDevice(es []lockEntry) bool {
	for _, e := range es[min(1, len(es)):] {
		if e.major != es[0].major || e.minor != es[0].minor {
			return false
		}
	}
	return true
}

// parseLockLine parses one granted FLOCK line; waiters, POSIX, OFD and
// lease entries, and malformed lines report false.
func parseLockLine(line string) (lockEntry, bool) {
	f := strings.Fields(line)
	if len(f) < 6 || f[1] != "FLOCK" {
		return lockEntry{}, false // also skips "->" waiter lines
	}
	pid, err := strconv.Atoi(f[4])
	if err != nil {
		return lockEntry{}, false
	}
	dev := strings.Split(f[5], ":")
	if len(dev) != 3 {
		return lockEntry{}, false
	}
	major, err1 := strconv.ParseUint(dev[0], 16, 32)
	minor, err2 := strconv.ParseUint(dev[1], 16, 32)
	ino, err3 := strconv.ParseUint(dev[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return lockEntry{}, false
	}
	return lockEntry{
		FlockInfo: FlockInfo{PID: pid, Exclusive: f[3] == "WRITE"},
		major:     uint32(major),
		minor:     uint32(minor),
		ino:       ino,
	}, true
}
