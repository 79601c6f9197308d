package actor_test

import (
	"context"
	"errors"
	"testing"

	"github.com/arbor-go/arbor/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// restarter is a Restarter that hands out what next returns (declining when
// it returns decided false) and reports every call on calls.
type restarter struct {
	next  func() (actor.Actor, bool)
	calls chan any
}

// asked is what RestartNow was asked; restarted what Restarted was told.
type (
	asked struct {
		child  *actor.Ref
		reason error
	}
	restarted struct {
		child *actor.Ref
		err   error
	}
)

func (r *restarter) RestartNow(child *actor.Ref, reason error) (actor.Actor, bool) {
	r.calls <- asked{child, reason}
	return r.next()
}

func (r *restarter) Restarted(child *actor.Ref, err error) {
	r.calls <- restarted{child, err}
}

func newRestarter(next func() (actor.Actor, bool)) *restarter {
	return &restarter{next: next, calls: make(chan any, 16)}
}

func TestRestarter(t *testing.T) {
	t.Run("a decided restart runs the next incarnation in place, without a ChildExit", func(t *testing.T) {
		out := make(chan seen, 16)
		rs := newRestarter(func() (actor.Actor, bool) { return worker(out), true })
		f := spawnFamily(t, actor.WithRestarter(rs))
		require.NoError(t, f.child.Send("crash"))
		assert.Equal(t, asked{f.child, errBoom}, next(t, rs.calls))
		assert.Equal(t, restarted{f.child, nil}, next(t, rs.calls))
		n, err := actor.CallAs[uint64](callCtx(t), f.child, "inc?")
		require.NoError(t, err)
		assert.Equal(t, uint64(2), n)
		assert.Equal(t, seen{"inc?", uint64(2)}, next(t, out), "the new behaviour handles it")
		exec(t, f.parent, func(*actor.Context) {}) // the parent has handled what it was sent
		select {
		case m := <-f.parentOut:
			t.Fatalf("the parent was told %v", m)
		default:
		}
	})

	t.Run("a declined restart goes to the parent", func(t *testing.T) {
		rs := newRestarter(func() (actor.Actor, bool) { return nil, false })
		f := spawnFamily(t, actor.WithRestarter(rs))
		exit := f.crash(t)
		assert.Equal(t, actor.ChildExit{Child: f.child, Reason: errBoom, Incarnation: 1}, exit)
		assert.Equal(t, asked{f.child, errBoom}, next(t, rs.calls))
		assert.True(t, f.child.Suspended())
	})

	t.Run("a failed Init leaves the child suspended, for the restarter to hand over", func(t *testing.T) {
		errInit := errors.New("no init")
		rs := newRestarter(func() (actor.Actor, bool) {
			return &lifecycle{init: func(*actor.Context) error { return errInit }}, true
		})
		f := spawnFamily(t, actor.WithRestarter(rs))
		require.NoError(t, f.child.Send("crash"))
		next(t, rs.calls)
		assert.Equal(t, restarted{f.child, errInit}, next(t, rs.calls))
		assert.True(t, f.child.Suspended())
		assert.Equal(t, uint64(1), f.child.Incarnation(), "the incarnation that failed to start never was")
		out := make(chan seen, 16)
		require.NoError(t, f.child.Restart(worker(out)), "its parent restarts it")
		n, err := actor.CallAs[uint64](callCtx(t), f.child, "inc?")
		require.NoError(t, err)
		assert.Equal(t, uint64(2), n)
	})

	t.Run("a stop for good during the decision has ended the child when Restarted hears of it", func(t *testing.T) {
		out := make(chan seen, 16)
		var child *actor.Ref
		rs := &restarter{calls: make(chan any, 16)}
		rs.next = func() (actor.Actor, bool) {
			// A stop for good, asked for while the restart is decided (the
			// ctx has ended: Stop asks and does not wait).
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_ = child.Stop(ctx)
			return worker(out), true
		}
		alive := make(chan bool, 1)
		watch := &aliveAtRestarted{restarter: rs, alive: alive}
		f := spawnFamily(t, actor.WithRestarter(watch))
		child = f.child
		require.NoError(t, f.child.Send("crash"))
		next(t, rs.calls)
		assert.Equal(t, restarted{f.child, actor.ErrStopped}, next(t, rs.calls))
		assert.False(t, <-alive, "already stopped, unlike a suspended child whose Init failed")
		assert.ErrorIs(t, waitDone(t, f.child), actor.ErrShutdown)
	})

	t.Run("no behaviour leaves the child suspended", func(t *testing.T) {
		rs := newRestarter(func() (actor.Actor, bool) { return nil, true })
		f := spawnFamily(t, actor.WithRestarter(rs))
		require.NoError(t, f.child.Send("crash"))
		next(t, rs.calls)
		assert.Equal(t, restarted{f.child, actor.ErrNilActor}, next(t, rs.calls))
		assert.True(t, f.child.Suspended())
		require.NoError(t, f.child.Stop(callCtx(t)))
		assert.ErrorIs(t, waitDone(t, f.child), actor.ErrShutdown)
	})

	t.Run("exits asked for from outside never reach it", func(t *testing.T) {
		rs := newRestarter(func() (actor.Actor, bool) { return nil, true })
		f := spawnFamily(t, actor.WithRestarter(rs))
		require.NoError(t, f.child.Suspend(callCtx(t), actor.ErrShutdown))
		exit := nextOf[actor.ChildExit](t, f.parentOut)
		assert.True(t, exit.Requested)
		require.NoError(t, f.child.Restart(worker(f.childOut)))
		require.NoError(t, f.child.Stop(callCtx(t)))
		assert.True(t, nextOf[actor.ChildExit](t, f.parentOut).Final)
		select {
		case c := <-rs.calls:
			t.Fatalf("the restarter was asked: %v", c)
		default:
		}
	})

	t.Run("actors spawned from the child do not inherit it", func(t *testing.T) {
		rs := newRestarter(func() (actor.Actor, bool) { return nil, false })
		f := spawnFamily(t, actor.WithRestarter(rs))
		var grandchild *actor.Ref
		exec(t, f.child, func(c *actor.Context) {
			var err error
			grandchild, err = c.Spawn(worker(make(chan seen, 16)), actor.WithParent(f.parent))
			assert.NoError(t, err)
		})
		require.NotNil(t, grandchild)
		require.NoError(t, grandchild.Send("crash"))
		exit := nextOf[actor.ChildExit](t, f.parentOut)
		assert.Same(t, grandchild, exit.Child)
		select {
		case c := <-rs.calls:
			t.Fatalf("the restarter was asked: %v", c)
		default:
		}
	})
}

// aliveAtRestarted is a restarter that also reports whether the child was
// alive when Restarted was called.
type aliveAtRestarted struct {
	*restarter
	alive chan bool
}

func (a *aliveAtRestarted) Restarted(child *actor.Ref, err error) {
	a.alive <- child.Alive()
	a.restarter.Restarted(child, err)
}
