package migrate

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/fixtures/legacy"
	"github.com/kanbanshim/kanbanshim/internal/proc"
	"github.com/kanbanshim/kanbanshim/lockd"
)

var testNow = time.Unix(legacy.Epoch+86400, 0).UTC()

// legacyBoard writes fixture name into a fresh directory and returns its
// path.
func legacyBoard(t *testing.T, name, journal string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kanban.db")
	if err := legacy.Generate(context.Background(), p, name, legacy.Options{Journal: journal}); err != nil {
		t.Fatal(err)
	}
	return p
}

// snapshot reads the whole board at path through a fresh connection.
func snapshot(t *testing.T, path string) *legacy.Snapshot {
	t.Helper()
	c, err := sqlite3.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := legacy.Read(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func journalOf(t *testing.T, path string) string {
	t.Helper()
	c, err := sqlite3.OpenFlags(path, sqlite3.OPEN_READONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m, err := JournalMode(c)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func upgradeOpts(dir string) UpgradeOptions {
	return UpgradeOptions{Now: testNow, BackupDir: dir, LockTimeout: 2 * time.Second, BusyTimeout: 5 * time.Second}
}

func TestUpgrade_earlyMayMatchesUpstreamAndBacksUp(t *testing.T) {
	for _, journal := range []string{"wal", "delete"} {
		t.Run(journal, func(t *testing.T) {
			db := legacyBoard(t, "early-may-2026", journal)
			before := snapshot(t, db)
			bdir := filepath.Join(filepath.Dir(db), "backups")
			rep, err := Upgrade(context.Background(), db, upgradeOpts(bdir))
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Steps) == 0 || rep.NothingToDo || rep.Backup == "" {
				t.Fatalf("report %+v", rep)
			}
			want, err := legacy.Want("early-may-2026", testNow.Unix())
			if err != nil {
				t.Fatal(err)
			}
			if d := legacy.Diff(want, snapshot(t, db)); d != "" {
				t.Errorf("migrated board:\n%s", d)
			}
			if d := legacy.Diff(before, snapshot(t, rep.Backup)); d != "" {
				t.Errorf("backup is not the board before migration:\n%s", d)
			}
			if m := journalOf(t, rep.Backup); m != "delete" {
				t.Errorf("backup journal mode %s", m)
			}
			if m := journalOf(t, db); m != journal {
				t.Errorf("journal mode changed to %s", m)
			}
			again, err := Upgrade(context.Background(), db, upgradeOpts(bdir))
			if err != nil || !again.NothingToDo || again.Backup != "" {
				t.Fatalf("second apply: %+v %v", again, err)
			}
			if bs, _ := board.Backup.List(bdir, db); len(bs) != 1 {
				t.Errorf("%d backups after a no-op apply", len(bs))
			}
		})
	}
}

// TestUpgrade_failureLeavesBoardUntouched fails the migration at each
// point before the commit (inside the transaction for two of them) and
// checks the board is exactly as before.
func TestUpgrade_failureLeavesBoardUntouched(t *testing.T) {
	for _, point := range []string{PointAfterBackup, PointBeforeLastStep, PointBeforeCommit} {
		t.Run(point, func(t *testing.T) {
			db := legacyBoard(t, "drifted", "")
			before := snapshot(t, db)
			o := upgradeOpts(filepath.Join(filepath.Dir(db), "backups"))
			o.Hooks = failAt(point)
			rep, err := Upgrade(context.Background(), db, o)
			if !errors.Is(err, errTestHook) {
				t.Fatalf("err = %v", err)
			}
			if len(rep.Steps) != 0 {
				t.Errorf("report claims steps %v", rep.Steps)
			}
			if d := legacy.Diff(before, snapshot(t, db)); d != "" {
				t.Errorf("board changed:\n%s", d)
			}
		})
	}
}

var errTestHook = errors.New("test hook failure")

func failAt(point string) *Hooks {
	return &Hooks{At: func(_ context.Context, at string) error {
		if at == point {
			return errTestHook
		}
		return nil
	}}
}

// TestUpgrade_postCommitFailureRestoresBackup: a failure after the commit
// puts the backup back through the backup API, keeping the WAL mode.
func TestUpgrade_postCommitFailureRestoresBackup(t *testing.T) {
	db := legacyBoard(t, "early-may-2026", "wal")
	before := snapshot(t, db)
	o := upgradeOpts(filepath.Join(filepath.Dir(db), "backups"))
	o.Hooks = failAt(PointAfterCommit)
	rep, err := Upgrade(context.Background(), db, o)
	if !errors.Is(err, errTestHook) || !rep.Restored {
		t.Fatalf("err = %v, restored = %v", err, rep.Restored)
	}
	if !strings.Contains(err.Error(), "restored from "+rep.Backup) {
		t.Errorf("message does not name the backup: %v", err)
	}
	if d := legacy.Diff(before, snapshot(t, db)); d != "" {
		t.Errorf("board not restored:\n%s", d)
	}
	if m := journalOf(t, db); m != "wal" {
		t.Errorf("journal mode after restore: %s", m)
	}
	o.Hooks = nil
	if _, err := Upgrade(context.Background(), db, o); err != nil {
		t.Fatalf("apply after restore: %v", err)
	}
}

func TestUpgrade_postCommitFailureWithoutBackup(t *testing.T) {
	db := legacyBoard(t, "drifted", "")
	o := upgradeOpts("")
	o.Hooks = failAt(PointAfterCommit)
	_, err := Upgrade(context.Background(), db, o)
	if !errors.Is(err, errTestHook) || !strings.Contains(err.Error(), "no backup") {
		t.Fatalf("err = %v", err)
	}
}

func TestUpgrade_refusals(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.db")
	junk := filepath.Join(dir, "junk.db")
	foreign := filepath.Join(dir, "foreign.db")
	os.WriteFile(empty, nil, 0o644)
	os.WriteFile(junk, []byte(strings.Repeat("not a database ", 100)), 0o644)
	c, err := sqlite3.Open(foreign)
	if err != nil {
		t.Fatal(err)
	}
	c.Exec("CREATE TABLE notes(x)")
	c.Close()
	for _, tc := range []struct {
		path string
		want error
	}{
		{filepath.Join(dir, "missing.db"), ErrNoBoard},
		{empty, ErrEmptyBoard},
		{junk, ErrNotSQLite},
		{foreign, ErrForeignFile},
	} {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			st, _ := os.Stat(tc.path)
			_, err := Upgrade(context.Background(), tc.path, upgradeOpts(filepath.Join(dir, "backups")))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if st2, _ := os.Stat(tc.path); st != nil && (st2.Size() != st.Size() || !st2.ModTime().Equal(st.ModTime())) {
				t.Error("file was modified")
			}
			if _, err := os.Stat(filepath.Join(dir, "backups")); err == nil {
				t.Error("a backup was written")
			}
		})
	}
}

func TestUpgrade_refusesDamagedBoard(t *testing.T) {
	db := legacyBoard(t, "early-may-2026", "delete")
	c, err := sqlite3.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	var root int64
	stmt, _, _ := c.Prepare("SELECT rootpage FROM sqlite_schema WHERE name='task_events'")
	if stmt.Step() {
		root = stmt.ColumnInt64(0)
	}
	stmt.Close()
	c.Close()
	f, err := os.OpenFile(db, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Overwrite the page header of task_events' root with garbage.
	f.WriteAt([]byte{0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55}, (root-1)*4096)
	f.Close()
	_, err = Upgrade(context.Background(), db, upgradeOpts(""))
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("err = %v, want ErrDamaged", err)
	}
}

// TestUpgrade_refusesPendingSwap: a board an interrupted kanban-recover
// swap left blocked is neither migrated nor examined (kanban-migrate's
// command line adds the repair command to the error) and the board is
// left byte-identical.
func TestUpgrade_refusesPendingSwap(t *testing.T) {
	db := legacyBoard(t, "early-may-2026", "delete")
	if err := os.WriteFile(board.SwapPendingPath(db), []byte(`{"set":"x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Upgrade(context.Background(), db, upgradeOpts(""))
	if !errors.Is(err, ErrSwapPending) {
		t.Fatalf("Upgrade: err = %v, want ErrSwapPending", err)
	}
	if _, err := StatusOf(context.Background(), db, testNow, time.Second); !errors.Is(err, ErrSwapPending) {
		t.Fatalf("StatusOf: err = %v, want ErrSwapPending", err)
	}
	if after, _ := os.ReadFile(db); string(after) != string(before) {
		t.Error("the board changed")
	}
}

func TestUpgrade_journalModes(t *testing.T) {
	affected := func(context.Context) Peer { return Peer{Python: "py", Version: "3.50.4", Affected: true} }
	fixed := func(context.Context) Peer { return Peer{Python: "py", Version: "3.51.3"} }
	cases := []struct {
		name, from, to string
		peer           func(context.Context) Peer
		force          bool
		wantMode       string
		wantErr        error
	}{
		{"delete to wal", "delete", "wal", fixed, false, "wal", nil},
		{"wal to delete", "wal", "delete", nil, false, "delete", nil},
		{"wal kept", "wal", "wal", affected, false, "wal", nil},
		{"affected peer refuses wal", "delete", "wal", affected, false, "delete", ErrJournalRefused},
		{"force overrides peer", "delete", "wal", affected, true, "wal", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := legacyBoard(t, "early-may-2026", tc.from)
			before := snapshot(t, db)
			o := upgradeOpts(filepath.Join(filepath.Dir(db), "backups"))
			o.Journal, o.Peer, o.Force = tc.to, tc.peer, tc.force
			_, err := Upgrade(context.Background(), db, o)
			if !errors.Is(err, tc.wantErr) && !(tc.wantErr == nil && err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if m := journalOf(t, db); m != tc.wantMode {
				t.Errorf("journal mode %s, want %s", m, tc.wantMode)
			}
			if tc.wantErr != nil {
				if d := legacy.Diff(before, snapshot(t, db)); d != "" {
					t.Errorf("refused apply changed the board:\n%s", d)
				}
			}
		})
	}
}

func TestUpgrade_journalRefusedOnNetworkFS(t *testing.T) {
	db := legacyBoard(t, "drifted", "delete")
	o := upgradeOpts("")
	o.Journal = "wal"
	o.NetworkFS = func(string) (string, bool) { return "nfs", true }
	_, err := Upgrade(context.Background(), db, o)
	if !errors.Is(err, ErrJournalRefused) || !strings.Contains(err.Error(), "nfs") {
		t.Fatalf("err = %v", err)
	}
}

// TestUpgrade_journalRefusedWhileOpen: a kanbanshim opener (open guard)
// and a foreign process holding the file (seen in /proc) each stop a
// journal-mode change, and the board stays untouched.
func TestUpgrade_journalRefusedWhileOpen(t *testing.T) {
	t.Run("open guard", func(t *testing.T) {
		db := legacyBoard(t, "early-may-2026", "wal")
		g, err := lockd.HoldOpen(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		o := upgradeOpts("")
		o.Journal = "delete"
		_, err = Upgrade(context.Background(), db, o)
		if !errors.Is(err, ErrJournalRefused) {
			t.Fatalf("err = %v", err)
		}
		if m := journalOf(t, db); m != "wal" {
			t.Errorf("journal mode %s", m)
		}
	})
	t.Run("no change needed", func(t *testing.T) {
		db := legacyBoard(t, "drifted", "wal")
		g, err := lockd.HoldOpen(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		o := upgradeOpts("")
		o.Journal = "wal"
		rep, err := Upgrade(context.Background(), db, o)
		if err != nil || len(rep.Steps) == 0 || rep.JournalAfter != "wal" {
			t.Fatalf("apply --journal wal on a WAL board with an opener: %+v %v", rep, err)
		}
	})
	t.Run("proc scan", func(t *testing.T) {
		if _, err := proc.ScanOpeners("/"); errors.Is(err, lockd.ErrUnsupported) {
			t.Skip("no /proc")
		}
		db := legacyBoard(t, "early-may-2026", "delete")
		before := snapshot(t, db)
		f, err := os.Open(db)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("sleep", "30")
		cmd.Stdin = f
		if err := cmd.Start(); err != nil {
			t.Skip(err)
		}
		f.Close()
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		o := upgradeOpts(filepath.Join(filepath.Dir(db), "backups"))
		o.Journal = "wal"
		_, err = Upgrade(context.Background(), db, o)
		var je *JournalError
		if !errors.As(err, &je) || !strings.Contains(je.Reason, "sleep") {
			t.Fatalf("err = %v", err)
		}
		if d := legacy.Diff(before, snapshot(t, db)); d != "" {
			t.Errorf("board changed:\n%s", d)
		}
	})
}

func TestUpgrade_busy(t *testing.T) {
	t.Run("lease", func(t *testing.T) {
		db := legacyBoard(t, "drifted", "")
		l := lockd.NewLease(db)
		if err := l.AcquireMaintenance(context.Background(), "kanban-recover", "swap", time.Second); err != nil {
			t.Fatal(err)
		}
		defer l.Release()
		o := upgradeOpts("")
		o.LockTimeout = 200 * time.Millisecond
		_, err := Upgrade(context.Background(), db, o)
		if !errors.Is(err, lockd.ErrMaintenance) || !strings.Contains(err.Error(), "kanban-recover") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("init lock", func(t *testing.T) {
		db := legacyBoard(t, "drifted", "")
		il, err := lockd.LockInit(context.Background(), db, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer il.Close()
		o := upgradeOpts("")
		o.LockTimeout = 200 * time.Millisecond
		_, err = Upgrade(context.Background(), db, o)
		if !errors.Is(err, ErrInitBusy) {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestUpgrade_cancelledRollsBack: a drained signal (context cancelled)
// inside the transaction rolls it back.
func TestUpgrade_cancelledRollsBack(t *testing.T) {
	db := legacyBoard(t, "early-may-2026", "wal")
	before := snapshot(t, db)
	ctx, cancel := context.WithCancelCause(context.Background())
	o := upgradeOpts("")
	o.Hooks = &Hooks{At: func(_ context.Context, at string) error {
		if at == PointBeforeLastStep {
			cancel(errors.New("drained"))
		}
		return nil
	}}
	_, err := Upgrade(ctx, db, o)
	if err == nil || err.Error() != "drained" {
		t.Fatalf("err = %v", err)
	}
	if d := legacy.Diff(before, snapshot(t, db)); d != "" {
		t.Errorf("board changed:\n%s", d)
	}
}

func TestPlanUpgrade_matchesApply(t *testing.T) {
	db := legacyBoard(t, "drifted", "")
	planned, err := PlanUpgrade(context.Background(), db, testNow, 0)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Upgrade(context.Background(), db, upgradeOpts(""))
	if err != nil {
		t.Fatal(err)
	}
	if len(planned) == 0 || len(planned) != len(rep.Steps) {
		t.Fatalf("planned %d steps, applied %d", len(planned), len(rep.Steps))
	}
	for i := range planned {
		if strings.Join(planned[i].Statements, ";") != strings.Join(rep.Steps[i].Statements, ";") {
			t.Errorf("step %s differs between plan and apply", planned[i].N)
		}
	}
}

// TestUpgrade_openerArrivesBeforeJournalSwitch: a process that opens the
// file after the migration committed stops the switch; the error says the
// schema was migrated.
func TestUpgrade_openerArrivesBeforeJournalSwitch(t *testing.T) {
	if _, err := proc.ScanOpeners("/"); errors.Is(err, lockd.ErrUnsupported) {
		t.Skip("no /proc")
	}
	db := legacyBoard(t, "early-may-2026", "delete")
	var cmd *exec.Cmd
	defer func() {
		if cmd != nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	o := upgradeOpts("")
	o.Journal = "wal"
	o.Hooks = &Hooks{At: func(_ context.Context, at string) error {
		if at != PointAfterCommit {
			return nil
		}
		f, err := os.Open(db)
		if err != nil {
			return err
		}
		defer f.Close()
		cmd = exec.Command("sleep", "30")
		cmd.Stdin = f
		return cmd.Start()
	}}
	rep, err := Upgrade(context.Background(), db, o)
	if !errors.Is(err, ErrJournalRefused) || !strings.Contains(err.Error(), "the schema was migrated") {
		t.Fatalf("err = %v", err)
	}
	if len(rep.Steps) == 0 || journalOf(t, db) != "delete" {
		t.Errorf("steps %d, journal %s", len(rep.Steps), journalOf(t, db))
	}
	want, _ := legacy.Want("early-may-2026", testNow.Unix())
	if d := legacy.Diff(want, snapshot(t, db)); d != "" {
		t.Errorf("board:\n%s", d)
	}
}

// TestUpgrade_emptyWithData: a 0-byte database next to a -wal or
// -journal that holds data is damage, not an empty board: apply, plan
// and status refuse it with a *DamageError before SQLite opens the file
// (SQLite would delete that sidecar), and leave the sidecar byte-identical.
func TestUpgrade_emptyWithData(t *testing.T) {
	for _, suf := range []string{board.WALSuffix, board.JournalSuffix} {
		for _, verb := range []string{"apply", "plan", "status"} {
			t.Run(suf+"/"+verb, func(t *testing.T) {
				db := filepath.Join(t.TempDir(), "kanban.db")
				data := []byte(strings.Repeat("committed frames SQLite would drop ", 200))
				if err := os.WriteFile(db, nil, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(db+suf, data, 0o644); err != nil {
					t.Fatal(err)
				}
				var err error
				switch verb {
				case "apply":
					_, err = Upgrade(context.Background(), db, upgradeOpts(""))
				case "plan":
					_, err = PlanUpgrade(context.Background(), db, time.Unix(1, 0), time.Second)
				case "status":
					_, err = StatusOf(context.Background(), db, time.Unix(1, 0), time.Second)
				}
				var de *DamageError
				if !errors.As(err, &de) || de.Kind != DamageEmptyWithData || !errors.Is(err, ErrDamaged) {
					t.Errorf("err = %v, want a %s *DamageError", err, DamageEmptyWithData)
				}
				if got, err := os.ReadFile(db + suf); err != nil || !bytes.Equal(got, data) {
					t.Errorf("%s after %s: %d bytes, %v; want it byte-identical", suf, verb, len(got), err)
				}
			})
		}
	}
}
