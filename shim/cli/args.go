package cli

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/shim/home"
)

// global are the options that come before the action.
type global struct {
	board          *string
	allowNetworkFS bool
	help           bool
	version        bool
}

// parseGlobal reads `[--board SLUG] [--allow-network-fs] [-h] [--version]` up to the
// action; everything from the action on is returned untouched.
func parseGlobal(args []string) (global, []string, error) {
	var g global
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--board":
			if i+1 >= len(args) {
				return g, nil, usagef("kanban: error: argument --board: expected one argument")
			}
			v := args[i+1]
			g.board = &v
			i++
		case strings.HasPrefix(arg, "--board="):
			v := strings.TrimPrefix(arg, "--board=")
			g.board = &v
		case arg == "--allow-network-fs":
			g.allowNetworkFS = true
		case arg == "-h" || arg == "--help":
			g.help = true
		case arg == "--version":
			g.version = true
		case arg == "--":
			return g, args[i+1:], nil
		case strings.HasPrefix(arg, "-") && arg != "-":
			return g, nil, usagef("kanban: error: unrecognized arguments: %s (options before the action are --board and --allow-network-fs)", arg)
		default:
			return g, args[i:], nil
		}
	}
	return g, nil, nil
}

// expandNargs turns argparse's nargs='+' options (`--ids a b c`) into
// repeated flags (`--ids a --ids b --ids c`) that pflag understands: the
// values run until the next token that looks like an option.
func expandNargs(args []string, multi []string) []string {
	if len(multi) == 0 {
		return args
	}
	var out []string
	for i := 0; i < len(args); i++ {
		out = append(out, args[i])
		if args[i] == "--" {
			return append(out, args[i+1:]...)
		}
		if !contains(multi, args[i]) {
			continue
		}
		flag, first := args[i], true
		for i+1 < len(args) && !isOptionLike(args[i+1]) {
			if !first {
				out = append(out, flag)
			}
			out = append(out, args[i+1])
			first = false
			i++
		}
	}
	return out
}

func isOptionLike(s string) bool {
	if len(s) < 2 || s[0] != '-' {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err != nil // negative numbers are values, as in argparse
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// optString is a string flag that remembers whether it was given, for
// argparse's "default None" options.
type optString struct{ v *string }

func (o *optString) String() string {
	if o.v == nil {
		return ""
	}
	return *o.v
}
func (o *optString) Set(s string) error { o.v = &s; return nil }
func (o *optString) Type() string       { return "string" }

// optInt is an integer flag with argparse's "default None".
type optInt struct{ v *int64 }

func (o *optInt) String() string {
	if o.v == nil {
		return ""
	}
	return strconv.FormatInt(*o.v, 10)
}
func (o *optInt) Set(s string) error {
	n, err := parsePyInt(s)
	if err != nil {
		return err
	}
	o.v = &n
	return nil
}
func (o *optInt) Type() string { return "int" }

func pyq(s string) string { return "'" + s + "'" }

// choiceString is a string flag restricted to choices.
type choiceString struct {
	v       *string
	choices []string
}

func (c *choiceString) String() string {
	if c.v == nil {
		return ""
	}
	return *c.v
}
func (c *choiceString) Set(s string) error {
	if !contains(c.choices, s) {
		q := make([]string, len(c.choices))
		for i, x := range c.choices {
			q[i] = pyq(x)
		}
		return fmt.Errorf("invalid choice: %s (choose from %s)", pyq(s), strings.Join(q, ", "))
	}
	c.v = &s
	return nil
}
func (c *choiceString) Type() string { return "string" }

// Choices are the accepted values (for shell completion).
func (c *choiceString) Choices() []string { return c.choices }

// ParseDuration is upstream's --max-runtime parser: 30s, 5m, 2h, 1d or a
// bare number of seconds; "" is no limit.
func ParseDuration(val string) (*int64, error) {
	if val == "" {
		return nil, nil
	}
	s := strings.ToLower(strings.TrimSpace(val))
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return &n, nil
	}
	units := map[byte]float64{'s': 1, 'm': 60, 'h': 3600, 'd': 86400}
	if s == "" || units[s[len(s)-1]] == 0 {
		return nil, fmt.Errorf("malformed duration %s (expected 30s, 5m, 2h, 1d, or a number)", pyq(val))
	}
	f, err := strconv.ParseFloat(s[:len(s)-1], 64)
	secs := f * units[s[len(s)-1]]
	if err != nil || math.IsNaN(secs) || math.Abs(secs) >= 9.2e18 {
		return nil, fmt.Errorf("malformed duration %s", pyq(val))
	}
	n := int64(secs)
	return &n, nil
}

// setsDir is where a board's sets (board.Quarantine, board.Snapshot)
// live: the board's directory, or the pinned db's (HERMES_KANBAN_DB).
// kanban-recover and kanban-migrate resolve the same (home.Target.Dir).
func setsDir(b *home.Boards, slug, db string) string {
	if b.Env.Getenv("HERMES_KANBAN_DB") != "" {
		return filepath.Dir(db)
	}
	return b.Dir(slug)
}

// quarantineDir is <board dir>/quarantine, or next to a pinned db.
func quarantineDir(b *home.Boards, slug, db string) string {
	return filepath.Join(setsDir(b, slug, db), board.Quarantine.Dir)
}

// parsePyInt parses an integer the way Python's int() does for argparse:
// base 10 only (so "010" is 10 and "0x10" is refused), "_" allowed
// between digits, surrounding whitespace ignored.
func parsePyInt(s string) (int64, error) {
	t := strings.TrimSpace(s)
	digits := strings.TrimLeft(t, "+-")
	ok := digits != "" && digits[0] != '_' && digits[len(digits)-1] != '_' && !strings.Contains(digits, "__") && len(t)-len(digits) <= 1
	if ok {
		n, err := strconv.ParseInt(strings.ReplaceAll(t, "_", ""), 10, 64)
		if err == nil {
			return n, nil
		}
	}
	return 0, fmt.Errorf("invalid int value: %s", pyq(s))
}

// intFlag is an integer flag with a default, parsed like parsePyInt
// (pflag's own integer flags accept 0x10 and read 010 as octal).
type intFlag struct{ p *int64 }

// intVar registers an intFlag on fs.
func intVar(fs *pflag.FlagSet, p *int64, name string, def int64, usage string) {
	*p = def
	fs.Var(&intFlag{p: p}, name, usage)
}

func (f *intFlag) String() string { return strconv.FormatInt(*f.p, 10) }
func (f *intFlag) Type() string   { return "int" }
func (f *intFlag) Set(s string) error {
	n, err := parsePyInt(s)
	if err != nil {
		return err
	}
	*f.p = n
	return nil
}
