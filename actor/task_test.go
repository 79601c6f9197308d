package actor_test

import (
	"context"
	"testing"

	"github.com/arbor-go/arbor/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTaskRuns(t *testing.T) {
	t.Run("a task runs its function on a goroutine of its own", func(t *testing.T) {
		running := make(chan uint64, 1)
		ref := mustSpawn(t, actor.Task(func(ctx context.Context, _ *actor.Context) error {
			running <- goroutineID()
			<-ctx.Done() // blocks: Spawn could not return if this ran on its goroutine
			return nil
		}))
		assert.NotEqual(t, goroutineID(), next(t, running))
		assert.True(t, ref.Alive())
	})

	t.Run("a task's context is its incarnation's and ends on Stop with ErrShutdown", func(t *testing.T) {
		causes := make(chan error, 1)
		same := make(chan bool, 1)
		ref := mustSpawn(t, actor.Task(func(ctx context.Context, c *actor.Context) error {
			same <- ctx == c.Context()
			<-ctx.Done()
			causes <- context.Cause(ctx)
			return ctx.Err()
		}))
		assert.True(t, next(t, same))
		require.NoError(t, ref.Stop(callCtx(t)))
		assert.ErrorIs(t, next(t, causes), actor.ErrShutdown)
		assert.Equal(t, actor.ErrShutdown, ref.Err(), "the stop, not the task's ctx.Err(), is the reason")
	})
}

func TestTaskExitReasons(t *testing.T) {
	tests := []struct {
		name  string
		fn    func(ctx context.Context, c *actor.Context) error
		check func(t *testing.T, reason error)
	}{
		{
			name:  "a task that returns nil exits normally",
			fn:    func(context.Context, *actor.Context) error { return nil },
			check: func(t *testing.T, reason error) { assert.NoError(t, reason) },
		},
		{
			name:  "a task that returns an error exits with it",
			fn:    func(context.Context, *actor.Context) error { return errBoom },
			check: func(t *testing.T, reason error) { assert.Equal(t, errBoom, reason) },
		},
		{
			name: "a task that panics exits with a PanicError",
			fn:   func(context.Context, *actor.Context) error { panic("task panic") },
			check: func(t *testing.T, reason error) {
				var perr *actor.PanicError
				require.ErrorAs(t, reason, &perr)
				assert.Equal(t, "task panic", perr.Value)
			},
		},
		{
			name: "a task that stops itself with a reason exits with it",
			fn: func(_ context.Context, c *actor.Context) error {
				c.Stop(actor.Shutdown("finished"))
				return nil
			},
			check: func(t *testing.T, reason error) {
				var serr *actor.ShutdownError
				require.ErrorAs(t, reason, &serr)
				assert.Equal(t, "finished", serr.Detail)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := mustSpawn(t, actor.Task(tt.fn))
			tt.check(t, waitDone(t, ref))
		})
	}
}

func TestTaskRecv(t *testing.T) {
	t.Run("Recv returns the task's messages in order", func(t *testing.T) {
		out := make(chan any, 16)
		ref := mustSpawn(t, actor.Task(func(ctx context.Context, c *actor.Context) error {
			for {
				msg, err := c.Recv(ctx)
				if err != nil {
					return err
				}
				out <- msg
			}
		}))
		for i := range 10 {
			require.NoError(t, ref.Send(i))
		}
		for i := range 10 {
			assert.Equal(t, i, next(t, out))
		}
	})

	t.Run("a call received with Recv is answered with Reply", func(t *testing.T) {
		ref := mustSpawn(t, actor.Task(func(ctx context.Context, c *actor.Context) error {
			for {
				msg, err := c.Recv(ctx)
				if err != nil {
					return err
				}
				if n, ok := msg.(int); ok {
					if err := c.Reply(n * n); err != nil {
						return err
					}
				}
			}
		}))
		for i := range 5 {
			n, err := actor.CallAs[int](callCtx(t), ref, i)
			require.NoError(t, err)
			assert.Equal(t, i*i, n)
		}
	})

	t.Run("a call received with Recv and not answered fails with ErrNoReply at the next Recv", func(t *testing.T) {
		ref := mustSpawn(t, actor.Task(func(ctx context.Context, c *actor.Context) error {
			for {
				if _, err := c.Recv(ctx); err != nil {
					return err
				}
			}
		}))
		_, err := ref.Call(callCtx(t), "unanswered")
		assert.ErrorIs(t, err, actor.ErrNoReply)
	})

	t.Run("Recv returns when its context ends", func(t *testing.T) {
		errs := make(chan error, 1)
		ref := mustSpawn(t, actor.Task(func(ctx context.Context, c *actor.Context) error {
			short, cancel := context.WithCancel(ctx)
			cancel()
			_, err := c.Recv(short)
			errs <- err
			<-ctx.Done()
			return nil
		}))
		assert.ErrorIs(t, next(t, errs), context.Canceled)
		assert.True(t, ref.Alive())
	})

	t.Run("Recv returns an error when the task is stopped", func(t *testing.T) {
		errs := make(chan error, 1)
		waiting := make(chan struct{})
		ref := mustSpawn(t, actor.Task(func(_ context.Context, c *actor.Context) error {
			close(waiting)
			// Recv on a context that never ends: the stop alone must wake it.
			_, err := c.Recv(context.Background())
			errs <- err
			return nil
		}))
		next(t, waiting)
		require.NoError(t, ref.Stop(callCtx(t)))
		assert.Error(t, next(t, errs))
		assert.ErrorIs(t, ref.Err(), actor.ErrShutdown)
	})

	t.Run("Recv outside a task fails with ErrNotTask", func(t *testing.T) {
		ref := mustSpawn(t, puppet(make(chan any, 1)))
		var err error
		exec(t, ref, func(c *actor.Context) { _, err = c.Recv(context.Background()) })
		assert.ErrorIs(t, err, actor.ErrNotTask)
	})
}

func TestTaskLinks(t *testing.T) {
	t.Run("a task linked to an actor that crashes stops with the crash", func(t *testing.T) {
		other := mustSpawn(t, puppet(make(chan any, 1)))
		linked := make(chan struct{})
		ref := mustSpawn(t, actor.Task(func(ctx context.Context, c *actor.Context) error {
			if err := c.Link(other); err != nil {
				return err
			}
			close(linked)
			<-ctx.Done()
			return ctx.Err()
		}))
		next(t, linked)
		require.NoError(t, other.Send(doFn(func(*actor.Context) error { return errBoom })))
		assert.Equal(t, errBoom, waitDone(t, ref))
	})

	t.Run("a task trapping exits reads the Exit with Recv", func(t *testing.T) {
		other := mustSpawn(t, puppet(make(chan any, 1)))
		out := make(chan any, 4)
		ref := mustSpawn(t, actor.Task(func(ctx context.Context, c *actor.Context) error {
			c.TrapExits(true)
			if err := c.Link(other); err != nil {
				return err
			}
			out <- "linked"
			for {
				msg, err := c.Recv(ctx)
				if err != nil {
					return err
				}
				out <- msg
			}
		}))
		require.Equal(t, "linked", next(t, out))
		require.NoError(t, other.Send(doFn(func(*actor.Context) error { return errBoom })))
		assert.Equal(t, actor.Exit{From: other, Reason: errBoom}, next(t, out))
		assert.True(t, ref.Alive())
	})

	t.Run("a crashing task stops the actor linked to it", func(t *testing.T) {
		other := mustSpawn(t, puppet(make(chan any, 1)))
		ref := mustSpawn(t, actor.Task(func(_ context.Context, c *actor.Context) error {
			if err := c.Link(other); err != nil {
				return err
			}
			return errBoom
		}))
		assert.Equal(t, errBoom, waitDone(t, ref))
		assert.Equal(t, errBoom, waitDone(t, other))
	})
}
