package faultvfs

import (
	"os"
	"path/filepath"
	"syscall"

	"github.com/ncruces/go-sqlite3"
	"github.com/ncruces/go-sqlite3/vfs"
)

// ioCodes are the codes SQLite's own unix VFS returns when the system
// call behind each operation fails.
var ioCodes = map[Op]sqlite3.ExtendedErrorCode{
	OpRead:     sqlite3.IOERR_READ,
	OpWrite:    sqlite3.IOERR_WRITE,
	OpSync:     sqlite3.IOERR_FSYNC,
	OpTruncate: sqlite3.IOERR_TRUNCATE,
	OpSize:     sqlite3.IOERR_FSTAT,
	OpLock:     sqlite3.IOERR_LOCK,
	OpUnlock:   sqlite3.IOERR_UNLOCK,
	OpDelete:   sqlite3.IOERR_DELETE,
	OpAccess:   sqlite3.IOERR_ACCESS,
}

// Code is the SQLite code a rule's failing operation reports, as the unix
// VFS would: FULL for a write that hits ENOSPC (whole or short);
// CANTOPEN for an open, and for a WAL index that cannot be opened (that
// code comes from ncruces' shared memory); otherwise the operation's
// IOERR_* code. SQLite usually passes it up unchanged, so tests can
// expect it with errors.Is.
func (r Rule) Code() sqlite3.ExtendedErrorCode {
	switch {
	case r.Op == OpOpen || r.Op == OpShm:
		return sqlite3.ExtendedErrorCode(sqlite3.CANTOPEN)
	case r.Op == OpWrite && r.Fault != EIO:
		return sqlite3.ExtendedErrorCode(sqlite3.FULL)
	}
	return ioCodes[r.Op]
}

// errorFor is the errno of a fault and the error the operation returns:
// the errno tagged with Rule.Code, so SQLite sees the right code. (The
// driver attaches the errno to its error only for IOERR and CANTOPEN, and
// only if no later VFS call, such as the rollback's, has replaced it:
// tests should match the code, not the errno.)
func errorFor(f Fault, op Op) (syscall.Errno, error) {
	errno := syscall.EIO
	if f == ENOSPC || f == ShortWrite {
		errno = syscall.ENOSPC
	}
	return errno, vfs.SystemError(errno, Rule{Op: op, Fault: f}.Code())
}

// brokenSharedMemory is a WAL index whose file cannot be opened: every
// xShmMap through it fails. Its path lies under a regular file, so the
// open fails with ENOTDIR and nothing is ever created.
func brokenSharedMemory(flags vfs.OpenFlag) vfs.SharedMemory {
	return vfs.NewSharedMemory(filepath.Join(os.DevNull, "faultvfs-shm"), flags)
}
