package lockd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kanbanshim/kanbanshim/board"
)

// maxRecord bounds how much of a lock file is read as a holder record; a
// real record is a few hundred bytes, anything longer is garbage.
const maxRecord = 64 << 10

// Holder is the diagnostic record a lease holder writes into the lease
// file. It only means something while the flock is held: a released lease
// leaves its last record behind, and readers must check the lock (see
// FlockHolders) before believing it.
type Holder struct {
	PID         int       `json:"pid"`
	Host        string    `json:"host"`
	Argv        []string  `json:"argv"`
	Op          string    `json:"op"`
	Since       time.Time `json:"since"` // RFC 3339 with nanoseconds, UTC
	Maintenance bool      `json:"maintenance"`
	Tool        string    `json:"tool"`
}

// Command renders Argv as a short command line for messages: the program's
// base name followed by its arguments, or Op when Argv is empty.
func (h Holder) Command() string {
	if len(h.Argv) == 0 {
		return h.Op
	}
	parts := append([]string{filepath.Base(h.Argv[0])}, h.Argv[1:]...)
	return strings.Join(parts, " ")
}

// hostname is looked up once; it only labels records.
var hostname = sync.OnceValue(func() string {
	h, _ := os.Hostname()
	return h
})

// currentHolder builds the record for this process; Since is set once
// the lock is actually held.
func currentHolder(op string) Holder {
	return Holder{
		PID:  os.Getpid(),
		Host: hostname(),
		Argv: append([]string(nil), os.Args...),
		Op:   op,
	}
}

// writeHolder replaces the file's content with h as one JSON line. It is
// called with the lock held, through the locked descriptor: write at
// offset 0, then truncate to the record's length. (Truncating to zero
// first would make ext4 flush the file on close, its auto_da_alloc
// heuristic for replace-by-truncate, which made each lease cost ~7x more.)
// No fsync: the record is diagnostic. Readers parse the first line only,
// so a longer old record's tail is ignored, and one that catches the
// write half-done sees garbage (holder unknown) or a record whose pid
// /proc/locks contradicts.
func writeHolder(f *os.File, h Holder) error {
	data, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("encode holder record: %w", err)
	}
	data = append(data, '\n')
	if _, err := f.WriteAt(data, 0); err != nil {
		return fmt.Errorf("write holder record: %w", err)
	}
	if err := f.Truncate(int64(len(data))); err != nil {
		return fmt.Errorf("truncate %s: %w", f.Name(), err)
	}
	return nil
}

// parseHolder decodes the first line of data. Empty, torn or otherwise
// invalid records report false: they are expected (a writer may be
// mid-update, or a foreign tool wrote there) and are not errors.
func parseHolder(data []byte) (Holder, bool) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		data = data[:i]
	}
	var h Holder
	if err := json.Unmarshal(data, &h); err != nil || h.PID <= 0 {
		return Holder{}, false
	}
	return h, true
}

// ReadHolder returns the record last written into dbPath's lease file.
// ok is false when the file is missing, empty or holds garbage; err is
// only for real I/O failures. It does not tell whether the lease is held:
// use LockState(board.LeasePath(dbPath)) for that.
func ReadHolder(dbPath string) (h Holder, ok bool, err error) {
	return readHolderFile(board.LeasePath(dbPath))
}

// readHolderFile reads the record in the lock file at path through a
// descriptor of its own. That is harmless to any lock: flock belongs to
// the holder's open file description, and no fcntl locks are ever taken
// on lock files.
func readHolderFile(path string) (h Holder, ok bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Holder{}, false, nil
	}
	if err != nil {
		return Holder{}, false, fmt.Errorf("read lease holder: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRecord))
	if err != nil {
		return Holder{}, false, fmt.Errorf("read lease holder: %w", err)
	}
	h, ok = parseHolder(data)
	return h, ok, nil
}
