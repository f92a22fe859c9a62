package cli

import (
	"bufio"
	"io"
	"os"
)

// streamOut is where `list` writes while it reads the board, so that no
// listing is ever held whole in memory. How it writes depends on what a
// reader blocked on a slow stdout (`kanban list | less`) would do to the
// board's writers:
//
//   - WAL: a reader does not block writers, so rows go to stdout as they
//     are read, through a 64 KiB buffer.
//   - DELETE (and any other rollback journal): a reader's SHARED lock
//     blocks every commit, so the listing is spooled — the first 4 MiB in
//     memory, the rest in an unlinked temporary file — and copied to
//     stdout only after the query has finished and released the lock.
//
// Either way a listing that fails part-way writes nothing it had not
// already had to flush (none at all, when spooled or under 64 KiB).
type streamOut struct {
	dst   io.Writer
	buf   *bufio.Writer // direct mode
	mem   []byte        // spooled, before the file
	file  *os.File      // spooled past spoolMem
	fileW *bufio.Writer
}

// spoolMem is how much of a spooled listing stays in memory (a variable
// so tests can make the temporary file appear).
var spoolMem = 4 << 20

func newStreamOut(dst io.Writer, journalMode string) *streamOut {
	if journalMode == "wal" {
		return &streamOut{dst: dst, buf: bufio.NewWriterSize(dst, 64<<10)}
	}
	return &streamOut{dst: dst}
}

func (s *streamOut) Write(p []byte) (int, error) {
	switch {
	case s.buf != nil:
		return s.buf.Write(p)
	case s.fileW != nil:
		return s.fileW.Write(p)
	case len(s.mem)+len(p) <= spoolMem:
		s.mem = append(s.mem, p...)
		return len(p), nil
	}
	f, err := os.CreateTemp("", "kanban-list-*")
	if err != nil {
		// No temporary space: keep spooling in memory rather than fail.
		s.mem = append(s.mem, p...)
		return len(p), nil
	}
	os.Remove(f.Name()) // unlinked: gone with the process, however it ends
	s.file, s.fileW = f, bufio.NewWriterSize(f, 256<<10)
	return s.fileW.Write(p)
}

// finish writes out what is spooled or buffered when ok, drops it
// otherwise, and releases the spool file.
func (s *streamOut) finish(ok bool) error {
	if s.file != nil {
		defer s.file.Close()
	}
	if !ok {
		return nil
	}
	if s.buf != nil {
		return s.buf.Flush()
	}
	if _, err := s.dst.Write(s.mem); err != nil {
		return err
	}
	if s.file == nil {
		return nil
	}
	if err := s.fileW.Flush(); err != nil {
		return err
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err := io.Copy(s.dst, s.file)
	return err
}
