//go:build (!amd64 && !arm64) || arbor_callers

package actor

import "unsafe"

// framePointer gives no frame pointer where Go's are not walked (see
// callers_fp.go), or where the build tag arbor_callers says not to.
func framePointer() unsafe.Pointer { return nil }

// callers reaches nothing here, so that newPanicError unwinds with
// runtime.Callers.
func callers(int, []uintptr, unsafe.Pointer) (int, bool) { return 0, false }
