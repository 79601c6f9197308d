package mailbox

// spinWait lets about a hundred nanoseconds pass without touching memory
// (see gather).
func spinWait()

// prefetchWrite asks for the cache line at p in a state ready for writing,
// without waiting for it (see ring.push). It never faults.
//
//go:noescape
func prefetchWrite(p *any)
