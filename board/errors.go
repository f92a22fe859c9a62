package board

import "errors"

var (
	// ErrNoExchange means the system cannot swap two names atomically.
	ErrNoExchange = errors.New("atomic exchange not supported")
	// ErrSwapDiverged means a board changed while an interrupted swap
	// held its sidecars aside (someone removed the block by hand and
	// wrote): the held files are kept, not put back.
	ErrSwapDiverged = errors.New("board changed while an interrupted swap held its sidecars aside")
)
