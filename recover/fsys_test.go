package recover_test

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"sync"

	"github.com/kanbanshim/kanbanshim/board"
)

// errInjected is the failure faultFS returns.
var errInjected = errors.New("injected fault")

// faultFS is the OS file system that fails the Nth call of one kind
// ("open", "write", "sync", "close", "rename", "link", "remove",
// "removeall", "mkdir", "syncdir"), and counts every call. With sticky set
// every later call of any kind fails too, which is what a crash looks
// like to the code that would have cleaned up.
type faultFS struct {
	board.OSFS
	kind   string
	n      int
	sticky bool

	mu      sync.Mutex
	calls   map[string]int
	tripped bool
}

func newFaultFS(kind string, n int) *faultFS {
	return &faultFS{kind: kind, n: n, calls: map[string]int{}}
}

func (f *faultFS) hit(kind string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[kind]++
	if f.tripped && f.sticky {
		return fmt.Errorf("%s after the crash: %w", kind, errInjected)
	}
	if kind == f.kind && f.calls[kind] == f.n {
		f.tripped = true
		return fmt.Errorf("%s #%d: %w", kind, f.n, errInjected)
	}
	return nil
}

// kinds lists the kinds called so far, sorted, with their counts.
func (f *faultFS) kinds() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.calls {
		out[k] = v
	}
	return out
}

func sortedKinds(m map[string]int) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func (f *faultFS) OpenFile(name string, flag int, perm fs.FileMode) (board.File, error) {
	if err := f.hit("open"); err != nil {
		return nil, err
	}
	file, err := f.OSFS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f}, nil
}

func (f *faultFS) Rename(o, n string) error {
	if err := f.hit("rename"); err != nil {
		return err
	}
	return f.OSFS.Rename(o, n)
}

func (f *faultFS) Link(o, n string) error {
	if err := f.hit("link"); err != nil {
		return err
	}
	return f.OSFS.Link(o, n)
}

func (f *faultFS) Remove(name string) error {
	if err := f.hit("remove"); err != nil {
		return err
	}
	return f.OSFS.Remove(name)
}

func (f *faultFS) RemoveAll(path string) error {
	if err := f.hit("removeall"); err != nil {
		return err
	}
	return f.OSFS.RemoveAll(path)
}

func (f *faultFS) MkdirAll(path string, perm fs.FileMode) error {
	if err := f.hit("mkdir"); err != nil {
		return err
	}
	return f.OSFS.MkdirAll(path, perm)
}

func (f *faultFS) Mkdir(path string, perm fs.FileMode) error {
	if err := f.hit("mkdir"); err != nil {
		return err
	}
	return f.OSFS.Mkdir(path, perm)
}

func (f *faultFS) Exchange(a, b string) error {
	if err := f.hit("exchange"); err != nil {
		return err
	}
	return f.OSFS.Exchange(a, b)
}

func (f *faultFS) SyncDir(dir string) error {
	if err := f.hit("syncdir"); err != nil {
		return err
	}
	return f.OSFS.SyncDir(dir)
}

// faultFile counts and fails writes, syncs and closes of one file.
type faultFile struct {
	board.File
	fs *faultFS
}

func (f *faultFile) Write(p []byte) (int, error) {
	if err := f.fs.hit("write"); err != nil {
		return 0, err
	}
	return f.File.Write(p)
}

func (f *faultFile) Sync() error {
	if err := f.fs.hit("sync"); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *faultFile) Close() error {
	err := f.File.Close()
	if herr := f.fs.hit("close"); herr != nil {
		return herr
	}
	return err
}
