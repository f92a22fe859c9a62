package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/fixtures"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// zeroLeaves is the script command
//
//	zeroleaves DB delete|wal TABLE N
//
// which builds a 300-task board at DB, zeroes N leaves in the middle of
// TABLE's b-tree (fixtures.ZeroLeaves) and writes the keys of the rows
// they held, sorted, one a line, to DB.lost: the true loss.
func zeroLeaves(args []string) error {
	if len(args) != 4 {
		return fmt.Errorf("usage: zeroleaves DB delete|wal TABLE N")
	}
	n, err := strconv.Atoi(args[3])
	if err != nil {
		return err
	}
	lost, _, err := fixtures.ZeroLeaves(context.Background(), args[0], fixtures.LeafDamage{Journal: args[1], Table: args[2], Leaves: n})
	if err != nil {
		return err
	}
	return os.WriteFile(args[0]+".lost", []byte(strings.Join(append(lost, ""), "\n")), 0o644)
}

// mkBoard is the script command
//
//	mkboard DB delete|wal N
//
// which builds an N-task board at DB the way zeroleaves does (4 KiB
// pages, short bodies), undamaged.
func mkBoard(args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("usage: mkboard DB delete|wal N")
	}
	n, err := strconv.Atoi(args[2])
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(args[0]), 0o755); err != nil {
		return err
	}
	b, err := fixtures.Create(context.Background(), args[0], fixtures.BoardOptions{Journal: args[1], Tasks: n, PageSize: 4096, BodyBytes: 120, Seed: 10})
	if err != nil {
		return err
	}
	return b.Conn.Close()
}

// zeroMid is the script command
//
//	zeromid DB TABLE N
//
// which zeroes N leaves in the middle of TABLE's b-tree of the board at DB
// (checkpointed first when it is in WAL mode) and appends the keys of the
// rows they held to DB.lost.
func zeroMid(args []string) (err error) {
	if len(args) != 3 {
		return fmt.Errorf("usage: zeromid DB TABLE N")
	}
	n, err := strconv.Atoi(args[2])
	if err != nil {
		return err
	}
	c, err := sqlite3.Open(args[0])
	if err != nil {
		return err
	}
	b := &fixtures.Board{Conn: c, Path: args[0]}
	ps, _, err := sqlx.QueryInt(c, "PRAGMA page_size")
	if err == nil {
		b.Opts.PageSize = int(ps)
		b.Opts.Journal, _, err = sqlx.QueryText(c, "PRAGMA journal_mode")
	}
	var leaves []fixtures.Leaf
	if err == nil {
		leaves, err = b.TableLeaves(args[1])
	}
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if len(leaves) < n+2 {
		return fmt.Errorf("%s has only %d leaves", args[1], len(leaves))
	}
	var pages []uint32
	var keys []string
	for _, l := range leaves[len(leaves)/2 : len(leaves)/2+n] {
		pages = append(pages, l.Page)
		keys = append(keys, l.Keys...)
	}
	f, err := os.OpenFile(args[0]+".lost", os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(strings.Join(append(keys, ""), "\n")); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return fixtures.ZeroPages(args[0], b.Opts.PageSize, pages...)
}
