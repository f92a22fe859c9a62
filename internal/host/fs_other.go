//go:build !linux

package host

// Filesystem is only implemented on Linux; elsewhere nothing is known
// (FSInfo{}: a local disk, so the network-filesystem guard stays quiet).
func Filesystem(dir string) FSInfo { return FSInfo{} }
