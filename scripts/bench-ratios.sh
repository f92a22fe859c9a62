#!/bin/sh
# bench-ratios.sh BENCH_OUTPUT: the same-run ratios of `make bench`, one
# line per benchmark: the median over its -count runs of each ratio it
# reported (x-<reference>: wall time against that reference; cpu-x: CPU
# time), with our peak memory (MiB) and the reference's, and, where
# docs/PERFORMANCE.md sets a target, whether the median meets it.
set -eu
awk '
BEGIN {
	# benchmark, metric (x-* matches any reference), limit
	target["BenchmarkListJSON/tasks=10000", "x-"] = 2.0
	target["BenchmarkListJSON/tasks=100000", "MiB"] = 64
	target["BenchmarkListText/tasks=100000", "x-"] = 3.0
	target["BenchmarkFirstOpen/tasks=100000", "x-"] = 10
	target["BenchmarkSalvageMB/MB=50", "x-"] = 1.0
}
/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name)
	if (!(name in seen)) { seen[name] = 1; order[++n] = name }
	for (i = 3; i < NF; i += 2) {
		unit = $(i + 1)
		if (unit ~ /^x-/ || unit == "cpu-x" || unit == "MiB" || unit == "ref-MiB") {
			vals[name, unit] = vals[name, unit] " " $i
			if (!((name, unit) in has)) {
				has[name, unit] = 1
				if (unit ~ /^x-/) ratio[name] = unit
			}
		}
	}
}
function median(s,    a, k, i, j, t) {
	k = split(s, a, " ")
	for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
}
function check(name, key, unit,    m) {
	if (!((name, key) in target) || !((name, unit) in has)) return ""
	m = median(vals[name, unit])
	return sprintf("  [target %s <= %g: %s]", unit, target[name, key], m <= target[name, key] ? "met" : "NOT MET")
}
END {
	for (b = 1; b <= n; b++) {
		name = order[b]
		if (!(name in ratio) && !((name, "MiB") in has)) continue
		line = sprintf("%-40s", name)
		if (name in ratio) line = line sprintf("  %s %.2f", ratio[name], median(vals[name, ratio[name]]))
		split("cpu-x MiB ref-MiB", u, " ")
		for (i = 1; i <= 3; i++) if ((name, u[i]) in has) line = line sprintf("  %s %.2f", u[i], median(vals[name, u[i]]))
		print line check(name, "x-", ratio[name]) check(name, "MiB", "MiB")
	}
}' "$1"
