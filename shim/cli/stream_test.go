package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

// TestStreamOut_spool: a DELETE-mode listing is kept back until finish,
// in memory and then in a temporary file, and comes out whole and in
// order; a failed listing writes nothing.
func TestStreamOut_spool(t *testing.T) {
	old := spoolMem
	spoolMem = 100
	defer func() { spoolMem = old }()
	var want bytes.Buffer
	var dst bytes.Buffer
	s := newStreamOut(&dst, "delete")
	for i := 0; i < 500; i++ {
		line := strings.Repeat(string(rune('a'+i%26)), i%37) + "\n"
		want.WriteString(line)
		if _, err := s.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if dst.Len() != 0 || s.file == nil {
		t.Fatalf("wrote %d bytes before finish; spool file %v", dst.Len(), s.file)
	}
	if err := s.finish(true); err != nil {
		t.Fatal(err)
	}
	if dst.String() != want.String() {
		t.Fatalf("spooled output differs: %d bytes, want %d", dst.Len(), want.Len())
	}
	for _, mode := range []string{"delete", "wal"} {
		var dst bytes.Buffer
		s := newStreamOut(&dst, mode)
		s.Write(bytes.Repeat([]byte("x"), 1000))
		if err := s.finish(false); err != nil || dst.Len() != 0 {
			t.Errorf("%s: failed listing wrote %d bytes (%v)", mode, dst.Len(), err)
		}
	}
}

// TestList_neverHoldsTheBoardWhileStdoutBlocks: `kanban list | less`
// must not stop the board's writers while less waits for a key. A child
// lists a board whose listing is far bigger than a pipe, its reader stops
// reading after the first bytes, and a writer (with a short busy timeout,
// no lease: a Python peer) must commit while the child is still blocked.
// In DELETE mode a reader's SHARED lock would block that commit, so the
// listing is spooled until the query is done; in WAL mode readers never
// block writers.
func TestList_neverHoldsTheBoardWhileStdoutBlocks(t *testing.T) {
	for _, mode := range []string{"delete", "wal"} {
		t.Run(mode, func(t *testing.T) {
			e := newVerbsEnv(t)
			seedBoardMode(t, e, 3000, mode)
			cmd, stdout, stderr := e.startHelper(t, "list", "--json")
			defer cmd.Process.Kill()
			first := make([]byte, 1)
			if _, err := io.ReadFull(stdout, first); err != nil {
				t.Fatalf("no output: %v (%s)", err, stderr.String())
			}
			time.Sleep(300 * time.Millisecond) // the pipe fills; the child blocks in write

			c, err := sqlite3.Open(e.dbPath())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			err = c.Exec(`PRAGMA busy_timeout=3000; BEGIN IMMEDIATE;
				INSERT INTO task_comments (task_id, author, body, created_at) VALUES ('t_00000000', 'peer', 'hi', 1);
				COMMIT`)
			if err != nil {
				t.Fatalf("a writer could not commit while list's stdout was blocked (after %v): %v", time.Since(start), err)
			}
			if cmd.ProcessState != nil {
				t.Fatal("the child had already exited: the test proved nothing")
			}
			rest, err := io.ReadAll(stdout)
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("list: %v (%s)", err, stderr.String())
			}
			var tasks []map[string]any
			if err := json.Unmarshal(append(first, rest...), &tasks); err != nil || len(tasks) != 3000 {
				t.Fatalf("listing: %d tasks, %v", len(tasks), err)
			}
		})
	}
}

// TestList_streamedOutputIsTheWholeList: the streamed `list --json` is
// exactly the json.dumps of the whole list (printJSON of every task),
// and the text list is every task's line.
func TestList_streamedOutputIsTheWholeList(t *testing.T) {
	e := newVerbsEnv(t)
	seedBoard(t, e, 700)
	ctx := context.Background()
	st, err := store.Open(ctx, e.dbPath(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := st.ListTasks(store.ListFilter{})
	st.Close()
	if err != nil || len(tasks) != 700 {
		t.Fatalf("%d tasks, %v", len(tasks), err)
	}
	items := make([]any, len(tasks))
	var lines strings.Builder
	for i, tk := range tasks {
		items[i] = taskObject(tk)
		lines.Write(appendTaskLine(nil, tk))
	}
	if got, want := e.must(t, "list", "--json"), py.Dumps(items, 2, false)+"\n"; got != want {
		t.Errorf("list --json is not json.dumps of the list (%d vs %d bytes)", len(got), len(want))
	}
	if got := e.must(t, "list"); got != lines.String() {
		t.Errorf("list differs from the task lines (%d vs %d bytes)", len(got), lines.Len())
	}
}
