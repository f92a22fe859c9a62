package migrate

import "strings"

// colDef is a column definition taken from our own canonical DDL text.
type colDef struct {
	name, def string
	addable   bool // can be added with ALTER TABLE … ADD COLUMN
}

// canonicalColumns returns the columns of a canonical table in physical
// order, parsed from the DDL in this package (not from user input). tasks
// includes completion_contract, which upstream appends in its migration.
func canonicalColumns(table string) []colDef {
	var ddl string
	for _, d := range append(append([]string{}, baseTables...), recipeTables...) {
		if tableNameOf(d) == table {
			ddl = d
		}
	}
	if ddl == "" {
		return nil
	}
	body := ddl[strings.Index(ddl, "(")+1 : strings.LastIndex(ddl, ")")]
	var out []colDef
	for _, part := range splitTopLevel(body) {
		part = strings.Join(strings.Fields(part), " ")
		first := strings.ToUpper(strings.Fields(part)[0])
		switch first {
		case "PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "CONSTRAINT":
			continue
		}
		up := strings.ToUpper(part)
		addable := !strings.Contains(up, "PRIMARY KEY") && !strings.Contains(up, "UNIQUE") &&
			(!strings.Contains(up, "NOT NULL") || strings.Contains(up, "DEFAULT"))
		out = append(out, colDef{name: strings.Fields(part)[0], def: part, addable: addable})
	}
	if table == "tasks" {
		out = append(out, colDef{name: "completion_contract", def: "completion_contract TEXT", addable: true})
	}
	return out
}

// tableNameOf extracts the table name from "CREATE TABLE IF NOT EXISTS x (".
func tableNameOf(ddl string) string {
	head := ddl[:strings.Index(ddl, "(")]
	f := strings.Fields(head)
	return f[len(f)-1]
}

// splitTopLevel splits on commas that are not inside parentheses.
func splitTopLevel(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if strings.TrimSpace(s[start:]) != "" {
		out = append(out, s[start:])
	}
	return out
}
