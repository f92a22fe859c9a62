package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Paths are the board directories the store needs.
type Paths struct {
	WorkspacesRoot  string
	AttachmentsRoot string
	LogsDir         string
}

// ResolveWorkspace returns (and creates) a task's working directory:
// scratch tasks get <workspaces root>/<id>; dir tasks their absolute path.
// Worktree tasks need git and a repository; their recorded path is
// returned as is (the dispatcher prepares worktrees).
func ResolveWorkspace(t *Task, p Paths) (string, error) {
	switch t.WorkspaceKind {
	case "", "scratch":
		dir := filepath.Join(p.WorkspacesRoot, t.ID)
		if t.WorkspacePath != nil && *t.WorkspacePath != "" {
			if !filepath.IsAbs(*t.WorkspacePath) {
				return "", invalid("scratch workspace path must be absolute, got %s", *t.WorkspacePath)
			}
			dir = *t.WorkspacePath
		}
		return dir, os.MkdirAll(dir, 0o755)
	case "dir":
		if t.WorkspacePath == nil || !filepath.IsAbs(*t.WorkspacePath) {
			return "", invalid("dir workspace for %s needs an absolute path", t.ID)
		}
		return *t.WorkspacePath, os.MkdirAll(*t.WorkspacePath, 0o755)
	case "worktree":
		if t.WorkspacePath != nil && *t.WorkspacePath != "" {
			return *t.WorkspacePath, nil
		}
		return "", fmt.Errorf("worktree workspace for %s has no path: set the board's default workdir (`kanban boards set-default-workdir`)", t.ID)
	}
	return "", invalid("unknown workspace kind %s", t.WorkspaceKind)
}

// isManagedScratch reports whether path is a scratch directory under the
// board's workspaces root (the only kind we ever delete).
func isManagedScratch(path string, p Paths) bool {
	if path == "" || p.WorkspacesRoot == "" {
		return false
	}
	rel, err := filepath.Rel(p.WorkspacesRoot, path)
	return err == nil && rel != "." && !strings.HasPrefix(rel, "..") && !strings.Contains(rel, string(filepath.Separator))
}

// scratchWorkspace is the task's managed scratch directory, or "".
func (s *Store) scratchWorkspace(t *Task) string {
	if t == nil || (t.WorkspaceKind != "scratch" && t.WorkspaceKind != "") || t.WorkspacePath == nil {
		return ""
	}
	if !isManagedScratch(*t.WorkspacePath, s.opts.Paths) {
		return ""
	}
	return *t.WorkspacePath
}

// cleanupWorkspace removes a finished task's managed scratch directory,
// unless a child still needs it for handoff artifacts.
func (s *Store) cleanupWorkspace(id string) {
	t, err := s.GetTask(id)
	if err != nil || t == nil {
		return
	}
	dir := s.scratchWorkspace(t)
	if dir == "" {
		return
	}
	kids, err := s.ChildIDs(id)
	if err != nil {
		return
	}
	for _, k := range kids {
		if st, _ := s.taskStatus(k); st != "done" && st != "archived" {
			return
		}
	}
	_ = os.RemoveAll(dir)
}
