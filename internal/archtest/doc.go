// Package archtest holds no code: its test keeps kanbanshim's package
// graph pointing down (docs/DESIGN.md, "Package graph"). It asks the go
// tool for every package's transitive dependencies and fails on an edge
// the design forbids, such as recover reaching shim/* or board reaching
// lockd.
package archtest
