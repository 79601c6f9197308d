//go:build !amd64

package mailbox

import "runtime"

// spinWait lets some time pass (see gather): here, by giving the processor
// to other goroutines for a moment.
func spinWait() { runtime.Gosched() }

// prefetchWrite does nothing here (see ring.push).
func prefetchWrite(*any) {}
