package host

// FSInfo describes the filesystem a board lives on.
type FSInfo struct {
	Name    string // "ext4", "nfs", "virtiofs", … or "" when unknown
	Network bool   // WAL is unsafe here: no shared memory or locks across hosts/VMs
}
