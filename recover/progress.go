package recover

import (
	"fmt"
	"io"
	"time"
)

// progressEvery is the shortest interval between two progress lines.
const progressEvery = 200 * time.Millisecond

// progress prints "pages scanned / total" lines to w at most every 200 ms.
// A nil *progress does nothing, so callers need no checks.
type progress struct {
	w       io.Writer
	total   int
	scanned int
	last    time.Time
	now     func() time.Time
}

func newProgress(w io.Writer, now func() time.Time) *progress {
	if w == nil {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	return &progress{w: w, now: now}
}

func (p *progress) start(total int) {
	if p != nil {
		p.total, p.last = total, p.now()
	}
}

// tick counts one page and prints when the interval has passed.
func (p *progress) tick() {
	if p == nil {
		return
	}
	p.scanned++
	if p.scanned%64 != 0 {
		return
	}
	if t := p.now(); t.Sub(p.last) >= progressEvery {
		p.last = t
		p.print()
	}
}

func (p *progress) done() {
	if p != nil {
		p.scanned = p.total
		p.print()
	}
}

func (p *progress) print() {
	fmt.Fprintf(p.w, "salvage: %d/%d pages scanned\n", min(p.scanned, p.total), p.total)
}
