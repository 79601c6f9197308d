#include "textflag.h"

// func spinWait()
//
// Five PAUSE instructions: about 100 ns on the machines measured.
TEXT ·spinWait(SB), NOSPLIT, $0-0
	PAUSE
	PAUSE
	PAUSE
	PAUSE
	PAUSE
	RET

// func prefetchWrite(p *any)
TEXT ·prefetchWrite(SB), NOSPLIT, $0-8
	MOVQ p+0(FP), AX
	// PREFETCHW (AX), which the Go assembler does not know by name.
	BYTE $0x0F; BYTE $0x0D; BYTE $0x08
	RET
