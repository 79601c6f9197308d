package mailbox

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// patience bounds every wait in these tests. It is a deadline for a failure
// report, never a pause: a passing test does not come near it.
const patience = 5 * time.Second

// newMailbox returns a mailbox that is closed when the test ends, so that a
// sender a failed test left parked returns and goleak does not hide the
// failure behind a leak report.
func newMailbox(t *testing.T, opts Options) *Mailbox {
	t.Helper()
	m, err := New(opts)
	require.NoError(t, err)
	t.Cleanup(m.Close)
	return m
}

// run executes a small script against m: "uX" pushes user message "uX", "sX"
// pushes system message "sX", "pop" pops one message. It returns what the
// pops returned, "<none>" for an empty mailbox.
func run(t *testing.T, m *Mailbox, script string) []any {
	t.Helper()
	var got []any
	for _, tok := range strings.Fields(script) {
		switch {
		case tok == "pop":
			msg, ok := m.Pop()
			if !ok {
				msg = "<none>"
			}
			got = append(got, msg)
		case tok[0] == 'u':
			require.NoError(t, m.Push(tok), "push %s", tok)
		case tok[0] == 's':
			require.NoError(t, m.PushSystem(tok), "push system %s", tok)
		default:
			t.Fatalf("bad script token %q", tok)
		}
	}
	return got
}

// popAll pops until the mailbox is empty.
func popAll(m *Mailbox) []any {
	var got []any
	for {
		msg, ok := m.Pop()
		if !ok {
			return got
		}
		got = append(got, msg)
	}
}

// parked returns the number of senders parked on a full Block mailbox.
func parked(m *Mailbox) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.b == nil {
		return 0 // an unbounded mailbox never parks a sender
	}
	return len(m.b.waiters)
}

// waitParked polls until exactly n senders are parked.
func waitParked(t *testing.T, m *Mailbox, n int) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for parked(m) != n {
		if time.Now().After(deadline) {
			t.Fatalf("want %d parked senders, have %d", n, parked(m))
		}
		runtime.Gosched()
	}
}

// goAsync runs push on its own goroutine and returns where its result arrives.
func goAsync(push func() error) <-chan error {
	done := make(chan error, 1)
	go func() { done <- push() }()
	return done
}

// await returns the result of a push started by goAsync.
func await(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(patience):
		t.Fatal("push did not return")
		return nil
	}
}

// assertPending checks that a push started by goAsync has not returned.
func assertPending(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		t.Errorf("push returned early: %v", err)
	default:
	}
}

func TestZeroValueIsAnUnboundedFIFO(t *testing.T) {
	var m Mailbox
	assert.Zero(t, m.Capacity())
	assert.Equal(t, Block, m.Policy())

	const n = 1000 // far past any initial ring size, so the rings must grow
	for i := range n {
		require.NoError(t, m.Push(i))
	}
	assert.Equal(t, n, m.Len())
	for i := range n {
		msg, ok := m.Pop()
		require.True(t, ok, "pop %d", i)
		assert.Equal(t, i, msg)
	}
	_, ok := m.Pop()
	assert.False(t, ok)
	assert.True(t, m.Empty())
	assert.Zero(t, m.Dropped())
}

func TestOrder(t *testing.T) {
	tests := []struct {
		name   string
		opts   Options
		script string
		want   []any
	}{
		{
			name:   "user messages come out in the order they went in, across batches",
			script: "u1 u2 pop u3 pop u4 pop pop pop",
			want:   []any{"u1", "u2", "u3", "u4", "<none>"},
		},
		{
			name:   "a system message pushed after user messages is popped first",
			script: "u1 u2 s1 pop pop pop",
			want:   []any{"s1", "u1", "u2"},
		},
		{
			name:   "the system lane is itself FIFO",
			script: "s1 u1 s2 s3 pop pop pop pop",
			want:   []any{"s1", "s2", "s3", "u1"},
		},
		{
			name:   "a system message overtakes the user batch the consumer already holds",
			script: "u1 u2 u3 pop s1 pop pop pop pop",
			want:   []any{"u1", "s1", "u2", "u3", "<none>"},
		},
		{
			name:   "a system message overtakes the user lane of a bounded mailbox",
			opts:   Options{Capacity: 4},
			script: "u1 u2 u3 pop s1 pop pop pop pop",
			want:   []any{"u1", "s1", "u2", "u3", "<none>"},
		},
		{
			name:   "the system lane is not bounded by the capacity",
			opts:   Options{Capacity: 1, Policy: Fail},
			script: "u1 s1 s2 s3 pop pop pop pop",
			want:   []any{"s1", "s2", "s3", "u1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMailbox(t, tt.opts)
			assert.Equal(t, tt.want, run(t, m, tt.script))
		})
	}
}

func TestPolicyAtCapacity(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name        string
		policy      Policy
		push        func(m *Mailbox, msg any) error
		wantErr     error
		wantDropped []any
		wantQueued  []any
	}{
		{
			name:        "DropNewest drops the message being pushed and reports it",
			policy:      DropNewest,
			wantDropped: []any{3, 4},
			wantQueued:  []any{1, 2},
		},
		{
			name:        "DropOldest drops the oldest queued message and reports it",
			policy:      DropOldest,
			wantDropped: []any{1, 2},
			wantQueued:  []any{3, 4},
		},
		{
			name:       "Fail rejects the push with ErrFull and drops nothing",
			policy:     Fail,
			wantErr:    ErrFull,
			wantQueued: []any{1, 2},
		},
		{
			name:       "Block with an already cancelled context fails at once and queues nothing",
			policy:     Block,
			push:       func(m *Mailbox, msg any) error { return m.PushContext(cancelled, msg) },
			wantErr:    context.Canceled,
			wantQueued: []any{1, 2},
		},
		{
			name:   "Block with a context that expires while waiting fails and queues nothing",
			policy: Block,
			push: func(m *Mailbox, msg any) error {
				ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
				defer cancel()
				return m.PushContext(ctx, msg)
			},
			wantErr:    context.DeadlineExceeded,
			wantQueued: []any{1, 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dropped []any
			m := newMailbox(t, Options{Capacity: 2, Policy: tt.policy, OnDrop: func(msg any) {
				dropped = append(dropped, msg)
			}})
			push := tt.push
			if push == nil {
				push = (*Mailbox).Push
			}
			require.NoError(t, push(m, 1))
			require.NoError(t, push(m, 2))

			for _, msg := range []any{3, 4} {
				err := push(m, msg)
				if tt.wantErr == nil {
					assert.NoError(t, err)
				} else {
					assert.ErrorIs(t, err, tt.wantErr)
				}
			}
			assert.Equal(t, tt.wantDropped, dropped, "reported to OnDrop")
			assert.Equal(t, uint64(len(tt.wantDropped)), m.Dropped())
			assert.Zero(t, parked(m), "no sender left parked")
			assert.Equal(t, 2, m.Len())
			assert.Equal(t, tt.wantQueued, popAll(m))
		})
	}
}

func TestDropWithoutOnDropStillCounts(t *testing.T) {
	for _, policy := range []Policy{DropNewest, DropOldest} {
		t.Run(policy.String()+" counts drops when OnDrop is nil", func(t *testing.T) {
			m := newMailbox(t, Options{Capacity: 1, Policy: policy})
			for i := range 5 {
				require.NoError(t, m.Push(i))
			}
			assert.Equal(t, uint64(4), m.Dropped())
			assert.Equal(t, 1, m.Len())
		})
	}
}

func TestOnDropRunsWithoutTheLock(t *testing.T) {
	for _, policy := range []Policy{DropNewest, DropOldest} {
		t.Run(policy.String()+" lets OnDrop call back into the mailbox", func(t *testing.T) {
			var m *Mailbox
			var lenInOnDrop int
			m = newMailbox(t, Options{Capacity: 1, Policy: policy, OnDrop: func(any) {
				lenInOnDrop = m.Len() // deadlocks if OnDrop runs under mu
			}})
			require.NoError(t, m.Push(1))
			require.NoError(t, await(t, goAsync(func() error { return m.Push(2) })))
			assert.Equal(t, 1, lenInOnDrop)
		})
	}
}

// A sender that finds senders parked on a Block mailbox queues behind them,
// as on a full Go channel, even if a slot is free (it is theirs, once a
// quarter is): otherwise senders that keep coming take every slot that
// frees, and a parked sender waits for ever.
func TestBlockSendersDoNotOvertakeParkedOnes(t *testing.T) {
	m := newMailbox(t, Options{Capacity: 8})
	for i := range 8 {
		require.NoError(t, m.Push(i))
	}
	parkedFirst := goAsync(func() error { return m.Push("parked first") })
	waitParked(t, m, 1)
	_, _ = m.Pop() // one slot free: fewer than a quarter, nobody is woken
	require.Equal(t, 1, parked(m))
	later := goAsync(func() error { return m.Push("came later") })
	waitParked(t, m, 2) // behind the first, not in the free slot
	_, _ = m.Pop()      // two free: both are woken
	require.NoError(t, await(t, parkedFirst))
	require.NoError(t, await(t, later))
	var got []any
	for {
		msg, ok := m.Pop()
		if !ok {
			break
		}
		got = append(got, msg)
	}
	// Woken together, the two push as they run: in either order.
	require.Len(t, got, 8)
	assert.Equal(t, []any{2, 3, 4, 5, 6, 7}, got[:6])
	assert.ElementsMatch(t, []any{"parked first", "came later"}, got[6:])
}

func TestBlockWakesSendersOnceAQuarterIsFree(t *testing.T) {
	tests := []struct {
		name     string
		capacity int
		pops     int // pops before the parked sender may resume
	}{
		{name: "capacity 1 wakes the sender after one pop", capacity: 1, pops: 1},
		{name: "capacity 3 wakes the sender after one pop", capacity: 3, pops: 1},
		{name: "capacity 8 wakes the sender after two pops", capacity: 8, pops: 2},
		{name: "capacity 16 wakes the sender after four pops", capacity: 16, pops: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMailbox(t, Options{Capacity: tt.capacity})
			for i := range tt.capacity {
				require.NoError(t, m.Push(i))
			}
			done := goAsync(func() error { return m.Push(tt.capacity) })
			waitParked(t, m, 1)

			for i := range tt.pops - 1 {
				msg, ok := m.Pop()
				require.True(t, ok)
				assert.Equal(t, i, msg)
				// Wake-ups happen inside Pop, under the lock: a sender
				// still listed as parked after Pop returns was not woken.
				assert.Equal(t, 1, parked(m), "woken too early, after %d pops", i+1)
				assertPending(t, done)
			}
			msg, ok := m.Pop()
			require.True(t, ok)
			assert.Equal(t, tt.pops-1, msg)
			assert.NoError(t, await(t, done))

			var want []any
			for i := tt.pops; i <= tt.capacity; i++ {
				want = append(want, i)
			}
			assert.Equal(t, want, popAll(m), "the resumed message is queued last")
		})
	}
}

func TestBlockResumesParkedSendersInArrivalOrder(t *testing.T) {
	m := newMailbox(t, Options{Capacity: 1})
	require.NoError(t, m.Push("first"))
	a := goAsync(func() error { return m.Push("a") })
	waitParked(t, m, 1)
	b := goAsync(func() error { return m.Push("b") })
	waitParked(t, m, 2)

	msg, _ := m.Pop()
	assert.Equal(t, "first", msg)
	require.NoError(t, await(t, a))
	assert.Equal(t, 1, parked(m), "one free slot wakes one sender")
	msg, _ = m.Pop()
	assert.Equal(t, "a", msg)
	require.NoError(t, await(t, b))
	msg, _ = m.Pop()
	assert.Equal(t, "b", msg)
}

func TestPushContextCancelledWhileParked(t *testing.T) {
	m := newMailbox(t, Options{Capacity: 1})
	require.NoError(t, m.Push("first"))
	ctx, cancel := context.WithCancel(context.Background())
	done := goAsync(func() error { return m.PushContext(ctx, "late") })
	waitParked(t, m, 1)

	cancel()
	assert.ErrorIs(t, await(t, done), context.Canceled)
	assert.Zero(t, parked(m), "a cancelled sender leaves the line")
	assert.Equal(t, []any{"first"}, popAll(m))
}

// sendersInSelect counts goroutines parked in the select of pushBlocking.
// Being listed in m.b.waiters is not enough for the test below: a sender is
// listed just before it reaches its select.
func sendersInSelect() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		header, _, _ := strings.Cut(g, "\n")
		if strings.Contains(header, "[select") && strings.Contains(g, "(*Mailbox).pushBlocking") {
			n++
		}
	}
	return n
}

func TestCancelAfterWakeUpPassesTheWakeUpOn(t *testing.T) {
	m := newMailbox(t, Options{Capacity: 1})
	require.NoError(t, m.Push("first"))
	ctxA, cancelA := context.WithCancel(context.Background())
	defer cancelA()
	a := goAsync(func() error { return m.PushContext(ctxA, "a") })
	waitParked(t, m, 1)
	b := goAsync(func() error { return m.Push("b") })
	waitParked(t, m, 2)
	deadline := time.Now().Add(patience)
	for sendersInSelect() != 2 {
		require.False(t, time.Now().After(deadline), "senders never reached their select")
		runtime.Gosched()
	}

	// Holding the lock, cancel A, then do what Pop does: A is parked in its
	// select with no token, so it takes the ctx.Done branch and waits for
	// the lock; the wake-up token then arrives for a sender that is leaving.
	m.mu.Lock()
	cancelA()
	msg := m.user.pop()
	m.wakeLocked()
	require.Len(t, m.b.waiters, 1, "one free slot wakes A only")
	m.mu.Unlock()
	assert.Equal(t, "first", msg)

	assert.ErrorIs(t, await(t, a), context.Canceled)
	assert.NoError(t, await(t, b), "A must hand its wake-up to B")
	assert.Equal(t, []any{"b"}, popAll(m))
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr error
	}{
		{name: "the zero options are valid", opts: Options{}},
		{name: "a bounded Fail mailbox is valid", opts: Options{Capacity: 10, Policy: Fail}},
		{name: "a negative capacity is rejected", opts: Options{Capacity: -1}, wantErr: ErrInvalidCapacity},
		{name: "a policy past Fail is rejected", opts: Options{Policy: Fail + 1}, wantErr: ErrUnknownPolicy},
		{name: "the largest policy value is rejected", opts: Options{Capacity: 1, Policy: 255}, wantErr: ErrUnknownPolicy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			m, newErr := New(tt.opts)
			var zero Mailbox
			initErr := zero.Init(tt.opts)
			if tt.wantErr == nil {
				assert.NoError(t, err)
				assert.NoError(t, newErr)
				assert.NoError(t, initErr)
				require.NotNil(t, m)
				assert.Equal(t, tt.opts.Capacity, m.Capacity())
				assert.Equal(t, tt.opts.Policy, m.Policy())
				return
			}
			assert.ErrorIs(t, err, tt.wantErr)
			assert.ErrorIs(t, newErr, tt.wantErr)
			assert.ErrorIs(t, initErr, tt.wantErr)
			assert.Nil(t, m)
		})
	}
}

func TestPolicyString(t *testing.T) {
	tests := []struct {
		policy Policy
		want   string
	}{
		{Block, "block"},
		{DropNewest, "drop-newest"},
		{DropOldest, "drop-oldest"},
		{Fail, "fail"},
		{Fail + 1, "policy(4)"},
	}
	for _, tt := range tests {
		t.Run("policy "+tt.want+" has its name", func(t *testing.T) {
			assert.Equal(t, tt.want, tt.policy.String())
		})
	}
}

func TestClose(t *testing.T) {
	t.Run("every push after Close fails with ErrClosed and queues nothing", func(t *testing.T) {
		m := newMailbox(t, Options{})
		require.NoError(t, m.Push("kept"))
		m.Close()
		assert.True(t, m.Closed())
		assert.ErrorIs(t, m.Push("u"), ErrClosed)
		assert.ErrorIs(t, m.PushContext(context.Background(), "u"), ErrClosed)
		assert.ErrorIs(t, m.PushSystem("s"), ErrClosed)
		assert.Equal(t, 1, m.Len())
	})

	t.Run("a full mailbox reports ErrClosed, not its policy, after Close", func(t *testing.T) {
		for _, policy := range []Policy{Block, DropNewest, DropOldest, Fail} {
			m := newMailbox(t, Options{Capacity: 1, Policy: policy})
			require.NoError(t, m.Push("kept"))
			m.Close()
			assert.ErrorIs(t, m.Push("u"), ErrClosed, policy.String())
			assert.Zero(t, m.Dropped(), policy.String())
		}
	})

	t.Run("parked Block senders are woken and fail with ErrClosed", func(t *testing.T) {
		m := newMailbox(t, Options{Capacity: 1})
		require.NoError(t, m.Push("kept"))
		a := goAsync(func() error { return m.Push("a") })
		waitParked(t, m, 1)
		b := goAsync(func() error { return m.PushContext(context.Background(), "b") })
		waitParked(t, m, 2)

		m.Close()
		assert.ErrorIs(t, await(t, a), ErrClosed)
		assert.ErrorIs(t, await(t, b), ErrClosed)
		assert.Zero(t, parked(m))
		assert.Equal(t, []any{"kept"}, popAll(m), "a refused push is not queued")
	})

	t.Run("Drain returns everything accepted, system lane first, and its count", func(t *testing.T) {
		m := newMailbox(t, Options{})
		popped := run(t, m, "u1 u2 u3 pop s1 u4 s2")
		require.Equal(t, []any{"u1"}, popped)
		m.Close()

		var drained []any
		n := m.Drain(func(msg any) { drained = append(drained, msg) })
		assert.Equal(t, 5, n)
		assert.Equal(t, []any{"s1", "s2", "u2", "u3", "u4"}, drained)
		assert.Zero(t, m.Len())
		assert.True(t, m.Empty())
		assert.Zero(t, m.Drain(nil), "nothing is left for a second Drain")
	})

	t.Run("Drain with a nil function still empties and counts", func(t *testing.T) {
		m := newMailbox(t, Options{Capacity: 4})
		run(t, m, "u1 u2 s1")
		assert.Equal(t, 3, m.Drain(nil))
		assert.True(t, m.Empty())
	})

	t.Run("Close is idempotent", func(t *testing.T) {
		m := newMailbox(t, Options{Capacity: 2})
		require.NoError(t, m.Push("kept"))
		m.Close()
		assert.NotPanics(t, m.Close)
		assert.True(t, m.Closed())
		assert.ErrorIs(t, m.Push("u"), ErrClosed)
		assert.Equal(t, []any{"kept"}, popAll(m))
	})
}

func TestLenAndEmpty(t *testing.T) {
	tests := []struct {
		name      string
		opts      Options
		script    string
		wantLen   int
		wantEmpty bool
	}{
		{name: "a new mailbox is empty", wantEmpty: true},
		{name: "Len counts the user lane", script: "u1 u2", wantLen: 2},
		{name: "Len counts the system lane", script: "s1 s2 s3", wantLen: 3},
		{name: "Len counts both lanes", script: "u1 s1 u2", wantLen: 3},
		{
			name:    "Len counts the batch the consumer holds",
			script:  "u1 u2 u3 pop",
			wantLen: 2,
		},
		{
			name:    "Len counts the batch and what producers pushed since",
			script:  "u1 u2 u3 pop u4 s1",
			wantLen: 4,
		},
		{
			name:    "Len counts a bounded mailbox",
			opts:    Options{Capacity: 4},
			script:  "u1 u2 u3 pop s1",
			wantLen: 3,
		},
		{name: "a mailbox with only system messages is not empty", script: "s1", wantLen: 1},
		{name: "a mailbox emptied by pops is empty", script: "u1 s1 pop pop", wantEmpty: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMailbox(t, tt.opts)
			run(t, m, tt.script)
			assert.Equal(t, tt.wantLen, m.Len())
			assert.Equal(t, tt.wantEmpty, m.Empty())
		})
	}
}

func TestEmptyGivesBackTheMemoryOfABurst(t *testing.T) {
	m := newMailbox(t, Options{})
	for i := range 1000 {
		require.NoError(t, m.Push(i))
	}
	assert.Len(t, popAll(m), 1000)
	require.True(t, m.Empty())
	assert.Nil(t, m.user.buf)
	assert.Nil(t, m.batch.buf)

	require.NoError(t, m.Push("after"))
	msg, ok := m.Pop()
	assert.True(t, ok)
	assert.Equal(t, "after", msg, "a shrunk mailbox still works")
}

func TestPopAfterAFullRunTakesWhatIsThere(t *testing.T) {
	m := newMailbox(t, Options{})
	for i := range gatherRun {
		require.NoError(t, m.Push(i))
	}
	require.Len(t, popAll(m), gatherRun)
	require.True(t, m.streaming, "a swap of a full run marks the senders as streaming")

	// The senders have stopped: Pop waits for a run no longer than it takes
	// to see the lane not growing, and takes what is there.
	for _, v := range []string{"a", "b", "c"} {
		require.NoError(t, m.Push(v))
	}
	assert.Equal(t, []any{"a", "b", "c"}, popAll(m))
	assert.False(t, m.streaming, "a short swap ends the streaming")
	_, ok := m.Pop()
	assert.False(t, ok)
}

func TestPopGathersARunFromAStreamingSender(t *testing.T) {
	m := newMailbox(t, Options{})
	const total = 100 * gatherRun
	go func() {
		for i := range total {
			if m.Push(i) != nil {
				return
			}
		}
	}()
	deadline := time.Now().Add(patience)
	for want := 0; want < total; {
		msg, ok := m.Pop()
		if !ok {
			require.True(t, time.Now().Before(deadline), "got %d of %d messages", want, total)
			runtime.Gosched()
			continue
		}
		require.Equal(t, want, msg, "messages arrive in order, none lost or doubled")
		want++
	}
	_, ok := m.Pop()
	assert.False(t, ok)
}

func TestRingsOfABurstAreReusedEmpty(t *testing.T) {
	for round := range 3 {
		var r ring
		for i := range 1000 {
			r.push(i)
		}
		for i := range 1000 {
			require.Equal(t, i, r.pop(), "round %d", round)
		}
		r.shrink(shrinkAbove)
		require.Nil(t, r.buf)
		// Whether or not the pool kept it, the next burst's ring is as
		// good as new.
		buf := newBuf(1024)
		require.Len(t, buf, 1024)
		for i, v := range buf {
			require.Nil(t, v, "round %d: slot %d of a reused array", round, i)
		}
		freeBuf(buf)
	}
	assert.Len(t, newBuf(8), 8, "small rings are not pooled")
}

func TestRingMatchesASlice(t *testing.T) {
	tests := []struct {
		name string
		ops  string // 'p' pushes, 'o' pops
	}{
		{name: "pushes then pops", ops: "pppppppppoooooooo"},
		{name: "a ring that wraps keeps its order", ops: "pppoopppoopppoopppooooo"},
		{name: "a ring that grows while wrapped keeps its order", ops: "pppoo" + strings.Repeat("p", 11) + strings.Repeat("o", 12)},
		{name: "a ring that empties and refills keeps its order", ops: "ppoopppppooooo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r ring
			var model []int
			next := 0
			for i, op := range tt.ops {
				if op == 'p' {
					r.push(next)
					model = append(model, next)
					next++
				} else {
					require.NotEmpty(t, model)
					assert.Equal(t, model[0], r.pop(), "op %d", i)
					model = model[1:]
				}
				assert.Equal(t, len(model), int(r.n))
			}
			for len(model) > 0 {
				assert.Equal(t, model[0], r.pop())
				model = model[1:]
			}
			for i, v := range r.buf {
				assert.Nil(t, v, "popped slot %d still holds its message", i)
			}
		})
	}
}

func TestEvict(t *testing.T) {
	t.Run("Evict takes what producers queued, system lane first, and leaves the consumer's batch", func(t *testing.T) {
		m := newMailbox(t, Options{})
		require.Equal(t, []any{"u1"}, run(t, m, "u1 u2 u3 pop u4 s1 s2"))

		var evicted []any
		n := m.Evict(func(msg any) { evicted = append(evicted, msg) })
		assert.Equal(t, 3, n)
		assert.Equal(t, []any{"s1", "s2", "u4"}, evicted)
		assert.Equal(t, 2, m.Len(), "the batch the consumer took stays with it")
		assert.Equal(t, []any{"u2", "u3"}, popAll(m))
		assert.True(t, m.Empty())
	})

	t.Run("Evict with a nil function still empties and counts", func(t *testing.T) {
		m := newMailbox(t, Options{Capacity: 4, Policy: DropOldest})
		run(t, m, "u1 u2 s1")
		assert.Equal(t, 3, m.Evict(nil))
		assert.Zero(t, m.Len())
		assert.True(t, m.Empty())
		assert.Zero(t, m.Dropped(), "evicted messages are not drops")
	})

	t.Run("Evict makes room for parked Block senders", func(t *testing.T) {
		m := newMailbox(t, Options{Capacity: 1})
		require.NoError(t, m.Push("evicted"))
		done := goAsync(func() error { return m.Push("resumed") })
		waitParked(t, m, 1)

		evicted := make(chan int, 1)
		go func() { evicted <- m.Evict(nil) }() // any goroutine may evict
		assert.Equal(t, 1, <-evicted)
		assert.NoError(t, await(t, done))
		assert.Equal(t, []any{"resumed"}, popAll(m))
	})

	t.Run("a mailbox is still usable after Evict", func(t *testing.T) {
		m := newMailbox(t, Options{})
		run(t, m, "u1 u2")
		m.Evict(nil)
		assert.Equal(t, []any{"u3", "s1", "u4", "<none>"}, run(t, m, "u3 pop s1 u4 pop pop pop"))
	})
}

// A nil ctx is bad input: PushContext refuses it, whatever the mailbox,
// rather than panic once a Block mailbox is full.
func TestPushContextRefusesANilContext(t *testing.T) {
	m := newMailbox(t, Options{Capacity: 1})
	require.NoError(t, m.Push(1))
	//lint:ignore SA1012 a nil context is the bad input under test
	assert.ErrorIs(t, m.PushContext(nil, 2), ErrNilContext)
	//lint:ignore SA1012 a nil context is the bad input under test
	assert.ErrorIs(t, newMailbox(t, Options{}).PushContext(nil, 1), ErrNilContext)
	assert.Equal(t, 1, m.Len())
}
