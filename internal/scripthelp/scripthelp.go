// Package scripthelp holds the commands and setup the three binaries'
// testscript suites share: the real kanban CLI as a command, a home with
// two profiles, and small helpers (waitfile, expect-exit, sqlq, dircount,
// hold). Only tests import it.
package scripthelp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ncruces/go-sqlite3"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/fixtures"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/lockd"
	mcli "github.com/kanbanshim/kanbanshim/migrate/cli"
	rcli "github.com/kanbanshim/kanbanshim/recover/cli"
	kcli "github.com/kanbanshim/kanbanshim/shim/cli"
)

// KanbanMain runs the real kanban CLI on os.Args, as cmd/kanban does.
func KanbanMain() {
	ctx, stop := lockd.Drain(context.Background())
	app := kcli.NewApp()
	code := kcli.Exit(ctx, kcli.Run(ctx, app, os.Args[1:]), app.Stderr)
	stop()
	os.Exit(code)
}

// MigrateMain and RecoverMain run the real kanban-migrate and
// kanban-recover CLIs, as their mains do, so that one suite can drive all
// three binaries on the same board.
func MigrateMain() {
	ctx, stop := lockd.Drain(context.Background())
	code := mcli.Exit(ctx, mcli.Run(ctx, mcli.NewApp(), os.Args[1:]), os.Stderr)
	stop()
	os.Exit(code)
}

// RecoverMain runs kanban-recover's command line as its main does.
func RecoverMain() {
	ctx, stop := lockd.Drain(context.Background())
	code := rcli.Exit(ctx, rcli.Run(ctx, rcli.NewApp(), os.Args[1:]), os.Stderr)
	stop()
	os.Exit(code)
}

// Command turns a helper into a testscript command: it runs fn on the
// arguments and exits 1 with the error on stderr, or 0.
func Command(fn func(args []string) error) func() {
	return func() {
		if err := fn(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// Commands are the helpers every suite gets:
//
//	waitfile PATH                 wait (up to 30 s) until PATH exists
//	expect-exit CODE CMD [ARGS…]  run CMD, pass its output through, succeed
//	                              only if it exits with CODE
//	sqlq DB SQL                   print query rows (SqlqCopy: from a copy)
//	dircount DIR                  print the number of entries in DIR
//	damage DB TABLE               zero every page of TABLE's b-tree and of its
//	                              indexes in the file DB (checkpoint a WAL board first)
//	kanban …                      the real kanban CLI
//	kanban-migrate …, kanban-recover …
//	                              the real kanban-migrate and kanban-recover
//
// and the DamageCommands (pykeep, pydie, scribble, flipframe).
func Commands(more map[string]func()) map[string]func() {
	m := map[string]func(){
		"kanban":         KanbanMain,
		"kanban-migrate": MigrateMain,
		"kanban-recover": RecoverMain,
		"waitfile":       Command(WaitFile),
		"expect-exit":    Command(ExpectExit),
		"sqlq":           Command(Sqlq),
		"dircount":       Command(DirCount),
		"damage":         Command(Damage),
	}
	for k, v := range DamageCommands() {
		m[k] = v
	}
	for k, v := range more {
		m[k] = v
	}
	return m
}

// Home gives a script an empty HERMES_HOME with profiles alice and bob, a
// fixed time zone, no real hermes on PATH, and a WAL-capable local Python
// (so new boards are WAL whatever this machine's python3 links).
func Home(env *testscript.Env) error {
	h := filepath.Join(env.WorkDir, "home")
	for _, p := range []string{"alice", "bob"} {
		if err := os.MkdirAll(filepath.Join(h, "profiles", p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(h, "profiles", p, "config.yaml"), nil, 0o644); err != nil {
			return err
		}
	}
	for k, v := range HomeEnv(env.WorkDir) {
		env.Setenv(k, v)
	}
	return nil
}

// HomeEnv is the environment Home sets, for tests that start processes
// themselves.
func HomeEnv(dir string) map[string]string {
	return map[string]string{
		"HERMES_HOME":            filepath.Join(dir, "home"),
		"HOME":                   filepath.Join(dir, "userhome"),
		"TZ":                     "UTC",
		"HERMES_BIN":             filepath.Join(dir, "no-hermes"),
		"KANBANSHIM_PEER_SQLITE": "3.51.3",
	}
}

// WaitFile waits up to 30 s for a file to appear.
func WaitFile(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: waitfile PATH")
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(args[0]); err == nil {
			return nil
		}
	}
	return fmt.Errorf("waitfile: %s did not appear", args[0])
}

// ExpectExit runs a command and succeeds only if it exits with the code.
func ExpectExit(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: expect-exit CODE CMD [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		return err
	}
	cmd := exec.Command(args[1], args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	got := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		got = ee.ExitCode()
	} else if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("expect-exit: %s exited %d, want %d", args[1], got, want)
	}
	return nil
}

// Sqlq prints the rows of a query (or runs a statement) on the board,
// cells joined by "|".
func Sqlq(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: sqlq DB SQL")
	}
	return query(args[0], args[1])
}

// SqlqCopy is Sqlq on a copy of the board (db, -wal, -journal), so the
// board's own files, and the byte-for-byte comparisons scripts make of
// them, are left alone.
func SqlqCopy(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: sqlq DB SQL")
	}
	dir, err := os.MkdirTemp("", "sqlq-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cp := filepath.Join(dir, "copy.db")
	for _, suf := range []string{"", board.WALSuffix, board.JournalSuffix} {
		data, err := os.ReadFile(args[0] + suf)
		if errors.Is(err, os.ErrNotExist) && suf != "" {
			continue
		}
		if err != nil {
			return err
		}
		if err := os.WriteFile(cp+suf, data, 0o644); err != nil {
			return err
		}
	}
	return query(cp, args[1])
}

func query(db, sql string) error {
	c, err := sqlite3.Open(db)
	if err != nil {
		return err
	}
	defer c.Close()
	return sqlx.Query(c, sql, nil, func(r *sqlx.Row) error {
		var cells []string
		for _, col := range r.Columns() {
			v := r.Value(col)
			if v == nil {
				v = "NULL"
			}
			cells = append(cells, fmt.Sprint(v))
		}
		fmt.Println(strings.Join(cells, "|"))
		return nil
	})
}

// Damage zeroes the pages of a table and its indexes in a board file:
// the damage of reproduction 2 in issue 10 (task_links' pages lost).
func Damage(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: damage DB TABLE")
	}
	pages, ps, err := fixtures.TablePages(args[0], args[1])
	if err != nil {
		return err
	}
	return fixtures.ZeroPages(args[0], ps, pages...)
}

// DirCount prints the number of entries in a directory.
func DirCount(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: dircount DIR")
	}
	ents, err := os.ReadDir(args[0])
	if err != nil {
		return err
	}
	fmt.Println(len(ents))
	return nil
}

// Locker takes one kind of lock on the board at db and returns its
// release.
type Locker func(ctx context.Context, db string) (release func() error, err error)

// Hold is the `hold DB KIND SECONDS` command over the given lock kinds:
// it takes the lock, creates DB.held, and lets go after SECONDS or as
// soon as DB.release appears (removing both files).
func Hold(kinds map[string]Locker) func(args []string) error {
	return func(args []string) error {
		if len(args) != 3 {
			return fmt.Errorf("usage: hold DB KIND SECONDS")
		}
		secs, err := strconv.ParseFloat(args[2], 64)
		if err != nil {
			return err
		}
		db := args[0]
		lock, ok := kinds[args[1]]
		if !ok {
			return fmt.Errorf("hold: unknown lock %q", args[1])
		}
		release, err := lock(context.Background(), db)
		if err != nil {
			return err
		}
		defer release()
		if err := os.WriteFile(db+".held", nil, 0o644); err != nil {
			return err
		}
		rel := db + ".release"
		for end := time.Now().Add(time.Duration(secs * float64(time.Second))); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			if _, err := os.Stat(rel); err == nil {
				break
			}
		}
		return errors.Join(os.Remove(db+".held"), os.Remove(rel))
	}
}

// MaintenanceLease holds the write lease in maintenance mode as tool.
func MaintenanceLease(tool, op string) Locker {
	return func(ctx context.Context, db string) (func() error, error) {
		l := lockd.NewLease(db)
		if err := l.AcquireMaintenance(ctx, tool, op, 5*time.Second); err != nil {
			return nil, err
		}
		return l.Release, nil
	}
}

// OpenConn holds an open SQLite connection that has read the board: a
// Python peer's view, which takes none of our locks.
func OpenConn(_ context.Context, db string) (func() error, error) {
	c, err := sqlite3.Open(db)
	if err != nil {
		return nil, err
	}
	if _, _, err := sqlx.QueryInt(c, "SELECT count(*) FROM sqlite_schema"); err != nil {
		c.Close()
		return nil, err
	}
	return c.Close, nil
}
