package clikit

import "strings"

// Verb is an entry of a verb table: a name and its aliases.
type Verb interface {
	Name() string
	Aliases() []string
}

// Table is a binary's verbs in help order. It is an explicit list, never
// filled by init functions, so the order help shows is the order written
// here and not the order the files happen to be compiled in.
type Table[V Verb] []V

// Lookup finds the verb called name (or one of its aliases).
func (t Table[V]) Lookup(name string) (V, bool) {
	for _, v := range t {
		if v.Name() == name {
			return v, true
		}
		for _, a := range v.Aliases() {
			if a == name {
				return v, true
			}
		}
	}
	var zero V
	return zero, false
}

// Choice lists the verbs' names for a message: "check, salvage or diff".
func (t Table[V]) Choice() string {
	names := make([]string, len(t))
	for i, v := range t {
		names[i] = v.Name()
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
