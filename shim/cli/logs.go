package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/spf13/pflag"
)

var (
	logVerb = &verbInfo{name: "log", usage: "log <task_id> [--tail N]", summary: "print a task's worker log",
		required: []string{"task_id"}, maxArgs: 1, new: func() command { return &logCmd{} },
		example: "  kanban log t_9fc1a3\n  kanban log t_9fc1a3 --tail 4096"}
)

type logCmd struct{ tail optInt }

func (c *logCmd) flags(fs *pflag.FlagSet) {
	fs.Var(&c.tail, "tail", "only print the last N bytes")
}

func (c *logCmd) run(ctx context.Context, a *App, args []string) error {
	// Upstream initialises the board before every verb; a damaged board
	// is reported here too.
	if _, err := a.open(ctx); err != nil {
		return err
	}
	id := args[0]
	text, ok := "", false
	if safeTaskID(id) {
		text, ok = readWorkerLog(filepath.Join(a.boards.LogsDir(a.board()), id+".log"), c.tail.v)
	}
	if !ok {
		return failf("(no log for %s — task may not have spawned yet)", id)
	}
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	_, err := io.WriteString(a.Stdout, text)
	return err
}

// readWorkerLog is upstream's read_worker_log: the whole log (a UTF-8 BOM
// dropped), or its last tail bytes with the partial first line skipped
// unless the window holds no newline at all. Undecodable bytes become
// U+FFFD. ok is false when the log cannot be read.
func readWorkerLog(path string, tail *int64) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		return "", false
	}
	if tail == nil {
		data, err := io.ReadAll(f)
		if err != nil {
			return "", false
		}
		return decodeUTF8(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))), true
	}
	size := st.Size()
	start := int64(0)
	if size > *tail {
		start = size - *tail
	}
	data, err := io.ReadAll(io.NewSectionReader(f, start, max(0, size-start)))
	if err != nil {
		return "", false
	}
	if start > 0 {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	return decodeUTF8(data), true
}

// decodeUTF8 is Python's bytes.decode("utf-8", errors="replace"): each
// maximal ill-formed subsequence becomes one U+FFFD.
func decodeUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r != utf8.RuneError || n > 1 {
			sb.Write(b[:n])
			b = b[n:]
			continue
		}
		sb.WriteRune(utf8.RuneError)
		b = b[illFormedLen(b):]
	}
	return sb.String()
}

// illFormedLen is the length of the maximal prefix of b that could start
// a well-formed sequence (at least 1): the unit Python replaces.
func illFormedLen(b []byte) int {
	lo, hi, need := byte(0x80), byte(0xBF), 0
	switch c := b[0]; {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		lo, need = 0xA0, 2
	case c == 0xED:
		hi, need = 0x9F, 2
	case c >= 0xE1 && c <= 0xEF:
		need = 2
	case c == 0xF0:
		lo, need = 0x90, 3
	case c == 0xF4:
		hi, need = 0x8F, 3
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	default:
		return 1
	}
	n := 1
	for ; n <= need && n < len(b); n++ {
		if b[n] < lo || b[n] > hi {
			break
		}
		lo, hi = 0x80, 0xBF
	}
	return n
}
