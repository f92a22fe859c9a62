package board

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// SwapJournal is the journal of a swap's commit in progress, kept at
// SwapPendingPath while the board is blocked. It says enough to undo the
// commit or finish it after a crash (ResolveSwap).
type SwapJournal struct {
	Set       string   `json:"set"`    // the quarantine set holding the original db
	Added     []string `json:"added"`  // files this swap linked into the set
	Staged    string   `json:"staged"` // the file being renamed over the db
	Copied    bool     `json:"copied"` // Staged is the swap's copy, not the caller's file
	StagedIno uint64   `json:"staged_ino,omitempty"`
	// DB is the original db's identity when the journal was written; an
	// undo refuses to put held files back over a db that no longer
	// matches it (someone removed the block and wrote).
	DB *FileID `json:"db,omitempty"`
	// NoDB: there was no db when the journal was written (a board whose
	// -wal or -journal alone held data); a db found later was made by
	// someone else.
	NoDB bool `json:"no_db,omitempty"`
}

// FileID is enough of a stat to tell that a file was replaced or written.
type FileID struct {
	Ino     uint64 `json:"ino"`
	Size    int64  `json:"size"`
	MtimeNs int64  `json:"mtime_ns"`
}

// StatID returns the identity of the file at path.
func StatID(path string) (*FileID, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	id := &FileID{Size: fi.Size(), MtimeNs: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.Ino = uint64(st.Ino)
	}
	return id, nil
}

// sameID reports whether path still has the identity id.
func sameID(id *FileID, path string) bool {
	now, err := StatID(path)
	return err == nil && *now == *id
}

// WriteSwapJournal records the identities of db (none when it is
// missing) and j.Staged in j and
// writes it, durably (file and directory fsynced), at SwapPendingPath(db),
// replacing a leftover one. On failure no journal is left.
func WriteSwapJournal(fsys FS, db string, j SwapJournal) (err error) {
	if j.DB, err = StatID(db); errors.Is(err, fs.ErrNotExist) {
		j.DB, j.NoDB = nil, true // a board whose db is missing: only its sidecars are held
	} else if err != nil {
		return err
	}
	sid, err := StatID(j.Staged)
	if err != nil {
		return err
	}
	j.StagedIno = sid.Ino
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	p := SwapPendingPath(db)
	if err := RemoveIfExists(fsys, p); err != nil {
		return err
	}
	f, err := fsys.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
		if err != nil {
			_ = fsys.Remove(p)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", p, err)
	}
	return fsys.SyncDir(filepath.Dir(db))
}

// readSwapJournal reads the journal; nil without error when there is
// none. A journal torn while being written is returned as an empty one
// (Set == ""): nothing had been moved yet.
func readSwapJournal(db string) (*SwapJournal, error) {
	data, err := os.ReadFile(SwapPendingPath(db))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var j SwapJournal
	if json.Unmarshal(data, &j) != nil {
		return &SwapJournal{}, nil
	}
	return &j, nil
}

// RemoveIfExists removes path through fsys, ignoring absence.
func RemoveIfExists(fsys FS, path string) error {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := fsys.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
