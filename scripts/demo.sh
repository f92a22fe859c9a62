#!/bin/sh
# make demo: a short kanbanshim session on a throwaway board. Every
# command is printed before it runs ("$ …"), shell-quoted, so each line
# can be pasted back into a shell (after the two exports printed first).
set -eu

# q ARG…: the arguments as one line of shell words: plain words as they
# are, anything else in single quotes (a ' inside becomes '\'').
q() {
	sep=
	for a in "$@"; do
		case $a in
		'' | *[!A-Za-z0-9_@%+=:,./-]*)
			a="'$(printf '%s' "$a" | sed "s/'/'\\\\''/g")'"
			;;
		esac
		printf '%s%s' "$sep" "$a"
		sep=' '
	done
	echo
}

# run CMD ARG…: print the command, then run it.
run() {
	printf '\n$ '
	q "$@"
	"$@"
}

# newid TITLE ARG…: run `kanban create` (printed like any other command)
# and set ID to the new task's id.
newid() {
	out=$(run kanban create "$@")
	printf '%s\n' "$out"
	ID=$(printf '%s\n' "$out" | sed -n 's/^Created \(t_[0-9a-f]*\) .*/\1/p')
	[ -n "$ID" ] || { echo "demo: no task id in: $out" >&2; exit 1; }
}

HERMES_HOME=$(mktemp -d "${TMPDIR:-/tmp}/kanbanshim-demo.XXXXXX")
PATH=$BIN:$PATH
export HERMES_HOME PATH
echo "# a throwaway board, and the kanban just built:"
printf '$ export HERMES_HOME=%s\n' "$(q "$HERMES_HOME")"
printf '$ export PATH=%s:"$PATH"\n' "$(q "$BIN")"
run mkdir -p "$HERMES_HOME/profiles/alice" "$HERMES_HOME/profiles/bob"
run touch "$HERMES_HOME/profiles/alice/config.yaml" "$HERMES_HOME/profiles/bob/config.yaml"
run kanban init
newid "Design the schema" --assignee alice --priority 2
A=$ID
newid "Implement the API" --assignee bob --parent "$A"
B=$ID
run kanban comment "$A" "keep it boring" --author bob
run kanban claim "$A" --ttl 600
run kanban heartbeat "$A" --note "tables drafted"
run kanban complete "$A" --result "schema in docs/schema.sql" --summary "schema done"
run kanban list
run kanban show "$B"
run kanban runs "$A"
run kanban stats
echo
echo "# the board stays in $HERMES_HOME; remove it when done:"
printf '$ rm -r %s\n' "$(q "$HERMES_HOME")"
