package actor_test

import (
	"context"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/mailbox"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// held is a puppet busy in a Receive that waits for its gate, so that what is
// sent to it queues in its mailbox; its dead letters go to dead.
type held struct {
	ref  *actor.Ref
	gate *gate
	ctx  context.Context // the context of the blocked Receive: it ends on a stop request
	out  chan any
	dead chan actor.DeadLetter
}

func spawnHeld(t *testing.T, opts ...actor.Option) *held {
	t.Helper()
	h := &held{gate: newGate(), out: make(chan any, 64), dead: make(chan actor.DeadLetter, 64)}
	opts = append(opts, actor.WithDeadLetters(func(d actor.DeadLetter) { h.dead <- d }))
	h.ref = mustSpawn(t, puppet(h.out), opts...)
	t.Cleanup(h.gate.open) // registered last, so it runs before the Stop
	entered := make(chan struct{})
	require.NoError(t, h.ref.Send(doFn(func(c *actor.Context) error {
		h.ctx = c.Context()
		close(entered)
		<-h.gate.ch
		return nil
	})))
	next(t, entered)
	return h
}

// holdUntilStopped makes a puppet wait in Receive until it is asked to stop,
// and returns once it waits, with the ID of the goroutine that waits: the one
// that will carry out the stop.
func holdUntilStopped(t *testing.T, ref *actor.Ref) (goroutine uint64) {
	t.Helper()
	entered := make(chan uint64, 1)
	require.NoError(t, ref.Send(doFn(func(c *actor.Context) error {
		entered <- goroutineID()
		<-c.Context().Done()
		return nil
	})))
	return next(t, entered)
}

func TestDeadLettersOfAStoppedActor(t *testing.T) {
	t.Run("a send to a stopped actor fails and is a dead letter", func(t *testing.T) {
		dead := make(chan actor.DeadLetter, 4)
		ref := mustSpawn(t, puppet(make(chan any, 1)), actor.WithDeadLetters(func(d actor.DeadLetter) { dead <- d }))
		require.NoError(t, ref.Stop(callCtx(t)))

		assert.ErrorIs(t, ref.Send("late"), actor.ErrStopped)
		assert.Equal(t, actor.DeadLetter{To: ref, Msg: "late", Reason: actor.ErrStopped}, next(t, dead))
		assert.ErrorIs(t, ref.SendContext(context.Background(), "later"), actor.ErrStopped)
		assert.Equal(t, actor.DeadLetter{To: ref, Msg: "later", Reason: actor.ErrStopped}, next(t, dead))
		assert.Equal(t, uint64(2), ref.DeadLetters())
	})

	t.Run("messages still queued when the actor stops become dead letters in order", func(t *testing.T) {
		dead := make(chan actor.DeadLetter, 4)
		out := make(chan any, 4)
		ref := mustSpawn(t, puppet(out), actor.WithDeadLetters(func(d actor.DeadLetter) { dead <- d }))
		holdUntilStopped(t, ref)
		for _, m := range []string{"a", "b", "c"} {
			require.NoError(t, ref.Send(m))
		}

		require.NoError(t, ref.Stop(callCtx(t)))
		for _, m := range []string{"a", "b", "c"} {
			assert.Equal(t, actor.DeadLetter{To: ref, Msg: m, Reason: actor.ErrStopped}, next(t, dead))
		}
		assert.Equal(t, uint64(3), ref.DeadLetters())
		assert.Empty(t, out, "no queued message was handled after the stop")
		assert.Zero(t, ref.MailboxLen())
	})

	t.Run("messages queued behind a blocked Receive become dead letters when it is released", func(t *testing.T) {
		h := spawnHeld(t)
		require.NoError(t, h.ref.Send("x"))
		require.NoError(t, h.ref.Send("y"))
		stopped := make(chan error, 1)
		go func() { stopped <- h.ref.Stop(context.Background()) }()
		// Stop asks, then waits: the end of the Receive's context says that
		// the request is in.
		next(t, h.ctx.Done())
		assert.False(t, isDone(h.ref), "Stop waits for the Receive in progress")
		h.gate.open()
		require.NoError(t, next(t, stopped))
		assert.Equal(t, "x", next(t, h.dead).Msg)
		assert.Equal(t, "y", next(t, h.dead).Msg)
		assert.Empty(t, h.out, "nothing queued was handled after the stop request")
	})

	t.Run("Kill makes queued messages dead letters at once, and those its stuck Receive took when it returns", func(t *testing.T) {
		dead := make(chan actor.DeadLetter, 16)
		out := make(chan any, 16)
		ref := mustSpawn(t, puppet(out), actor.WithDeadLetters(func(d actor.DeadLetter) { dead <- d }))
		first, stuck := newGate(), newGate()
		defer first.open()
		defer stuck.open()
		// A first Receive holds the goroutine while the rest queues, so
		// that it then takes all of it at once, as an unbounded mailbox
		// hands its consumer everything queued, and gets stuck on the
		// first of them.
		held := make(chan struct{})
		require.NoError(t, ref.Send(doFn(func(*actor.Context) error {
			close(held)
			<-first.ch
			return nil
		})))
		next(t, held)
		entered := make(chan uint64, 1)
		require.NoError(t, ref.Send(doFn(func(*actor.Context) error {
			entered <- goroutineID()
			<-stuck.ch // deaf to its context: only Kill can end it now
			return nil
		})))
		for _, m := range []string{"a", "b", "c"} {
			require.NoError(t, ref.Send(m))
		}
		called := make(chan error, 1)
		go func() {
			_, err := ref.Call(context.Background(), doFn(func(c *actor.Context) error { return c.Reply("handled") }))
			called <- err
		}()
		eventually(t, func() bool { return ref.MailboxLen() == 5 }, "the call is queued")
		first.open()
		gid := next(t, entered)
		require.NoError(t, ref.Send("late"))

		ref.Kill()
		assert.Equal(t, actor.DeadLetter{To: ref, Msg: "late", Reason: actor.ErrStopped}, next(t, dead),
			"what was still queued is a dead letter at once")
		var exit *actor.ExitError
		require.ErrorAs(t, next(t, called), &exit, "a call the stuck goroutine took fails at once")
		assert.True(t, exit.Stopped)
		assert.ErrorIs(t, exit.Reason, actor.ErrKilled)
		assert.Equal(t, uint64(1), ref.DeadLetters())
		assert.Equal(t, 4, ref.MailboxLen(), "what the stuck goroutine took stays counted until it returns")

		stuck.open()
		waitGoroutineGone(t, gid)
		for _, m := range []string{"a", "b", "c"} {
			assert.Equal(t, actor.DeadLetter{To: ref, Msg: m, Reason: actor.ErrStopped}, next(t, dead))
		}
		assert.Equal(t, uint64(4), ref.DeadLetters(), "each message accounted for once")
		assert.Zero(t, ref.MailboxLen())
		assert.Empty(t, out, "nothing was handled after the kill")
	})
}

func TestDeadLettersOfAFullMailbox(t *testing.T) {
	tests := []struct {
		name    string
		policy  mailbox.Policy
		dropped string
		handled []string
	}{
		{name: "DropNewest drops the message being sent", policy: mailbox.DropNewest, dropped: "c", handled: []string{"a", "b"}},
		{name: "DropOldest drops the oldest queued message", policy: mailbox.DropOldest, dropped: "a", handled: []string{"b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" and reports it as a dead letter", func(t *testing.T) {
			var userDrops []any
			h := spawnHeld(t, actor.WithMailbox(mailbox.Options{
				Capacity: 2, Policy: tt.policy,
				OnDrop: func(m any) { userDrops = append(userDrops, m) },
			}))
			for _, m := range []string{"a", "b", "c"} {
				require.NoError(t, h.ref.Send(m), "a dropping policy accepts the send")
			}
			assert.Equal(t, actor.DeadLetter{To: h.ref, Msg: tt.dropped, Reason: mailbox.ErrFull}, next(t, h.dead))
			assert.Equal(t, uint64(1), h.ref.DeadLetters())
			assert.Equal(t, []any{tt.dropped}, userDrops, "the mailbox's own OnDrop is told too")

			h.gate.open()
			for _, m := range tt.handled {
				assert.Equal(t, m, next(t, h.out))
			}
			assert.Empty(t, h.out, "the dropped message was never handled")
		})
	}

	t.Run("Fail refuses the send with mailbox.ErrFull and drops nothing", func(t *testing.T) {
		h := spawnHeld(t, actor.WithMailbox(mailbox.Options{Capacity: 1, Policy: mailbox.Fail}))
		require.NoError(t, h.ref.Send("a"))
		assert.ErrorIs(t, h.ref.Send("b"), mailbox.ErrFull)
		_, err := h.ref.Call(callCtx(t), "c")
		assert.ErrorIs(t, err, mailbox.ErrFull)
		assert.Zero(t, h.ref.DeadLetters())

		h.gate.open()
		assert.Equal(t, "a", next(t, h.out))
		require.NoError(t, h.ref.Send("end"))
		assert.Equal(t, "end", next(t, h.out), "the refused messages were not queued")
	})

	t.Run("SendContext on a full Block mailbox gives up with its context", func(t *testing.T) {
		h := spawnHeld(t, actor.WithMailbox(mailbox.Options{Capacity: 1, Policy: mailbox.Block}))
		require.NoError(t, h.ref.Send("a"))
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		assert.ErrorIs(t, h.ref.SendContext(ctx, "b"), context.DeadlineExceeded)

		h.gate.open()
		assert.Equal(t, "a", next(t, h.out))
		require.NoError(t, h.ref.Send("end"))
		assert.Equal(t, "end", next(t, h.out), "the message that gave up was not queued")
	})

	t.Run("a sender held up by a full Block mailbox fails when the actor is killed", func(t *testing.T) {
		h := spawnHeld(t, actor.WithMailbox(mailbox.Options{Capacity: 1, Policy: mailbox.Block}))
		require.NoError(t, h.ref.Send("a"))
		sent := make(chan error, 1)
		// Whether the send parks before the kill or arrives after it, it
		// must fail rather than wait for room that will never come.
		go func() { sent <- h.ref.Send("b") }()
		h.ref.Kill()
		assert.ErrorIs(t, next(t, sent), actor.ErrStopped)
		h.gate.open()
		// The refused message and the one left queued are both dead letters,
		// in whichever order the goroutines involved find them.
		letters := []actor.DeadLetter{next(t, h.dead), next(t, h.dead)}
		assert.ElementsMatch(t, []actor.DeadLetter{
			{To: h.ref, Msg: "a", Reason: actor.ErrStopped},
			{To: h.ref, Msg: "b", Reason: actor.ErrStopped},
		}, letters)
		assert.ErrorIs(t, h.ref.Err(), actor.ErrKilled)
	})
}

func TestCallsLostToAFullMailbox(t *testing.T) {
	// A call the mailbox cannot hold must fail at once, as a send does: its
	// caller should not wait out its deadline for a request nobody will see.
	tests := []struct {
		name   string
		policy mailbox.Policy
	}{
		{
			name: "a call dropped by DropNewest fails at once with mailbox.ErrFull", policy: mailbox.DropNewest,
		},
		{
			name: "a call evicted by DropOldest fails at once with mailbox.ErrFull", policy: mailbox.DropOldest,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := spawnHeld(t, actor.WithMailbox(mailbox.Options{Capacity: 1, Policy: tt.policy}))
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			result := make(chan error, 1)
			if tt.policy == mailbox.DropNewest {
				require.NoError(t, h.ref.Send("filler"))
				go func() { _, err := h.ref.Call(ctx, "question"); result <- err }()
			} else {
				go func() { _, err := h.ref.Call(ctx, "question"); result <- err }()
				eventually(t, func() bool { return h.ref.MailboxLen() == 1 }, "the call is queued")
				require.NoError(t, h.ref.Send("evictor"))
			}
			d := next(t, h.dead)
			// Not compared with assert.Equal: printing a runtime envelope
			// would read memory the runtime is still writing.
			m, isString := d.Msg.(string)
			assert.True(t, isString, "the dead letter shows the message, not the runtime's envelope %T", d.Msg)
			assert.Equal(t, "question", m)
			assert.ErrorIs(t, d.Reason, mailbox.ErrFull)
			err := next(t, result)
			assert.ErrorIs(t, err, mailbox.ErrFull)
			assert.NotErrorIs(t, err, context.DeadlineExceeded, "the caller was not left to time out")
		})
	}

	t.Run("a call without a deadline waiting on a full Block mailbox is bounded by the call timeout", func(t *testing.T) {
		h := spawnHeld(t,
			actor.WithMailbox(mailbox.Options{Capacity: 1, Policy: mailbox.Block}),
			actor.WithCallTimeout(50*time.Millisecond))
		require.NoError(t, h.ref.Send("filler"))
		result := make(chan error, 1)
		go func() { _, err := h.ref.Call(context.Background(), "question"); result <- err }()
		defer h.gate.open() // lets a call stuck in the push finish, should it be
		select {
		case err := <-result:
			assert.ErrorIs(t, err, actor.ErrCallTimeout)
		case <-time.After(2 * time.Second):
			t.Error("a call with no deadline waited past its call timeout for room in the mailbox")
			h.gate.open()
			<-result
		}
	})
}

// Dead letters are reported on the goroutine that finds them; the hook sees
// every one exactly once.
func TestDeadLetterCountMatchesReports(t *testing.T) {
	var reports int
	ref := mustSpawn(t, puppet(make(chan any, 1)), actor.WithDeadLetters(func(actor.DeadLetter) { reports++ }))
	require.NoError(t, ref.Stop(callCtx(t)))
	for range 10 {
		require.ErrorIs(t, ref.Send("x"), actor.ErrStopped)
	}
	assert.Equal(t, 10, reports)
	assert.Equal(t, uint64(10), ref.DeadLetters())
	assert.ErrorIs(t, ref.Err(), actor.ErrShutdown)
}
