package proc

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// MemInfo is the part of /proc/meminfo the worker caps use, in KiB; ok is
// false when MemTotal or MemAvailable is unknown.
func MemInfo() (totalKiB, availableKiB int64, ok bool) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	haveAvail := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "MemTotal":
			totalKiB = n
		case "MemAvailable":
			availableKiB, haveAvail = n, true
		}
	}
	return totalKiB, availableKiB, totalKiB > 0 && haveAvail
}
