package scripthelp

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/pypeer"
	"github.com/kanbanshim/kanbanshim/internal/sqlitefile"
)

// DamageCommands are the commands that damage boards the way the field does:
//
//	pykeep DB N DIR          a Python writer (wal_autocheckpoint=0) commits N
//	                         task creates and, while it still holds the board
//	                         open, DB and its -wal/-shm are copied into DIR
//	pydie DB N               a Python writer dies (SIGKILL) in a transaction
//	                         that spilled N comments on the oldest task into
//	                         the file, leaving a hot -journal (rollback mode)
//	scribble DB PAGE N       overwrite N pages of DB from PAGE (1-based) with
//	                         random bytes (seeded: the same bytes every run)
//	flipframe WAL FRAME      flip one byte of the page in FRAME (1-based) of
//	                         a -wal, so its checksum fails
func DamageCommands() map[string]func() {
	return map[string]func(){
		"pykeep":    Command(pyKeep),
		"pydie":     Command(pyDie),
		"scribble":  Command(scribble),
		"flipframe": Command(flipFrame),
	}
}

// peerCmd parses the arguments of a peer command, DB N and want-2 more
// (usage says which), and makes a Python peer for DB; done removes its
// script.
func peerCmd(args []string, want int, usage string) (p *pypeer.Peer, n int, done func(), err error) {
	if len(args) != want {
		return nil, 0, nil, fmt.Errorf("usage: %s", usage)
	}
	if n, err = strconv.Atoi(args[1]); err != nil {
		return nil, 0, nil, err
	}
	dir, err := os.MkdirTemp("", "pypeer-*")
	if err != nil {
		return nil, 0, nil, err
	}
	if p, err = pypeer.New(dir, args[0]); err != nil {
		os.RemoveAll(dir)
		return nil, 0, nil, err
	}
	return p, n, func() { os.RemoveAll(dir) }, nil
}

func pyKeep(args []string) error {
	p, n, done, err := peerCmd(args, 3, "pykeep DB N DIR")
	if err != nil {
		return err
	}
	defer done()
	k, err := p.Keep(context.Background(), n)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(args[2], 0o755); err != nil {
		return errors.Join(err, k.Close())
	}
	dst := filepath.Join(args[2], filepath.Base(args[0]))
	for _, suf := range []string{"", board.WALSuffix, board.SHMSuffix} {
		data, err := os.ReadFile(args[0] + suf)
		if err == nil {
			err = os.WriteFile(dst+suf, data, 0o644)
		}
		if err != nil {
			return errors.Join(err, k.Close())
		}
	}
	return k.Close()
}

func pyDie(args []string) error {
	p, n, done, err := peerCmd(args, 2, "pydie DB N")
	if err != nil {
		return err
	}
	defer done()
	return p.DieInTxn(context.Background(), "-", n)
}

func scribble(args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("usage: scribble DB PAGE N")
	}
	pg, err1 := strconv.Atoi(args[1])
	n, err2 := strconv.Atoi(args[2])
	if err := errors.Join(err1, err2); err != nil || pg < 1 {
		return fmt.Errorf("scribble: bad page numbers: %v", err)
	}
	pages, err := sqlitefile.OpenPages(args[0], "", nil)
	if err != nil {
		return err
	}
	ps := pages.PageSize
	pages.Close()
	f, err := os.OpenFile(args[0], os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	junk := make([]byte, n*ps)
	rng := rand.New(rand.NewPCG(uint64(pg), uint64(n)))
	for i := range junk {
		junk[i] = byte(rng.Uint32())
	}
	_, err = f.WriteAt(junk, int64(pg-1)*int64(ps))
	return errors.Join(err, f.Close())
}

func flipFrame(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: flipframe WAL FRAME")
	}
	frame, err := strconv.Atoi(args[1])
	if err != nil || frame < 1 {
		return fmt.Errorf("flipframe: bad frame %q", args[1])
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	info := sqlitefile.ParseWALHeader(data)
	if !info.HeaderValid {
		return fmt.Errorf("flipframe: %s: %s", args[0], info.HeaderProblem)
	}
	off := sqlitefile.WALHeaderSize + (frame-1)*(sqlitefile.FrameHeaderSize+info.PageSize) + sqlitefile.FrameHeaderSize + info.PageSize/2
	if off >= len(data) {
		return fmt.Errorf("flipframe: %s has no frame %d", args[0], frame)
	}
	data[off] ^= 0x5a
	return os.WriteFile(args[0], data, 0o644)
}
