package clikit

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"
)

// NewFlagSet is a flag set that returns its errors instead of printing
// them or exiting: Program.Exit reports them once, as usage errors.
func NewFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// Line is a parsed maintenance command line (kanban-recover,
// kanban-migrate): `prog [options] verb [options] [args]`.
type Line[V Verb] struct {
	// Help: -h/--help before or after the verb, or the verb `help`. The
	// caller prints its help and exits 0; Verb and Args are unset.
	Help bool
	// Version: --version before the verb. The caller prints
	// PrintVersion's line and exits 0; Verb and Args are unset.
	Version bool
	// Verb is the verb named; Name the name as typed.
	Verb V
	Name string
	// Args are the positional arguments after the verb's options.
	Args []string
}

// ParseLine parses args (without the program name). Options before the
// verb go to a set global registers; the verb's to a set local registers
// once the verb is known (options both accept, such as board selection,
// are registered by both). -h/--help is added to both, --version to the
// options before the verb. Failures are
// usage errors whose messages name the table's verbs.
func ParseLine[V Verb](prog string, verbs Table[V], args []string, global func(*pflag.FlagSet), local func(V, *pflag.FlagSet)) (Line[V], error) {
	var line Line[V]
	gfs := NewFlagSet(prog)
	gfs.SetInterspersed(false)
	help := gfs.BoolP("help", "h", false, "show help")
	vers := gfs.Bool("version", false, "print the version and exit")
	global(gfs)
	if err := gfs.Parse(args); err != nil {
		return line, Usagef("%v", err)
	}
	rest := gfs.Args()
	if *vers {
		line.Version = true
		return line, nil
	}
	if *help || (len(rest) > 0 && rest[0] == "help") {
		line.Help = true
		return line, nil
	}
	if len(rest) == 0 {
		return line, Usagef("a verb is required (%s)", verbs.Choice())
	}
	v, ok := verbs.Lookup(rest[0])
	if !ok {
		return line, Usagef("unknown verb '%s' (choose %s)", rest[0], verbs.Choice())
	}
	fs := NewFlagSet(prog + " " + rest[0])
	vhelp := fs.BoolP("help", "h", false, "show help")
	local(v, fs)
	if err := fs.Parse(rest[1:]); err != nil {
		return line, Usagef("%s: %v", rest[0], err)
	}
	if *vhelp {
		line.Help = true
		return line, nil
	}
	line.Verb, line.Name, line.Args = v, rest[0], fs.Args()
	return line, nil
}

// Answer prints what a help or --version line asks for on w (help, or
// PrintVersion's line for prog). done is true when the line was one of
// them: the command is then over.
func (l Line[V]) Answer(w io.Writer, prog, help string) (done bool, err error) {
	switch {
	case l.Version:
		return true, PrintVersion(w, prog)
	case l.Help:
		_, err := fmt.Fprint(w, help)
		return true, err
	}
	return false, nil
}
