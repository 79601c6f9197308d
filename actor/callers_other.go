//go:build (!amd64 && !arm64) || arbor_callers

package actor

import "runtime"

// callers fills pcs with the return addresses of the goroutine's frames,
// from its caller outward, skipping skip of them.
//
//go:noinline
func callers(skip int, pcs []uintptr) int { return runtime.Callers(skip+2, pcs) }
