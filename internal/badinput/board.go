package badinput

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/proc"
)

// boardSuffixes are the files whose bytes are the board's content: the
// database, its write-ahead log and its rollback journal. The -shm file
// is left out: it is an index SQLite rebuilds from the -wal at will. Lock
// and lease files next to the board are not the board either.
var boardSuffixes = []string{"", board.WALSuffix, board.JournalSuffix}

// Snapshot is the content hash of each file of a board ("absent" for a
// file that does not exist).
type Snapshot map[string]string

// Take hashes db and its -wal and -journal. An empty -wal or -journal
// counts as absent: SQLite reads both the same way.
func Take(db string) (Snapshot, error) {
	s := Snapshot{}
	for _, suf := range boardSuffixes {
		h, err := hashFile(db + suf)
		if err != nil {
			return nil, err
		}
		if suf != "" && h == emptyHash {
			h = "absent"
		}
		s[filepath.Base(db+suf)] = h
	}
	return s, nil
}

// emptyHash is the SHA-256 of no bytes.
const emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "absent", nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if st.IsDir() {
		return "directory", nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Diff describes how two snapshots differ ("" when they are equal).
func (s Snapshot) Diff(after Snapshot) string {
	var keys []string
	for k := range s {
		keys = append(keys, k)
	}
	for k := range after {
		if _, ok := s[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var d []string
	for _, k := range keys {
		if s[k] != after[k] {
			d = append(d, fmt.Sprintf("%s: %.12s -> %.12s", k, s[k], after[k]))
		}
	}
	return strings.Join(d, "; ")
}

// CopyBoard copies the database file src (closed, its WAL checkpointed)
// to dst, creating dst's directory.
func CopyBoard(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	for _, suf := range board.Sidecars {
		if _, err := os.Stat(src + suf); err == nil {
			return fmt.Errorf("template board %s has a %s file: it was not closed cleanly", src, suf)
		}
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}

// OpenFiles lists the files under dir this process still has open: after
// an in-process command returns, none of its board's files may be.
func OpenFiles(dir string) []string {
	fds, err := proc.SelfFDPaths()
	if err != nil {
		return nil // no /proc: nothing to check
	}
	var out []string
	for _, l := range fds {
		if strings.HasPrefix(l, dir+string(filepath.Separator)) {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}
