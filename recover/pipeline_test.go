package recover_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kanbanshim/kanbanshim/fixtures"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/recover"
)

// TestSalvage_pipelineSameAsSequential: Salvage inserting rows while it
// still reads pages writes exactly what extracting first and writing
// after writes (same schema, rows, rowids, lost_and_found, report), on
// every fixture and on generated damage. Some of the damaged boards
// re-home orphan rows into tables already inserted, which takes the
// writer back to a savepoint: the test fails if none does.
func TestSalvage_pipelineSameAsSequential(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("Salvage runs sequentially on one core")
	}
	var boards []string
	for _, c := range fixtures.Cases() {
		m, err := fixtures.ReadManifest(fixtureDir, c.Name)
		if err != nil {
			t.Fatal(err)
		}
		boards = append(boards, copyFixture(t, m))
	}
	eachDamage(t, 40, func(_ string, db, wal []byte, _ string) {
		src := filepath.Join(t.TempDir(), "board.db")
		writeFileT(t, src, db)
		if len(wal) > 0 {
			writeFileT(t, src+"-wal", wal)
		}
		boards = append(boards, src)
	})
	rehomed, written := 0, 0
	for _, src := range boards {
		piped, pipedRep := salvageDump(t, src, recover.Salvage)
		seq, seqRep := salvageDump(t, src, recover.SalvageSequential)
		if piped != seq {
			t.Errorf("%s: output differs:\n%s\nsequential:\n%s", src, piped, seq)
		}
		if pipedRep != seqRep {
			t.Errorf("%s: report differs:\n%s\nsequential:\n%s", src, pipedRep, seqRep)
		}
		if rehomedRE.MatchString(seqRep) {
			rehomed++
		}
		if seq != "" {
			written++
		}
	}
	if rehomed == 0 || written < len(boards)/2 {
		t.Errorf("%d of %d boards salvaged, %d re-homed orphan rows into a table: the savepoint path went untested", written, len(boards), rehomed)
	}
}

var rehomedRE = regexp.MustCompile(`"from_orphan_pages":[1-9]`)

func writeFileT(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// salvageDump salvages src with fn and returns the output's schema and
// every row with its rowid, and the report as JSON without its paths and
// duration (or the error).
func salvageDump(t *testing.T, src string, fn func(context.Context, recover.SalvageOptions) (*recover.Report, error)) (dump, report string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.db")
	rep, err := fn(ctx(t), recover.SalvageOptions{DBPath: src, OutPath: out, Now: fixedNow})
	if err != nil {
		return "", "error: " + err.Error()
	}
	rep.DurationMS, rep.OutPath = 0, ""
	j, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	conn := openDB(t, out)
	var b strings.Builder
	var tables []string
	err = sqlx.Query(conn, "SELECT type, name, sql FROM sqlite_schema ORDER BY rowid", nil, func(r *sqlx.Row) error {
		fmt.Fprintf(&b, "%s %s %s\n", r.TextAt(0), r.TextAt(1), r.TextAt(2))
		if r.TextAt(0) == "table" {
			tables = append(tables, r.TextAt(1))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tbl := range tables {
		fmt.Fprintf(&b, "== %s\n", tbl)
		err := sqlx.Query(conn, "SELECT rowid, * FROM "+sqlx.QuoteIdent(tbl)+" ORDER BY rowid", nil, func(r *sqlx.Row) error {
			for i := range r.Columns() {
				fmt.Fprintf(&b, "%#v|", r.ValueAt(i))
			}
			b.WriteByte('\n')
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return b.String(), string(j)
}

// An error on either side stops both: a writer that cannot create its
// file stops the extraction and its error is the one reported; a
// cancellation while the writer works leaves no output and no temp file.
// No goroutine is left behind either way.
func TestSalvage_pipelineErrors(t *testing.T) {
	m, err := fixtures.ReadManifest(fixtureDir, "interior-zeroed")
	if err != nil {
		t.Fatal(err)
	}
	src := copyFixture(t, m)
	before := runtime.NumGoroutine()

	out := filepath.Join(t.TempDir(), "missing-dir", "out.db")
	_, err = recover.Salvage(ctx(t), recover.SalvageOptions{DBPath: src, OutPath: out})
	if err == nil || errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "create output") {
		t.Errorf("output in a missing directory: %v", err)
	}

	c, cancel := context.WithCancel(ctx(t))
	defer cancel()
	out = filepath.Join(t.TempDir(), "out.db")
	_, err = recover.Salvage(c, recover.SalvageOptions{DBPath: src, OutPath: out, Progress: cancelWriter(cancel)})
	if err == nil {
		t.Fatal("cancelled when the extraction ended: no error")
	}
	for _, p := range []string{out, out + ".tmp"} {
		if _, serr := os.Stat(p); serr == nil {
			t.Errorf("cancelled (%v): %s left behind", err, p)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after, %d before", n, before)
	}
}

// cancelWriter cancels on the first progress line: the extraction's last.
type cancelWriter context.CancelFunc

func (c cancelWriter) Write(p []byte) (int, error) {
	c()
	return len(p), nil
}
