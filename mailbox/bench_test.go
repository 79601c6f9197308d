package mailbox

import (
	"sync"
	"sync/atomic"
	"testing"
)

// Each benchmark moves b.N messages, so ns/op is the cost of one message end
// to end. Messages are one preallocated *int: a pointer fits in an interface
// without boxing, so allocations are the mailbox's own. Every mailbox
// benchmark sits beside a channel baseline that does the same work.

// waker lets an idle consumer sleep without a lock or a busy loop: the
// consumer says it is idle, looks once more, then waits; a producer pokes it
// only when it may be idle. Go's atomics are sequentially consistent, so
// either the consumer's second look sees the push or the producer sees the
// consumer idle. A stale poke only costs the consumer one extra look.
type waker struct {
	idle atomic.Bool
	ch   chan struct{}
}

func newWaker() *waker { return &waker{ch: make(chan struct{}, 1)} }

func (w *waker) poke() {
	if w.idle.Load() {
		select {
		case w.ch <- struct{}{}:
		default:
		}
	}
}

// pop pops the next message, waiting for one if the mailbox is empty.
func (w *waker) pop(m *Mailbox) any {
	for {
		if msg, ok := m.Pop(); ok {
			return msg
		}
		w.idle.Store(true)
		msg, ok := m.Pop()
		if !ok {
			<-w.ch
		}
		w.idle.Store(false)
		if ok {
			return msg
		}
	}
}

// share is sender i's part of n messages split among senders.
func share(n, senders, i int) int {
	part := n / senders
	if i < n%senders {
		part++
	}
	return part
}

func benchMailbox(b *testing.B, opts Options, senders int) {
	m, err := New(opts)
	if err != nil {
		b.Fatal(err)
	}
	msg := new(int)
	w := newWaker()
	b.ReportAllocs()
	b.ResetTimer()

	var wg sync.WaitGroup
	for i := range senders {
		n := share(b.N, senders, i)
		wg.Go(func() {
			for range n {
				if err := m.Push(msg); err != nil {
					b.Error(err)
					return
				}
				w.poke()
			}
		})
	}
	for range b.N {
		if w.pop(m) != msg {
			b.Fatal("wrong message")
		}
	}
	wg.Wait()
}

func benchChan(b *testing.B, buffer, senders int) {
	ch := make(chan *int, buffer)
	msg := new(int)
	b.ReportAllocs()
	b.ResetTimer()

	var wg sync.WaitGroup
	for i := range senders {
		n := share(b.N, senders, i)
		wg.Go(func() {
			for range n {
				ch <- msg
			}
		})
	}
	for range b.N {
		if <-ch != msg {
			b.Fatal("wrong message")
		}
	}
	wg.Wait()
}

// BenchmarkPushPop1to1 is one producer and one consumer on an unbounded
// mailbox. Baseline: BenchmarkChan1to1.
func BenchmarkPushPop1to1(b *testing.B) { benchMailbox(b, Options{}, 1) }

// BenchmarkChan1to1 is the baseline of BenchmarkPushPop1to1: a channel
// buffered to 1024.
func BenchmarkChan1to1(b *testing.B) { benchChan(b, 1024, 1) }

// BenchmarkPushPop8to1 is eight producers and one consumer on an unbounded
// mailbox. Baseline: BenchmarkChan8to1.
func BenchmarkPushPop8to1(b *testing.B) { benchMailbox(b, Options{}, 8) }

// BenchmarkPushPopBlock8to1 is eight producers and one consumer on a mailbox
// bounded to 1024 that blocks its senders when full, as a full channel does.
// Baseline: BenchmarkChan8to1.
func BenchmarkPushPopBlock8to1(b *testing.B) {
	benchMailbox(b, Options{Capacity: 1024, Policy: Block}, 8)
}

// BenchmarkChan8to1 is the baseline of BenchmarkPushPop8to1 and
// BenchmarkPushPopBlock8to1: eight senders on a channel buffered to 1024.
func BenchmarkChan8to1(b *testing.B) { benchChan(b, 1024, 8) }

// BenchmarkPushPopSameGoroutine pushes and pops on one goroutine: the cost of
// the queue itself, with no contention and no goroutine switch. It should not
// allocate. Baseline: BenchmarkChanSameGoroutine.
func BenchmarkPushPopSameGoroutine(b *testing.B) {
	var m Mailbox
	msg := new(int)
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Push(msg); err != nil {
			b.Fatal(err)
		}
		if got, ok := m.Pop(); !ok || got != msg {
			b.Fatal("wrong message")
		}
	}
}

// BenchmarkChanSameGoroutine is the baseline of BenchmarkPushPopSameGoroutine:
// a send and a receive on a channel buffered to 1.
func BenchmarkChanSameGoroutine(b *testing.B) {
	ch := make(chan *int, 1)
	msg := new(int)
	b.ReportAllocs()
	for b.Loop() {
		ch <- msg
		if <-ch != msg {
			b.Fatal("wrong message")
		}
	}
}
