package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// runCheckpointer is `torture-checkpointer DB MODE SEED`: a raw SQLite
// connection (no kanbanshim lease, like any other program on the host)
// that checkpoints the board in a loop — TRUNCATE and PASSIVE at random —
// printing "begin" before and "end" after each call, so the harness can
// SIGKILL it inside one. On a DELETE board it runs read transactions
// instead (there is nothing to checkpoint; readers still hold SHARED
// locks the writers must get past). SIGTERM ends it after the current
// call, closing the connection.
func runCheckpointer(args []string) int {
	if len(args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: torture-checkpointer DB MODE SEED")
		return 2
	}
	db, mode := args[0], args[1]
	seed, _ := strconv.ParseInt(args[2], 10, 64)
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(os.Getpid())))
	// READWRITE without CREATE: a missing board is never created.
	c, err := sqlite3.OpenFlags(db, sqlite3.OPEN_READWRITE)
	if err != nil {
		fmt.Fprintln(os.Stderr, "checkpointer: open:", err)
		return 1
	}
	defer c.Close()
	if err := c.BusyTimeout(2 * time.Second); err != nil {
		fmt.Fprintln(os.Stderr, "checkpointer:", err)
		return 1
	}
	var quit atomic.Bool
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM)
	go func() { <-ch; quit.Store(true) }()
	for n := 0; !quit.Load(); n++ {
		fmt.Println("begin")
		if mode == "wal" {
			kind := "PASSIVE"
			if rng.IntN(2) == 0 {
				kind = "TRUNCATE"
			}
			err = c.Exec("PRAGMA wal_checkpoint(" + kind + ")")
		} else {
			err = readTxn(c)
		}
		fmt.Println("end")
		if err != nil {
			fmt.Fprintln(os.Stderr, "checkpointer:", err)
		}
		time.Sleep(time.Duration(5+rng.IntN(45)) * time.Millisecond)
	}
	return 0
}

func readTxn(c *sqlite3.Conn) error {
	if err := c.Exec("BEGIN"); err != nil {
		return err
	}
	_, _, err := sqlx.QueryInt(c, "SELECT COUNT(*) FROM task_events")
	if cerr := c.Exec("COMMIT"); err == nil {
		err = cerr
	}
	return err
}

// runUnsafe is `torture-unsafe DB`, the control run's deliberately unsafe
// writer for WAL boards: every few hundred milliseconds it deletes the
// board's -wal and -shm while other processes have them open — what
// upstream's repeated `PRAGMA journal_mode=WAL` effectively did
// (field-incidents §4.1). The harness must see the damage.
func runUnsafe(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: torture-unsafe DB")
		return 2
	}
	db := args[0]
	rng := rand.New(rand.NewPCG(uint64(os.Getpid()), 7))
	for {
		time.Sleep(time.Duration(200+rng.IntN(600)) * time.Millisecond)
		n := 0
		for _, suf := range []string{board.WALSuffix, board.SHMSuffix} {
			if os.Remove(db+suf) == nil {
				n++
			}
		}
		if n > 0 {
			fmt.Println("deleted", n)
		}
	}
}
