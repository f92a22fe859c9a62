package cli

// bulkApply runs op per id, printing the ok line to stdout or the fail
// line to stderr; one failure does not stop the rest, and any failure
// makes the exit code 1. An error from op (upstream's raised exception)
// stops the loop and is returned.
func (a *App) bulkApply(ids []string, op func(id string) (bool, error), ok func(id string) string, fail func(id string) string) error {
	failed := false
	for _, id := range ids {
		done, err := op(id)
		if err != nil {
			return err
		}
		if done {
			a.out("%s", ok(id))
		} else {
			failed = true
			a.errLine("%s", fail(id))
		}
	}
	if failed {
		return errFailedQuietly
	}
	return nil
}

// workerRunID enforces upstream's worker scoping: inside a worker
// (HERMES_KANBAN_TASK set) only its own task may be mutated, and its run
// id guards the write.
func (a *App) workerRunID(id string) (*int64, error) {
	env := a.Env.Getenv("HERMES_KANBAN_TASK")
	if env != "" && env != id {
		return nil, failf("kanban: worker is scoped to task %s; refusing to mutate %s", env, id)
	}
	raw := a.Env.Getenv("HERMES_KANBAN_RUN_ID")
	if env != id || raw == "" {
		return nil, nil
	}
	var n int64
	for _, c := range raw {
		if c < '0' || c > '9' {
			return nil, nil
		}
		n = n*10 + int64(c-'0')
	}
	return &n, nil
}

// joinedWords is argparse nargs="*" words joined, nil when absent.
func joinedWords(words []string) *string {
	if len(words) == 0 {
		return nil
	}
	s := trimSpace(join(words, " "))
	return &s
}
