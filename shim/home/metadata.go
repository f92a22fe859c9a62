package home

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/py"
)

// Meta is a board's board.json merged over defaults, as upstream reads it.
// Extra keys found in the file are kept in order and written back.
type Meta struct {
	Slug string
	obj  py.Object // everything but db_path, in file order
}

// metaKeys are the keys upstream always reports, in its order.
var metaKeys = []string{"slug", "name", "description", "icon", "color", "default_workdir", "project_id", "created_at", "archived"}

// DisplayName is upstream's default: "atm10-server" -> "Atm10 Server".
func DisplayName(slug string) string {
	var parts []string
	for _, p := range strings.Split(strings.ReplaceAll(slug, "_", "-"), "-") {
		if p != "" {
			parts = append(parts, strings.ToUpper(p[:1])+strings.ToLower(p[1:]))
		}
	}
	if len(parts) == 0 {
		return slug
	}
	return strings.Join(parts, " ")
}

// MetaPath is the board's board.json.
func (b *Boards) MetaPath(slug string) string { return filepath.Join(b.Dir(slug), "board.json") }

// ReadMeta returns board.json merged over defaults; a missing or malformed
// file yields the defaults, like upstream (it never fails).
func (b *Boards) ReadMeta(slug string) *Meta {
	s := orDefault(slug)
	o := py.Obj("slug", s, "name", DisplayName(s), "description", "", "icon", "", "color", "",
		"default_workdir", nil, "project_id", nil, "created_at", nil, "archived", false)
	if data, err := os.ReadFile(b.MetaPath(s)); err == nil {
		text := strings.TrimPrefix(string(data), "\ufeff")
		if v, err := py.Loads(text); err == nil {
			if raw, ok := v.(py.Object); ok {
				for _, m := range raw {
					if m.Key == "db_path" {
						continue
					}
					o = o.Set(m.Key, m.Value)
				}
				o = o.Set("slug", s)
			}
		}
	}
	return &Meta{Slug: s, obj: o}
}

// Get returns a metadata value.
func (m *Meta) Get(key string) any { v, _ := m.obj.Get(key); return v }

// Str returns a metadata value as a string ("" when absent or not a string).
func (m *Meta) Str(key string) string { s, _ := m.obj.String(key); return s }

// Name is the display name.
func (m *Meta) Name() string { return m.Str("name") }

// Archived reports the archived flag (any truthy value).
func (m *Meta) Archived() bool { return py.Truthy(m.Get("archived")) }

// Object returns the metadata plus db_path, as `boards list --json` prints.
func (m *Meta) Object(dbPath string) py.Object {
	o := append(py.Object{}, m.obj...)
	return o.Set("db_path", dbPath)
}

// MetaUpdate names the fields to change; nil leaves a field as it is.
type MetaUpdate struct {
	Name, Description, Icon, Color *string
	DefaultWorkdir, ProjectID      *string // "" clears
	Archived                       *bool
}

// WriteMeta creates or updates board.json atomically, keeping fields it
// does not name and setting created_at on first write.
func (b *Boards) WriteMeta(slug string, u MetaUpdate, now time.Time) (*Meta, error) {
	m := b.ReadMeta(slug)
	o := m.obj
	if u.Name != nil {
		n := strings.TrimSpace(*u.Name)
		if n == "" {
			n = DisplayName(m.Slug)
		}
		o = o.Set("name", n)
	}
	for k, v := range map[string]*string{"description": u.Description, "icon": u.Icon, "color": u.Color} {
		if v != nil {
			o = o.Set(k, *v)
		}
	}
	for k, v := range map[string]*string{"default_workdir": u.DefaultWorkdir, "project_id": u.ProjectID} {
		if v != nil {
			if *v == "" {
				o = o.Set(k, nil)
			} else {
				o = o.Set(k, *v)
			}
		}
	}
	if u.Archived != nil {
		o = o.Set("archived", *u.Archived)
	}
	if !py.Truthy(mustGet(o, "created_at")) {
		o = o.Set("created_at", now.Unix())
	}
	if err := os.MkdirAll(b.Dir(m.Slug), 0o755); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(b.MetaPath(m.Slug), []byte(py.Dumps(o, 2, false)+"\n")); err != nil {
		return nil, fmt.Errorf("write board.json: %w", err)
	}
	m.obj = o
	return m, nil
}

func mustGet(o py.Object, k string) any { v, _ := o.Get(k); return v }

// List returns default first, then every board directory holding a
// kanban.db or board.json, sorted case-insensitively; archived boards only
// when includeArchived.
func (b *Boards) List(includeArchived bool) []*Meta {
	out := []*Meta{b.ReadMeta(DefaultBoard)}
	ents, _ := os.ReadDir(b.BoardsRoot())
	sort.Slice(ents, func(i, j int) bool { return strings.ToLower(ents[i].Name()) < strings.ToLower(ents[j].Name()) })
	seen := map[string]bool{DefaultBoard: true}
	for _, de := range ents {
		if !de.IsDir() {
			continue
		}
		n, err := NormalizeSlug(de.Name())
		if err != nil || n == "" || seen[n] || !holdsBoard(filepath.Join(b.BoardsRoot(), de.Name())) {
			continue
		}
		m := b.ReadMeta(n)
		if m.Archived() && !includeArchived {
			continue
		}
		out = append(out, m)
		seen[n] = true
	}
	return out
}

// ErrNoBoard reports a board that does not exist.
var ErrNoBoard = errors.New("board does not exist")

// Remove archives a board directory to boards/_archived/<slug>-<ts>[-n]/
// or deletes it. It returns the new path ("" on delete).
func (b *Boards) Remove(slug string, archive bool, now time.Time) (string, error) {
	d := b.Dir(slug)
	if _, err := os.Stat(d); err != nil {
		return "", fmt.Errorf("board %s does not exist: %w", py.Repr(slug), ErrNoBoard)
	}
	if b.Current() == slug {
		if err := b.ClearCurrent(); err != nil {
			return "", err
		}
	}
	if !archive {
		return "", os.RemoveAll(d)
	}
	root := filepath.Join(b.BoardsRoot(), "_archived")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	target := filepath.Join(root, fmt.Sprintf("%s-%d", slug, now.Unix()))
	for n := 1; fileExists(target); n++ {
		target = filepath.Join(root, fmt.Sprintf("%s-%d-%d", slug, now.Unix(), n))
	}
	return target, os.Rename(d, target)
}
