package actor_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deferredResult is how a deferred call ended: its error, and whether, when
// it did, the OnStop hook had finished and the actor was still alive.
type deferredResult struct {
	err      error
	hookDone bool
	alive    bool
}

// callLater calls child with "later", which it defers with a Replier, and
// reports how the call ended.
func callLater(t *testing.T, child *actor.Ref, hookDone *atomic.Bool) <-chan deferredResult {
	got := make(chan deferredResult, 1)
	go func() {
		_, err := child.Call(callCtx(t), "later")
		got <- deferredResult{err, hookDone.Load(), child.Alive()}
	}()
	return got
}

// whenHookHolds returns how the deferred call ended: at once if it ends
// while the OnStop hook holds (which the test then finds in hookDone), else
// once release has let the hook go.
func whenHookHolds(t *testing.T, got <-chan deferredResult, release *gate) deferredResult {
	t.Helper()
	select {
	case r := <-got:
		return r
	case <-time.After(300 * time.Millisecond):
		release.open()
		return next(t, got)
	}
}

// blockingOnStop adds to ref an OnStop hook that, once entered, closes
// entered and waits for release; done is set when it returns.
func blockingOnStop(t *testing.T, ref *actor.Ref) (entered chan struct{}, release *gate, done *atomic.Bool) {
	t.Helper()
	entered, release, done = make(chan struct{}), newGate(), new(atomic.Bool)
	ref.OnStop(func(*actor.Ref, error) {
		close(entered)
		select {
		case <-release.ch:
		case <-time.After(patience):
		}
		done.Store(true)
	})
	t.Cleanup(release.open)
	return entered, release, done
}

// A Kill that comes while the incarnation that crashed on a call runs its
// Terminate makes the end known on the Kill's goroutine: the call in hand
// fails then, through Done, not before the OnStop hooks (run by the Kill)
// have released what the actor held.
func TestCallInHandNotFailedBeforeConcurrentKillsOnStopHooks(t *testing.T) {
	inTerminate := make(chan struct{})
	releaseTerminate := newGate()
	t.Cleanup(releaseTerminate.open)
	ref := mustSpawn(t, &lifecycle{
		receive: func(*actor.Context, any) error { return errBoom },
		terminate: func(*actor.Context, error) {
			close(inTerminate)
			select {
			case <-releaseTerminate.ch:
			case <-time.After(patience):
			}
		},
	})
	hookEntered, releaseHook, hookDone := blockingOnStop(t, ref)

	got := make(chan bool, 1)
	go func() {
		_, err := ref.Call(callCtx(t), "crash")
		done := hookDone.Load()
		assert.ErrorIs(t, err, actor.ErrStopped)
		got <- done
	}()
	next(t, inTerminate)
	killed := make(chan struct{})
	go func() { ref.Kill(); close(killed) }()
	next(t, hookEntered) // the Kill makes the end: its OnStop hook runs
	releaseTerminate.open()
	expectAfterHook(t, got, releaseHook, "the failure of the call in hand")
	next(t, killed)
}

// deferringChild spawns a supervised child that takes a Replier for "later"
// and crashes on "crash", whose Terminate of the crash waits for the
// returned gate once it has closed inTerminate.
func deferringChild(t *testing.T, terminate func(c *actor.Context)) (child *actor.Ref, deferred chan struct{}) {
	_, child, deferred = deferringFamily(t, terminate)
	return child, deferred
}

func deferringFamily(t *testing.T, terminate func(c *actor.Context)) (parent, child *actor.Ref, deferred chan struct{}) {
	t.Helper()
	parent = mustSpawn(t, puppet(make(chan any, 16)), actor.WithName("parent"))
	deferred = make(chan struct{})
	child = mustSpawn(t, &lifecycle{
		receive: func(c *actor.Context, msg any) error {
			switch msg {
			case "later":
				_, err := c.Replier()
				close(deferred)
				return err
			case "crash":
				return errBoom
			}
			return nil
		},
		terminate: func(c *actor.Context, _ error) { terminate(c) },
	}, actor.WithParent(parent), actor.WithName("child"))
	return parent, child, deferred
}

// A supervised child killed while the incarnation that holds a deferred
// call runs its Terminate stops for good: the deferred call fails as any
// call of a stopped actor does, through Done once the end is made known
// (Stopped, after the OnStop hooks), not as for a restart.
func TestDeferredCallOfSupervisedChildKilledDuringTerminate(t *testing.T) {
	inTerminate := make(chan struct{})
	releaseTerminate := newGate()
	t.Cleanup(releaseTerminate.open)
	child, deferred := deferringChild(t, func(*actor.Context) {
		close(inTerminate)
		select {
		case <-releaseTerminate.ch:
		case <-time.After(patience):
		}
	})
	hookEntered, releaseHook, hookDone := blockingOnStop(t, child)

	got := callLater(t, child, hookDone)
	next(t, deferred)
	require.NoError(t, child.Send("crash"))
	next(t, inTerminate)
	killed := make(chan struct{})
	go func() { child.Kill(); close(killed) }()
	next(t, hookEntered)
	releaseTerminate.open()

	r := whenHookHolds(t, got, releaseHook)
	releaseHook.open()
	next(t, killed)
	var xe *actor.ExitError
	require.ErrorAs(t, r.err, &xe)
	assert.True(t, r.hookDone, "the deferred call failed while the Kill's OnStop hook still ran")
	assert.True(t, xe.Stopped || r.alive, "the deferred call says Stopped=false (reason %v) though the actor had stopped for good", xe.Reason)
}

// A Stop that comes while a supervised child's crashed incarnation runs
// Terminate ends the actor for good: no incarnation follows, and a call
// that incarnation deferred reports that, as the call in hand does
// (Stopped, ErrShutdown), once the end is made known.
func TestDeferredCallOfSupervisedChildStoppedDuringTerminate(t *testing.T) {
	inTerminate := make(chan struct{})
	child, deferred := deferringChild(t, func(c *actor.Context) {
		close(inTerminate)
		// Returns once the Stop has been asked: it cancels this context.
		select {
		case <-c.Context().Done():
		case <-time.After(patience):
		}
	})
	hookEntered, releaseHook, hookDone := blockingOnStop(t, child)

	later := callLater(t, child, hookDone)
	next(t, deferred)
	inHand := make(chan error, 1)
	go func() {
		_, err := child.Call(callCtx(t), "crash")
		inHand <- err
	}()
	stopped := make(chan error, 1)
	// The crash's Terminate waits for this Stop (its context is cancelled
	// only by the Stop's request: the incarnation's own end cancels it
	// after Terminate).
	next(t, inTerminate)
	go func() { stopped <- child.Stop(context.Background()) }()
	next(t, hookEntered)

	r := whenHookHolds(t, later, releaseHook)
	releaseHook.open()
	require.NoError(t, next(t, stopped))
	errInHand := next(t, inHand)
	var xeInHand *actor.ExitError
	require.ErrorAs(t, errInHand, &xeInHand)
	require.True(t, xeInHand.Stopped, "the call in hand says the actor stopped")

	var xe *actor.ExitError
	require.ErrorAs(t, r.err, &xe)
	assert.True(t, xe.Stopped, "the deferred call says Stopped=false (reason %v); the call in hand says Stopped (reason %v)", xe.Reason, xeInHand.Reason)
	assert.True(t, r.hookDone, "the deferred call failed before the OnStop hooks ran")
}

// "If a linked actor stopped while this one was suspended ... the new
// incarnation ends of that exit, with its reason, as soon as Init has run"
// (Restart): an Init that also calls Context.Stop(nil) does not turn that
// linked crash into a normal exit (a transient child would not restart).
func TestStopInInitDoesNotHideCarriedLinkedExit(t *testing.T) {
	f := spawnFamily(t)
	crashWhileSuspended(t, f) // carried: errBoom, for incarnation 2
	require.NoError(t, f.child.Restart(&lifecycle{init: func(c *actor.Context) error {
		c.Stop(nil)
		return nil
	}}))
	ce := nextOf[actor.ChildExit](t, f.parentOut)
	assert.Equal(t, uint64(2), ce.Incarnation)
	assert.ErrorIs(t, ce.Reason, errBoom, "incarnation 2 ends of the carried linked exit, which came before Init; got %v", ce.Reason)
}

// blockingWriter is a log destination whose first write waits for release,
// once it has closed entered.
type blockingWriter struct {
	entered chan struct{}
	release *gate
	once    sync.Once
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.once.Do(func() {
		close(w.entered)
		select {
		case <-w.release.ch:
		case <-time.After(patience):
		}
	})
	return len(p), nil
}

// An actor linked to a target that crashes hears of that crash, with its
// reason, even if it links to the target again while the target's end is
// being made known (the target marked gone, its links not yet told: here,
// while it logs its crash): the link it had carries the exit, as in OTP the
// exit signal sent at the death still arrives.
func TestRelinkDuringTargetsAnnouncementKeepsItsExit(t *testing.T) {
	w := &blockingWriter{entered: make(chan struct{}), release: newGate()}
	t.Cleanup(w.release.open)
	target := mustSpawn(t, puppet(make(chan any, 1)), actor.WithLogger(zerolog.New(w)))
	out := make(chan any, 16)
	self := mustSpawn(t, puppet(out), actor.WithTrapExits())
	exec(t, self, func(c *actor.Context) { require.NoError(t, c.Link(target)) })

	require.NoError(t, target.Send(doFn(func(*actor.Context) error { return errBoom })))
	next(t, w.entered) // the target is gone (Done closed) and logs its crash; links not told yet
	require.True(t, isDone(target))
	exec(t, self, func(c *actor.Context) { require.NoError(t, c.Link(target)) })
	w.release.open()

	var reasons []error
	deadline := time.After(time.Second)
	for {
		select {
		case m := <-out:
			if e, ok := m.(actor.Exit); ok {
				reasons = append(reasons, e.Reason)
				if errors.Is(e.Reason, errBoom) {
					return
				}
			}
		case <-deadline:
			t.Fatalf("the target's crash never reached the actor linked to it; it got only %v", reasons)
		}
	}
}

// A supervised child whose parent has gone stops for good when an
// incarnation ends: nobody will restart it. A call the incarnation deferred
// with a Replier then reports Stopped, as the call in hand does
// (TestCallCrashingOrphanedChildReportsStopped), once Done closes.
func TestDeferredCallOfOrphanedChildReportsStopped(t *testing.T) {
	parent, child, deferred := deferringFamily(t, func(*actor.Context) {})
	_, releaseHook, hookDone := blockingOnStop(t, child)

	later := callLater(t, child, hookDone)
	next(t, deferred)
	parent.Kill()
	<-parent.Done()

	inHand := make(chan error, 1)
	go func() {
		_, err := child.Call(callCtx(t), "crash")
		inHand <- err
	}()
	r := whenHookHolds(t, later, releaseHook)
	releaseHook.open()
	waitDone(t, child)
	var xeInHand *actor.ExitError
	require.ErrorAs(t, next(t, inHand), &xeInHand)
	require.True(t, xeInHand.Stopped, "the call in hand says the orphan stopped for good")

	var xe *actor.ExitError
	require.ErrorAs(t, r.err, &xe)
	assert.ErrorIs(t, r.err, errBoom)
	assert.True(t, xe.Stopped, "the deferred call says Stopped=false although the orphan stopped for good")
	assert.True(t, r.hookDone, "the deferred call failed before the OnStop hooks ran")
}

// A WithDeadLetters function runs on the goroutine that ends the actor, as
// AfterStop functions do (finish drains the mailbox through it). One that
// panics is logged: it does not reach the batch's recover, which would take
// it for a crash of the incarnation that has just ended and run Terminate a
// second time.
func TestDeadLetterHookPanicDoesNotRunTerminateTwice(t *testing.T) {
	entered := make(chan struct{})
	terminated := make(chan error, 4)
	ref := mustSpawn(t, &lifecycle{
		receive: func(c *actor.Context, msg any) error {
			if msg == "block" {
				close(entered)
				select { // until the Stop is asked: it cancels this context
				case <-c.Context().Done():
				case <-time.After(patience):
				}
			}
			return nil
		},
		terminate: func(_ *actor.Context, reason error) { terminated <- reason },
	}, actor.WithDeadLetters(func(actor.DeadLetter) { panic("dead-letter hook bug") }))
	require.NoError(t, ref.Send("block"))
	next(t, entered)
	require.NoError(t, ref.Send("left behind")) // a dead letter once the actor stops
	require.NoError(t, ref.Stop(callCtx(t)))
	assert.ErrorIs(t, next(t, terminated), actor.ErrShutdown)
	select {
	case reason := <-terminated:
		t.Fatalf("Terminate ran a second time, with %v", reason)
	case <-time.After(200 * time.Millisecond):
	}
}

// The same Init (link to a stopped actor, then Stop(nil)) ends a first
// incarnation and a restarted one alike: of the linked exit, ErrNoProc,
// which came first.
func TestStopInInitAndLinkedExitInInitAgreeOnSpawnAndRestart(t *testing.T) {
	dead := mustSpawn(t, puppet(make(chan any, 1)))
	require.NoError(t, dead.Stop(callCtx(t)))
	linkThenStop := func() actor.Actor {
		return &lifecycle{init: func(c *actor.Context) error {
			require.NoError(t, c.Link(dead))
			c.Stop(nil)
			return nil
		}}
	}
	t.Run("spawn", func(t *testing.T) {
		ref := mustSpawn(t, linkThenStop())
		assert.ErrorIs(t, waitDone(t, ref), actor.ErrNoProc)
	})
	t.Run("restart", func(t *testing.T) {
		f := spawnFamily(t)
		f.crash(t)
		require.NoError(t, f.child.Restart(linkThenStop()))
		ce := nextOf[actor.ChildExit](t, f.parentOut)
		assert.Equal(t, uint64(2), ce.Incarnation)
		assert.ErrorIs(t, ce.Reason, actor.ErrNoProc, "got %v", ce.Reason)
	})
}
