package mailbox

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// Errors returned by a Mailbox. They are sentinels: compare with errors.Is.
var (
	// ErrClosed is returned by a push after Close.
	ErrClosed = errors.New("mailbox: closed")
	// ErrFull is returned by a push into a full mailbox whose policy is Fail.
	ErrFull = errors.New("mailbox: full")
	// ErrInvalidCapacity reports a negative capacity in Options.
	ErrInvalidCapacity = errors.New("mailbox: negative capacity")
	// ErrUnknownPolicy reports a Policy value that is none of the constants.
	ErrUnknownPolicy = errors.New("mailbox: unknown overflow policy")
	// ErrNilContext is returned by PushContext for a nil ctx.
	ErrNilContext = errors.New("mailbox: nil context")
)

// Policy says what a push into a full bounded mailbox does.
type Policy uint8

const (
	// Block makes the sender wait for room, as a full buffered channel does.
	// Push waits without bound; PushContext waits until its context ends.
	Block Policy = iota
	// DropNewest discards the message being pushed and reports it to OnDrop.
	DropNewest
	// DropOldest discards the oldest queued user message to make room and
	// reports it to OnDrop.
	DropOldest
	// Fail rejects the push with ErrFull; nothing is dropped.
	Fail
)

var policyNames = [...]string{"block", "drop-newest", "drop-oldest", "fail"}

// String returns the policy's name, as used in logs.
func (p Policy) String() string {
	if int(p) < len(policyNames) {
		return policyNames[p]
	}
	return fmt.Sprintf("policy(%d)", p)
}

// Options configure a mailbox. The zero value is an unbounded mailbox.
type Options struct {
	// Capacity bounds the user lane; 0 means unbounded. The system lane is
	// never bounded: control messages must not be lost or wait.
	Capacity int
	// Policy applies when a bounded user lane is full. The zero value is Block.
	Policy Policy
	// OnDrop, if set, is called with every message the mailbox discards under
	// DropNewest or DropOldest, on the pushing goroutine and without locks held,
	// so the owner can count it and publish it as a dead letter.
	OnDrop func(msg any)
}

// Validate reports whether the options are usable.
func (o Options) Validate() error {
	if o.Capacity < 0 {
		return fmt.Errorf("%w: %d", ErrInvalidCapacity, o.Capacity)
	}
	if o.Policy > Fail {
		return fmt.Errorf("%w: %d", ErrUnknownPolicy, o.Policy)
	}
	return nil
}

// yieldAt is the length of an unbounded user lane past which senders yield
// their processor after a push. It is a guard against a queue that grows
// without end, not a bound: a yield costs a trip through the scheduler, and
// senders that yield while a busy consumer is merely a burst behind only slow
// it down (8 senders into one actor ran at half the speed with 1024 here).
// 16384 messages are 256 KiB of ring, given back when the actor goes idle.
const yieldAt = 16384

// gatherRun is the run of queued messages worth a swap while senders stream
// (see gather).
const gatherRun = 64

// gatherChecks bounds the wait of gather: 16 spins of about 100 ns.
const gatherChecks = 16

// gather waits, after the consumer has emptied its batch, for senders that
// are streaming to queue a run worth taking (gatherRun) before the swap. A
// consumer that swaps as soon as it sees a message catches up with its
// sender and then takes a few messages per swap, and each swap takes the
// lock's cache line from the sender. It looks at the lane's length only
// between spins, so as not to take that line at every look either, and it
// stops as soon as the lane has not grown between two looks: a sender that
// has paused gets its messages handled at once.
func (m *Mailbox) gather(n int32) {
	for i := 0; i < gatherChecks && n < gatherRun; i++ {
		spinWait()
		next := m.userLen.Load()
		if next == n {
			return
		}
		n = next
	}
}

// shrinkAbove is the ring size past which an emptied ring gives its memory
// back rather than keep the size of its busiest moment.
const shrinkAbove = 64

// Mailbox is a multi-producer, single-consumer queue with two lanes: a system
// lane that Pop always serves first, and a user lane that may be bounded.
//
// Any goroutine may push; only one goroutine at a time may call Pop, Empty or
// Drain (the consumer). The zero value is an empty, unbounded mailbox.
//
// An unbounded mailbox hands the consumer everything queued in one swap, so a
// busy consumer takes the lock once per batch rather than once per message;
// in steady state neither side allocates.
type Mailbox struct {
	// The fields are laid out for the actor that embeds a Mailbox at the
	// right offset (see actor.Ref): the consumer's part first, the
	// producers' part last, so that the two can sit on different cache
	// lines and a consumer popping its batch does not steal the line a
	// producer is writing to, nor the other way round.

	batch    ring         // consumer-owned: the user messages taken in the last swap
	batchLen count        // batch.n, published for Len
	sysLen   atomic.Int32 // sys.n, so that the consumer can see it empty without the lock
	b        *rare        // nil for an unbounded mailbox that never had a system message, which is most of them

	mu      sync.Mutex
	userLen count       // user.n, likewise
	closed  atomic.Bool // set under mu
	bounded bool        // b holds a bound: set by Init
	// streaming is consumer-owned, set at each swap: the last swap took a
	// full run, so senders are outpacing the consumer (see gather). It
	// sits in the producers' padding, written and read once per swap.
	streaming bool
	user      ring // appended to by producers, under mu
}

// rare is what only some mailboxes need, kept apart so that the many others
// (one per actor) do not carry it: the bound of a bounded mailbox, and the
// system lane of one that has had a system message.
type rare struct {
	sys      ring // under mu
	capacity int
	wakeAt   int // free slots at which parked senders are woken
	policy   Policy
	onDrop   func(any)
	waiters  []*waiter // parked senders, in arrival order; under mu
	woken    int       // slots kept for senders woken and not yet back; under mu
	dropped  atomic.Uint64
}

// New returns a mailbox configured by opts, or an error if opts are invalid.
func New(opts Options) (*Mailbox, error) {
	m := new(Mailbox)
	if err := m.Init(opts); err != nil {
		return nil, err
	}
	return m, nil
}

// Init configures a zero Mailbox in place, for owners that embed one to save
// an allocation. It must be called before the mailbox is shared.
func (m *Mailbox) Init(opts Options) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	if opts.Capacity == 0 {
		return nil
	}
	m.bounded = true
	m.b = &rare{
		capacity: opts.Capacity,
		policy:   opts.Policy,
		onDrop:   opts.OnDrop,
		// Waking parked senders one slot at a time costs a goroutine
		// switch per message; waiting until a quarter of the mailbox is
		// free lets a woken sender push a run before it parks again.
		wakeAt: max(1, opts.Capacity/4),
	}
	return nil
}

// Capacity returns the bound of the user lane, 0 if unbounded.
func (m *Mailbox) Capacity() int {
	if !m.bounded {
		return 0
	}
	return m.b.capacity
}

// Policy returns the overflow policy of a bounded mailbox (Block for an
// unbounded one, which never overflows).
func (m *Mailbox) Policy() Policy {
	if !m.bounded {
		return Block
	}
	return m.b.policy
}

// Push appends msg to the user lane. On a full Block mailbox it waits for
// room without bound; use PushContext to bound the wait.
func (m *Mailbox) Push(msg any) error { return m.push(context.Background(), msg) }

// PushContext is Push with the wait of a full Block mailbox bounded by ctx;
// it returns ctx.Err() if ctx ends first, and the message is not queued. A
// nil ctx is refused with ErrNilContext.
func (m *Mailbox) PushContext(ctx context.Context, msg any) error {
	if ctx == nil {
		return ErrNilContext
	}
	return m.push(ctx, msg)
}

func (m *Mailbox) push(ctx context.Context, msg any) error {
	m.mu.Lock()
	if m.closed.Load() {
		m.mu.Unlock()
		return ErrClosed
	}
	if !m.bounded {
		m.user.push(msg)
		m.userLen.Store(m.user.n)
		long := m.user.n >= yieldAt
		m.mu.Unlock()
		if long {
			// The consumer is falling behind: lend it this processor rather
			// than grow the queue without end. An unbounded mailbox never
			// blocks its senders, but it need not outrun its reader.
			runtime.Gosched()
		}
		return nil
	}
	b := m.b
	if int(m.user.n)+b.woken < b.capacity && len(b.waiters) == 0 {
		m.user.push(msg)
		m.userLen.Store(m.user.n)
		m.mu.Unlock()
		return nil
	}
	switch b.policy {
	case Fail:
		m.mu.Unlock()
		return ErrFull
	case DropNewest:
		m.mu.Unlock()
		b.drop(msg)
		return nil
	case DropOldest:
		old := m.user.pop()
		m.user.push(msg) // the length is unchanged
		m.mu.Unlock()
		b.drop(old)
		return nil
	}
	return m.pushBlocking(ctx, msg)
}

// pushBlocking parks the sender until the consumer makes room. It is entered
// with mu held and no slot for the sender: the user lane is full, or its free
// slots are kept for the senders parked or woken before it, behind which it
// queues, as on a full Go channel.
func (m *Mailbox) pushBlocking(ctx context.Context, msg any) error {
	if err := ctx.Err(); err != nil {
		m.mu.Unlock()
		return err
	}
	done := ctx.Done()
	b := m.b
	w := waiterPool.Get().(*waiter)
	defer waiterPool.Put(w)
	first := false // a sender woken once keeps its place at the head of the line
	for {
		if first {
			b.waiters = append(b.waiters, nil)
			copy(b.waiters[1:], b.waiters)
			b.waiters[0] = w
		} else {
			b.waiters = append(b.waiters, w)
		}
		m.mu.Unlock()
		select {
		case <-w.ch:
		case <-done:
			m.mu.Lock()
			if m.removeWaiter(w) {
				m.mu.Unlock()
				return ctx.Err()
			}
			// Woken and cancelled at once: take the token, and pass the
			// wake-up, and the slot kept for it, on to the next sender.
			<-w.ch
			b.woken--
			m.wakeLocked()
			m.mu.Unlock()
			return ctx.Err()
		}
		m.mu.Lock()
		b.woken-- // back: the slot kept for it is its own to take
		if m.closed.Load() {
			m.mu.Unlock()
			return ErrClosed
		}
		if int(m.user.n) < b.capacity {
			m.user.push(msg)
			m.userLen.Store(m.user.n)
			m.mu.Unlock()
			return nil
		}
		first = true
	}
}

func (m *Mailbox) removeWaiter(w *waiter) bool {
	b := m.b
	for i, x := range b.waiters {
		if x == w {
			copy(b.waiters[i:], b.waiters[i+1:])
			b.waiters[len(b.waiters)-1] = nil
			b.waiters = b.waiters[:len(b.waiters)-1]
			return true
		}
	}
	return false
}

// wakeLocked wakes as many parked senders as there are free slots, and
// keeps a slot for each until it is back.
func (m *Mailbox) wakeLocked() {
	if !m.bounded {
		return
	}
	b := m.b
	free := b.capacity - int(m.user.n) - b.woken
	if m.closed.Load() {
		free = len(b.waiters)
	}
	n := max(0, min(free, len(b.waiters)))
	for i := 0; i < n; i++ {
		b.waiters[i].ch <- struct{}{} // buffered and empty: never blocks
	}
	b.woken += n
	rest := copy(b.waiters, b.waiters[n:])
	clear(b.waiters[rest:])
	b.waiters = b.waiters[:rest]
}

func (b *rare) drop(msg any) {
	b.dropped.Add(1)
	if b.onDrop != nil {
		b.onDrop(msg)
	}
}

// PushSystem appends msg to the system lane, which is unbounded and served
// before the user lane. It fails only after Close, with ErrClosed.
func (m *Mailbox) PushSystem(msg any) error {
	m.mu.Lock()
	if m.closed.Load() {
		m.mu.Unlock()
		return ErrClosed
	}
	if m.b == nil {
		m.b = new(rare)
	}
	m.b.sys.push(msg)
	m.sysLen.Store(m.b.sys.n)
	m.mu.Unlock()
	return nil
}

// Pop removes and returns the next message: the oldest system message if
// there is one, else the oldest user message. ok is false when both lanes are
// empty. Only the consumer may call Pop.
//
// While senders stream into an unbounded mailbox faster than its consumer
// takes (its last swap took a full run), Pop may wait a microsecond or two,
// spinning, for a run to build up before it takes one; it stops as soon as
// the lane stops growing.
func (m *Mailbox) Pop() (msg any, ok bool) {
	if m.sysLen.Load() > 0 {
		m.mu.Lock()
		if m.b.sys.n > 0 {
			msg = m.b.sys.pop()
			m.sysLen.Store(m.b.sys.n)
			m.mu.Unlock()
			return msg, true
		}
		m.mu.Unlock()
	}
	if m.batch.n > 0 {
		msg = m.batch.pop()
		m.batchLen.Store(m.batch.n)
		return msg, true
	}
	n := m.userLen.Load()
	if n == 0 {
		return nil, false
	}
	if !m.bounded {
		if m.streaming && n < gatherRun {
			m.gather(n)
		}
		// Take everything queued in one swap; the consumer then pops the
		// batch without the lock while producers fill the other ring.
		m.mu.Lock()
		if m.user.n == 0 {
			// Evict, from another goroutine, emptied the lane since the
			// check above.
			m.mu.Unlock()
			return nil, false
		}
		m.streaming = m.user.n >= gatherRun
		m.user, m.batch = m.batch, m.user
		m.userLen.Store(0)
		// Pop and publish the batch before unlocking, so that Len never
		// sees the messages in neither lane (or in both).
		msg = m.batch.pop()
		m.batchLen.Store(m.batch.n)
		m.mu.Unlock()
		return msg, true
	}
	// A bounded mailbox pops one message at a time under the lock so that
	// what it holds is exactly what counts against the bound, and DropOldest
	// drops the truly oldest message.
	m.mu.Lock()
	if m.user.n == 0 {
		m.mu.Unlock()
		return nil, false
	}
	b := m.b // set by Init, before the mailbox was shared
	msg = m.user.pop()
	m.userLen.Store(m.user.n)
	if len(b.waiters) > 0 && b.capacity-int(m.user.n)-b.woken >= b.wakeAt {
		m.wakeLocked()
	}
	m.mu.Unlock()
	return msg, true
}

// Empty reports whether both lanes are empty. Only the consumer may call it;
// it is the check an owner makes before it goes idle.
func (m *Mailbox) Empty() bool {
	if m.sysLen.Load() != 0 || m.batch.n != 0 || m.userLen.Load() != 0 {
		return false
	}
	// The owner is about to go idle: give back the memory of a burst, so
	// that an idle mailbox does not keep the size of its busiest moment.
	m.batch.shrink(shrinkAbove)
	m.mu.Lock()
	m.user.shrink(shrinkAbove)
	m.mu.Unlock()
	return true
}

// Len returns the number of queued messages in both lanes. Any goroutine may
// call it; with concurrent pushes and pops it is a snapshot.
func (m *Mailbox) Len() int {
	// Under the lock, a swap of the user lane into the batch is all or
	// nothing; the consumer's pops from the batch change batchLen one by one.
	m.mu.Lock()
	n := m.sysLen.Load() + m.userLen.Load() + m.batchLen.Load()
	m.mu.Unlock()
	return int(n)
}

// Pending reports whether any message may be queued, without the lock: a
// cheap test for an owner deciding whether to go idle or to look again. It
// never misses a message pushed before it was called, unless the consumer is
// busy taking that message at the same moment.
func (m *Mailbox) Pending() bool {
	return m.sysLen.Load()+m.userLen.Load()+m.batchLen.Load() != 0
}

// Dropped returns how many messages DropNewest and DropOldest have discarded.
func (m *Mailbox) Dropped() uint64 {
	if !m.bounded {
		return 0
	}
	return m.b.dropped.Load()
}

// Close makes every later push fail with ErrClosed and wakes blocked senders,
// which fail too. What was accepted before Close stays queued for the
// consumer to Pop or Drain. Close is idempotent.
func (m *Mailbox) Close() {
	m.mu.Lock()
	if !m.closed.Load() {
		m.closed.Store(true)
		m.wakeLocked()
	}
	m.mu.Unlock()
}

// Closed reports whether Close has been called.
func (m *Mailbox) Closed() bool { return m.closed.Load() }

// Drain pops every queued message, system lane first, and passes each to f.
// It returns how many there were. Only the consumer may call it; after Close
// it empties the mailbox for good, so that nothing accepted is lost in silence.
func (m *Mailbox) Drain(f func(msg any)) int {
	n := 0
	for {
		msg, ok := m.Pop()
		if !ok {
			return n
		}
		n++
		if f != nil {
			f(msg)
		}
	}
}

// Evict removes every message that producers have queued and the consumer has
// not taken yet, system lane first, and passes each to f; it returns how many
// there were. Unlike Drain, any goroutine may call it: it is how an owner
// whose consumer is stuck still accounts for what was queued. What the
// consumer already took is left to it, to Pop or Drain if it ever comes
// back: in an unbounded mailbox, all that its last swap took (see Pop),
// which it pops without the lock, so that only a fence at every pop could
// let another goroutine take it safely; in a bounded one, nothing but the
// message in its hands.
func (m *Mailbox) Evict(f func(msg any)) int {
	m.mu.Lock()
	var out []any
	for m.b != nil && m.b.sys.n > 0 {
		out = append(out, m.b.sys.pop())
	}
	for m.user.n > 0 {
		out = append(out, m.user.pop())
	}
	m.sysLen.Store(0)
	m.userLen.Store(0)
	m.wakeLocked()
	m.mu.Unlock()
	if f != nil {
		for _, msg := range out {
			f(msg)
		}
	}
	return len(out)
}

// waiter is a sender parked on a full Block mailbox. Its channel holds at most
// one wake-up token.
type waiter struct{ ch chan struct{} }

var waiterPool = sync.Pool{New: func() any { return &waiter{ch: make(chan struct{}, 1)} }}
