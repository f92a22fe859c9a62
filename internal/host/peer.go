// Package host probes the machine a board lives on, for the choices that
// keep a shared SQLite file safe: which SQLite the local hermes Python
// links (the WAL-reset bug decides whether a new board may use WAL) and
// which filesystem holds a board (WAL cannot be shared over network or VM
// filesystems). kanban and kanban-migrate ask the same questions here.
package host

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// PeerInfo is what we learned about the SQLite of the local hermes Python,
// the process most likely to share a board with us.
type PeerInfo struct {
	Python   string // interpreter asked
	Version  string // its sqlite3.sqlite_version ("" when unknown)
	Affected bool   // the version has the WAL-reset bug
}

// EnvPeerSQLite names the SQLite version the hermes Python that shares
// the boards links, for operators whose hermes runs elsewhere (a
// container); "none" says no Python shares them.
const EnvPeerSQLite = "KANBANSHIM_PEER_SQLITE"

// PeerFromEnv is what EnvPeerSQLite (read through getenv) says about the
// peer; ok is false when it is not set, and the interpreter must be
// asked (DetectPeerSQLite).
func PeerFromEnv(getenv func(string) string) (p PeerInfo, ok bool) {
	switch v := strings.TrimSpace(getenv(EnvPeerSQLite)); v {
	case "":
		return PeerInfo{}, false
	case "none":
		return PeerInfo{Python: EnvPeerSQLite}, true
	default:
		return PeerInfo{Python: EnvPeerSQLite, Version: v, Affected: WALResetAffected(v)}, true
	}
}

// WALResetAffected reports whether a SQLite version has the WAL-reset bug:
// 3.7.0 through 3.51.2, except the backports 3.50.7 and 3.44.6.
func WALResetAffected(version string) bool {
	parts := strings.SplitN(strings.TrimSpace(version), ".", 4)
	if len(parts) < 3 {
		return false
	}
	var v [3]int
	for i := range v {
		n, err := strconv.Atoi(parts[i])
		if err != nil {
			return false
		}
		v[i] = n
	}
	key := v[0]*1_000_000 + v[1]*1_000 + v[2]
	switch {
	case key == 3_050_007 || key == 3_044_006:
		return false
	case key >= 3_007_000 && key <= 3_051_002:
		return true
	}
	return false
}

// DetectPeerSQLite asks the interpreter behind HERMES_BIN (or `hermes` on
// PATH; else python3) for its SQLite version. It costs a process spawn,
// so it runs only when a board is created. Any failure means "no peer".
func DetectPeerSQLite(ctx context.Context) PeerInfo {
	py := peerPython()
	if py == "" {
		return PeerInfo{}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", "import sqlite3; print(sqlite3.sqlite_version)").Output()
	if err != nil {
		return PeerInfo{Python: py}
	}
	v := strings.TrimSpace(string(out))
	return PeerInfo{Python: py, Version: v, Affected: WALResetAffected(v)}
}

// peerPython finds the Python interpreter hermes runs on.
func peerPython() string {
	for _, cand := range []string{os.Getenv("HERMES_BIN"), "hermes"} {
		if cand == "" {
			continue
		}
		p := cand
		if !strings.ContainsRune(cand, filepath.Separator) {
			lp, err := exec.LookPath(cand)
			if err != nil {
				continue
			}
			p = lp
		}
		if py := shebangPython(p); py != "" {
			return py
		}
	}
	if p, err := exec.LookPath("python3"); err == nil {
		return p
	}
	return ""
}

// shebangPython reads "#!/path/python" or "#!/usr/bin/env python3" from a
// launcher script. A kanbanshim binary installed as hermes has none.
func shebangPython(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadBytes('\n')
	if !bytes.HasPrefix(line, []byte("#!")) {
		return ""
	}
	fields := strings.Fields(string(line[2:]))
	if len(fields) == 0 {
		return ""
	}
	if filepath.Base(fields[0]) == "env" {
		for _, f := range fields[1:] {
			if !strings.HasPrefix(f, "-") {
				if lp, err := exec.LookPath(f); err == nil {
					return lp
				}
				return ""
			}
		}
		return ""
	}
	if strings.Contains(filepath.Base(fields[0]), "python") {
		return fields[0]
	}
	return ""
}
