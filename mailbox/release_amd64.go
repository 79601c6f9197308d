//go:build !race

package mailbox

// storeRelease stores v at p without a fence (see count).
//
//go:noescape
func storeRelease(p *int32, v int32)
