package board

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/oneline"
)

// Damage is what the damage marker next to a board (DamagedPath) says:
// who found the board damaged, when, and what they saw. While a marker
// exists no kanbanshim process writes the board; a verified repair
// clears it.
type Damage struct {
	When    time.Time `json:"when"`    // UTC, to the second
	PID     int       `json:"pid"`     // the detecting process
	Host    string    `json:"host"`    // its host name
	Command []string  `json:"command"` // its argv
	Seen    string    `json:"seen"`    // what was seen, one line
	// Snapshot is the forensic copy of the damaged state, if one was made.
	Snapshot string `json:"snapshot,omitempty"`
}

// ErrDamageUnreadable means a marker exists but cannot be read or
// parsed. The board still counts as damaged.
var ErrDamageUnreadable = errors.New("damage marker unreadable")

// RecordDamage writes the damage marker of the board db, unless one is
// there already: the first detection is kept and nothing is rewritten.
// Fields left zero are filled in: When (now), PID, Host and Command (this
// process). It returns the marker in force and whether this call wrote
// it.
//
// The write is atomic and durable: a temporary file in the same
// directory is written and fsynced, then linked to the marker's name
// (which, unlike a rename, never replaces a marker another process wrote
// meanwhile; a rename where the file system has no hard links), and the
// directory is fsynced.
func RecordDamage(db string, d Damage) (Damage, bool, error) {
	if old, err := ReadDamage(db); old != nil {
		return *old, false, ignoreUnreadable(err)
	}
	fill(&d)
	data, err := json.Marshal(d)
	if err != nil {
		return d, false, err
	}
	wrote, err := publishNew(DamagedPath(db), append(data, '\n'))
	if err != nil {
		return d, false, fmt.Errorf("record damage of %s: %w", db, err)
	}
	if !wrote {
		old, err := ReadDamage(db)
		if old != nil {
			return *old, false, ignoreUnreadable(err)
		}
	}
	return d, wrote, nil
}

// ignoreUnreadable drops ErrDamageUnreadable: for a caller recording
// damage, a garbled marker already says what it needs to.
func ignoreUnreadable(err error) error {
	if errors.Is(err, ErrDamageUnreadable) {
		return nil
	}
	return err
}

// fill sets the zero fields of d from this process.
func fill(d *Damage) {
	if d.When.IsZero() {
		d.When = time.Now()
	}
	d.When = d.When.UTC().Truncate(time.Second)
	if d.PID == 0 {
		d.PID = os.Getpid()
	}
	if d.Host == "" {
		d.Host, _ = os.Hostname()
	}
	if d.Command == nil {
		d.Command = os.Args
	}
	d.Seen = oneLine(d.Seen)
}

// oneLine folds whitespace runs (newlines included) into single spaces
// and escapes control characters (internal/oneline): a marker's words
// reach stderr as one safe line.
func oneLine(s string) string { return oneline.Fold(s) }

// publishNew writes data to a temporary file next to path, fsyncs it,
// puts it at path unless something is there already, and fsyncs the
// directory. wrote is false when path existed.
func publishNew(path string, data []byte) (wrote bool, err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return false, err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, err
	}
	err = os.Link(tmp, path)
	switch {
	case errors.Is(err, fs.ErrExist):
		return false, nil
	case err != nil && linkUnsupported(err):
		if exists(path) {
			return false, nil
		}
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return false, err
	}
	return true, OSFS{}.SyncDir(dir)
}

// ReadDamage reads the damage marker of the board db. It returns nil
// only when there is no marker. A marker that exists but cannot be read
// or parsed still counts: it returns a Damage saying so together with an
// error matching ErrDamageUnreadable.
func ReadDamage(db string) (*Damage, error) {
	p := DamagedPath(db)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ENAMETOOLONG) {
		return nil, nil // nothing can be at that name
	}
	if err == nil {
		var d Damage
		if err = json.Unmarshal(data, &d); err == nil {
			return &d, nil
		}
	}
	return &Damage{Seen: "unreadable damage marker " + p}, fmt.Errorf("%w: %s: %w", ErrDamageUnreadable, p, err)
}

// ClearStaleDamage removes the damage marker of the board db only if it
// is still the one a check read before it began (seen): a check that found
// the board healthy says nothing about damage someone saw after it
// started. It reports whether it removed the marker.
func ClearStaleDamage(db string, seen *Damage) (bool, error) {
	if seen == nil {
		return false, nil
	}
	now, _ := ReadDamage(db)
	if now == nil || !now.When.Equal(seen.When) || now.PID != seen.PID || now.Host != seen.Host || now.Seen != seen.Seen {
		return false, nil
	}
	return true, ClearDamage(db)
}

// ClearDamage removes the damage marker of the board db (none is fine)
// and the temporary files of writers that died, durably.
func ClearDamage(db string) error {
	p := DamagedPath(db)
	err := os.Remove(p)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("clear damage marker: %w", err)
	}
	tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(p), globQuote(filepath.Base(p))+".tmp*"))
	for _, t := range tmps {
		_ = os.Remove(t)
	}
	if err == nil {
		return OSFS{}.SyncDir(filepath.Dir(p))
	}
	return nil
}

// ErrDamaged is matched by a *DamagedError: a write refused because the
// board is marked damaged.
var ErrDamaged = errors.New("board is marked damaged")

// DamagedError refuses a write to a board whose damage marker exists. Its
// message is one line that ends in the repair command.
type DamagedError struct {
	Path   string
	Damage Damage // what the marker says (Seen says when it is unreadable)
	Fix    string // the repair command (RepairCommand)
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("board %s is marked damaged (%s); kanbanshim writes nothing to it until it is repaired. To repair it run: %s",
		e.Path, e.Damage.Summary(), e.Fix)
}

// Unwrap matches ErrDamaged.
func (e *DamagedError) Unwrap() error { return ErrDamaged }

// Warning is the one line a read of the marked board prints on stderr
// (the reads go on).
func (e *DamagedError) Warning() string {
	return fmt.Sprintf("warning: board %s is marked damaged (%s); showing what is readable, writing nothing. To repair it run: %s",
		e.Path, e.Damage.Summary(), e.Fix)
}

// Refuse returns a *DamagedError when the board at db is marked damaged
// (a marker that cannot be read counts), nil when it is not. slug names
// the board in the repair command ("" for a database named by path).
// When there is no marker it costs one failed open(2).
func Refuse(db, slug string) error {
	d, _ := ReadDamage(db)
	if d == nil {
		return nil
	}
	return &DamagedError{Path: db, Damage: *d, Fix: RepairCommand(db, slug)}
}

// maxWho bounds the command a summary quotes.
const maxWho = 60

// Summary says who saw what, and when, on one line: "seen 2026-11-30T10:15:00Z
// by kanban show (pid 4242): database disk image is malformed".
func (d Damage) Summary() string {
	var b strings.Builder
	b.WriteString("seen")
	if !d.When.IsZero() {
		b.WriteString(" " + d.When.UTC().Format(time.RFC3339))
	}
	if who := d.who(); who != "" || d.PID > 0 {
		b.WriteString(" by " + who)
		if d.PID > 0 {
			fmt.Fprintf(&b, " (pid %d)", d.PID)
		}
	}
	if d.Seen != "" {
		b.WriteString(": " + oneLine(d.Seen))
	}
	return b.String()
}

// who is the detecting command, shortened: paths by their last element
// (the marker keeps them whole), at most maxWho characters.
func (d Damage) who() string {
	words := make([]string, len(d.Command))
	for i, w := range d.Command {
		if strings.Contains(w, "/") && !strings.HasSuffix(w, "/") {
			w = filepath.Base(w)
		}
		words[i] = w
	}
	s := oneLine(strings.Join(words, " "))
	if r := []rune(s); len(r) > maxWho {
		s = string(r[:maxWho-1]) + "…"
	}
	return s
}
