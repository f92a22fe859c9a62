package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// An acknowledged write is one whose writer saw it committed: a kanban
// CLI that exited 0 (its COMMIT returned), a Python commit() that
// returned, a worker's store call that returned success. The writer
// appends one line to its own ack log only after that, so every line is
// a promise the board must keep. A writer killed between the commit and
// the line simply leaves an unpromised row, which is allowed.
//
// A line is "kind \t board \t task \t marker \n", written with one
// write(2) on an O_APPEND file. The marker (mk-<writer>-<n>) is stored in
// the row the write made (a title, comment body, heartbeat note, block or
// unblock reason, result), so the check can find that exact row.

// Ack kinds.
const (
	ackCreate    = "create"
	ackComment   = "comment"
	ackClaim     = "claim"
	ackHeartbeat = "heartbeat"
	ackBlock     = "block"
	ackUnblock   = "unblock"
	ackComplete  = "complete"
	ackFixture   = "fixture" // a legacy board's own task, there before any migration
)

// ack is one line of an ack log.
type ack struct {
	writer, kind, board, task, marker string
}

var markerRe = regexp.MustCompile(`mk-[a-z0-9]+-[0-9]+`)

// ackLog is one writer's log.
type ackLog struct {
	f *os.File
}

func openAckLog(path string) (*ackLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &ackLog{f: f}, nil
}

// add appends one acknowledged write (a nil log drops it).
func (l *ackLog) add(kind, board, task, marker string) error {
	if l == nil {
		return nil
	}
	_, err := l.f.WriteString(kind + "\t" + board + "\t" + task + "\t" + marker + "\n")
	return err
}

func (l *ackLog) close() error { return l.f.Close() }

// readAcks reads every ack log in dir. The writer of a line is its file's
// name without ".log"; a last line without its newline (the writer died
// inside the write) is not a promise and is skipped.
func readAcks(dir string) ([]ack, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []ack
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
		complete := strings.HasSuffix(string(data), "\n")
		var lines []string
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		if !complete && len(lines) > 0 {
			lines = lines[:len(lines)-1]
		}
		for i, line := range lines {
			f := strings.Split(line, "\t")
			if len(f) != 4 {
				return nil, fmt.Errorf("%s line %d: malformed ack %q", e.Name(), i+1, line)
			}
			out = append(out, ack{writer: name, kind: f[0], board: f[1], task: f[2], marker: f[3]})
		}
	}
	return out, nil
}

// writerType groups writers for the figures: cli1 -> cli, py2r3 -> python,
// worker-123 -> worker.
func writerType(writer string) string {
	switch {
	case strings.HasPrefix(writer, "cli"):
		return "cli"
	case strings.HasPrefix(writer, "py"):
		return "python"
	case strings.HasPrefix(writer, "worker"), strings.HasPrefix(writer, "w"):
		return "worker"
	}
	return writer
}
