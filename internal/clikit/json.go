package clikit

import (
	"encoding/json"
	"io"
)

// PrintJSON writes v as the maintenance tools' documented --json shape:
// indented by two spaces, without HTML escaping, one trailing newline.
// (kanban's own --json output copies Python's json.dumps instead; see
// internal/py.)
func PrintJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// PrintResults writes the --json output of a verb run on several boards:
// with all (--all) one array of every board's object, [] for none;
// otherwise the one object, or nothing when there is none.
func PrintResults(w io.Writer, objs []any, all bool) error {
	switch {
	case all:
		if objs == nil {
			objs = []any{}
		}
		return PrintJSON(w, objs)
	case len(objs) == 1:
		return PrintJSON(w, objs[0])
	}
	return nil
}
