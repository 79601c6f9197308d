//go:build !race

#include "textflag.h"

// func storeRelease(p *int32, v int32)
//
// A plain store: on amd64 every store is a release store.
TEXT ·storeRelease(SB), NOSPLIT, $0-12
	MOVQ p+0(FP), AX
	MOVL v+8(FP), BX
	MOVL BX, (AX)
	RET
