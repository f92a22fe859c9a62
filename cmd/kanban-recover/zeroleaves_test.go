package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/kanbanshim/kanbanshim/fixtures"
)

// zeroLeaves is the script command
//
//	zeroleaves DB delete|wal TABLE N
//
// which builds a 300-task board at DB, zeroes N leaves in the middle of
// TABLE's b-tree (fixtures.ZeroLeaves) and writes the keys of the rows
// they held, sorted, one a line, to DB.lost: the true loss.
func zeroLeaves(args []string) error {
	if len(args) != 4 {
		return fmt.Errorf("usage: zeroleaves DB delete|wal TABLE N")
	}
	n, err := strconv.Atoi(args[3])
	if err != nil {
		return err
	}
	lost, _, err := fixtures.ZeroLeaves(context.Background(), args[0], fixtures.LeafDamage{Journal: args[1], Table: args[2], Leaves: n})
	if err != nil {
		return err
	}
	return os.WriteFile(args[0]+".lost", []byte(strings.Join(append(lost, ""), "\n")), 0o644)
}
