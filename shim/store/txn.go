package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/ncruces/go-sqlite3"
)

// ErrNestedWrite is a Write called from inside another Write's body.
var ErrNestedWrite = errors.New("store: nested write transaction")

// Write runs fn as one write transaction: take the board's write lease,
// refuse a board marked damaged (*board.DamagedError), BEGIN IMMEDIATE,
// fn, COMMIT, release. On error or cancellation the
// transaction rolls back; a SIGTERM therefore leaves it fully in (commit
// returned) or fully out. BEGIN and COMMIT are retried on SQLITE_BUSY with
// jitter (a Python peer may hold the database lock); fn never is.
func (s *Store) Write(ctx context.Context, op string, fn func() error) (err error) {
	if s.opts.ReadOnly {
		if s.roReason != "" {
			return fmt.Errorf("%s: cannot %s", s.roReason, op)
		}
		return ErrDelegatedChild
	}
	if s.inTxn {
		return ErrNestedWrite
	}
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	if !s.opts.NoLease {
		if err := s.lease.Acquire(ctx, op, s.opts.LeaseTimeout); err != nil {
			return err
		}
		defer s.lease.Release()
	}
	// Checked under the lease: a marker recorded by anyone before we got
	// it stops this write; one recorded while we write stops the next.
	if err := s.Refuse(); err != nil {
		return err
	}
	s.conn.SetInterrupt(ctx)
	if err := s.retryBusy(ctx, "BEGIN IMMEDIATE"); err != nil {
		return s.classify(fmt.Errorf("begin: %w", err))
	}
	s.inTxn = true
	defer func() {
		s.inTxn = false
		if err != nil {
			s.rollback()
		}
	}()
	// Again with SQLite's write lock held: a Python peer (which takes no
	// lease) or the daemon's health check may have marked the board while
	// we waited for the lock. What is left is the body and the commit.
	if err := s.Refuse(); err != nil {
		return err
	}
	if h := s.opts.Hooks; h != nil && h.InTxn != nil {
		if err := h.InTxn(ctx, op); err != nil {
			return err
		}
	}
	if err := fn(); err != nil {
		if ctx.Err() != nil && errors.Is(err, sqlite3.INTERRUPT) {
			return context.Cause(ctx)
		}
		return s.classify(err)
	}
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	if err := s.retryBusy(ctx, "COMMIT"); err != nil {
		return s.classify(fmt.Errorf("commit: %w", err))
	}
	s.wrote = true
	return nil
}

// rollback ends a failed transaction even when ctx was cancelled.
func (s *Store) rollback() {
	s.conn.SetInterrupt(context.Background())
	if !s.conn.GetAutocommit() {
		_ = s.conn.Exec("ROLLBACK")
	}
}

func (s *Store) retryBusy(ctx context.Context, sql string) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = s.conn.Exec(sql); err == nil || !errors.Is(err, sqlite3.BUSY) {
			return err
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(time.Duration(20+rand.IntN(131)) * time.Millisecond):
		}
	}
	return err
}
