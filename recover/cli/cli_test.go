package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/clikit"
	"github.com/kanbanshim/kanbanshim/lockd"
	"github.com/kanbanshim/kanbanshim/recover"
	"github.com/kanbanshim/kanbanshim/shim/home"
)

func testApp(t *testing.T, tty bool) (*App, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	var out, errb bytes.Buffer
	h := t.TempDir()
	env := home.Env{UserHome: h, Getenv: func(k string) string {
		if k == "HERMES_HOME" {
			return h
		}
		return ""
	}}
	return &App{Env: env, Stdout: &out, Stderr: &errb, Now: time.Now, StderrTTY: tty}, &out, &errb
}

func damagedBoard(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "testdata", "interior-zeroed", "board.db"))
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "kanban.db")
	if err := os.WriteFile(db, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestRun_salvageProgress: salvage progress goes to stderr only when it
// is a terminal, so cron mails and pipes get the report alone.
func TestRun_salvageProgress(t *testing.T) {
	for _, tty := range []bool{true, false} {
		t.Run(fmt.Sprint("tty=", tty), func(t *testing.T) {
			a, out, errb := testApp(t, tty)
			db := damagedBoard(t)
			err := Run(context.Background(), a, []string{"--db", db, "salvage", "--out", db + ".new"})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(out.String(), "salvaged ") {
				t.Errorf("stdout = %q", out.String())
			}
			if got := strings.Contains(errb.String(), "pages scanned"); got != tty {
				t.Errorf("progress on stderr = %v, want %v (%q)", got, tty, errb.String())
			}
		})
	}
}

// TestExit maps each outcome to its documented code.
func TestExit(t *testing.T) {
	maint := fmt.Errorf("swap: %w", &recover.RecoverBusyError{Path: "x"})
	for _, c := range []struct {
		err  error
		want int
		msg  string
	}{
		{nil, 0, ""},
		{clikit.Usagef("bad"), 2, "kanban-recover: bad (see kanban-recover --help)\n"},
		{clikit.Exit(ExitDamaged), 3, ""},
		{clikit.Exit(ExitMaintenance), 4, ""},
		{maint, 4, "kanban-recover: swap: another kanban-recover run is already working on x\n"},
		{fmt.Errorf("wrapped: %w", lockd.ErrMaintenance), 4, "kanban-recover: wrapped: lockd: board under maintenance\n"},
		{errors.New("boom\nsecond line"), 1, "kanban-recover: boom second line\n"},
	} {
		var errb bytes.Buffer
		if got := Exit(context.Background(), c.err, &errb); got != c.want {
			t.Errorf("Exit(%v) = %d, want %d", c.err, got, c.want)
		}
		if !strings.HasSuffix(errb.String(), c.msg) || (c.msg == "" && errb.Len() > 0) {
			t.Errorf("Exit(%v) printed %q, want %q", c.err, errb.String(), c.msg)
		}
	}
}

// TestWorse: with --all the worst outcome decides the exit code.
func TestWorse(t *testing.T) {
	for _, c := range []struct {
		codes []int
		want  int
	}{
		{[]int{0, 0}, 0}, {[]int{0, 3}, 3}, {[]int{3, 4, 0}, 4}, {[]int{4, 1, 3}, 1}, {[]int{1, 0}, 1},
	} {
		got := 0
		for _, code := range c.codes {
			got = worse(got, code)
		}
		if got != c.want {
			t.Errorf("worse(%v) = %d, want %d", c.codes, got, c.want)
		}
	}
}
