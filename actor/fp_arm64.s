//go:build !arbor_callers

#include "textflag.h"

// func framePointer() unsafe.Pointer
//
// framePointer returns its caller's frame pointer: it has no frame of its
// own, so R29 still holds the caller's.
TEXT ·framePointer(SB),NOSPLIT|NOFRAME,$0-8
	MOVD R29, ret+0(FP)
	RET
