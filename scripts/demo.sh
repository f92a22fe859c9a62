#!/bin/sh
# make demo: a short kanbanshim session on a throwaway board.
set -eu
K="$BIN/kanban"
HERMES_HOME=$(mktemp -d "${TMPDIR:-/tmp}/kanbanshim-demo.XXXXXX")
export HERMES_HOME
mkdir -p "$HERMES_HOME/profiles/alice" "$HERMES_HOME/profiles/bob"
: > "$HERMES_HOME/profiles/alice/config.yaml"
: > "$HERMES_HOME/profiles/bob/config.yaml"
say() { printf '\n$ kanban %s\n' "$*"; "$K" "$@"; }
echo "demo board: HERMES_HOME=$HERMES_HOME"
say init
A=$("$K" create "Design the schema" --assignee alice --priority 2 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
B=$("$K" create "Implement the API" --assignee bob --parent "$A" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
say comment "$A" "keep it boring" --author bob
say claim "$A" --ttl 600
say heartbeat "$A" --note "tables drafted"
say complete "$A" --result "schema in docs/schema.sql" --summary "schema done"
say list
say show "$B"
say runs "$A"
say stats
echo
echo "board file: $HERMES_HOME/kanban.db (remove the directory when done)"
