//go:build cgo

package cgotest

/*
#cgo CFLAGS: -O2 -fomit-frame-pointer
#include <stdint.h>
extern void goCallback(uintptr_t);
static void __attribute__((noinline)) cLevel2(uintptr_t h, int depth) {
	volatile int pad[8];
	for (int i = 0; i < 8; i++) pad[i] = i * depth;
	goCallback(h + pad[0]);
}
static void __attribute__((noinline)) cLevel1(uintptr_t h) { cLevel2(h, 3); }
static void callIntoC(uintptr_t h) { cLevel1(h); }
*/
import "C"

import "runtime/cgo"

// Through calls fn from Go code that C calls back: Go → C → Go → fn. The C
// functions are built without frame pointers.
func Through(fn func()) {
	h := cgo.NewHandle(fn)
	defer h.Delete()
	C.callIntoC(C.uintptr_t(h))
}

//export goCallback
func goCallback(h C.uintptr_t) {
	cgo.Handle(h).Value().(func())()
}
