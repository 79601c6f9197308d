package mailbox

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
	buf := make([]any, size)
	for i := int32(0); i < r.n; i++ {
		buf[i] = r.buf[int(r.head+i)&(len(r.buf)-1)]
	}
	r.buf, r.head = buf, 0
}

// shrink drops a large, empty backing array so that an idle mailbox does not
// keep the memory of its busiest moment.
func (r *ring) shrink(keep int) {
	if r.n == 0 && len(r.buf) > keep {
		r.buf, r.head = nil, 0
	}
}
