//go:build linux

package store

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Filesystem magic numbers (statfs f_type) that cannot host a shared WAL.
var networkMagic = map[int64]string{
	0x6969:     "nfs",
	0x517b:     "smb",
	0xff534d42: "cifs",
	0xfe534d42: "smb2",
	0x65735546: "fuse",
	0x01021997: "9p",
	0x6a656a63: "virtiofs",
	0x00c36400: "ceph",
	0x5346414f: "afs",
	0x0bd00bd0: "lustre",
	0x53464846: "drvfs",
}

// FilesystemOf reports the filesystem holding dir, from statfs, with
// /proc/self/mountinfo to name virtiofs and WSL drvfs mounts whose magic
// alone is ambiguous.
func FilesystemOf(dir string) FSInfo {
	var st unix.Statfs_t
	for d := dir; ; d = filepath.Dir(d) {
		if err := unix.Statfs(d, &st); err == nil {
			break
		}
		if d == filepath.Dir(d) {
			return FSInfo{}
		}
	}
	if name, ok := networkMagic[int64(st.Type)]; ok {
		if t := mountType(dir); t != "" {
			name = t
		}
		return FSInfo{Name: name, Network: true}
	}
	if t := mountType(dir); t == "virtiofs" || t == "9p" || t == "drvfs" || strings.HasPrefix(t, "fuse") || t == "nfs" || t == "nfs4" || t == "cifs" || t == "smb3" {
		return FSInfo{Name: t, Network: true}
	}
	return FSInfo{Name: mountType(dir)}
}

// mountType returns the fstype of the longest mountinfo mount point that
// contains dir ("" when unknown).
func mountType(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	best, bestType := "", ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, postf := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(postf) < 1 {
			continue
		}
		mp := unescapeMount(fields[4])
		if (abs == mp || strings.HasPrefix(abs, strings.TrimSuffix(mp, "/")+"/")) && len(mp) >= len(best) {
			best, bestType = mp, postf[0]
		}
	}
	return bestType
}

func unescapeMount(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}
