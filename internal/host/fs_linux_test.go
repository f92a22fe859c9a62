//go:build linux

package host

import (
	"strings"
	"testing"
)

// mountinfo is a /proc/self/mountinfo with every kind of mount the guard
// must tell apart.
const mountinfo = `21 26 0:20 / /proc rw,relatime - proc proc rw
26 1 254:0 / / rw,relatime - ext4 /dev/vda rw
30 26 0:40 / /srv/nfs rw,relatime shared:5 - nfs4 server:/export rw,vers=4.2
31 26 0:41 / /srv/smb rw,relatime - cifs //host/share rw
32 26 0:42 / /mnt/c rw,noatime - 9p C:\134 rw,aname=drvfs;path=C:\
33 26 0:43 / /mnt/d rw,noatime - drvfs D:\134 rw
34 26 0:44 / /workspace rw,relatime - virtiofs myfs rw
35 26 0:45 / /home/me/remote rw,nosuid,nodev - fuse.sshfs me@host:/ rw
36 26 0:46 / /home/me/my\040boards rw - fuse.rclone gdrive: rw
37 30 254:1 / /srv/nfs/local rw - ext4 /dev/vdb rw
38 26 0:47 / /tmp rw - tmpfs tmpfs rw
39 38 0:48 / /tmp rw - nfs srv:/tmp rw
`

func TestMountTypeIn(t *testing.T) {
	for _, c := range []struct{ path, want string }{
		{"/home/me/.hermes/kanban.db", "ext4"},
		{"/srv/nfs/boards/kanban.db", "nfs4"},
		{"/srv/nfs/local/kanban.db", "ext4"}, // a local disk mounted inside the NFS tree
		{"/srv/nfsX/kanban.db", "ext4"},      // a longer name is not inside /srv/nfs
		{"/srv/smb/kanban.db", "cifs"},
		{"/mnt/c/Users/me/kanban.db", "9p"}, // WSL2 drvfs
		{"/mnt/d/kanban.db", "drvfs"},       // WSL1
		{"/workspace/kanban.db", "virtiofs"},
		{"/home/me/remote/kanban.db", "fuse.sshfs"},
		{"/home/me/my boards/kanban.db", "fuse.rclone"}, // \040 in mountinfo
		{"/tmp/kanban.db", "nfs"},                       // the mount on top wins
		{"/", "ext4"},
	} {
		if got := mountTypeIn(strings.NewReader(mountinfo), c.path); got != c.want {
			t.Errorf("mountTypeIn(%s) = %q, want %q", c.path, got, c.want)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		magic   int64
		fstype  string
		name    string
		network bool
	}{
		{0xef53, "ext4", "ext4", false},
		{0x01021994, "tmpfs", "tmpfs", false},
		{0x6969, "nfs4", "nfs4", true},
		{0x6969, "", "nfs", true},
		{0xff534d42, "cifs", "cifs", true},
		{0xfe534d42, "smb3", "smb3", true},
		{0x01021997, "9p", "9p", true},
		{0x65735546, "virtiofs", "virtiofs", true}, // virtiofs reports FUSE's magic
		{0x65735546, "fuse.sshfs", "fuse.sshfs", true},
		{0x65735546, "", "fuse", true},
		{0x53464846, "drvfs", "drvfs", true},
		{0, "virtiofs", "virtiofs", true}, // statfs failed; mountinfo says
		{0, "fuse.rclone", "fuse.rclone", true},
		{0, "nfs", "nfs", true},
		{0, "", "", false},
	} {
		got := classify(c.magic, c.fstype)
		if got.Name != c.name || got.Network != c.network {
			t.Errorf("classify(%#x, %q) = %+v, want {%s %v}", c.magic, c.fstype, got, c.name, c.network)
		}
	}
}
