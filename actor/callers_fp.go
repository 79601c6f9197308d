//go:build (amd64 || arm64) && !arbor_callers

package actor

import "unsafe"

// framePointer is written in assembly (fp_amd64.s, fp_arm64.s). The build
// tag arbor_callers forces the fallback on runtime.Callers, for its tests.
func framePointer() unsafe.Pointer

// callers fills pcs with the return addresses of the goroutine's frames,
// from its caller outward, skipping skip of them. It is runtime.Callers
// without the unwinding tables: Go keeps frame pointers on amd64 and arm64,
// and each frame record holds the caller's frame pointer and, one word above
// it, the return address into the caller. Following that chain is what
// makes the stack of a crash cheap: an order of magnitude faster than
// runtime.Callers (BenchmarkCaptureStack and its baseline).
//
// Two kinds of call leave no record. An inlined call has no frame:
// runtime.CallersFrames finds it again from the return addresses when the
// stack is read. A function that calls nothing may have no frame either, so
// a fault inside one would lose its caller; captureStack unwinds runtime
// errors with the tables for that reason.
//
//go:noinline
func callers(skip int, pcs []uintptr) int {
	fp := framePointer() // callers' own frame: its record returns into the caller
	n := 0
	for fp != nil && n < len(pcs) {
		if skip > 0 {
			skip--
		} else {
			pcs[n] = *(*uintptr)(unsafe.Add(fp, unsafe.Sizeof(uintptr(0))))
			n++
		}
		fp = *(*unsafe.Pointer)(fp)
	}
	return n
}
