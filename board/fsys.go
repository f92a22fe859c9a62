package board

import (
	"errors"
	"io"
	"io/fs"
	"os"
)

// FS is the file-system layer the swap changes files through. Every call
// that creates, moves, links, removes or makes something durable goes
// through it, so a test can fail the Nth call of any kind and check that
// the board is still intact. Reads (stat, hashing, directory listings)
// use the os package directly: they change nothing.
type FS interface {
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)
	Rename(oldpath, newpath string) error
	Link(oldname, newname string) error
	Remove(name string) error
	RemoveAll(path string) error
	MkdirAll(path string, perm fs.FileMode) error
	// Mkdir creates one directory and fails if the name exists.
	Mkdir(path string, perm fs.FileMode) error
	// Exchange swaps two paths atomically (Linux renameat2
	// RENAME_EXCHANGE); ErrNoExchange where the system or file system
	// cannot.
	Exchange(a, b string) error
	// SyncDir makes the directory's entries (creations, renames,
	// removals) durable.
	SyncDir(dir string) error
}

// File is an open file of an FS.
type File interface {
	io.ReadWriteCloser
	Sync() error
}

// OSFS is the real file system.
type OSFS struct{}

// OpenFile opens name with os.OpenFile.
func (OSFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	return os.OpenFile(name, flag, perm)
}

// Rename renames with os.Rename (atomic within one directory).
func (OSFS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

// Link makes a hard link with os.Link.
func (OSFS) Link(oldname, newname string) error { return os.Link(oldname, newname) }

// Remove removes one file with os.Remove.
func (OSFS) Remove(name string) error { return os.Remove(name) }

// RemoveAll removes a tree with os.RemoveAll.
func (OSFS) RemoveAll(path string) error { return os.RemoveAll(path) }

// MkdirAll creates directories with os.MkdirAll.
func (OSFS) MkdirAll(path string, perm fs.FileMode) error { return os.MkdirAll(path, perm) }

// Mkdir creates a directory with os.Mkdir.
func (OSFS) Mkdir(path string, perm fs.FileMode) error { return os.Mkdir(path, perm) }

// Exchange swaps a and b atomically; see exchange (per OS).
func (OSFS) Exchange(a, b string) error { return exchange(a, b) }

// SyncDir opens dir and fsyncs it. A file system that cannot fsync a
// directory at all (EINVAL: some FUSE and network ones) makes renames
// durable by itself or not at all; that is not a failure.
func (OSFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) {
		d.Close()
		return err
	}
	return d.Close()
}
