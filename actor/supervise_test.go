package actor_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seen is what a worker records of each message: the message and the
// incarnation that handled it.
type seen struct {
	msg any
	inc uint64
}

// worker returns a behaviour that records every message on out, crashes on
// "crash", replies to calls with its incarnation, and runs doFn messages.
func worker(out chan<- seen) actor.Func {
	return func(c *actor.Context, msg any) error {
		if f, ok := msg.(doFn); ok {
			return f(c)
		}
		out <- seen{msg, c.Incarnation()}
		switch msg {
		case "crash":
			return errBoom
		case "inc?":
			return c.Reply(c.Incarnation())
		}
		return nil
	}
}

// family spawns a recording parent and a worker child supervised by it.
type family struct {
	parent    *actor.Ref
	parentOut chan any
	child     *actor.Ref
	childOut  chan seen
	dead      chan actor.DeadLetter
}

func spawnFamily(t *testing.T, opts ...actor.Option) *family {
	t.Helper()
	f := &family{parentOut: make(chan any, 16), childOut: make(chan seen, 64), dead: make(chan actor.DeadLetter, 16)}
	f.parent = mustSpawn(t, puppet(f.parentOut), actor.WithName("parent"))
	opts = append([]actor.Option{
		actor.WithParent(f.parent),
		actor.WithName("child"),
		actor.WithDeadLetters(func(d actor.DeadLetter) { f.dead <- d }),
	}, opts...)
	f.child = mustSpawn(t, worker(f.childOut), opts...) // stopped before the parent
	return f
}

// crash makes the child crash and returns the ChildExit its parent received.
func (f *family) crash(t *testing.T) actor.ChildExit {
	t.Helper()
	require.NoError(t, f.child.Send("crash"))
	return nextOf[actor.ChildExit](t, f.parentOut)
}

func TestSupervisedCrash(t *testing.T) {
	t.Run("a crash suspends the child and tells its parent", func(t *testing.T) {
		f := spawnFamily(t)
		exit := f.crash(t)
		assert.Equal(t, actor.ChildExit{Child: f.child, Reason: errBoom, Incarnation: 1, Final: false}, exit)
		assert.True(t, f.child.Suspended())
		assert.True(t, f.child.Alive())
		assert.False(t, isDone(f.child), "a suspended child has not stopped for good")
		assert.NoError(t, f.child.Err())
	})

	t.Run("a panic suspends the child with a PanicError", func(t *testing.T) {
		f := spawnFamily(t)
		require.NoError(t, f.child.Send(doFn(func(*actor.Context) error { panic("child panic") })))
		exit := nextOf[actor.ChildExit](t, f.parentOut)
		var perr *actor.PanicError
		require.ErrorAs(t, exit.Reason, &perr)
		assert.Equal(t, "child panic", perr.Value)
		assert.False(t, exit.Final)
		assert.True(t, f.child.Suspended())
	})

	t.Run("a normal exit suspends the child too, for the parent to decide", func(t *testing.T) {
		f := spawnFamily(t)
		require.NoError(t, f.child.Send(stopWith(nil)))
		exit := nextOf[actor.ChildExit](t, f.parentOut)
		assert.Equal(t, actor.ChildExit{Child: f.child, Reason: nil, Incarnation: 1, Final: false}, exit)
		assert.True(t, f.child.Suspended())
	})

	t.Run("a linked crash suspends the child with the linked reason", func(t *testing.T) {
		f := spawnFamily(t)
		other := mustSpawn(t, puppet(make(chan any, 1)))
		exec(t, f.child, func(c *actor.Context) { assert.NoError(t, c.Link(other)) })
		require.NoError(t, other.Send(doFn(func(*actor.Context) error { return errBoom })))
		exit := nextOf[actor.ChildExit](t, f.parentOut)
		assert.Equal(t, errBoom, exit.Reason)
		assert.False(t, exit.Final)
		assert.True(t, f.child.Suspended())
	})

	t.Run("Terminate runs before the parent is told", func(t *testing.T) {
		parentOut := make(chan any, 4)
		parent := mustSpawn(t, puppet(parentOut))
		terminated := make(chan error, 1)
		child := mustSpawn(t, recordTerminate(terminated), actor.WithParent(parent))
		require.NoError(t, child.Send(doFn(func(*actor.Context) error { return errBoom })))
		nextOf[actor.ChildExit](t, parentOut)
		require.Len(t, terminated, 1)
		assert.Equal(t, errBoom, <-terminated)
	})

	t.Run("the parent gets ChildExit on its system lane, ahead of its user messages", func(t *testing.T) {
		f := spawnFamily(t)
		g := newGate()
		defer g.open()
		entered := make(chan struct{})
		require.NoError(t, f.parent.Send(doFn(func(*actor.Context) error {
			close(entered)
			<-g.ch
			return nil
		})))
		next(t, entered)
		require.NoError(t, f.parent.Send("user message"))
		require.NoError(t, f.child.Send("crash"))
		eventually(t, func() bool { return f.parent.MailboxLen() == 2 }, "the ChildExit is queued")
		g.open()
		_, isExit := next(t, f.parentOut).(actor.ChildExit)
		assert.True(t, isExit, "ChildExit came first")
		assert.Equal(t, "user message", next(t, f.parentOut))
	})

	t.Run("a call in flight when the child crashes fails at once with a non-final ExitError", func(t *testing.T) {
		f := spawnFamily(t, actor.WithCallTimeout(time.Hour))
		start := time.Now()
		_, err := f.child.Call(context.Background(), doFn(func(*actor.Context) error { return errBoom }))
		assert.Less(t, time.Since(start), patience)
		var eerr *actor.ExitError
		require.ErrorAs(t, err, &eerr)
		assert.False(t, eerr.Stopped, "the child is suspended, not gone")
		assert.NotErrorIs(t, err, actor.ErrStopped)
		assert.ErrorIs(t, err, errBoom)
		assert.Same(t, f.child, eerr.Actor)
	})

	t.Run("a child whose parent is gone stops for good when it crashes", func(t *testing.T) {
		f := spawnFamily(t)
		require.NoError(t, f.parent.Stop(callCtx(t)))
		require.NoError(t, f.child.Send("crash"))
		assert.Equal(t, errBoom, waitDone(t, f.child))
		assert.False(t, f.child.Suspended())
	})

	t.Run("a supervised crash is left to the parent and not logged", func(t *testing.T) {
		sink := newLogSink()
		f := spawnFamily(t, actor.WithLogger(sink.logger()))
		f.crash(t)
		require.NoError(t, f.child.Stop(callCtx(t)))
		nextOf[actor.ChildExit](t, f.parentOut)
		assert.Empty(t, sink.lines, "neither the crash nor the final stop was logged")
	})
}

func TestRestart(t *testing.T) {
	t.Run("a restart resumes the same Ref with the queued messages and without the one that crashed", func(t *testing.T) {
		f := spawnFamily(t)
		id := f.child.ID()
		require.NoError(t, f.child.Send(1))
		assert.Equal(t, seen{1, 1}, next(t, f.childOut))
		f.crash(t)
		assert.Equal(t, seen{"crash", 1}, next(t, f.childOut))

		for _, m := range []int{2, 3, 4} {
			require.NoError(t, f.child.Send(m), "sends succeed while suspended")
		}
		assert.Equal(t, 3, f.child.MailboxLen(), "they wait in the mailbox")
		assert.Empty(t, f.childOut, "nothing is handled while suspended")

		require.NoError(t, f.child.Restart(worker(f.childOut)))
		assert.Equal(t, uint64(2), f.child.Incarnation())
		assert.False(t, f.child.Suspended())
		for _, m := range []int{2, 3, 4} {
			assert.Equal(t, seen{m, 2}, next(t, f.childOut))
		}
		inc, err := actor.CallAs[uint64](callCtx(t), f.child, "inc?")
		require.NoError(t, err)
		assert.Equal(t, uint64(2), inc)
		assert.Equal(t, seen{"inc?", 2}, next(t, f.childOut), "the crashing message was not handled again")
		assert.Equal(t, id, f.child.ID())
		assert.Equal(t, "child", f.child.Name())
	})

	t.Run("a call queued during the suspension is answered by the next incarnation", func(t *testing.T) {
		f := spawnFamily(t)
		f.crash(t)
		result := make(chan any, 1)
		go func() {
			v, err := f.child.Call(context.Background(), "inc?")
			if err != nil {
				v = err
			}
			result <- v
		}()
		eventually(t, func() bool { return f.child.MailboxLen() == 1 }, "the call is queued")
		require.NoError(t, f.child.Restart(worker(f.childOut)))
		assert.Equal(t, uint64(2), next(t, result))
	})

	t.Run("each restart counts one more incarnation in the ChildExit", func(t *testing.T) {
		f := spawnFamily(t)
		for inc := uint64(1); inc <= 3; inc++ {
			exit := f.crash(t)
			assert.Equal(t, inc, exit.Incarnation)
			require.NoError(t, f.child.Restart(worker(f.childOut)))
			assert.Equal(t, inc+1, f.child.Incarnation())
		}
	})

	t.Run("Init of the next incarnation runs on the restarting goroutine with a fresh context", func(t *testing.T) {
		f := spawnFamily(t)
		var first context.Context
		exec2 := func(c *actor.Context) error { first = c.Context(); return nil }
		require.NoError(t, f.child.Send(doFn(exec2)))
		f.crash(t)
		require.Error(t, first.Err(), "the crashed incarnation's context is cancelled")

		var inc uint64
		var second context.Context
		require.NoError(t, f.child.Restart(&lifecycle{
			init: func(c *actor.Context) error {
				inc, second = c.Incarnation(), c.Context()
				return nil
			},
		}))
		assert.Equal(t, uint64(2), inc)
		require.NotNil(t, second)
		assert.NoError(t, second.Err(), "the new incarnation has a live context")
	})

	t.Run("restarting a running child fails with ErrNotSuspended", func(t *testing.T) {
		f := spawnFamily(t)
		assert.ErrorIs(t, f.child.Restart(worker(f.childOut)), actor.ErrNotSuspended)
		assert.Equal(t, uint64(1), f.child.Incarnation())
	})

	t.Run("a restart whose Init fails returns its error and leaves the child suspended", func(t *testing.T) {
		f := spawnFamily(t)
		f.crash(t)
		require.Equal(t, seen{"crash", 1}, next(t, f.childOut))
		require.NoError(t, f.child.Send("kept"))
		errInit := errors.New("not yet")
		err := f.child.Restart(&lifecycle{init: func(*actor.Context) error { return errInit }})
		assert.ErrorIs(t, err, errInit)
		assert.True(t, f.child.Suspended())
		assert.Equal(t, 1, f.child.MailboxLen(), "the queued message waits on")

		require.NoError(t, f.child.Restart(worker(f.childOut)))
		assert.Equal(t, "kept", next(t, f.childOut).msg)
	})

	t.Run("a restart whose Init panics returns a PanicError and leaves the child suspended", func(t *testing.T) {
		f := spawnFamily(t)
		f.crash(t)
		err := f.child.Restart(&lifecycle{init: func(*actor.Context) error { panic("init again") }})
		var perr *actor.PanicError
		require.ErrorAs(t, err, &perr)
		assert.True(t, f.child.Suspended())
	})

	t.Run("restarting an actor with a task fails and leaves it suspended", func(t *testing.T) {
		f := spawnFamily(t)
		f.crash(t)
		err := f.child.Restart(actor.Task(func(context.Context, *actor.Context) error { return nil }))
		assert.ErrorIs(t, err, actor.ErrInvalidOption)
		assert.True(t, f.child.Suspended())
	})

	t.Run("a supervised task restarts as a task", func(t *testing.T) {
		parentOut := make(chan any, 4)
		parent := mustSpawn(t, puppet(parentOut))
		runs := make(chan uint64, 4)
		task := func() actor.Actor {
			return actor.Task(func(ctx context.Context, c *actor.Context) error {
				runs <- c.Incarnation()
				if c.Incarnation() == 1 {
					return errBoom
				}
				<-ctx.Done()
				return nil
			})
		}
		child := mustSpawn(t, task(), actor.WithParent(parent))
		assert.Equal(t, uint64(1), next(t, runs))
		exit := nextOf[actor.ChildExit](t, parentOut)
		assert.Equal(t, errBoom, exit.Reason)
		require.NoError(t, child.Restart(task()))
		assert.Equal(t, uint64(2), next(t, runs))
	})

	t.Run("monitors do not fire on a restart, only when the child stops for good", func(t *testing.T) {
		f := spawnFamily(t)
		watcherOut := make(chan any, 4)
		watcher := mustSpawn(t, puppet(watcherOut))
		monitor(t, watcher, f.child)
		f.crash(t)
		require.NoError(t, f.child.Restart(worker(f.childOut)))
		require.NoError(t, f.child.Stop(callCtx(t)))
		assert.ErrorIs(t, nextOf[actor.Down](t, watcherOut).Reason, actor.ErrShutdown,
			"the first Down is the final stop, not the crash")
	})
}

func TestSupervisedStop(t *testing.T) {
	t.Run("stopping a suspended child ends it for good and tells the parent", func(t *testing.T) {
		f := spawnFamily(t)
		f.crash(t)
		require.NoError(t, f.child.Send("queued"))
		require.NoError(t, f.child.Stop(callCtx(t)))
		assert.True(t, isDone(f.child))
		assert.False(t, f.child.Suspended())
		assert.ErrorIs(t, f.child.Err(), actor.ErrShutdown)
		exit := nextOf[actor.ChildExit](t, f.parentOut)
		assert.Equal(t, actor.ChildExit{Child: f.child, Reason: actor.ErrShutdown, Incarnation: 1, Final: true}, exit)
		assert.Equal(t, actor.DeadLetter{To: f.child, Msg: "queued", Reason: actor.ErrStopped}, next(t, f.dead))
		assert.ErrorIs(t, f.child.Restart(worker(f.childOut)), actor.ErrStopped)
	})

	t.Run("stopping a running child ends it for good at once, with no restartable exit first", func(t *testing.T) {
		parentOut := make(chan any, 4)
		parent := mustSpawn(t, puppet(parentOut))
		terminated := make(chan error, 2)
		child := mustSpawn(t, recordTerminate(terminated), actor.WithParent(parent))
		require.NoError(t, child.Stop(callCtx(t)))
		exit := nextOf[actor.ChildExit](t, parentOut)
		assert.Equal(t, actor.ChildExit{Child: child, Reason: actor.ErrShutdown, Incarnation: 1, Final: true}, exit)
		require.Len(t, terminated, 1)
		assert.ErrorIs(t, <-terminated, actor.ErrShutdown)
	})

	t.Run("killing a running child ends it for good and tells the parent", func(t *testing.T) {
		f := spawnFamily(t)
		f.child.Kill()
		exit := nextOf[actor.ChildExit](t, f.parentOut)
		assert.Equal(t, actor.ChildExit{Child: f.child, Reason: actor.ErrKilled, Incarnation: 1, Final: true}, exit)
		assert.Equal(t, actor.ErrKilled, waitDone(t, f.child))
	})

	t.Run("killing a suspended child ends it for good and tells the parent", func(t *testing.T) {
		f := spawnFamily(t)
		f.crash(t)
		f.child.Kill()
		exit := nextOf[actor.ChildExit](t, f.parentOut)
		assert.Equal(t, actor.ChildExit{Child: f.child, Reason: actor.ErrKilled, Incarnation: 1, Final: true}, exit)
		assert.False(t, f.child.Suspended())
		assert.Equal(t, actor.ErrKilled, waitDone(t, f.child))
	})

	t.Run("a child whose spawn context ends stops for good", func(t *testing.T) {
		parentOut := make(chan any, 4)
		parent := mustSpawn(t, puppet(parentOut))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		child, err := actor.Spawn(ctx, puppet(make(chan any, 1)), actor.WithParent(parent))
		require.NoError(t, err)
		cancel()
		exit := nextOf[actor.ChildExit](t, parentOut)
		assert.True(t, exit.Final)
		assert.ErrorIs(t, exit.Reason, actor.ErrShutdown)
		assert.ErrorIs(t, waitDone(t, child), actor.ErrShutdown)
	})
}

func TestTaskParent(t *testing.T) {
	t.Run("a task can supervise: it reads ChildExit with Recv and restarts the child", func(t *testing.T) {
		childOut := make(chan seen, 8)
		restarted := make(chan actor.ChildExit, 1)
		parent := mustSpawn(t, actor.Task(func(ctx context.Context, c *actor.Context) error {
			for {
				msg, err := c.Recv(ctx)
				if err != nil {
					return err
				}
				if exit, ok := msg.(actor.ChildExit); ok && !exit.Final {
					if err := exit.Child.Restart(worker(childOut)); err != nil {
						return err
					}
					restarted <- exit
				}
			}
		}))
		child := mustSpawn(t, worker(childOut), actor.WithParent(parent))
		require.NoError(t, child.Send("crash"))
		require.NoError(t, child.Send("after"))
		exit := next(t, restarted)
		assert.Equal(t, actor.ChildExit{Child: child, Reason: errBoom, Incarnation: 1}, exit)
		assert.Equal(t, seen{"crash", 1}, next(t, childOut))
		assert.Equal(t, seen{"after", 2}, next(t, childOut))
	})
}

// ended is what an end hook was called with.
type ended struct {
	ref    *actor.Ref
	reason error
}

// endHook returns an end hook that reports its calls on the returned channel.
func endHook() (func(*actor.Ref, error), chan ended) {
	ch := make(chan ended, 4)
	return func(ref *actor.Ref, reason error) { ch <- ended{ref, reason} }, ch
}

// ready returns what ch holds right now, failing the test if it holds
// nothing: what must have happened already.
func ready[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	default:
		var zero T
		t.Fatalf("%s had not happened", what)
		return zero
	}
}

func TestOnIncarnationEnd(t *testing.T) {
	t.Run("it runs when a crash ends the incarnation, before the parent hears of it", func(t *testing.T) {
		f := spawnFamily(t)
		hook, ran := endHook()
		f.child.OnIncarnationEnd(hook)
		f.crash(t)
		assert.Equal(t, ended{f.child, errBoom}, ready(t, ran, "the hook"))
	})

	t.Run("it ends one incarnation: made between two, it is for the next", func(t *testing.T) {
		f := spawnFamily(t)
		hook, ran := endHook()
		f.child.OnIncarnationEnd(hook)
		f.crash(t)
		ready(t, ran, "the hook")
		later, ranLater := endHook()
		f.child.OnIncarnationEnd(later) // suspended: for incarnation 2
		require.NoError(t, f.child.Restart(worker(f.childOut)))
		assert.Empty(t, ranLater, "the restart is no end of incarnation 2")
		f.crash(t)
		assert.Equal(t, ended{f.child, errBoom}, ready(t, ranLater, "the hook of incarnation 2"))
		assert.Empty(t, ran, "the first hook ran once")
	})

	t.Run("it runs when Suspend ends the incarnation", func(t *testing.T) {
		f := spawnFamily(t)
		hook, ran := endHook()
		f.child.OnIncarnationEnd(hook)
		require.NoError(t, f.child.Suspend(callCtx(t), actor.ErrShutdown))
		assert.Equal(t, ended{f.child, actor.ErrShutdown}, next(t, ran))
		x := nextOf[actor.ChildExit](t, f.parentOut)
		assert.True(t, x.Requested)
	})

	t.Run("the hooks of an Init that fails run with its error", func(t *testing.T) {
		f := spawnFamily(t)
		f.crash(t)
		hook, ran := endHook()
		err := f.child.Restart(&lifecycle{init: func(c *actor.Context) error {
			c.Self().OnIncarnationEnd(hook)
			return errBoom
		}})
		require.ErrorIs(t, err, errBoom)
		assert.Equal(t, ended{f.child, errBoom}, ready(t, ran, "the hook"))
	})

	t.Run("it runs before a Restarter is asked to restart in place", func(t *testing.T) {
		hook, ran := endHook()
		out := make(chan seen, 16)
		var before bool
		rs := newRestarter(func() (actor.Actor, bool) {
			before = len(ran) == 1 // on the child's goroutine, after the hooks
			return worker(out), true
		})
		f := spawnFamily(t, actor.WithRestarter(rs))
		f.child.OnIncarnationEnd(hook)
		require.NoError(t, f.child.Send("crash"))
		next(t, rs.calls)
		assert.Equal(t, restarted{f.child, nil}, next(t, rs.calls))
		assert.True(t, before, "the hook ran before RestartNow")
	})

	t.Run("it runs when the actor stops for good, before Done closes", func(t *testing.T) {
		ref := mustSpawn(t, puppet(make(chan any, 4)))
		doneAtHook := make(chan bool, 1)
		ref.OnIncarnationEnd(func(r *actor.Ref, reason error) { doneAtHook <- isDone(r) })
		require.NoError(t, ref.Stop(callCtx(t)))
		assert.False(t, ready(t, doneAtHook, "the hook"), "Done was closed before the hook ran")
	})

	t.Run("it runs when the actor is killed, before Kill returns", func(t *testing.T) {
		ref := mustSpawn(t, puppet(make(chan any, 4)))
		hook, ran := endHook()
		ref.OnIncarnationEnd(hook)
		ref.Kill()
		assert.Equal(t, ended{ref, actor.ErrKilled}, ready(t, ran, "the hook"))
	})

	t.Run("on a stopped actor it runs at once with the exit reason", func(t *testing.T) {
		ref := mustSpawn(t, puppet(make(chan any, 4)))
		require.NoError(t, ref.Stop(callCtx(t)))
		hook, ran := endHook()
		cancel := ref.OnIncarnationEnd(hook)
		assert.Equal(t, ended{ref, actor.ErrShutdown}, ready(t, ran, "the hook"))
		assert.False(t, cancel(), "nothing is left to cancel")
		var zero actor.Ref
		(&zero).OnIncarnationEnd(hook)
		assert.ErrorIs(t, ready(t, ran, "the hook of a zero Ref").reason, actor.ErrNilActor)
	})

	t.Run("a cancelled hook does not run", func(t *testing.T) {
		f := spawnFamily(t)
		hook, ran := endHook()
		cancel := f.child.OnIncarnationEnd(hook)
		assert.True(t, cancel())
		assert.False(t, cancel(), "cancelling twice does nothing more")
		f.crash(t)
		assert.Empty(t, ran)
	})
}

// An incarnation hook of A that kills B, whose OnStop hook kills A (an owner
// and its helper bound both ways): A's Kill, reached from A's own hook
// through B's, must not wait for A's hooks in flight, that is for itself.
func TestHooksThatKillEachOthersActors(t *testing.T) {
	a, err := actor.Spawn(context.Background(), puppet(make(chan any, 1)))
	require.NoError(t, err)
	b, err := actor.Spawn(context.Background(), puppet(make(chan any, 1)))
	require.NoError(t, err)
	a.OnIncarnationEnd(func(*actor.Ref, error) { b.Kill() }) // the helper goes with the owner's incarnation
	b.OnStop(func(*actor.Ref, error) { a.Kill() })           // and the owner with its helper

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	stopErr := a.Stop(ctx)
	for _, r := range []*actor.Ref{a, b} {
		select {
		case <-r.Done():
		case <-ctx.Done():
			t.Fatalf("%v never stopped (Stop: %v): its end waits for a hook that waits for it", r, stopErr)
		}
	}
}

// An end hook that panics (a registry observer's bug, say) is logged with
// its stack, as a panic in Terminate is, and the end goes on: the other
// hooks run, and the parent, Done and the rest learn of it.
func TestEndHookThatPanics(t *testing.T) {
	t.Run("as an incarnation ends", func(t *testing.T) {
		sink := newLogSink()
		f := spawnFamily(t, actor.WithLogger(sink.logger()))
		f.child.OnIncarnationEnd(func(*actor.Ref, error) { panic("hook bug") })
		hook, ran := endHook()
		f.child.OnIncarnationEnd(hook)
		exit := f.crash(t)
		assert.Equal(t, errBoom, exit.Reason)
		ready(t, ran, "the other hook")
		line := sink.lineWith(t, "panic in end hook")
		assert.Equal(t, "error", line["level"])
		assert.Contains(t, line["reason"], "hook bug")
		assert.Contains(t, line["stack"], "TestEndHookThatPanics")
	})

	t.Run("as the actor stops for good", func(t *testing.T) {
		sink := newLogSink()
		ref := mustSpawn(t, puppet(make(chan any, 1)), actor.WithLogger(sink.logger()))
		ref.OnStop(func(*actor.Ref, error) { panic("hook bug") })
		hook, ran := endHook()
		ref.OnStop(hook)
		require.NoError(t, ref.Stop(callCtx(t)))
		assert.Equal(t, ended{ref, actor.ErrShutdown}, ready(t, ran, "the other hook"))
		sink.lineWith(t, "panic in end hook")
	})
}

// An AfterStop function that panics on the goroutine that ends the actor is
// logged as an end hook's is: the end is not taken for a second crash (no
// second Terminate), and the other functions are told.
func TestAfterStopThatPanics(t *testing.T) {
	sink := newLogSink()
	terminated := make(chan error, 4)
	ref := mustSpawn(t, &lifecycle{
		receive:   func(c *actor.Context, msg any) error { return msg.(doFn)(c) },
		terminate: func(_ *actor.Context, reason error) { terminated <- reason },
	}, actor.WithLogger(sink.logger()))
	ref.AfterStop(func(*actor.Ref, error) { panic("watcher bug") })
	hook, ran := endHook()
	ref.AfterStop(hook)
	require.NoError(t, ref.Send(doFn(func(*actor.Context) error { return errBoom })))
	assert.Equal(t, ended{ref, errBoom}, next(t, ran), "the other function is told")
	sink.lineWith(t, "panic in AfterStop")
	waitDone(t, ref)
	assert.Equal(t, errBoom, next(t, terminated))
	assert.Empty(t, terminated, "Terminate ran once")
}
