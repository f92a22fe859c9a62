package lockd

import (
	"os"
	"testing"

	"github.com/kanbanshim/kanbanshim/board"
)

func TestReadHolder(t *testing.T) {
	tests := []struct {
		name    string
		content *string // nil: no lease file
		wantOK  bool
		wantPID int
	}{
		{name: "missing"},
		{name: "empty", content: ptr("")},
		{name: "torn", content: ptr(`{"pid": 12`)},
		{name: "garbage", content: ptr("\x00\xff not json\n")},
		{name: "zero pid", content: ptr(`{"pid":0}` + "\n")},
		{name: "valid", content: ptr(`{"pid":42,"op":"x","since":"2026-11-27T14:03:00.5Z"}` + "\n"), wantOK: true, wantPID: 42},
		{name: "valid then junk", content: ptr(`{"pid":43}` + "\n{garbage"), wantOK: true, wantPID: 43},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := testDB(t)
			if tt.content != nil {
				if err := os.WriteFile(board.LeasePath(db), []byte(*tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			h, ok, err := ReadHolder(db)
			if err != nil || ok != tt.wantOK || h.PID != tt.wantPID {
				t.Errorf("ReadHolder = %+v, %v, %v; want pid %d, %v, nil", h, ok, err, tt.wantPID, tt.wantOK)
			}
		})
	}
}

func TestHolder_Command(t *testing.T) {
	tests := []struct {
		h    Holder
		want string
	}{
		{Holder{Argv: []string{"/usr/bin/kanban", "show", "t_1"}}, "kanban show t_1"},
		{Holder{Argv: []string{"kanban"}, Op: "x"}, "kanban"},
		{Holder{Op: "swap"}, "swap"},
		{Holder{}, ""},
	}
	for _, tt := range tests {
		if got := tt.h.Command(); got != tt.want {
			t.Errorf("%+v.Command() = %q, want %q", tt.h, got, tt.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }
