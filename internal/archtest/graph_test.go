package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/kanbanshim/kanbanshim/"

// helpers are the internal packages every layer may use. The test
// harnesses under internal/ (testhooks, scripthelp, badinput, torture,
// benchkit, pypeer, faultvfs, archtest) are not among them: they sit on
// top, and no shipped package may reach them.
var helpers = []string{
	"internal/clikit", "internal/fsutil", "internal/host", "internal/oneline", "internal/proc",
	"internal/py", "internal/shq", "internal/sqlitefile", "internal/sqlx",
}

// rules say, for each package, what its transitive dependencies inside
// the module may be (allow: nothing else; deny: anything but these).
var rules = []struct {
	pkg   string
	allow []string // besides helpers; nil with deny set means "anything but deny"
	deny  []string
}{
	{pkg: "internal/...", allow: []string{}}, // the helpers use helpers only
	{pkg: "board", allow: []string{}},
	{pkg: "lockd", allow: []string{"board"}},
	{pkg: "migrate", allow: []string{"board", "lockd"}},
	{pkg: "recover", allow: []string{"migrate", "board", "lockd"}},
	{pkg: "shim/home", allow: []string{"board", "lockd"}},
	{pkg: "shim/store", deny: []string{"shim/dispatch", "shim/cli", "recover", "recover/cli", "migrate/cli"}},
	{pkg: "shim/dispatch", deny: []string{"shim/cli", "recover/cli", "migrate/cli"}},
	{pkg: "recover/cli", deny: []string{"shim/store", "shim/dispatch", "shim/cli", "migrate/cli"}},
	{pkg: "migrate/cli", deny: []string{"shim/store", "shim/dispatch", "shim/cli", "recover", "recover/cli"}},
	// (internal/testhooks and internal/faultvfs: make release-check.)
	{pkg: "cmd/...", deny: []string{"internal/scripthelp", "internal/torture", "internal/badinput", "internal/pypeer", "fixtures/..."}},
}

// TestPackageGraph fails on any dependency the design forbids.
func TestPackageGraph(t *testing.T) {
	deps := listDeps(t)
	for _, r := range rules {
		matched := false
		for pkg, ds := range deps {
			if !matches(r.pkg, pkg) || (r.pkg == "internal/..." && !contains(helpers, pkg)) {
				continue
			}
			matched = true
			for _, d := range ds {
				if bad(r.allow, r.deny, d) {
					t.Errorf("%s depends on %s: not allowed (docs/DESIGN.md, Package graph)", pkg, d)
				}
			}
		}
		if !matched {
			t.Errorf("rule for %s matches no package: update the rules", r.pkg)
		}
	}
}

// bad reports whether dependency d breaks a rule.
func bad(allow, deny []string, d string) bool {
	if contains(helpers, d) {
		return false
	}
	if allow != nil {
		return !contains(allow, d)
	}
	for _, p := range deny {
		if matches(p, d) {
			return true
		}
	}
	return false
}

// listDeps maps every package of the module (non-test files, default
// build tags) to its transitive dependencies inside the module.
func listDeps(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Deps \" \"}}", "./...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := strings.TrimPrefix(f[0], module)
		deps[pkg] = []string{}
		for _, d := range f[1:] {
			if strings.HasPrefix(d, module) {
				deps[pkg] = append(deps[pkg], strings.TrimPrefix(d, module))
			}
		}
	}
	if len(deps) < 20 {
		t.Fatalf("go list found only %d packages", len(deps))
	}
	return deps
}

// matches reports whether pkg is pattern, or under it for "dir/...".
func matches(pattern, pkg string) bool {
	if dir, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == dir || strings.HasPrefix(pkg, dir+"/")
	}
	return pkg == pattern
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
