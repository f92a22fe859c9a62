//go:build !linux

package store

// FilesystemOf is only implemented on Linux; elsewhere nothing is known.
func FilesystemOf(dir string) FSInfo { return FSInfo{} }
