package actor_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/mailbox"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSpawnRejectsBadInput(t *testing.T) {
	ok := actor.Func(func(*actor.Context, any) error { return nil })
	tests := []struct {
		name string
		ctx  context.Context
		a    actor.Actor
		opts []actor.Option
		want []error
	}{
		{
			name: "a nil actor is ErrNilActor",
			ctx:  context.Background(), a: nil,
			want: []error{actor.ErrNilActor},
		},
		{
			name: "a task with a nil function is ErrNilActor",
			ctx:  context.Background(), a: actor.Task(nil),
			want: []error{actor.ErrNilActor},
		},
		{
			name: "a nil context is ErrNilContext",
			ctx:  nil, a: ok,
			want: []error{actor.ErrNilContext},
		},
		{
			name: "a negative mailbox capacity is an invalid option",
			ctx:  context.Background(), a: ok,
			opts: []actor.Option{actor.WithMailbox(mailbox.Options{Capacity: -1})},
			want: []error{actor.ErrInvalidOption, mailbox.ErrInvalidCapacity},
		},
		{
			name: "an unknown overflow policy is an invalid option",
			ctx:  context.Background(), a: ok,
			opts: []actor.Option{actor.WithMailbox(mailbox.Options{Capacity: 8, Policy: mailbox.Policy(42)})},
			want: []error{actor.ErrInvalidOption, mailbox.ErrUnknownPolicy},
		},
		{
			name: "a zero call timeout is an invalid option",
			ctx:  context.Background(), a: ok,
			opts: []actor.Option{actor.WithCallTimeout(0)},
			want: []error{actor.ErrInvalidOption},
		},
		{
			name: "a negative call timeout is an invalid option",
			ctx:  context.Background(), a: ok,
			opts: []actor.Option{actor.WithCallTimeout(-1)},
			want: []error{actor.ErrInvalidOption},
		},
		{
			name: "a nil parent is an invalid option",
			ctx:  context.Background(), a: ok,
			opts: []actor.Option{actor.WithParent(nil)},
			want: []error{actor.ErrInvalidOption},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, err := actor.Spawn(tt.ctx, tt.a, tt.opts...)
			require.Error(t, err)
			assert.Nil(t, ref)
			for _, want := range tt.want {
				assert.ErrorIs(t, err, want)
			}
		})
	}

	t.Run("a nil option is ignored", func(t *testing.T) {
		ref := mustSpawn(t, ok, nil, actor.WithName("fine"))
		assert.Equal(t, "fine", ref.Name())
	})
}

func TestMessagingRejectsBadInput(t *testing.T) {
	out := make(chan any, 8)
	ref := mustSpawn(t, puppet(out))

	t.Run("a nil message is refused by every way of sending", func(t *testing.T) {
		assert.ErrorIs(t, ref.Send(nil), actor.ErrNilMessage)
		assert.ErrorIs(t, ref.SendContext(context.Background(), nil), actor.ErrNilMessage)
		_, err := ref.Call(context.Background(), nil)
		assert.ErrorIs(t, err, actor.ErrNilMessage)
		_, err = actor.CallAs[int](context.Background(), ref, nil)
		assert.ErrorIs(t, err, actor.ErrNilMessage)
	})

	t.Run("a nil context is refused by SendContext and Call", func(t *testing.T) {
		//lint:ignore SA1012 a nil context is the bad input under test
		assert.ErrorIs(t, ref.SendContext(nil, "x"), actor.ErrNilContext)
		//lint:ignore SA1012 a nil context is the bad input under test
		_, err := ref.Call(nil, "x")
		assert.ErrorIs(t, err, actor.ErrNilContext)
	})

	t.Run("a nil Ref is refused by every way of sending", func(t *testing.T) {
		// As a child that a factory made Ignore has: StartChild returns a nil Ref.
		var none *actor.Ref
		assert.NotPanics(t, func() {
			assert.ErrorIs(t, none.Send("x"), actor.ErrNilActor)
			assert.ErrorIs(t, none.SendContext(context.Background(), "x"), actor.ErrNilActor)
			_, err := none.Call(context.Background(), "x")
			assert.ErrorIs(t, err, actor.ErrNilActor)
			_, err = actor.CallAs[int](context.Background(), none, "x")
			assert.ErrorIs(t, err, actor.ErrNilActor)
		})
	})

	t.Run("nothing rejected reached the actor", func(t *testing.T) {
		require.NoError(t, ref.Send("sentinel"))
		assert.Equal(t, "sentinel", next(t, out))
	})

	t.Run("Stop with a nil context returns an error rather than panicking", func(t *testing.T) {
		victim := mustSpawn(t, puppet(make(chan any, 1)))
		var err error
		assert.NotPanics(t, func() {
			//lint:ignore SA1012 a nil context is the bad input under test
			err = victim.Stop(nil)
		})
		assert.ErrorIs(t, err, actor.ErrNilContext)
	})
}

func TestContextRejectsBadInput(t *testing.T) {
	out := make(chan any, 8)
	ref := mustSpawn(t, puppet(out))

	t.Run("linking or monitoring nil is ErrNilActor", func(t *testing.T) {
		var linkErr, monErr error
		var m actor.MonitorRef
		exec(t, ref, func(c *actor.Context) {
			linkErr = c.Link(nil)
			m, monErr = c.Monitor(nil)
			c.Unlink(nil) // a no-op
		})
		assert.ErrorIs(t, linkErr, actor.ErrNilActor)
		assert.ErrorIs(t, monErr, actor.ErrNilActor)
		assert.Nil(t, m.Target())
	})

	t.Run("demonitoring a zero MonitorRef reports no monitor", func(t *testing.T) {
		var removed bool
		exec(t, ref, func(c *actor.Context) { removed = c.Demonitor(actor.MonitorRef{}) })
		assert.False(t, removed)
	})

	t.Run("a zero Replier answers nothing", func(t *testing.T) {
		var r actor.Replier
		assert.ErrorIs(t, r.Reply(1), actor.ErrNoCall)
		assert.ErrorIs(t, r.ReplyError(errBoom), actor.ErrNoCall)
	})

	t.Run("the actor is still alive after all of it", func(t *testing.T) {
		assert.True(t, ref.Alive())
		require.NoError(t, ref.Send("sentinel"))
		assert.Equal(t, "sentinel", next(t, out))
	})
}

func TestRestartRejectsBadInput(t *testing.T) {
	t.Run("restarting with no actor is ErrNilActor", func(t *testing.T) {
		ref := mustSpawn(t, puppet(make(chan any, 1)))
		assert.ErrorIs(t, ref.Restart(nil), actor.ErrNilActor)
		assert.ErrorIs(t, ref.Restart(actor.Task(nil)), actor.ErrNilActor)
	})

	t.Run("restarting an unsupervised running actor is ErrNotSuspended", func(t *testing.T) {
		ref := mustSpawn(t, puppet(make(chan any, 1)))
		assert.ErrorIs(t, ref.Restart(puppet(make(chan any, 1))), actor.ErrNotSuspended)
		assert.Equal(t, uint64(1), ref.Incarnation())
	})

	t.Run("restarting a stopped actor is ErrStopped", func(t *testing.T) {
		ref := mustSpawn(t, puppet(make(chan any, 1)))
		require.NoError(t, ref.Stop(callCtx(t)))
		assert.ErrorIs(t, ref.Restart(puppet(make(chan any, 1))), actor.ErrStopped)
	})
}

// AfterStop(nil) registers nothing: the end does not call a nil function.
func TestAfterStopWithNilFuncDoesNotPanicAtTheEnd(t *testing.T) {
	ref := mustSpawn(t, puppet(make(chan any, 1)))
	assert.NotPanics(t, func() { ref.AfterStop(nil) }, "registering")
	assert.NotPanics(t, ref.Kill, "Kill of an actor with AfterStop(nil)")
}

// OnStop(nil) and OnIncarnationEnd(nil) likewise: no hook is made, and the
// end goes on.
func TestOnStopWithNilFuncDoesNotPanicAtTheEnd(t *testing.T) {
	ref, err := actor.Spawn(context.Background(), puppet(make(chan any, 1)))
	require.NoError(t, err) // not mustSpawn: its Stop would wait for a Done that never closes
	assert.NotPanics(t, func() { ref.OnStop(nil) }, "registering")
	assert.NotPanics(t, func() { ref.OnIncarnationEnd(nil) }, "registering")
	assert.NotPanics(t, ref.Kill, "Kill of an actor with OnStop(nil) and OnIncarnationEnd(nil)")
	waitDone(t, ref)
}

// Context.Recv returns ErrNilContext for a nil context, as Call,
// SendContext, Stop and Suspend do.
func TestRecvWithNilContextIsAnError(t *testing.T) {
	res := make(chan error, 1)
	ref := mustSpawn(t, actor.Task(func(_ context.Context, c *actor.Context) (err error) {
		defer func() {
			if v := recover(); v != nil {
				res <- fmt.Errorf("Recv(nil) panicked: %v", v)
			}
		}()
		//lint:ignore SA1012 a nil context is the bad input under test
		_, err = c.Recv(nil)
		res <- err
		return nil
	}))
	err := next(t, res)
	require.ErrorIs(t, err, actor.ErrNilContext)
	_ = ref
}

// The accessors of a nil *Ref (what StartChild returns for an ignored
// child) answer for "no actor", as String, Alive, Done and Err do.
func TestNilRefAccessorsDoNotPanic(t *testing.T) {
	var none *actor.Ref
	for name, f := range map[string]func(){
		"Name":        func() { _ = none.Name() },
		"Incarnation": func() { _ = none.Incarnation() },
		"MailboxLen":  func() { _ = none.MailboxLen() },
		"DeadLetters": func() { _ = none.DeadLetters() },
		"Suspended":   func() { _ = none.Suspended() },
		"ID":          func() { _ = none.ID() },
	} {
		assert.NotPanics(t, f, name)
	}
}
