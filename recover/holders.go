package recover

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/proc"
	"github.com/kanbanshim/kanbanshim/lockd"
)

// Opener is a process that has the board open, as the swap reports it.
type Opener struct {
	PID     int      `json:"pid"`
	Command string   `json:"command"`
	Files   []string `json:"files,omitempty"`
	// Guard is true for a kanbanshim process seen through the open guard
	// (<db>.open) rather than through /proc.
	Guard bool `json:"open_guard,omitempty"`
}

func (o Opener) String() string {
	if o.PID <= 0 {
		return o.Command
	}
	if o.Command == "" {
		return "pid " + strconv.Itoa(o.PID)
	}
	return fmt.Sprintf("pid %d (%s)", o.PID, o.Command)
}

// BoardBusyError is a swap refused because other processes have the
// board open: replacing the file under them would leave them writing to
// the quarantined inode, or replaying an old -wal over the new file.
type BoardBusyError struct {
	Path    string
	Openers []Opener
}

func (e *BoardBusyError) Error() string {
	names := make([]string, len(e.Openers))
	for i, o := range e.Openers {
		names[i] = o.String()
	}
	return fmt.Sprintf("board %s is open by %s; stop it first", e.Path, strings.Join(names, ", "))
}

// Unwrap makes the error match ErrBoardBusy.
func (e *BoardBusyError) Unwrap() error { return ErrBoardBusy }

// openers lists the other processes that have db, -wal or -shm open
// (/proc), plus the holders of the open guard when guardBusy (kanbanshim
// processes, possibly between two connections). Without /proc it
// reports one opener standing for "unknown", since nobody can be ruled out.
func openers(db string, guardBusy bool) []Opener {
	var out []Opener
	found, err := proc.ScanOpeners(db, board.WAL(db), board.SHM(db), board.Journal(db))
	if err != nil {
		out = append(out, Opener{Command: "unknown processes (cannot scan for openers: " + err.Error() + ")"})
	}
	for _, o := range found {
		if o.Self {
			continue
		}
		out = append(out, Opener{PID: o.PID, Command: command(o.Cmdline), Files: o.Files})
	}
	if !guardBusy {
		return out
	}
	holders, _ := proc.FlockHolders(board.OpenPath(db))
	named := false
	for _, h := range holders {
		if h.PID == os.Getpid() {
			continue
		}
		named = true
		if !slices.ContainsFunc(out, func(o Opener) bool { return o.PID == h.PID }) {
			out = append(out, Opener{PID: h.PID, Command: command(proc.Cmdline(h.PID)), Guard: true})
		}
	}
	if !named {
		out = append(out, Opener{Command: "another kanbanshim process (" + filepath.Base(board.OpenPath(db)) + " is held)", Guard: true})
	}
	return out
}

// command renders an argv as the program's base name and its arguments,
// cut to a readable length.
func command(argv []string) string {
	if len(argv) == 0 {
		return ""
	}
	s := strings.Join(strings.Fields(strings.Join(append([]string{filepath.Base(argv[0])}, argv[1:]...), " ")), " ")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

// RecoverBusyError reports that another kanban-recover run holds the board.
type RecoverBusyError struct {
	Path   string
	Holder Opener
}

func (e *RecoverBusyError) Error() string {
	who := "another kanban-recover run"
	if e.Holder.PID > 0 {
		who += " (" + e.Holder.String() + ")"
	}
	return fmt.Sprintf("%s is already working on %s", who, e.Path)
}

// Unwrap matches ErrRecoverBusy and lockd.ErrMaintenance: it is another
// maintenance holding the board.
func (e *RecoverBusyError) Unwrap() []error { return []error{ErrRecoverBusy, lockd.ErrMaintenance} }

// LockRecover takes <db>.recover.lock without waiting. The caller closes
// the returned lock when its run ends. A held lock is a *RecoverBusyError.
func LockRecover(dbPath string) (*lockd.FileLock, error) {
	fl, err := lockd.OpenLockFile(board.RecoverLockPath(dbPath))
	if err != nil {
		return nil, fmt.Errorf("recover lock: %w", err)
	}
	ok, err := fl.TryLock(true)
	if err == nil && ok {
		return fl, nil
	}
	cerr := fl.Close()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("recover lock: %w", err), cerr)
	}
	be := &RecoverBusyError{Path: dbPath}
	if hs, _ := proc.FlockHolders(board.RecoverLockPath(dbPath)); len(hs) > 0 {
		be.Holder = Opener{PID: hs[0].PID, Command: command(proc.Cmdline(hs[0].PID))}
	}
	return nil, be
}
