//go:build !arbor_callers

#include "textflag.h"

// func framePointer() unsafe.Pointer
//
// framePointer returns its caller's frame pointer: it has no frame of its
// own, so BP still holds the caller's.
TEXT ·framePointer(SB),NOSPLIT|NOFRAME,$0-8
	MOVQ BP, ret+0(FP)
	RET
