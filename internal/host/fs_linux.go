//go:build linux

package host

import (
	"bufio"
	"io"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/kanbanshim/kanbanshim/internal/proc"
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

// networkTypes are mountinfo fstypes that cannot host a shared WAL
// (besides "fuse", "fuseblk" and every "fuse.*").
var networkTypes = map[string]bool{
	"nfs": true, "nfs4": true, "cifs": true, "smb3": true, "smbfs": true, "9p": true, "virtiofs": true,
	"drvfs": true, "ceph": true, "afs": true, "lustre": true,
}

// Filesystem reports the filesystem holding dir, from statfs, with
// /proc/self/mountinfo (through internal/proc) to name virtiofs and WSL drvfs mounts whose magic
// alone is ambiguous.
func Filesystem(dir string) FSInfo {
	var st unix.Statfs_t
	for d := dir; ; d = filepath.Dir(d) {
		if err := unix.Statfs(d, &st); err == nil {
			break
		}
		if d == filepath.Dir(d) {
			return FSInfo{}
		}
	}
	return classify(int64(st.Type), mountType(dir))
}

// classify names a filesystem from its statfs magic and its mountinfo
// fstype ("" when unknown): network when either one says so.
func classify(magic int64, fstype string) FSInfo {
	if name, ok := networkMagic[magic]; ok {
		if fstype != "" {
			name = fstype
		}
		return FSInfo{Name: name, Network: true}
	}
	if networkTypes[fstype] || fstype == "fuse" || fstype == "fuseblk" || strings.HasPrefix(fstype, "fuse.") {
		return FSInfo{Name: fstype, Network: true}
	}
	return FSInfo{Name: fstype}
}

// mountType returns the fstype of the mount holding dir ("" when unknown).
func mountType(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	f, err := proc.Mountinfo()
	if err != nil {
		return ""
	}
	defer f.Close()
	return mountTypeIn(f, abs)
}

// mountTypeIn returns the fstype of the longest mount point of a
// mountinfo text that contains the absolute path abs; of two mounts on
// the same point the later (the one on top) wins.
func mountTypeIn(r io.Reader, abs string) string {
	best, bestType := "", ""
	sc := bufio.NewScanner(r)
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
