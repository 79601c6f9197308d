package mailbox

// spinWait lets about a hundred nanoseconds pass without touching memory
// (see gather).
func spinWait()

// hasPrefetchW reports whether the processor has PREFETCHW (CPUID leaf
// 0x80000001, ECX bit 8): AMD's since the K6-2, Intel's since Broadwell.
// Elsewhere its opcode is not one to execute on trust.
var hasPrefetchW = extendedFeatures()&(1<<8) != 0

// prefetchWrite asks for the cache line at p in a state ready for writing,
// without waiting for it (see ring.push). It never faults.
func prefetchWrite(p *any) {
	if hasPrefetchW {
		prefetchw(p)
	}
}

//go:noescape
func prefetchw(p *any)

func extendedFeatures() uint32
