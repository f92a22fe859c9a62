package main

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Kill targets and phases, as counted in the figures.
const (
	tgtWriter       = "writer"       // a kanban CLI writer
	tgtPython       = "python"       // a Python sqlite3 writer
	tgtWorker       = "worker"       // a fake hermes worker
	tgtSupervisor   = "supervisor"   // kanban supervise
	tgtDispatcher   = "dispatcher"   // kanban daemon or a one-shot kanban dispatch
	tgtCheckpointer = "checkpointer" // the raw-connection checkpointer
	tgtMigrate      = "migrate"      // kanban-migrate apply
	tgtRecover      = "recover"      // kanban-recover auto or swap

	phInTxn      = "in_txn"     // inside a write transaction (the process announced it)
	phRandom     = "random"     // at a random moment
	phCheckpoint = "checkpoint" // inside a wal_checkpoint call
	phMigrate    = "migrate"    // kanban-migrate at one of its points, or at random
	phSwap       = "swap"       // kanban-recover swap at random or in its commit
)

// counts is a two-level tally.
type counts map[string]map[string]int

func (c counts) add(a, b string, n int) {
	if c[a] == nil {
		c[a] = map[string]int{}
	}
	c[a][b] += n
}

func (c counts) total() int {
	n := 0
	for _, m := range c {
		for _, v := range m {
			n += v
		}
	}
	return n
}

// byFirst and bySecond fold a tally onto one of its levels.
func (c counts) byFirst() map[string]int {
	out := map[string]int{}
	for a, m := range c {
		for _, v := range m {
			out[a] += v
		}
	}
	return out
}

func (c counts) bySecond() map[string]int {
	out := map[string]int{}
	for _, m := range c {
		for b, v := range m {
			out[b] += v
		}
	}
	return out
}

// cellReport is the figures of one scenario in one journal mode.
type cellReport struct {
	Scenario string  `json:"scenario"`
	Mode     string  `json:"mode"`
	Seed     int64   `json:"seed"`
	Seconds  float64 `json:"seconds"`
	Rounds   int     `json:"rounds"`
	// RoundKinds counts rounds by what they included (storm, migrate, swap).
	RoundKinds map[string]int `json:"round_kinds,omitempty"`

	AckedTotal    int            `json:"writes_acknowledged"`
	AckedByWriter map[string]int `json:"acknowledged_by_writer"`
	AckedByKind   map[string]int `json:"acknowledged_by_kind"`
	// Acked is writer type -> write kind -> count.
	Acked counts `json:"acknowledged"`

	KillsTotal    int            `json:"kills_delivered"`
	KillsByTarget map[string]int `json:"kills_by_target"`
	KillsByPhase  map[string]int `json:"kills_by_phase"`
	// Kills is target -> phase -> count.
	Kills counts `json:"kills"`

	Events map[string]int `json:"events,omitempty"` // other things that happened (swaps, refusals, migrations, ...)
	// Damage is the damage rounds' figures (boards damaged on purpose,
	// accounted apart from the zero-corruption checks).
	Damage *damageFigures `json:"damage,omitempty"`

	Corruptions int       `json:"corruptions_found"`
	Lost        int       `json:"acknowledged_writes_lost"`
	Failures    []failure `json:"failed_rounds,omitempty"`
	Problems    []string  `json:"problems"`
	Passed      bool      `json:"passed"`
	KeptDirs    []string  `json:"kept_dirs,omitempty"`
}

// failure is one round whose checks failed: what it did, the seed of its
// home, and what the checks found.
type failure struct {
	Round       int      `json:"round"`
	Kinds       string   `json:"kinds"`
	Seed        int64    `json:"home_seed"`
	Corruptions int      `json:"corruptions_found"`
	Lost        int      `json:"acknowledged_writes_lost"`
	Problems    []string `json:"problems"`
	Dir         string   `json:"dir"`
}

// tally is a cell's live counters, shared by its goroutines.
type tally struct {
	mu     sync.Mutex
	acked  counts
	kills  counts
	events map[string]int
}

func newTally() *tally {
	return &tally{acked: counts{}, kills: counts{}, events: map[string]int{}}
}

func (t *tally) ack(writer, kind string) {
	t.mu.Lock()
	t.acked.add(writer, kind, 1)
	t.mu.Unlock()
}

func (t *tally) kill(target, phase string) {
	t.mu.Lock()
	t.kills.add(target, phase, 1)
	t.mu.Unlock()
}

func (t *tally) event(name string) {
	t.mu.Lock()
	t.events[name]++
	t.mu.Unlock()
}

func (t *tally) killTotal() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.kills.total()
}

// fill copies the counters into r.
func (t *tally) fill(r *cellReport) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r.Acked, r.Kills = t.acked, t.kills
	r.AckedTotal, r.AckedByWriter, r.AckedByKind = t.acked.total(), t.acked.byFirst(), t.acked.bySecond()
	r.KillsTotal, r.KillsByTarget, r.KillsByPhase = t.kills.total(), t.kills.byFirst(), t.kills.bySecond()
	r.Events = map[string]int{}
	for k, v := range t.events {
		r.Events[k] = v
	}
}

// runReport is the whole run, as -report writes it.
type runReport struct {
	Seed    int64             `json:"seed"`
	Budget  string            `json:"budget"`
	Control bool              `json:"control"`
	Started string            `json:"started"`
	Seconds float64           `json:"seconds"`
	SQLite  map[string]string `json:"sqlite"`
	Cells   []*cellReport     `json:"cells"`

	Totals struct {
		Acked       int `json:"writes_acknowledged"`
		Kills       int `json:"kills_delivered"`
		Rounds      int `json:"rounds"`
		Corruptions int `json:"corruptions_found"`
		Lost        int `json:"acknowledged_writes_lost"`
	} `json:"totals"`
	Passed bool `json:"passed"`
}

func (r *runReport) total() {
	r.Passed = true
	for _, c := range r.Cells {
		r.Totals.Acked += c.AckedTotal
		r.Totals.Kills += c.KillsTotal
		r.Totals.Rounds += c.Rounds
		r.Totals.Corruptions += c.Corruptions
		r.Totals.Lost += c.Lost
		r.Passed = r.Passed && c.Passed
	}
}

func printSummary(r *runReport) {
	fmt.Printf("\n== summary (seed %d, %0.1f s)\n", r.Seed, r.Seconds)
	fmt.Printf("   %-16s %-7s %7s %7s %6s %6s %11s %5s  %s\n", "scenario", "mode", "seconds", "rounds", "acked", "kills", "corruptions", "lost", "verdict")
	for _, c := range r.Cells {
		v := "PASS"
		if !c.Passed {
			v = "FAIL"
		}
		fmt.Printf("   %-16s %-7s %7.1f %7d %6d %6d %11d %5d  %s\n", c.Scenario, c.Mode, c.Seconds, c.Rounds, c.AckedTotal, c.KillsTotal, c.Corruptions, c.Lost, v)
	}
	for _, c := range r.Cells {
		if c.KillsTotal == 0 && c.AckedTotal == 0 {
			continue
		}
		fmt.Printf("   %s/%s kills: %s\n", c.Scenario, c.Mode, fmtTally(c.Kills))
		fmt.Printf("   %s/%s acknowledged: %s\n", c.Scenario, c.Mode, fmtTally(c.Acked))
		if len(c.Events) > 0 {
			fmt.Printf("   %s/%s events: %s\n", c.Scenario, c.Mode, fmtCounts(c.Events))
		}
		if d := c.Damage; d != nil {
			fmt.Printf("   %s/%s damage: %d round(s), detected %d in the storm (%s; marker after %v ms) and %d by the harness; "+
				"kanbanshim writes after the marker %d (refused %d), Python writes after it %d; byte-identical checks %d; "+
				"repaired %d (%d with loss, %d pages unreadable), markers cleared %d\n",
				c.Scenario, c.Mode, d.Rounds, d.DetectedInStorm, fmtCounts(d.DetectedBy), d.LatencyMs, d.DetectedAfter,
				d.KanbanshimWritesAfter, d.Refused, d.PythonWritesAfter, d.ByteChecks, d.Repaired, d.RepairedWithLoss, d.PagesUnreadable, d.MarkersCleared)
		}
	}
	fmt.Printf("   total: %d writes acknowledged, %d kills, %d rounds, %d corruptions found, %d acknowledged writes lost\n",
		r.Totals.Acked, r.Totals.Kills, r.Totals.Rounds, r.Totals.Corruptions, r.Totals.Lost)
}

// fmtTally renders "a(b=1 c=2) d(...)".
func fmtTally(c counts) string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s(%s)", k, fmtCounts(c[k])))
	}
	return strings.Join(parts, " ")
}

func fmtCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}
