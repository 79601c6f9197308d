package actor_test

import (
	"context"
	"errors"
	"testing"

	"github.com/arbor-go/arbor/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errCollateral = errors.New("sibling crashed")

func TestSuspend(t *testing.T) {
	t.Run("Suspend ends the incarnation, keeps the mailbox, and the parent hears a requested ChildExit", func(t *testing.T) {
		f := spawnFamily(t)
		require.NoError(t, f.child.Send("before"))
		assert.Equal(t, seen{"before", 1}, next(t, f.childOut))

		require.NoError(t, f.child.Suspend(callCtx(t), errCollateral))
		assert.True(t, f.child.Suspended())
		exit := nextOf[actor.ChildExit](t, f.parentOut)
		assert.Equal(t, f.child, exit.Child)
		assert.ErrorIs(t, exit.Reason, errCollateral)
		assert.True(t, exit.Requested, "the parent can tell its own request from a crash")
		assert.False(t, exit.Final)

		require.NoError(t, f.child.Send("queued while suspended"))
		require.NoError(t, f.child.Restart(worker(f.childOut)))
		assert.Equal(t, seen{"queued while suspended", 2}, next(t, f.childOut), "the mailbox survived")
	})

	t.Run("a crash by itself is not marked requested", func(t *testing.T) {
		f := spawnFamily(t)
		require.NoError(t, f.child.Send("crash"))
		next(t, f.childOut)
		exit := nextOf[actor.ChildExit](t, f.parentOut)
		assert.False(t, exit.Requested)
	})

	t.Run("Suspend cancels the context of a Receive blocked on it", func(t *testing.T) {
		parentOut := make(chan any, 4)
		parent := mustSpawn(t, puppet(parentOut))
		entered := make(chan struct{})
		child := mustSpawn(t, actor.Func(func(c *actor.Context, msg any) error {
			close(entered)
			<-c.Context().Done()
			return c.Context().Err()
		}), actor.WithParent(parent))
		require.NoError(t, child.Send("block"))
		<-entered
		require.NoError(t, child.Suspend(callCtx(t), errCollateral))
		exit := nextOf[actor.ChildExit](t, parentOut)
		assert.ErrorIs(t, exit.Reason, errCollateral, "the request, not context.Canceled, is the reason")
	})

	t.Run("Suspend of a task returns once its function has returned", func(t *testing.T) {
		parentOut := make(chan any, 4)
		parent := mustSpawn(t, puppet(parentOut))
		child := mustSpawn(t, actor.Task(func(ctx context.Context, c *actor.Context) error {
			<-ctx.Done()
			return ctx.Err()
		}), actor.WithParent(parent))
		require.NoError(t, child.Suspend(callCtx(t), errCollateral))
		assert.True(t, child.Suspended())
		assert.True(t, nextOf[actor.ChildExit](t, parentOut).Requested)
	})

	t.Run("Suspend of a suspended actor returns at once", func(t *testing.T) {
		f := spawnFamily(t)
		require.NoError(t, f.child.Send("crash"))
		nextOf[actor.ChildExit](t, f.parentOut)
		require.NoError(t, f.child.Suspend(callCtx(t), errCollateral))
	})

	t.Run("Suspend gives up with its context when the actor does not finish its message", func(t *testing.T) {
		parent := mustSpawn(t, puppet(make(chan any, 4)))
		g := newGate()
		entered := make(chan struct{})
		child := mustSpawn(t, actor.Func(func(c *actor.Context, msg any) error {
			close(entered)
			<-g.ch // ignores its context
			return nil
		}), actor.WithParent(parent))
		require.NoError(t, child.Send("block"))
		<-entered
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		assert.ErrorIs(t, child.Suspend(ctx, errCollateral), context.Canceled)
		g.open()
	})

	t.Run("bad input gets typed errors", func(t *testing.T) {
		lone := mustSpawn(t, actor.Func(func(*actor.Context, any) error { return nil }))
		assert.ErrorIs(t, lone.Suspend(callCtx(t), errCollateral), actor.ErrNotSupervised)
		f := spawnFamily(t)
		//lint:ignore SA1012 the nil context is the bad input under test
		assert.ErrorIs(t, f.child.Suspend(nil, errCollateral), actor.ErrNilContext)
		require.NoError(t, f.child.Stop(callCtx(t)))
		assert.ErrorIs(t, f.child.Suspend(callCtx(t), errCollateral), actor.ErrStopped)
	})
}

func TestNewPanicError(t *testing.T) {
	var err *actor.PanicError
	func() {
		defer func() {
			if v := recover(); v != nil {
				err = actor.NewPanicError(v)
			}
		}()
		panicHere()
	}()
	require.NotNil(t, err)
	assert.Equal(t, "here", err.Value)
	names := frameNames(err.Stack)
	require.NotEmpty(t, names)
	assert.Contains(t, names[0], "panicHere", "the stack starts at the frame that panicked")
}

func panicHere() { panic("here") }
