package badinput

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// Defect is a reported, not yet fixed breach of the bad-input rule. A
// case marked with it still runs every check; only problems of the
// defect's kinds are logged instead of failing the test, so the rest of
// the case keeps its teeth. KANBANSHIM_BADINPUT_STRICT=1 fails them too
// (for whoever fixes the defect).
type Defect struct {
	ID    string // as in docs/RELIABILITY.md "Bad input"
	What  string
	Kinds []Kind
	// Fixed defects keep their marker as history but no longer excuse
	// anything: their cases fail on any problem, as unmarked ones do.
	Fixed bool
}

// Strict reports whether known defects fail the suite.
func Strict() bool { return os.Getenv("KANBANSHIM_BADINPUT_STRICT") == "1" }

// Report fails t with problems; problems a known defect explains are only
// logged (unless Strict). A marked case whose defect no longer shows is
// logged so the marker can go.
func Report(t testing.TB, d *Defect, problems []Problem, context string) {
	t.Helper()
	if d != nil && d.Fixed {
		d = nil
	}
	var hard, known []string
	for _, p := range problems {
		if d != nil && slices.Contains(d.Kinds, p.Kind) && !Strict() {
			known = append(known, p.String())
		} else {
			hard = append(hard, p.String())
		}
	}
	if len(known) > 0 {
		t.Logf("known defect %s (%s): %s", d.ID, d.What, strings.Join(known, "; "))
	} else if d != nil && len(hard) == 0 {
		t.Logf("known defect %s does not show here any more: remove the marker", d.ID)
	}
	if len(hard) > 0 {
		t.Errorf("%s\n%s", context, strings.Join(hard, "\n"))
	}
}

// All is a case that shows several defects (nil for none).
func All(all ...*Defect) *Defect {
	var ds []*Defect
	for _, d := range all {
		if d != nil && !d.Fixed {
			ds = append(ds, d)
		}
	}
	switch len(ds) {
	case 0:
		return nil
	case 1:
		return ds[0]
	}
	var ids, whats []string
	var kinds []Kind
	for _, d := range ds {
		ids, whats, kinds = append(ids, d.ID), append(whats, d.What), append(kinds, d.Kinds...)
	}
	return &Defect{ID: strings.Join(ids, "+"), What: strings.Join(whats, "; "), Kinds: kinds}
}
