package faultvfs

import (
	"github.com/ncruces/go-sqlite3/util/vfsutil"
	"github.com/ncruces/go-sqlite3/vfs"
)

// file wraps a file of the base VFS. The core methods consult the
// injector; the optional interfaces are all forwarded (vfsutil returns
// SQLITE_NOTFOUND or a no-op when the wrapped file lacks one), so the
// wrapped file keeps its WAL index, lock state, persist-WAL and powersafe
// flags, size hints and batch atomic writes.
type file struct {
	vfs.File
	in    *Injector
	class string
	name  string
	shm   vfs.SharedMemory // chosen at open; nil when the base has none
}

// Every optional interface the default VFS's files implement, and the
// others, so nothing is lost by wrapping.
var (
	_ vfs.FileUnwrap             = (*file)(nil)
	_ vfs.FileLockState          = (*file)(nil)
	_ vfs.FilePersistWAL         = (*file)(nil)
	_ vfs.FilePowersafeOverwrite = (*file)(nil)
	_ vfs.FileChunkSize          = (*file)(nil)
	_ vfs.FileSizeHint           = (*file)(nil)
	_ vfs.FileHasMoved           = (*file)(nil)
	_ vfs.FileOverwrite          = (*file)(nil)
	_ vfs.FileSync               = (*file)(nil)
	_ vfs.FileCommitPhaseTwo     = (*file)(nil)
	_ vfs.FileBatchAtomicWrite   = (*file)(nil)
	_ vfs.FileCheckpoint         = (*file)(nil)
	_ vfs.FilePragma             = (*file)(nil)
	_ vfs.FileBusyHandler        = (*file)(nil)
	_ vfs.FileSharedMemory       = (*file)(nil)
	_ vfs.FileMemoryMapper       = (*file)(nil)
)

func (f *file) ReadAt(p []byte, off int64) (int, error) {
	if err := f.in.check(OpRead, f.class, f.name, off, len(p)); err != nil {
		return 0, err
	}
	return f.File.ReadAt(p, off)
}

// WriteAt fails before writing anything, except for ShortWrite, which
// writes the first half of p and then fails.
func (f *file) WriteAt(p []byte, off int64) (int, error) {
	fault, err := f.in.decide(OpWrite, f.class, f.name, off, len(p))
	if err == nil {
		return f.File.WriteAt(p, off)
	}
	if fault != ShortWrite || len(p) < 2 {
		return 0, err
	}
	n, werr := f.File.WriteAt(p[:len(p)/2], off)
	if werr != nil {
		return n, werr
	}
	return n, err
}

func (f *file) Sync(flags vfs.SyncFlag) error {
	if err := f.in.check(OpSync, f.class, f.name, 0, 0); err != nil {
		return err
	}
	return f.File.Sync(flags)
}

func (f *file) Truncate(size int64) error {
	if err := f.in.check(OpTruncate, f.class, f.name, size, 0); err != nil {
		return err
	}
	return f.File.Truncate(size)
}

func (f *file) Size() (int64, error) {
	if err := f.in.check(OpSize, f.class, f.name, 0, 0); err != nil {
		return 0, err
	}
	return f.File.Size()
}

func (f *file) Lock(lock vfs.LockLevel) error {
	if err := f.in.check(OpLock, f.class, f.name, int64(lock), 0); err != nil {
		return err
	}
	return f.File.Lock(lock)
}

// Unlock fails without unlocking: the lock stays held until the file is
// closed (the base file drops every lock on Close).
func (f *file) Unlock(lock vfs.LockLevel) error {
	if err := f.in.check(OpUnlock, f.class, f.name, int64(lock), 0); err != nil {
		return err
	}
	return f.File.Unlock(lock)
}

// DeviceCharacteristics, SectorSize, CheckReservedLock and Close come from
// the embedded file unchanged.

func (f *file) Unwrap() vfs.File                   { return f.File }
func (f *file) SharedMemory() vfs.SharedMemory     { return f.shm }
func (f *file) MemoryMapper() vfs.MemoryMapper     { return vfsutil.WrapMemoryMapper(f.File) }
func (f *file) LockState() vfs.LockLevel           { return vfsutil.WrapLockState(f.File) }
func (f *file) PersistWAL() bool                   { return vfsutil.WrapPersistWAL(f.File) }
func (f *file) SetPersistWAL(keep bool)            { vfsutil.WrapSetPersistWAL(f.File, keep) }
func (f *file) PowersafeOverwrite() bool           { return vfsutil.WrapPowersafeOverwrite(f.File) }
func (f *file) SetPowersafeOverwrite(psow bool)    { vfsutil.WrapSetPowersafeOverwrite(f.File, psow) }
func (f *file) ChunkSize(size int)                 { vfsutil.WrapChunkSize(f.File, size) }
func (f *file) SizeHint(size int64) error          { return vfsutil.WrapSizeHint(f.File, size) }
func (f *file) HasMoved() (bool, error)            { return vfsutil.WrapHasMoved(f.File) }
func (f *file) Overwrite() error                   { return vfsutil.WrapOverwrite(f.File) }
func (f *file) SyncSuper(super string) error       { return vfsutil.WrapSyncSuper(f.File, super) }
func (f *file) CommitPhaseTwo() error              { return vfsutil.WrapCommitPhaseTwo(f.File) }
func (f *file) BeginAtomicWrite() error            { return vfsutil.WrapBeginAtomicWrite(f.File) }
func (f *file) CommitAtomicWrite() error           { return vfsutil.WrapCommitAtomicWrite(f.File) }
func (f *file) RollbackAtomicWrite() error         { return vfsutil.WrapRollbackAtomicWrite(f.File) }
func (f *file) CheckpointStart()                   { vfsutil.WrapCheckpointStart(f.File) }
func (f *file) CheckpointDone()                    { vfsutil.WrapCheckpointDone(f.File) }
func (f *file) BusyHandler(handler func() bool)    { vfsutil.WrapBusyHandler(f.File, handler) }
func (f *file) Pragma(n, v string) (string, error) { return vfsutil.WrapPragma(f.File, n, v) }

// SetDB forwards SQLITE_FCNTL_PDB to files that want the connection
// (the interface is unexported in vfs, its method is not).
func (f *file) SetDB(db any) {
	if p, ok := f.File.(interface{ SetDB(any) }); ok {
		p.SetDB(db)
	}
}
