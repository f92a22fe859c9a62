package recover

import "context"

// SalvageSequential is Salvage with the extraction and the writing one
// after the other, the reference the pipelined Salvage must match.
func SalvageSequential(ctx context.Context, opts SalvageOptions) (*Report, error) {
	return salvage(ctx, opts, false)
}
