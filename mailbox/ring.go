package mailbox

import (
	"math/bits"
	"sync"
	"unsafe"
)

// ring is a growable FIFO of messages. It is not safe for concurrent use; the
// Mailbox guards it. Its capacity is a power of two so that indexing is a mask.
type ring struct {
	buf  []any
	head int32
	n    int32
}

func (r *ring) push(v any) {
	if int(r.n) == len(r.buf) {
		r.grow()
	}
	i := int(r.head+r.n) & (len(r.buf) - 1)
	r.buf[i] = v
	r.n++
	if i&3 == 0 && len(r.buf) > 64 {
		// A ring handed back by the consumer's swap has its lines in the
		// other core's cache; the unlock after this push would wait for
		// each line to come over. Asking for a line four ahead, once per
		// line of four slots, has it here by the time it is written.
		prefetchWrite(&r.buf[(i+16)&(len(r.buf)-1)])
	}
}

// pop removes the oldest message. The caller checks len first.
func (r *ring) pop() any {
	v := r.buf[r.head]
	r.buf[r.head] = nil // let the message be collected
	r.head = (r.head + 1) & int32(len(r.buf)-1)
	r.n--
	return v
}

func (r *ring) grow() {
	size := 2 * len(r.buf)
	if size == 0 {
		size = 4
	}
	buf := newBuf(size)
	for i := int32(0); i < r.n; i++ {
		buf[i] = r.buf[int(r.head+i)&(len(r.buf)-1)]
	}
	old := r.buf
	r.buf, r.head = buf, 0
	clear(old)
	freeBuf(old)
}

// shrink gives back a large, empty backing array so that an idle mailbox does
// not keep the memory of its busiest moment.
func (r *ring) shrink(keep int) {
	if r.n == 0 && len(r.buf) > keep {
		freeBuf(r.buf) // popped slots are cleared: it holds no message
		r.buf, r.head = nil, 0
	}
}

// spare holds the emptied backing arrays of large rings (more than
// shrinkAbove slots), by size, as pointers to their first slot. An actor that
// goes idle between bursts gives its rings back, and would otherwise allocate
// and zero them afresh at every burst, page faults included: that was 10 to
// 20 bytes per message of a busy actor. The collector frees what stays unused.
var spare [32]sync.Pool

// newBuf returns an array of size slots, a power of two, all nil.
func newBuf(size int) []any {
	if pool := spareOf(size); pool != nil {
		if p, _ := pool.Get().(*any); p != nil {
			return unsafe.Slice(p, size)
		}
	}
	return make([]any, size)
}

// freeBuf keeps buf, whose slots are all nil, for newBuf if it is large.
func freeBuf(buf []any) {
	if pool := spareOf(len(buf)); pool != nil {
		pool.Put(unsafe.SliceData(buf))
	}
}

// spareOf returns the pool of the arrays of size slots, a power of two, or
// nil if arrays that small (or that large) are not pooled.
func spareOf(size int) *sync.Pool {
	k := bits.Len(uint(size)) - 1
	if size <= shrinkAbove || k >= len(spare) {
		return nil
	}
	return &spare[k]
}
