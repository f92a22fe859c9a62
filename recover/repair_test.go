package recover

import (
	"reflect"
	"testing"
)

func TestIndexOnlyNames(t *testing.T) {
	if got := indexOnlyNames([]string{"row 3 missing from index idx_a", "wrong # of entries in index idx_b", "row 4 missing from index idx_a"}); !reflect.DeepEqual(got, []string{"idx_a", "idx_b"}) {
		t.Errorf("index-only names = %q", got)
	}
	if got := indexOnlyNames([]string{"row 3 missing from index idx_a", "Page 7: btreeInitPage() returns error code 11"}); got != nil {
		t.Errorf("mixed damage must not be index-only: %q", got)
	}
	if got := indexOnlyNames([]string{"ok"}); got != nil {
		t.Errorf("ok is not index damage: %q", got)
	}
}
