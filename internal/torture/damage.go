package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/fixtures"
)

// The damage round (issue 10's "damage is detected once, honoured
// everywhere, never written over"). Besides the storm on the cell's
// boards, the round creates a board d<N> whose tasks are linked, lets the
// storm's writers, daemons, dispatches and kanban-migrate use it, and
// a moment into the storm zeroes every page of its task_links b-tree and
// indexes in the file (pages no storm writer changes, so no checkpoint
// heals them). Then:
//
//   - someone must mark the board damaged (a CLI writer's classify, a
//     daemon tick or health check, kanban-migrate's quick_check; failing
//     that, the harness's own kanban-recover check after the storm);
//   - from a short settle after the marker appeared (a transaction that
//     passed its last check may still commit) no kanbanshim process may
//     acknowledge a write on the board, and when no Python writer uses it
//     its db and -wal must stay byte-identical through the rest of the
//     storm and the quiesce; a Python writer (which knows nothing of the
//     marker) may go on writing, and its writes are counted apart;
//   - kanban-recover auto must then repair the board and clear the
//     marker, and every acknowledged write on it (Python's included) must
//     still be there.
//
// The damage board is not one of the cell's checked boards: the
// zero-corruption checks of checkRound run on the others, which must
// never be marked.
const (
	damageSettle = 500 * time.Millisecond // marker -> first hash
	damageMinAt  = 500 * time.Millisecond // storm start -> damage
	damageMaxAt  = 1000 * time.Millisecond
	damageLinks  = 8 // tasks linked to two parents each at setup
)

// damageRound is one damage round's board and what the watcher saw.
type damageRound struct {
	slug, db string
	pages    []uint32
	pageSize int
	python   bool // a Python writer uses the board too

	damagedAt, markedAt time.Time
	marker              *board.Damage
	observed            bool   // the settle ended before the storm did
	hash                string // content hash at the end of the settle
	ours, py            int    // acknowledged writes on the board then (kanbanshim, Python)
}

// damageFigures are a cell's damage-round figures.
type damageFigures struct {
	Rounds int `json:"rounds"`
	// DetectedInStorm counts markers recorded by the storm's own
	// processes, DetectedBy by the command that recorded them;
	// DetectedAfter counts damage only the harness's check found.
	DetectedInStorm int            `json:"detected_during_the_storm"`
	DetectedAfter   int            `json:"detected_by_the_harness_check"`
	DetectedBy      map[string]int `json:"detected_by"`
	LatencyMs       []int          `json:"marker_latency_ms"` // damage -> marker, sorted
	// Observed counts rounds where the marker appeared with storm left
	// to watch; ByteChecks those of them with no Python writer on the
	// board, whose db and -wal had to stay byte-identical.
	Observed   int `json:"rounds_observed"`
	ByteChecks int `json:"byte_identical_checks"`
	// KanbanshimWritesAfter must be 0; PythonWritesAfter and
	// PythonChanged (rounds where Python changed the bytes) are Python's.
	KanbanshimWritesAfter int `json:"kanbanshim_writes_after_marker"`
	PythonWritesAfter     int `json:"python_writes_after_marker"`
	PythonChanged         int `json:"rounds_python_changed_the_board"`
	Refused               int `json:"kanbanshim_writes_refused"`
	Repaired              int `json:"repaired"`
	RepairedWithLoss      int `json:"repaired_with_loss"`
	PagesUnreadable       int `json:"pages_unreadable"` // as the repairs' loss reports counted them
	MarkersCleared        int `json:"markers_cleared"`
}

func (f *damageFigures) add(o *damageFigures) {
	if o == nil {
		return
	}
	f.Rounds += o.Rounds
	f.DetectedInStorm += o.DetectedInStorm
	f.DetectedAfter += o.DetectedAfter
	for k, v := range o.DetectedBy {
		if f.DetectedBy == nil {
			f.DetectedBy = map[string]int{}
		}
		f.DetectedBy[k] += v
	}
	f.LatencyMs = append(f.LatencyMs, o.LatencyMs...)
	sort.Ints(f.LatencyMs)
	f.Observed += o.Observed
	f.ByteChecks += o.ByteChecks
	f.KanbanshimWritesAfter += o.KanbanshimWritesAfter
	f.PythonWritesAfter += o.PythonWritesAfter
	f.PythonChanged += o.PythonChanged
	f.Refused += o.Refused
	f.Repaired += o.Repaired
	f.RepairedWithLoss += o.RepairedWithLoss
	f.PagesUnreadable += o.PagesUnreadable
	f.MarkersCleared += o.MarkersCleared
}

// setupDamage creates the round's damage board: tasks linked to two
// parents, so task_links has rows, all in the file (every process that
// used it has closed it, and a last checkpoint makes sure), and the pages
// to zero.
func (k *kcell) setupDamage(ctx context.Context, python bool) *damageRound {
	k.damageN++
	d := &damageRound{slug: fmt.Sprintf("d%d", k.damageN), python: python}
	d.db = filepath.Join(k.home, "kanban", "boards", d.slug, "kanban.db")
	if out, err := k.command(ctx, "kanban", "boards", "create", d.slug).CombinedOutput(); err != nil {
		k.problem("damage board: boards create: %v: %s", err, out)
		return nil
	}
	ids := make([]string, 0, 2)
	for i := 0; i < 2+damageLinks; i++ {
		args := []string{"--board", d.slug, "create", fmt.Sprintf("linked %d", i), "--json"}
		for _, p := range ids {
			args = append(args, "--parent", p)
		}
		out, err := k.command(ctx, "kanban", args...).Output()
		m := idRe.FindStringSubmatch(string(out))
		if err != nil || m == nil {
			k.problem("damage board: create: %v: %s", err, stderrText(err))
			return nil
		}
		if len(ids) < 2 {
			ids = append(ids, m[1])
		}
	}
	if err := checkpointTruncate(d.db); err != nil {
		k.problem("damage board: checkpoint: %v", err)
		return nil
	}
	var err error
	if d.pages, d.pageSize, err = fixtures.TablePages(d.db, "task_links"); err != nil {
		k.problem("damage board: %v", err)
		return nil
	}
	k.mu.Lock()
	k.damaged[d.slug] = d.db
	k.mu.Unlock()
	k.dmg.Rounds++
	return d
}

// checkpointTruncate folds a WAL board's -wal into its file (a DELETE
// board has nothing to fold).
func checkpointTruncate(db string) error {
	c, err := sqlite3.OpenFlags(db, sqlite3.OPEN_READWRITE)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.BusyTimeout(10 * time.Second); err != nil {
		return err
	}
	_, _, err = c.WALCheckpoint("main", sqlite3.CHECKPOINT_TRUNCATE)
	return err
}

// damager is the storm's actor for a damage round: it zeroes the pages,
// waits for the marker, lets in-flight transactions settle, and takes the
// board's hash and acknowledged writes as the baseline nothing of ours
// may move past.
func (s *storm) damager() {
	k, d := s.k, s.o.damage
	if !sleepOr(s.stop, k.rnd.between(damageMinAt, damageMaxAt)) {
		return
	}
	if err := fixtures.ZeroPages(d.db, d.pageSize, d.pages...); err != nil {
		k.problem("damage board %s: zero pages: %v", d.slug, err)
		return
	}
	d.damagedAt = time.Now()
	k.logf("damaged %d page(s) of task_links on %s", len(d.pages), d.slug)
	for d.marker == nil {
		if !sleepOr(s.stop, 10*time.Millisecond) {
			return
		}
		d.marker, _ = board.ReadDamage(d.db)
	}
	d.markedAt = time.Now()
	if !sleepOr(s.stop, damageSettle) {
		return
	}
	h, err := board.ContentHash(d.db)
	if err != nil {
		k.problem("damage board %s: hash: %v", d.slug, err)
		return
	}
	d.hash, d.observed = h, true
	d.ours, d.py = k.damageAcks(d.slug)
}

// damageAcks counts the acknowledged writes on slug so far: kanbanshim's
// (CLI writers and the store-backed fake workers) and Python's.
func (k *kcell) damageAcks(slug string) (ours, py int) {
	acks, err := readAcks(k.ackDir)
	if err != nil {
		k.problem("read ack logs: %v", err)
		return 0, 0
	}
	for _, a := range acks {
		switch {
		case a.board != slug:
		case writerType(a.writer) == "python":
			py++
		default:
			ours++
		}
	}
	return ours, py
}

// whoRe takes the verb out of a marker's command: the first word after
// the program that is not an option or an option's value.
var whoRe = regexp.MustCompile(`^(?:--?[a-z-]+(?:=\S+)?\s+(?:[^-\s]\S*\s+)?)*([a-z][a-z-]*)`)

// detector names the command that recorded a marker ("comment",
// "daemon", "apply", ...).
func detector(d *board.Damage) string {
	if d == nil || len(d.Command) < 2 {
		return "unknown"
	}
	prog := filepath.Base(d.Command[0])
	rest := ""
	for _, a := range d.Command[1:] {
		rest += a + " "
	}
	if m := whoRe.FindStringSubmatch(rest); m != nil {
		return prog + " " + m[1]
	}
	return prog
}

// damagePhase runs after checkRound (every process of the cell stopped):
// the checks of the marked board, its repair, and its retirement.
func (k *kcell) damagePhase(ctx context.Context, d *damageRound) {
	if d == nil {
		return
	}
	defer k.retireDamage(ctx, d)
	if d.damagedAt.IsZero() {
		k.note("damage board %s: the storm ended before the damage", d.slug)
		return
	}
	if d.marker != nil {
		k.dmg.DetectedInStorm++
		k.dmg.LatencyMs = append(k.dmg.LatencyMs, int(d.markedAt.Sub(d.damagedAt)/time.Millisecond))
		if k.dmg.DetectedBy == nil {
			k.dmg.DetectedBy = map[string]int{}
		}
		k.dmg.DetectedBy[detector(d.marker)]++
	} else if !k.harnessDetects(ctx, d) {
		return
	}
	if d.observed {
		k.dmg.Observed++
		ours, py := k.damageAcks(d.slug)
		k.dmg.PythonWritesAfter += py - d.py
		if n := ours - d.ours; n > 0 {
			k.dmg.KanbanshimWritesAfter += n
			k.problem("damage board %s: %d write(s) by kanbanshim processes acknowledged after the board was marked damaged", d.slug, n)
		}
		h, err := board.ContentHash(d.db)
		switch {
		case err != nil:
			k.problem("damage board %s: hash: %v", d.slug, err)
		case !d.python:
			k.dmg.ByteChecks++
			if h != d.hash {
				k.problem("damage board %s: its db or -wal changed after it was marked damaged, with no Python writer on it", d.slug)
			}
		case h != d.hash:
			k.dmg.PythonChanged++
		}
	}
	k.repairDamage(ctx, d)
}

// harnessDetects runs kanban-recover check on a board nobody marked
// during the storm: the board is idle now, so check must confirm the
// damage and mark it.
func (k *kcell) harnessDetects(ctx context.Context, d *damageRound) bool {
	out, err := k.command(ctx, "kanban-recover", "--db", d.db, "check", "--json").Output()
	var rep struct {
		Healthy bool          `json:"healthy"`
		Marker  *board.Damage `json:"damage_marker"`
	}
	if jerr := json.Unmarshal(out, &rep); jerr != nil {
		k.problem("damage board %s: kanban-recover check: %v (%v): %s", d.slug, err, jerr, stderrText(err))
		return false
	}
	if rep.Healthy || rep.Marker == nil {
		k.problem("damage board %s: its task_links pages are zeroed, but kanban-recover check says healthy=%v and marked=%v", d.slug, rep.Healthy, rep.Marker != nil)
		return false
	}
	k.dmg.DetectedAfter++
	return true
}

// repairDamage runs kanban-recover auto, as the marker's message says:
// the board must come back repaired, unmarked, sound, with every
// acknowledged write on it.
func (k *kcell) repairDamage(ctx context.Context, d *damageRound) {
	out, err := k.command(ctx, "kanban-recover", "--db", d.db, "auto", "--json").Output()
	var rep struct {
		autoReport
		WithLoss bool `json:"with_loss"`
		Loss     *struct {
			Pages int `json:"pages_unreadable"`
		} `json:"loss"`
		Cleared *board.Damage `json:"damage_marker_cleared"`
	}
	if jerr := json.Unmarshal(out, &rep); jerr != nil {
		k.problem("damage board %s: kanban-recover auto: %v (%v): %s", d.slug, err, jerr, stderrText(err))
		return
	}
	if rep.Status != "repaired" {
		k.problem("damage board %s: kanban-recover auto says %s (exit %v), want repaired: %s", d.slug, rep.Status, err, rep.describe())
		return
	}
	k.dmg.Repaired++
	if rep.WithLoss {
		k.dmg.RepairedWithLoss++
	}
	if rep.Loss != nil {
		k.dmg.PagesUnreadable += rep.Loss.Pages
	}
	if m, _ := board.ReadDamage(d.db); m != nil || rep.Cleared == nil {
		k.problem("damage board %s: repaired, but the marker is %v (report: cleared %v)", d.slug, m != nil, rep.Cleared != nil)
		return
	}
	k.dmg.MarkersCleared++
	facts, integrity, err := readBoard(d.db)
	if err != nil || integrity != "ok" {
		k.problem("damage board %s after the repair: %v %s", d.slug, err, integrity)
		return
	}
	acks, err := readAcks(k.ackDir)
	if err != nil {
		k.problem("read ack logs: %v", err)
		return
	}
	if missing := missingAcks(facts, acks, d.slug); len(missing) > 0 {
		k.lost += len(missing)
		k.problem("damage board %s: %d acknowledged writes lost by the repair (only task_links was damaged), e.g. %s",
			d.slug, len(missing), missing[0])
	}
}

// retireDamage archives the damage board (kanban boards rm), so later
// rounds' daemons do not keep a list of them.
func (k *kcell) retireDamage(ctx context.Context, d *damageRound) {
	if len(k.problems) > 0 {
		return // kept as it is, for inspection
	}
	if out, err := k.command(ctx, "kanban", "boards", "rm", d.slug).CombinedOutput(); err != nil {
		k.note("boards rm %s: %v: %s", d.slug, err, out)
	}
	k.mu.Lock()
	delete(k.damaged, d.slug)
	k.retired[d.slug] = true
	k.mu.Unlock()
}
