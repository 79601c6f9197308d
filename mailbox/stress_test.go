package mailbox

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests are meant for -race. Each keeps well under two seconds with the
// race detector on two cores; a lost wake-up shows as a watchdog failure, not
// as a hang.

const producers = 8

// note is a stress message: who sent it, its place in that sender's lane.
type note struct {
	producer, seq int
	sys           bool
}

// lanes tracks, per producer and lane, the last sequence number received, to
// check that each producer's messages come out in the order it pushed them.
type lanes struct {
	last [producers][2]int
}

func newLanes() *lanes {
	l := new(lanes)
	for p := range l.last {
		l.last[p] = [2]int{-1, -1}
	}
	return l
}

// next records n and reports whether it came after the previous message of
// its lane; gapless also requires that nothing in between went missing.
func (l *lanes) next(t *testing.T, n note, gapless bool) {
	t.Helper()
	lane := 0
	if n.sys {
		lane = 1
	}
	prev := l.last[n.producer][lane]
	if gapless && n.seq != prev+1 || n.seq <= prev {
		t.Errorf("producer %d, system %v: got seq %d after %d", n.producer, n.sys, n.seq, prev)
	}
	l.last[n.producer][lane] = n.seq
}

// consume pops until done reports true with the mailbox empty, or the
// watchdog fires; then it closes m so that no sender stays parked, and drains.
func consume(t *testing.T, m *Mailbox, done func() bool, f func(note)) {
	t.Helper()
	watchdog := time.Now().Add(patience)
	for {
		msg, ok := m.Pop()
		if ok {
			f(msg.(note))
			continue
		}
		if done() {
			if m.Empty() { // a push may have landed since the Pop
				break
			}
			continue
		}
		if time.Now().After(watchdog) {
			t.Errorf("consumer gave up with %d senders parked", parked(m))
			break
		}
		runtime.Gosched()
	}
	m.Close()
	m.Drain(func(msg any) { f(msg.(note)) })
}

func TestStressEveryMessageArrivesOnceInOrder(t *testing.T) {
	const perProducer = 2000
	const sysEvery = 8 // one system message per sysEvery user messages
	tests := []struct {
		name string
		opts Options
	}{
		{name: "an unbounded mailbox delivers every message once, in order"},
		{name: "a Block mailbox of 16 delivers every message once, in order", opts: Options{Capacity: 16}},
		{name: "a Block mailbox of 1 delivers every message once, in order", opts: Options{Capacity: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMailbox(t, tt.opts)
			var wg sync.WaitGroup
			var failed atomic.Int64
			for p := range producers {
				wg.Go(func() {
					for seq := range perProducer {
						if m.Push(note{producer: p, seq: seq}) != nil {
							failed.Add(1)
						}
						if seq%sysEvery == 0 && m.PushSystem(note{producer: p, seq: seq / sysEvery, sys: true}) != nil {
							failed.Add(1)
						}
					}
				})
			}

			const want = producers * (perProducer + perProducer/sysEvery)
			order := newLanes()
			got := 0
			consume(t, m, func() bool { return got == want }, func(n note) {
				order.next(t, n, true)
				got++
			})
			wg.Wait()

			assert.Zero(t, failed.Load(), "pushes that failed")
			assert.Equal(t, want, got, "messages received")
			for p := range producers {
				assert.Equal(t, [2]int{perProducer - 1, perProducer/sysEvery - 1}, order.last[p], "producer %d", p)
			}
		})
	}
}

// outcome is what one producer saw, in push order.
type outcome struct {
	accepted []note
	rejected []note
}

func TestStressCloseMidway(t *testing.T) {
	const perProducer = 1000
	const closeAfter = 64 // accepted pushes before a producer closes the mailbox
	tests := []struct {
		name     string
		opts     Options
		refusals []error // errors a push may return, besides ErrClosed
	}{
		{name: "an unbounded mailbox loses nothing it accepted"},
		{name: "a Block mailbox loses nothing it accepted and frees its parked senders", opts: Options{Capacity: 16}},
		{name: "a DropNewest mailbox reports every message it did not deliver", opts: Options{Capacity: 16, Policy: DropNewest}},
		{name: "a DropOldest mailbox reports every message it did not deliver", opts: Options{Capacity: 16, Policy: DropOldest}},
		{name: "a Fail mailbox delivers exactly what it accepted", opts: Options{Capacity: 16, Policy: Fail}, refusals: []error{ErrFull}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dropMu sync.Mutex
			var dropped []note
			tt.opts.OnDrop = func(msg any) {
				dropMu.Lock()
				dropped = append(dropped, msg.(note))
				dropMu.Unlock()
			}
			m := newMailbox(t, tt.opts)

			var accepted atomic.Int64
			var unexpected atomic.Value
			outcomes := make([]outcome, producers)
			var wg sync.WaitGroup
			var finished atomic.Int64
			for p := range producers {
				wg.Go(func() {
					defer finished.Add(1)
					out := &outcomes[p]
					closed := false
					for seq := range perProducer {
						n := note{producer: p, seq: seq, sys: seq%10 == 9}
						var err error
						if n.sys {
							err = m.PushSystem(n)
						} else {
							err = m.Push(n)
						}
						switch {
						case err == nil:
							if closed {
								unexpected.Store("a push succeeded after one failed with ErrClosed")
							}
							out.accepted = append(out.accepted, n)
							if accepted.Add(1) == closeAfter {
								m.Close()
							}
						case errors.Is(err, ErrClosed):
							closed = true
							out.rejected = append(out.rejected, n)
						case isOneOf(err, tt.refusals):
							out.rejected = append(out.rejected, n)
							runtime.Gosched() // back off, as a sender refused for a full mailbox would
						default:
							unexpected.Store(err.Error())
						}
					}
				})
			}

			var received []note
			order := newLanes()
			consume(t, m, func() bool { return finished.Load() == producers }, func(n note) {
				order.next(t, n, false)
				received = append(received, n)
			})
			wg.Wait()
			require.Nil(t, unexpected.Load())

			seen := make(map[note]int, len(received)+len(dropped))
			for _, n := range received {
				seen[n]++
			}
			for _, n := range dropped {
				seen[n]++
			}
			var nAccepted, nRejected int
			for _, out := range outcomes {
				for _, n := range out.accepted {
					if seen[n] != 1 {
						t.Errorf("accepted %+v was delivered or dropped %d times", n, seen[n])
					}
					delete(seen, n)
				}
				nAccepted += len(out.accepted)
				nRejected += len(out.rejected)
			}
			assert.Empty(t, seen, "delivered or dropped without being accepted")
			assert.Equal(t, producers*perProducer, nAccepted+nRejected)
			assert.GreaterOrEqual(t, nAccepted, closeAfter, "the mailbox was closed before it was used")
			assert.Positive(t, nRejected, "the mailbox was closed after every push")
			assert.Equal(t, uint64(len(dropped)), m.Dropped())
			assert.Zero(t, m.Len())
		})
	}
}

func isOneOf(err error, targets []error) bool {
	for _, target := range targets {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// TestStressBlockWithDeadlines mixes senders that wait without bound with
// senders whose contexts expire while they are parked: a cancelled sender
// must neither queue its message nor swallow a wake-up meant for another.
func TestStressBlockWithDeadlines(t *testing.T) {
	const perProducer = 600
	m := newMailbox(t, Options{Capacity: 4})

	outcomes := make([]outcome, producers)
	var unexpected atomic.Value
	var finished atomic.Int64
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			defer finished.Add(1)
			out := &outcomes[p]
			for seq := range perProducer {
				n := note{producer: p, seq: seq}
				var err error
				if p%2 == 0 {
					err = m.Push(n)
				} else {
					// Deadlines from zero to about 60µs: many expire while parked.
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seq%7)*10*time.Microsecond)
					err = m.PushContext(ctx, n)
					cancel()
				}
				switch {
				case err == nil:
					out.accepted = append(out.accepted, n)
				case errors.Is(err, context.DeadlineExceeded):
					out.rejected = append(out.rejected, n)
				default:
					unexpected.Store(err.Error())
				}
			}
		})
	}

	seen := make(map[note]int)
	order := newLanes()
	popped := 0
	consume(t, m, func() bool { return finished.Load() == producers }, func(n note) {
		order.next(t, n, false)
		seen[n]++
		popped++
		if popped%3 == 0 {
			runtime.Gosched() // let senders fill the mailbox and park
		}
	})
	wg.Wait()
	require.Nil(t, unexpected.Load())

	var nRejected int
	for p, out := range outcomes {
		for _, n := range out.accepted {
			assert.Equal(t, 1, seen[n], "accepted %+v", n)
		}
		for _, n := range out.rejected {
			assert.Zero(t, seen[n], "refused %+v was delivered", n)
		}
		if p%2 == 0 {
			assert.Len(t, out.accepted, perProducer, "a sender without a deadline is never refused")
		}
		nRejected += len(out.rejected)
	}
	t.Logf("%d of %d pushes timed out", nRejected, producers*perProducer)
}

// TestStressLenIsASnapshot checks that Len, called from a third goroutine
// while the consumer takes batches, returns a number the mailbox really held
// at some instant: never more than was pushed less what was surely popped,
// never less than was surely pushed less what was popped.
func TestStressLenIsASnapshot(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{name: "Len of an unbounded mailbox stays within what was pushed and popped"},
		{name: "Len of a bounded mailbox stays within what was pushed and popped", opts: Options{Capacity: 64}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const total = 50_000
			m := newMailbox(t, tt.opts)
			var pushed, popped atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				for i := range total {
					if m.Push(i) != nil {
						return
					}
					pushed.Add(1)
				}
			})
			var bad atomic.Value
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					// Counters lag the operations they count by at most one
					// in flight each, so the bounds allow one on either side.
					pushedBefore, poppedBefore := pushed.Load(), popped.Load()
					n := int64(m.Len())
					pushedAfter, poppedAfter := pushed.Load(), popped.Load()
					if n < pushedBefore-poppedAfter-1 || n > pushedAfter+1-poppedBefore {
						bad.Store([5]int64{n, pushedBefore, pushedAfter, poppedBefore, poppedAfter})
						return
					}
					runtime.Gosched() // on one processor, a busy observer would starve the others
				}
			})

			watchdog := time.Now().Add(patience)
			for popped.Load() < total && time.Now().Before(watchdog) {
				if _, ok := m.Pop(); ok {
					popped.Add(1)
				} else {
					runtime.Gosched()
				}
			}
			close(stop)
			m.Close()
			wg.Wait()
			assert.Equal(t, int64(total), popped.Load())
			if v := bad.Load(); v != nil {
				b := v.([5]int64)
				t.Errorf("Len returned %d with pushed in [%d, %d] and popped in [%d, %d]", b[0], b[1], b[2], b[3], b[4])
			}
		})
	}
}

// TestStressEvictWhileTheConsumerPops has a third goroutine Evict while the
// consumer pops, as an owner does when it gives up on a stuck consumer: every
// accepted message must come out exactly once, from Pop or from Evict, and
// Pop must never report a message it does not have.
func TestStressEvictWhileTheConsumerPops(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{name: "Evict and Pop on an unbounded mailbox share the messages without loss"},
		{name: "Evict and Pop on a Block mailbox share the messages without loss", opts: Options{Capacity: 16}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const perProducer = 20000
			m := newMailbox(t, tt.opts)
			var finished atomic.Int64
			var wg sync.WaitGroup
			for p := range 2 {
				wg.Go(func() {
					defer finished.Add(1)
					for seq := range perProducer {
						n := note{producer: p, seq: seq, sys: seq%16 == 15}
						var err error
						if n.sys {
							err = m.PushSystem(n)
						} else {
							err = m.Push(n)
						}
						if err != nil {
							t.Errorf("push: %v", err)
							return
						}
					}
				})
			}
			var evicted []note
			stop := make(chan struct{})
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					m.Evict(func(msg any) { evicted = append(evicted, msg.(note)) })
					runtime.Gosched()
				}
			})

			seen := make(map[note]int)
			var bogus []any
			watchdog := time.Now().Add(patience)
			for finished.Load() < 2 || m.Len() > 0 {
				msg, ok := m.Pop()
				switch {
				case !ok:
					if time.Now().After(watchdog) {
						t.Fatal("producers did not finish")
					}
					runtime.Gosched()
				case msg == nil || m.Len() < 0:
					bogus = append(bogus, msg)
				default:
					seen[msg.(note)]++
				}
			}
			close(stop)
			wg.Wait()
			m.Close()
			m.Drain(func(msg any) { seen[msg.(note)]++ })
			require.Empty(t, bogus, "Pop reported messages it did not have")

			for _, n := range evicted {
				seen[n]++
			}
			assert.Len(t, seen, 2*perProducer, "distinct messages seen")
			for n, c := range seen {
				if c != 1 {
					t.Errorf("%+v seen %d times", n, c)
				}
			}
		})
	}
}
