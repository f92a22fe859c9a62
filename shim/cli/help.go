package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

func topHelp(prog string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: %s [--board <slug>] [--allow-network-fs] <action> [action args]\n\n", prog)
	b.WriteString("Durable SQLite-backed task board shared across Hermes profiles (kanbanshim).\n\n")
	b.WriteString("Options (before the action):\n")
	b.WriteString("  --board <slug>       board to use (default: current board, `boards switch`, HERMES_KANBAN_BOARD)\n")
	b.WriteString("  --allow-network-fs   allow a WAL board on NFS/SMB/FUSE/9p/virtiofs (unsafe across hosts)\n")
	b.WriteString("  --version            print the version, commit and linked SQLite, and exit\n\nActions:\n")
	for _, v := range verbs {
		name := v.name
		if len(v.aliases) > 0 {
			name += " (" + strings.Join(v.aliases, ", ") + ")"
		}
		fmt.Fprintf(&b, "  %-22s %s\n", name, v.summary)
	}
	fmt.Fprintf(&b, "\nRun '%s <action> --help' for an action's options.\n", prog)
	return b.String()
}

func verbHelp(prog string, v *verbInfo, fs *pflag.FlagSet) string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: %s %s\n\n%s\n", prog, v.usage, v.summary)
	if u := fs.FlagUsages(); u != "" {
		fmt.Fprintf(&b, "\nOptions:\n%s", u)
	}
	if v.example != "" {
		fmt.Fprintf(&b, "\nExamples:\n%s\n", strings.TrimRight(v.example, "\n"))
	}
	return b.String()
}
