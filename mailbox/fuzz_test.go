package mailbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
)

// model is the obvious, slow mailbox: a few slices and the rules of the doc
// comments, spelled out one by one. Like the real one, an unbounded model
// hands the consumer the whole user lane at once, as a batch that Evict leaves
// alone.
type model struct {
	capacity int
	policy   Policy
	sys      []int
	batch    []int // unbounded only: user messages the consumer has taken
	user     []int
	dropped  []any
	closed   bool
}

func (md *model) full() bool { return md.capacity > 0 && len(md.user) >= md.capacity }

// push returns the error the real mailbox must return. A Block push on a full
// model stands for a push whose context is already cancelled.
func (md *model) push(v int) error {
	switch {
	case md.closed:
		return ErrClosed
	case !md.full():
		md.user = append(md.user, v)
		return nil
	}
	switch md.policy {
	case DropNewest:
		md.dropped = append(md.dropped, v)
	case DropOldest:
		md.dropped = append(md.dropped, md.user[0])
		md.user = append(md.user[1:], v)
	case Fail:
		return ErrFull
	case Block:
		return context.Canceled
	}
	return nil
}

func (md *model) pushSystem(v int) error {
	if md.closed {
		return ErrClosed
	}
	md.sys = append(md.sys, v)
	return nil
}

func (md *model) pop() (any, bool) {
	switch {
	case len(md.sys) > 0:
		v := md.sys[0]
		md.sys = md.sys[1:]
		return v, true
	case len(md.batch) > 0:
		v := md.batch[0]
		md.batch = md.batch[1:]
		return v, true
	case len(md.user) > 0 && md.capacity == 0:
		md.batch, md.user = md.user, nil
		return md.pop()
	case len(md.user) > 0:
		v := md.user[0]
		md.user = md.user[1:]
		return v, true
	}
	return nil, false
}

func (md *model) evict() []int {
	out := append(md.sys, md.user...)
	md.sys, md.user = nil, nil
	return out
}

func (md *model) len() int { return len(md.sys) + len(md.batch) + len(md.user) }

// opName names an operation in a failure message, formatted only on failure
// so that a long input stays cheap to run (the fuzzer reruns it many times to
// minimize it).
type opName struct {
	i int
	b byte
}

func (o opName) String() string { return fmt.Sprintf("op %d (byte %#x)", o.i, o.b) }

// maxOps bounds the operations read from one input. With a capacity of at
// most 4, a few dozen operations reach every state; a longer input only slows
// the fuzzer's minimizer, which reruns it many times.
const maxOps = 64

// FuzzMailbox runs a byte-coded sequence of operations on one goroutine
// against the model. Byte 0 picks the capacity (0 to 4), byte 1 the policy;
// then each byte is one operation, by its low three bits:
//
//	0-2  push a user message; bit 4 set: with PushContext and a cancelled context
//	3    push a system message
//	4-6  pop
//	7    Close if bit 3 is set, else Evict if bit 4 is set, else ask Empty
//
// A Block push into a full mailbox always goes through PushContext with a
// cancelled context, since Push would wait for ever on the one goroutine.
func FuzzMailbox(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 2, 4, 3, 4, 0, 5, 6, 4, 15, 4, 0, 4})      // unbounded
	f.Add([]byte{2, byte(Block), 0, 0, 16, 0, 4, 0, 16, 3, 4, 4, 4, 4}) // Block
	f.Add([]byte{2, byte(DropNewest), 0, 0, 0, 0, 3, 4, 4, 0, 4, 4, 4}) // DropNewest
	f.Add([]byte{3, byte(DropOldest), 0, 1, 2, 0, 1, 3, 4, 0, 4, 4, 4}) // DropOldest
	f.Add([]byte{1, byte(Fail), 0, 0, 16, 3, 4, 0, 4, 4, 15, 0, 3, 4})  // Fail, then Close
	f.Add([]byte{4, byte(Block), 0, 0, 0, 0, 0, 4, 0, 15, 16, 3, 4, 4}) // Block, then Close
	f.Add([]byte{0, byte(DropOldest), 0, 0, 0, 4, 3, 0, 4, 7, 4, 4, 4}) // capacity 0 ignores the policy
	f.Add([]byte{1, byte(DropOldest), 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 7}) // many drops, then Empty
	f.Add([]byte{0, 0, 0, 0, 4, 0, 3, 23, 4, 4, 0, 23, 4})              // Evict beside a batch
	f.Add([]byte{2, byte(Block), 0, 0, 3, 23, 0, 16, 4, 4, 4})          // Evict from a bounded mailbox

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		data = data[:min(len(data), 2+maxOps)]
		md := &model{capacity: int(data[0] % 5), policy: Policy(data[1] % 4)}
		var dropped []any
		m, err := New(Options{Capacity: md.capacity, Policy: md.policy, OnDrop: func(msg any) {
			dropped = append(dropped, msg)
		}})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		defer m.Close()

		next := 0
		for i, b := range data[2:] {
			op := opName{i, b}
			switch k := b & 7; {
			case k <= 2:
				next++
				var got error
				if b&16 != 0 || (md.policy == Block && md.full() && !md.closed) {
					got = m.PushContext(cancelled, next)
				} else {
					got = m.Push(next)
				}
				if want := md.push(next); !errors.Is(got, want) {
					t.Fatalf("%s: push %d returned %v, want %v", op, next, got, want)
				}
			case k == 3:
				next++
				if got, want := m.PushSystem(next), md.pushSystem(next); !errors.Is(got, want) {
					t.Fatalf("%s: push system %d returned %v, want %v", op, next, got, want)
				}
			case k <= 6:
				got, gotOK := m.Pop()
				want, wantOK := md.pop()
				if got != want || gotOK != wantOK {
					t.Fatalf("%s: Pop returned %v, %v, want %v, %v", op, got, gotOK, want, wantOK)
				}
			case b&8 != 0:
				m.Close()
				md.closed = true
			case b&16 != 0:
				var got []int
				n := m.Evict(func(msg any) { got = append(got, msg.(int)) })
				if want := md.evict(); n != len(want) || !slices.Equal(got, want) {
					t.Fatalf("%s: Evict returned %d: %v, want %d: %v", op, n, got, len(want), want)
				}
			default:
				if got, want := m.Empty(), md.len() == 0; got != want {
					t.Fatalf("%s: Empty returned %v, want %v", op, got, want)
				}
			}

			if got, want := m.Len(), md.len(); got != want {
				t.Fatalf("%s: Len is %d, want %d", op, got, want)
			}
			if got, want := m.Dropped(), uint64(len(md.dropped)); got != want {
				t.Fatalf("%s: Dropped is %d, want %d", op, got, want)
			}
			// Both only grow, so checking the newest report is enough here;
			// the whole sequence is compared at the end.
			if len(dropped) != len(md.dropped) ||
				len(dropped) > 0 && dropped[len(dropped)-1] != md.dropped[len(md.dropped)-1] {
				t.Fatalf("%s: OnDrop saw %v, want %v", op, dropped, md.dropped)
			}
			if m.Closed() != md.closed {
				t.Fatalf("%s: Closed is %v, want %v", op, m.Closed(), md.closed)
			}
			if n := parked(m); n != 0 {
				t.Fatalf("%s: %d senders left parked", op, n)
			}
		}

		if !slices.Equal(dropped, md.dropped) {
			t.Fatalf("OnDrop saw %v, want %v", dropped, md.dropped)
		}

		// Whatever was accepted and not popped or dropped comes out of Drain,
		// system lane first.
		m.Close()
		want := slices.Concat(md.sys, md.batch, md.user)
		var got []int
		n := m.Drain(func(msg any) { got = append(got, msg.(int)) })
		if n != len(want) || !slices.Equal(got, want) {
			t.Fatalf("Drain returned %d: %v, want %d: %v", n, got, len(want), want)
		}
	})
}
