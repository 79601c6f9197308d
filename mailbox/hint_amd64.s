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

// func prefetchw(p *any)
TEXT ·prefetchw(SB), NOSPLIT, $0-8
	MOVQ p+0(FP), AX
	// PREFETCHW (AX), which the Go assembler does not know by name.
	BYTE $0x0F; BYTE $0x0D; BYTE $0x08
	RET

// func extendedFeatures() uint32
//
// ECX of CPUID leaf 0x80000001, or 0 if the processor has no such leaf.
TEXT ·extendedFeatures(SB), NOSPLIT, $0-4
	MOVL $0x80000000, AX
	CPUID
	CMPL AX, $0x80000001
	JB none
	MOVL $0x80000001, AX
	XORL CX, CX
	CPUID
	MOVL CX, ret+0(FP)
	RET
none:
	MOVL $0, ret+0(FP)
	RET
