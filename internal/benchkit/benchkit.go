// Package benchkit is what the end-to-end benchmarks share: the release
// binaries built once per test process, reference tools found on PATH
// (a benchmark whose reference is missing skips with one line), child
// processes measured for wall time, CPU time and peak memory (the child's
// maximum resident set from wait4's rusage), and paired measurements
// reported as same-run ratios — on a shared machine absolute times drift
// by half between runs, ratios much less.
//
// Sizes: 1,000 and 10,000 tasks by default, so `make test`'s 1x run stays
// quick; KANBANSHIM_BENCH_FULL=1 (`make bench`) adds 100,000.
// KANBANSHIM_BENCH_BIN=DIR benchmarks the binaries in DIR instead of
// building them (an older release, for before/after figures).
package benchkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Full reports whether the full-size benchmarks were asked for.
func Full() bool { return os.Getenv("KANBANSHIM_BENCH_FULL") == "1" }

// Sizes are the board sizes (in tasks) the scaling benchmarks run at.
func Sizes() []int {
	if Full() {
		return []int{1_000, 10_000, 100_000}
	}
	return []int{1_000, 10_000}
}

// Tool returns the path of a reference tool, or skips the benchmark with
// one line saying which tool is missing and how to get it.
func Tool(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		tb.Skipf("reference tool %s not installed (make deps installs it); no ratio measured", name)
	}
	return p
}

var builds struct {
	sync.Mutex
	dir  string
	bins map[string]string
}

// Binary returns the path of the release build of ./cmd/<name> (no test
// hooks, static like the tests' builds), built once per test process, or
// <KANBANSHIM_BENCH_BIN>/<name> when that is set.
func Binary(tb testing.TB, name string) string {
	tb.Helper()
	if dir := os.Getenv("KANBANSHIM_BENCH_BIN"); dir != "" {
		return filepath.Join(dir, name)
	}
	return build(tb, "./cmd/"+name)
}

// build builds the main package pkg (a path in this module) once.
func build(tb testing.TB, pkg string) string {
	tb.Helper()
	name := filepath.Base(pkg)
	builds.Lock()
	defer builds.Unlock()
	if p, ok := builds.bins[name]; ok {
		return p
	}
	root, err := moduleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	if builds.dir == "" {
		if builds.dir, err = binDir(); err != nil {
			tb.Fatal(err)
		}
	}
	out := filepath.Join(builds.dir, name)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir, cmd.Env = root, append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build %s: %v\n%s", pkg, err, msg)
	}
	if builds.bins == nil {
		builds.bins = map[string]string{}
	}
	builds.bins[name] = out
	return out
}

// binDir is a new directory next to the test binary, which go test
// removes when it is done (or under the temp dir when that is read-only).
func binDir() (string, error) {
	if exe, err := os.Executable(); err == nil {
		if dir, err := os.MkdirTemp(filepath.Dir(exe), "bench-bin-"); err == nil {
			return dir, nil
		}
	}
	return os.MkdirTemp("", "kanbanshim-bench-bin-")
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

// Run is one measured child process.
type Run struct {
	Wall   time.Duration
	CPU    time.Duration // user + system
	MaxRSS int64         // bytes
}

// Exec runs cmd to completion (stdout to the null device unless set)
// under rsswrap, and measures it: wall time here, CPU time and peak
// resident set as rsswrap saw them (see its doc for why not straight from
// this process's wait). A failure fails the benchmark with its stderr.
func Exec(tb testing.TB, cmd *exec.Cmd) Run {
	tb.Helper()
	wrap := build(tb, "./internal/benchkit/rsswrap")
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	var stderr strings.Builder
	cmd.Stderr = &stderr // stdout left nil goes to the null device
	cmd.Args = append([]string{wrap, cmd.Path}, cmd.Args[1:]...)
	cmd.Path = wrap
	cmd.ExtraFiles = []*os.File{w}
	start := time.Now()
	err = cmd.Start()
	w.Close()
	if err == nil {
		err = cmd.Wait()
	}
	wall := time.Since(start)
	if err != nil {
		tb.Fatalf("%s: %v\n%s", strings.Join(cmd.Args[1:], " "), err, stderr.String())
	}
	var kib, utime, stime int64
	if _, err := fmt.Fscan(r, &kib, &utime, &stime); err != nil {
		tb.Fatalf("rsswrap report: %v", err)
	}
	return Run{Wall: wall, CPU: time.Duration(utime + stime), MaxRSS: kib * 1024}
}

// Pairs collects alternating measurements of our command and its
// reference.
type Pairs struct {
	ours, ref []Run
}

// Add records one measurement of each.
func (p *Pairs) Add(ours, ref Run) {
	p.ours = append(p.ours, ours)
	p.ref = append(p.ref, ref)
}

// Report sets the benchmark's metrics: ns/op is our median wall time;
// ref-ms the reference's; "x-<ref>" the median of the per-pair ratios of
// wall time (the figure the targets are stated in); cpu-x the same for
// CPU time; MiB and ref-MiB the largest peak resident set of each.
func (p *Pairs) Report(b *testing.B, ref string) {
	if len(p.ours) == 0 {
		return
	}
	b.ReportMetric(float64(median(p.ours, wallOf)), "ns/op")
	b.ReportMetric(float64(median(p.ref, wallOf))/1e6, "ref-ms")
	b.ReportMetric(medianRatio(p.ours, p.ref, wallOf), "x-"+ref)
	b.ReportMetric(medianRatio(p.ours, p.ref, cpuOf), "cpu-x")
	b.ReportMetric(maxRSS(p.ours), "MiB")
	b.ReportMetric(maxRSS(p.ref), "ref-MiB")
}

func wallOf(r Run) time.Duration { return r.Wall }
func cpuOf(r Run) time.Duration  { return r.CPU }

func median(rs []Run, f func(Run) time.Duration) time.Duration {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = float64(f(r))
	}
	return time.Duration(middle(v))
}

func medianRatio(a, b []Run, f func(Run) time.Duration) float64 {
	v := make([]float64, len(a))
	for i := range a {
		v[i] = float64(f(a[i])) / float64(max(f(b[i]), 1))
	}
	return middle(v)
}

// middle is the median of v (the mean of the middle two when even).
func middle(v []float64) float64 {
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

func maxRSS(rs []Run) float64 {
	var m int64
	for _, r := range rs {
		m = max(m, r.MaxRSS)
	}
	return float64(m) / (1 << 20)
}
