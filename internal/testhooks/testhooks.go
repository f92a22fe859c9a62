// Package testhooks holds the switches tests set through the environment
// of a kanban, kanban-migrate or kanban-recover process: pause inside a
// write transaction or at a migration step, fail a migration step, inject
// a SQLite I/O fault, fix the clock, pretend another filesystem.
//
// Release binaries do not contain it: nothing they import imports it.
// Install puts the switches into the CLI packages; it is called by
// cmd/*/testhooks.go, compiled only with the build tag `testhooks` (how
// the torture and the tests that build binaries build them), and by the
// cmd/* test binaries' TestMain, so a plain `go test ./...` has them too.
package testhooks

import (
	migratecli "github.com/kanbanshim/kanbanshim/migrate/cli"
	kanbancli "github.com/kanbanshim/kanbanshim/shim/cli"
)

// The switches, read from the environment of each run.
const (
	// EnvPauseInTxn=<op prefix>: a kanban write transaction whose op
	// starts with the prefix prints TxnPauseMarker and waits inside
	// BEGIN IMMEDIATE … COMMIT for up to 60 s, or until cancelled, so a
	// test can signal or kill a writer mid-transaction.
	EnvPauseInTxn = "KANBANSHIM_TEST_PAUSE_IN_TXN"
	// EnvFault=<fault>[-<op>]:<file>:<n>[+] (see faultvfs.ParseRule):
	// kanban opens the board through a fault-injecting SQLite VFS armed
	// with that rule.
	EnvFault = "KANBANSHIM_TEST_FAULT"
	// EnvFSType=<name>: kanban and kanban-migrate take the board's
	// filesystem to be this one ("local", or a network filesystem).
	EnvFSType = "KANBANSHIM_TEST_FSTYPE"
	// EnvNow=<epoch seconds>: kanban-migrate's clock.
	EnvNow = "KANBANSHIM_TEST_NOW"
	// EnvMigratePause=<point>[:<seconds>]: kanban-migrate apply prints
	// PauseMarker+point and waits there (60 s by default, or until
	// signalled).
	EnvMigratePause = "KANBANSHIM_TEST_MIGRATE_PAUSE"
	// EnvMigrateFail=<point>: kanban-migrate apply fails at that point.
	EnvMigrateFail = "KANBANSHIM_TEST_MIGRATE_FAIL"
)

// Install puts the switches into the CLI packages of this process. It may
// be called more than once.
func Install() {
	kanbancli.SetTestHooks(storeHooks)
	migratecli.SetTestHooks(migrateHooks)
}
