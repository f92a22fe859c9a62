package proc

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func TestScanOpeners(t *testing.T) {
	db := filepath.Join(t.TempDir(), "kanban.db")
	if err := os.WriteFile(db, []byte("SQLite format 3\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	child := startHelper(t, "open-file", db)
	self, err := os.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()

	openers, err := ScanOpeners(db, db+"-wal", db+"-shm")
	if err != nil {
		t.Fatal(err)
	}
	var sawChild, sawSelf bool
	for _, o := range openers {
		switch o.PID {
		case child.pid():
			sawChild = true
			exe, _ := os.Executable()
			if o.Self || !slices.Equal(o.Files, []string{db}) || len(o.Cmdline) == 0 || filepath.Base(o.Cmdline[0]) != filepath.Base(exe) {
				t.Errorf("child opener = %+v", o)
			}
		case os.Getpid():
			sawSelf = true
			if !o.Self {
				t.Errorf("own opener not marked Self: %+v", o)
			}
		}
	}
	if !sawChild || !sawSelf {
		t.Errorf("openers = %+v, want child %d and self", openers, child.pid())
	}
	child.finish(t)

	if got, err := ScanOpeners(db + "-missing"); err != nil || got != nil {
		t.Errorf("ScanOpeners(missing) = %v, %v", got, err)
	}
}

func TestFlockHolders_exclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	child := startHelper(t, "flock-ex", path)
	holders, err := FlockHolders(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]FlockInfo{{PID: child.pid(), Exclusive: true}}, holders); diff != "" {
		t.Errorf("holders (-want +got):\n%s", diff)
	}
	child.finish(t)
	if holders, err := FlockHolders(path); len(holders) != 0 || err != nil {
		t.Errorf("FlockHolders after release = %v, %v", holders, err)
	}
}

func TestFlockHolders_shared(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	child := startHelper(t, "flock-sh", path)
	own, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	if err := syscall.Flock(int(own.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	holders, err := FlockHolders(path)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(holders, func(a, b FlockInfo) int { return a.PID - b.PID })
	want := []FlockInfo{{PID: child.pid()}, {PID: os.Getpid()}}
	slices.SortFunc(want, func(a, b FlockInfo) int { return a.PID - b.PID })
	if diff := cmp.Diff(want, holders); diff != "" {
		t.Errorf("holders (-want +got):\n%s", diff)
	}
	child.finish(t)
}

func TestParseProcLocks(t *testing.T) {
	id := fileID{dev: unix.Mkdev(0xfd, 0x01), ino: 5678}
	tests := []struct {
		name  string
		input string
		want  []FlockInfo
	}{
		{
			name: "writer and readers",
			input: `1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF
2: FLOCK  ADVISORY  READ 1300 fd:01:5678 0 EOF
3: FLOCK  ADVISORY  READ 1301 fd:01:5678 0 EOF
`,
			want: []FlockInfo{{1234, true}, {1300, false}, {1301, false}},
		},
		{
			name: "waiters, fcntl locks and other files skipped",
			input: `1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF
1: -> FLOCK  ADVISORY  WRITE 1235 fd:01:5678 0 EOF
2: POSIX  ADVISORY  WRITE 99 fd:01:5678 0 EOF
3: OFDLCK ADVISORY  READ -1 fd:01:5678 1073741826 1073742335
4: FLOCK  ADVISORY  WRITE 77 fd:01:5679 0 EOF
5: FLOCK  ADVISORY  WRITE 78 fd:02:5678 0 EOF
6: garbage
7: FLOCK  ADVISORY  WRITE x fd:01:5678 0 EOF
`,
			want: []FlockInfo{{1234, true}},
		},
		{
			name:  "inode-only fallback on one other device",
			input: "1: FLOCK  ADVISORY  WRITE 55 00:2f:5678 0 EOF\n",
			want:  []FlockInfo{{55, true}},
		},
		{
			name: "no fallback when the inode is on several devices",
			input: `1: FLOCK  ADVISORY  WRITE 55 00:2f:5678 0 EOF
2: FLOCK  ADVISORY  WRITE 56 00:30:5678 0 EOF
`,
			want: []FlockInfo{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcLocks(strings.NewReader(tt.input), id)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// SelfFDPaths sees a file this process opens, and not after it closes.
func TestSelfFDPaths(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := SelfFDPaths()
	if err != nil || !slices.Contains(got, path) {
		t.Errorf("SelfFDPaths with %s open = %v, %v", path, got, err)
	}
	f.Close()
	if got, _ := SelfFDPaths(); slices.Contains(got, path) {
		t.Errorf("SelfFDPaths after close still lists %s", path)
	}
}

func TestMemInfo(t *testing.T) {
	total, avail, ok := MemInfo()
	if !ok || total <= 0 || avail < 0 || avail > total {
		t.Errorf("MemInfo = %d, %d, %v", total, avail, ok)
	}
}
