//go:build (amd64 || arm64) && !arbor_callers

package actor

import "unsafe"

// framePointer is written in assembly (fp_amd64.s, fp_arm64.s). The build
// tag arbor_callers forces the fallback on runtime.Callers, for its tests.
func framePointer() unsafe.Pointer

// callers fills pcs with the return addresses of the goroutine's frames,
// from its caller outward up to the frame whose frame pointer is top,
// skipping skip of them, and reports whether it reached top. It is
// runtime.Callers without the unwinding tables: Go keeps frame pointers on
// amd64 and arm64, and each frame record holds the caller's frame pointer
// and, one word above it, the return address into the caller. Following
// that chain is what makes the stack of a crash cheap: an order of magnitude
// faster than runtime.Callers (BenchmarkCaptureStack and its baseline).
//
// The walk reads only the goroutine's own stack, between its first record
// and top, going up: a chain that leaves it (through C code called with
// cgo, which keeps no frame pointer for Go) ends the walk without reaching
// top, and the caller then unwinds with runtime.Callers, which knows how to
// cross into C and back. Two kinds of call leave no record: an inlined call,
// which runtime.CallersFrames finds again from the return addresses when
// the stack is read, and one to a function that calls nothing, which may
// have no frame at all, so that a fault inside it would lose its caller;
// newPanicError unwinds runtime errors with the tables for that reason.
//
//go:noinline
func callers(skip int, pcs []uintptr, top unsafe.Pointer) (n int, reached bool) {
	fp := framePointer() // callers' own frame: its record returns into the caller
	for fp != nil && uintptr(fp) <= uintptr(top) {
		if skip > 0 {
			skip--
		} else {
			if n == len(pcs) {
				return n, false
			}
			pcs[n] = *(*uintptr)(unsafe.Add(fp, unsafe.Sizeof(uintptr(0))))
			n++
		}
		if fp == top {
			return n, true
		}
		// The caller's frame pointer is read as a number, and followed only
		// once it is known to lie on this stack: a value that C code left
		// in the chain must never reach the garbage collector as a pointer.
		next := *(*uintptr)(fp)
		if next <= uintptr(fp) || next > uintptr(top) {
			break // not a caller's frame below top: the chain left the stack
		}
		fp = unsafe.Add(fp, next-uintptr(fp))
	}
	return n, false
}
