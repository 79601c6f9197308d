package actor_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSpawnRunsInit(t *testing.T) {
	t.Run("Init runs on the spawning goroutine before Spawn returns", func(t *testing.T) {
		// Written without synchronisation on purpose: if Init ran on another
		// goroutine, the race detector would object to the read below.
		var ran bool
		var self *actor.Ref
		var inc uint64
		ref := mustSpawn(t, &lifecycle{init: func(c *actor.Context) error {
			ran, self, inc = true, c.Self(), c.Incarnation()
			return nil
		}})
		assert.True(t, ran)
		assert.Same(t, ref, self)
		assert.Equal(t, uint64(1), inc)
	})

	t.Run("messages sent from Init are handled after it", func(t *testing.T) {
		out := make(chan any, 4)
		ref := mustSpawn(t, &lifecycle{
			init: func(c *actor.Context) error { return c.Self().Send("from init") },
			receive: func(c *actor.Context, msg any) error {
				out <- msg
				return nil
			},
		})
		require.NoError(t, ref.Send("after"))
		assert.Equal(t, "from init", next(t, out))
		assert.Equal(t, "after", next(t, out))
	})
}

func TestSpawnFailsWhenInitFails(t *testing.T) {
	errInit := errors.New("cannot start")
	tests := []struct {
		name  string
		init  func(c *actor.Context) error
		check func(t *testing.T, err error)
	}{
		{
			name: "an Init that returns an error fails Spawn with it",
			init: func(*actor.Context) error { return errInit },
			check: func(t *testing.T, err error) {
				assert.ErrorIs(t, err, errInit)
			},
		},
		{
			name: "an Init that panics fails Spawn with a PanicError",
			init: func(*actor.Context) error { panic("no config") },
			check: func(t *testing.T, err error) {
				var perr *actor.PanicError
				require.ErrorAs(t, err, &perr)
				assert.Equal(t, "no config", perr.Value)
				assert.NotEmpty(t, perr.Stack.Frames())
			},
		},
		{
			name: "an Init that panics with an error fails Spawn with that error",
			init: func(*actor.Context) error { panic(errInit) },
			check: func(t *testing.T, err error) {
				var perr *actor.PanicError
				require.ErrorAs(t, err, &perr)
				assert.ErrorIs(t, err, errInit)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var incCtx context.Context
			terminated := false
			a := &lifecycle{
				init: func(c *actor.Context) error {
					incCtx = c.Context()
					return tt.init(c)
				},
				terminate: func(*actor.Context, error) { terminated = true },
			}
			ref, err := actor.Spawn(context.Background(), a, actor.WithLogger(zerolog.Nop()))
			require.Error(t, err)
			assert.Nil(t, ref)
			tt.check(t, err)
			require.NotNil(t, incCtx)
			assert.Error(t, incCtx.Err(), "the context Init saw is cancelled with the failed start")
			assert.False(t, terminated, "Terminate does not run for an incarnation that never started")
		})
	}
}

func TestSpawnContext(t *testing.T) {
	t.Run("its end during Init ends the context Init works with", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		entered := make(chan struct{})
		go func() { <-entered; cancel() }()
		ref, err := actor.Spawn(ctx, &lifecycle{init: func(c *actor.Context) error {
			close(entered)
			select {
			case <-c.Context().Done(): // a dial that honours its context
				return context.Cause(c.Context())
			case <-time.After(patience):
				return errors.New("Init's context did not end with the spawn context")
			}
		}})
		assert.ErrorIs(t, err, actor.ErrShutdown)
		assert.Nil(t, ref)
	})
	t.Run("a cancelled context fails Spawn without running Init", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		initRan := false
		ref, err := actor.Spawn(ctx, &lifecycle{init: func(*actor.Context) error {
			initRan = true
			return nil
		}})
		assert.ErrorIs(t, err, context.Canceled)
		assert.Nil(t, ref)
		assert.False(t, initRan)
	})

	t.Run("cancelling the context later stops the actor with ErrShutdown", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		out := make(chan any, 4)
		ref, err := actor.Spawn(ctx, puppet(out), actor.WithLogger(zerolog.Nop()))
		require.NoError(t, err)
		var incCtx context.Context
		exec(t, ref, func(c *actor.Context) { incCtx = c.Context() })

		cancel()
		reason := waitDone(t, ref)
		assert.ErrorIs(t, reason, actor.ErrShutdown)
		assert.True(t, actor.IsShutdown(reason))
		assert.Error(t, incCtx.Err(), "the actor's own context ends with it")
		assert.ErrorIs(t, context.Cause(incCtx), actor.ErrShutdown,
			"its cause is the exit reason, not the spawn context's")
		assert.ErrorIs(t, ref.Send("late"), actor.ErrStopped)
	})

	t.Run("the actor's context has the spawn context's values and deadline", func(t *testing.T) {
		type key struct{}
		deadline := time.Now().Add(time.Hour)
		ctx, cancel := context.WithDeadline(context.WithValue(context.Background(), key{}, "v"), deadline)
		defer cancel()
		ref, err := actor.Spawn(ctx, puppet(make(chan any, 1)), actor.WithLogger(zerolog.Nop()))
		require.NoError(t, err)
		t.Cleanup(func() { stopOrKill(t, ref) })
		exec(t, ref, func(c *actor.Context) {
			assert.Equal(t, "v", c.Context().Value(key{}))
			d, ok := c.Context().Deadline()
			assert.True(t, ok)
			assert.True(t, d.Equal(deadline), "deadline %v, want %v", d, deadline)
			assert.NoError(t, c.Context().Err())
		})
	})

	t.Run("a Receive that returns its context's error when the spawn context ends stops with ErrShutdown", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ref, err := actor.Spawn(ctx, puppet(make(chan any, 1)), actor.WithLogger(zerolog.Nop()))
		require.NoError(t, err)
		entered := make(chan struct{})
		require.NoError(t, ref.Send(doFn(func(c *actor.Context) error {
			close(entered)
			<-c.Context().Done()
			return c.Context().Err()
		})))
		next(t, entered)
		cancel()
		reason := waitDone(t, ref)
		assert.ErrorIs(t, reason, actor.ErrShutdown)
		assert.False(t, actor.IsCrash(reason), "an actor whose spawn context ended did not crash: %v", reason)
	})

	t.Run("an actor spawned from an actor stops when its spawner's incarnation ends", func(t *testing.T) {
		parent := mustSpawn(t, puppet(make(chan any, 1)))
		var child *actor.Ref
		exec(t, parent, func(c *actor.Context) {
			var err error
			child, err = c.Spawn(puppet(make(chan any, 1)))
			assert.NoError(t, err)
		})
		require.NoError(t, parent.Send(doFn(func(*actor.Context) error { return errBoom })))
		assert.ErrorIs(t, waitDone(t, child), actor.ErrShutdown)
	})

	t.Run("an actor spawned from an actor inherits its dead-letter hook and call timeout", func(t *testing.T) {
		dead := make(chan actor.DeadLetter, 1)
		parent := mustSpawn(t, puppet(make(chan any, 1)),
			actor.WithDeadLetters(func(d actor.DeadLetter) { dead <- d }),
			actor.WithCallTimeout(20*time.Millisecond))
		var child *actor.Ref
		exec(t, parent, func(c *actor.Context) {
			var err error
			child, err = c.Spawn(puppet(make(chan any, 1)))
			assert.NoError(t, err)
		})
		repliers := make(chan actor.Replier, 1)
		_, err := child.Call(context.Background(), holdCall(repliers))
		assert.ErrorIs(t, err, actor.ErrCallTimeout)
		require.NoError(t, child.Stop(callCtx(t)))
		require.ErrorIs(t, child.Send("late"), actor.ErrStopped)
		d := next(t, dead)
		assert.Same(t, child, d.To)
		assert.Equal(t, "late", d.Msg)
	})

	// A task sees its context end when its spawn context does; whatever the
	// task returns then, it was stopped by its spawn context, which is a
	// shutdown.
	taskReturns := []struct {
		name string
		ret  func(ctx context.Context) error
	}{
		{"a task that returns nil", func(context.Context) error { return nil }},
		{"a task that returns ctx.Err()", func(ctx context.Context) error { return ctx.Err() }},
	}
	for _, tt := range taskReturns {
		t.Run(tt.name+" when its spawn context is cancelled stops with ErrShutdown", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			started := make(chan struct{})
			ref, err := actor.Spawn(ctx, actor.Task(func(ctx context.Context, _ *actor.Context) error {
				close(started)
				<-ctx.Done()
				return tt.ret(ctx)
			}), actor.WithLogger(zerolog.Nop()))
			require.NoError(t, err)
			next(t, started)
			cancel()
			assert.ErrorIs(t, waitDone(t, ref), actor.ErrShutdown)
		})
	}
}

func TestSpawnIdentity(t *testing.T) {
	idle := actor.Func(func(*actor.Context, any) error { return nil })

	t.Run("every actor has its own stable ID", func(t *testing.T) {
		a := mustSpawn(t, idle)
		b := mustSpawn(t, idle)
		assert.NotEqual(t, a.ID(), b.ID())
		assert.Equal(t, a.ID(), a.ID())
	})

	t.Run("a named actor shows its name", func(t *testing.T) {
		ref := mustSpawn(t, idle, actor.WithName("bridge/matrix"))
		assert.Equal(t, "bridge/matrix", ref.Name())
		assert.Equal(t, "bridge/matrix", ref.String())
	})

	t.Run("an unnamed actor shows its ID", func(t *testing.T) {
		ref := mustSpawn(t, idle)
		assert.Empty(t, ref.Name())
		assert.Equal(t, ref.ID().String(), ref.String())
	})

	t.Run("a new actor is alive in its first incarnation", func(t *testing.T) {
		ref := mustSpawn(t, idle)
		assert.Equal(t, uint64(1), ref.Incarnation())
		assert.True(t, ref.Alive())
		assert.False(t, ref.Suspended())
		assert.False(t, isDone(ref))
		assert.NoError(t, ref.Err())
	})

	t.Run("a nil Ref prints as <nil>", func(t *testing.T) {
		var ref *actor.Ref
		assert.Equal(t, "<nil>", ref.String())
	})
}

func TestStartContext(t *testing.T) {
	t.Run("its end during Init fails the spawn and ends Init's context", func(t *testing.T) {
		start, cancel := context.WithCancel(context.Background())
		defer cancel()
		ref, err := actor.Spawn(context.Background(), &lifecycle{init: func(c *actor.Context) error {
			cancel()
			select {
			case <-c.Context().Done():
				return context.Cause(c.Context())
			case <-time.After(patience):
				return errors.New("Init's context did not end with the start context")
			}
		}}, actor.WithStartContext(start))
		assert.ErrorIs(t, err, actor.ErrShutdown)
		assert.Nil(t, ref)
	})
	t.Run("an Init that succeeds all the same is ended, Terminate included", func(t *testing.T) {
		start, cancel := context.WithCancel(context.Background())
		defer cancel()
		terminated := make(chan error, 1)
		ref, err := actor.Spawn(context.Background(), &lifecycle{
			init: func(c *actor.Context) error {
				cancel()
				<-c.Context().Done()
				return nil // a connect that succeeds as the start is given up
			},
			terminate: func(_ *actor.Context, reason error) { terminated <- reason },
		}, actor.WithStartContext(start))
		assert.ErrorIs(t, err, actor.ErrShutdown)
		assert.Nil(t, ref)
		assert.ErrorIs(t, next(t, terminated), actor.ErrShutdown)
	})
	t.Run("its end after the spawn does nothing", func(t *testing.T) {
		start, cancel := context.WithCancel(context.Background())
		out := make(chan any, 1)
		ref := mustSpawn(t, puppet(out), actor.WithStartContext(start))
		cancel()
		require.NoError(t, ref.Send("still here"))
		assert.Equal(t, "still here", next(t, out))
		assert.True(t, ref.Alive())
	})
	t.Run("an ended one fails the spawn before Init", func(t *testing.T) {
		start, cancel := context.WithCancel(context.Background())
		cancel()
		ran := false
		_, err := actor.Spawn(context.Background(), &lifecycle{init: func(*actor.Context) error { ran = true; return nil }},
			actor.WithStartContext(start))
		assert.ErrorIs(t, err, actor.ErrShutdown)
		assert.False(t, ran)
	})
	t.Run("a nil one is refused", func(t *testing.T) {
		var none context.Context
		_, err := actor.Spawn(context.Background(), puppet(nil), actor.WithStartContext(none))
		assert.ErrorIs(t, err, actor.ErrInvalidOption)
	})
}

// watchCountingCtx is a context that never ends on its own and counts the
// watches (context.AfterFunc) on it that have not been stopped.
type watchCountingCtx struct {
	context.Context
	done chan struct{}
	live atomic.Int64
}

func (c *watchCountingCtx) Done() <-chan struct{} { return c.done }

func (c *watchCountingCtx) Err() error {
	select {
	case <-c.done:
		return context.Canceled
	default:
		return nil
	}
}

func (c *watchCountingCtx) AfterFunc(func()) (stop func() bool) {
	c.live.Add(1)
	var once sync.Once
	return func() bool {
		stopped := false
		once.Do(func() { c.live.Add(-1); stopped = true })
		return stopped
	}
}

// An option made for each spawn leaves no watch on a long-lived start
// context once it is no longer used.
func TestStartContextLeavesNoWatch(t *testing.T) {
	ctx := &watchCountingCtx{Context: context.Background(), done: make(chan struct{})}
	defer close(ctx.done)
	const n = 100
	for range n {
		ref, err := actor.Spawn(context.Background(), &lifecycle{}, actor.WithStartContext(ctx))
		require.NoError(t, err)
		require.NoError(t, ref.Stop(callCtx(t)))
	}
	require.Positive(t, ctx.live.Load(), "each option watches ctx while it is used")
	deadline := time.Now().Add(patience)
	for ctx.live.Load() > 0 && time.Now().Before(deadline) {
		runtime.GC() // the options are garbage: their watches go with them
		runtime.Gosched()
	}
	assert.Zero(t, ctx.live.Load(), "watches left on the start context")
}

// Context.Stop in Init ends the actor once Init has returned, as it ends it
// after a message: the start succeeds, and the actor does not wait for a
// first message to stop.
func TestStopInInit(t *testing.T) {
	t.Run("an actor that stops in Init ends without a message", func(t *testing.T) {
		ref := mustSpawn(t, &lifecycle{init: func(c *actor.Context) error {
			c.Stop(nil)
			return nil
		}})
		assert.NoError(t, waitDone(t, ref), "a normal exit")
	})
	t.Run("a supervised one's parent hears of the end, with its reason", func(t *testing.T) {
		f := spawnFamily(t)
		f.crash(t)
		require.NoError(t, f.child.Restart(&lifecycle{init: func(c *actor.Context) error {
			c.Stop(errBoom)
			return nil
		}}))
		exit := nextOf[actor.ChildExit](t, f.parentOut)
		assert.Equal(t, errBoom, exit.Reason)
		assert.Equal(t, uint64(2), exit.Incarnation)
	})
}
