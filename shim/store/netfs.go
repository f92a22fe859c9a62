package store

import "fmt"

// NetworkFSError refuses a WAL board on a filesystem that cannot share
// the WAL index between processes (field incidents §4.5).
type NetworkFSError struct {
	Path string
	FS   string
}

func (e *NetworkFSError) Error() string {
	return fmt.Sprintf("refusing to open WAL board %s on %s: WAL needs shared memory and byte-range locks that %s does not provide across hosts or VMs, and boards corrupt there; move the board to a local disk (or point HERMES_KANBAN_DB at one), convert it with `kanban-migrate apply --journal delete`, or pass --allow-network-fs if every process runs on this one host", e.Path, e.FS, e.FS)
}

func (e *NetworkFSError) Unwrap() error { return ErrNetworkFS }
