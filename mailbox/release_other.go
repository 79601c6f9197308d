//go:build !amd64 || race

package mailbox

import "sync/atomic"

// storeRelease stores v at p. Elsewhere than on amd64 an atomic store is
// already a release store without a full fence (STLR on arm64); under the
// race detector it keeps the store visible to it.
func storeRelease(p *int32, v int32) { atomic.StoreInt32(p, v) }
