// Package faultvfs is a SQLite VFS for tests that wraps the default
// (ncruces, pure Go) VFS and makes chosen file operations fail: ENOSPC,
// EIO and short writes on reads, writes, fsyncs, truncates, locks, opens,
// deletes and the WAL shared-memory index, each on a chosen file of a
// database (main file, -journal, -wal, -shm, temp files).
//
// A test registers a VFS under a name, opens the database with
// "?vfs=<name>", arms rules on the returned *Injector, runs a write and
// then checks from a clean connection that the database is intact. All
// I/O that no rule targets is forwarded unchanged, including the optional
// interfaces of the wrapped files (shared memory for WAL, lock state,
// persist-WAL, powersafe overwrite, size hint, batch atomic write, …),
// so a database opened through it behaves exactly as one opened through
// the default VFS.
//
// Injection is deterministic: a rule fires on the Nth matching operation
// counted from the moment it was armed; there is no randomness.
package faultvfs

import (
	"strings"

	"github.com/ncruces/go-sqlite3/util/vfsutil"
	"github.com/ncruces/go-sqlite3/vfs"
)

// Register registers, under name, a VFS that wraps SQLite's default VFS
// and returns the injector that controls it. Registering a name again
// replaces the previous VFS (and detaches its injector). Databases opened
// with "vfs=name" (a URI parameter) go through it.
func Register(name string) *Injector {
	in := newInjector(name)
	vfs.Register(name, &faultVFS{base: vfs.Find(""), in: in})
	return in
}

// Unregister removes the VFS from SQLite's registry. Every connection
// opened through it must be closed first: closing one afterwards makes
// the driver panic, because it looks the VFS up by name.
func (in *Injector) Unregister() { vfs.Unregister(in.name) }

// faultVFS forwards every call to base after asking the injector whether
// the call should fail instead.
type faultVFS struct {
	base vfs.VFS
	in   *Injector
}

var _ vfs.VFSFilename = (*faultVFS)(nil)

func (v *faultVFS) Open(name string, flags vfs.OpenFlag) (vfs.File, vfs.OpenFlag, error) {
	class := classOfOpen(flags)
	if err := v.in.check(OpOpen, class, name, 0, 0); err != nil {
		return nil, flags, err
	}
	return v.wrap(class, name)(vfsutil.WrapOpen(v.base, name, flags))
}

func (v *faultVFS) OpenFilename(fn *vfs.Filename, flags vfs.OpenFlag) (vfs.File, vfs.OpenFlag, error) {
	name := fn.String()
	class := classOfOpen(flags)
	if err := v.in.check(OpOpen, class, name, 0, 0); err != nil {
		return nil, flags, err
	}
	return v.wrap(class, name)(vfsutil.WrapOpenFilename(v.base, fn, flags))
}

// wrap returns a function that wraps the result of the base Open. The
// shared-memory decision is taken here, once per main-database open,
// because SQLite requires a file to return the same shared memory for
// its whole life.
func (v *faultVFS) wrap(class, name string) func(vfs.File, vfs.OpenFlag, error) (vfs.File, vfs.OpenFlag, error) {
	return func(f vfs.File, flags vfs.OpenFlag, err error) (vfs.File, vfs.OpenFlag, error) {
		if err != nil {
			return f, flags, err
		}
		ff := &file{File: f, in: v.in, class: class, name: name}
		if shm := vfsutil.WrapSharedMemory(f); shm != nil {
			ff.shm = shm
			if v.in.check(OpShm, SHM, name+SHM, 0, 0) != nil {
				ff.shm = brokenSharedMemory(flags)
			}
		}
		return ff, flags, nil
	}
}

func (v *faultVFS) Delete(name string, syncDir bool) error {
	if err := v.in.check(OpDelete, classOfName(name), name, 0, 0); err != nil {
		return err
	}
	return v.base.Delete(name, syncDir)
}

func (v *faultVFS) Access(name string, flags vfs.AccessFlag) (bool, error) {
	if err := v.in.check(OpAccess, classOfName(name), name, 0, 0); err != nil {
		return false, err
	}
	return v.base.Access(name, flags)
}

func (v *faultVFS) FullPathname(name string) (string, error) {
	return v.base.FullPathname(name)
}

// Classes of files, as rules name them.
const (
	MainDB  = ""         // the database file itself
	Journal = "-journal" // rollback journal (DELETE mode)
	WAL     = "-wal"     // write-ahead log
	SHM     = "-shm"     // WAL index (only OpShm targets it)
	Temp    = "temp"     // temp databases, statement and temp journals
	Super   = "-super"   // super-journal of a multi-database commit
	AnyFile = "*"        // a rule with this File matches every class
)

func classOfOpen(flags vfs.OpenFlag) string {
	switch {
	case flags&vfs.OPEN_MAIN_DB != 0:
		return MainDB
	case flags&vfs.OPEN_MAIN_JOURNAL != 0:
		return Journal
	case flags&vfs.OPEN_WAL != 0:
		return WAL
	case flags&vfs.OPEN_SUPER_JOURNAL != 0:
		return Super
	}
	return Temp
}

// classOfName classifies a path for Delete and Access, which get no
// open flags.
func classOfName(name string) string {
	for _, suffix := range []string{Journal, WAL, SHM} {
		if strings.HasSuffix(name, suffix) {
			return suffix
		}
	}
	return MainDB
}
