package actor_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/stretchr/testify/require"
)

// endingWithSlowOnStop spawns an actor and stops it with a slow OnStop hook
// (see stopWithSlowOnStop): it returns once the hook runs, the actor ended
// (Alive is false) but its end still being made, so that, by OnStop's
// promise, nobody may learn of it yet. hookDone is set when the hook
// returns.
func endingWithSlowOnStop(t *testing.T) (target *actor.Ref, release *gate, hookDone *atomic.Bool) {
	t.Helper()
	target = mustSpawn(t, puppet(make(chan any, 8)))
	release, hookDone = stopWithSlowOnStop(t, target)
	require.False(t, target.Alive())
	return target, release, hookDone
}

// onMessage is a puppet (it runs the doFn it is sent) that hands every other
// message to on, on its own goroutine, as it comes.
func onMessage(on func(msg any)) actor.Func {
	return func(c *actor.Context, msg any) error {
		if f, ok := msg.(doFn); ok {
			return f(c)
		}
		on(msg)
		return nil
	}
}

// expectAfterHook waits for the report sent on got (whether the hook had
// finished when the notification came): a notification arriving while the
// hook still runs fails; if none comes early, the hook is let go and the
// notification must follow, with the hook finished.
func expectAfterHook(t *testing.T, got <-chan bool, release *gate, what string) {
	t.Helper()
	select {
	case finished := <-got:
		require.True(t, finished, "%s came while the target's OnStop hook still ran", what)
	case <-time.After(300 * time.Millisecond):
		release.open()
		require.True(t, next(t, got), "%s came before the OnStop hook finished", what)
	}
}

// OnStop promises to run "before Done closes and the parent, monitors,
// links and AfterStop learn of" the end: a Monitor made while the target's
// OnStop hooks still run gets its Down once they are done.
func TestMonitorOfEndingTargetDownWaitsForOnStopHooks(t *testing.T) {
	target, release, hookDone := endingWithSlowOnStop(t)
	downs := make(chan bool, 1)
	watcher := mustSpawn(t, onMessage(func(msg any) {
		if _, ok := msg.(actor.Down); ok {
			downs <- hookDone.Load()
		}
	}))
	exec(t, watcher, func(c *actor.Context) {
		_, err := c.Monitor(target)
		require.NoError(t, err)
	})
	expectAfterHook(t, downs, release, "the Down")
}

// Linking to an actor whose OnStop hooks still run delivers its exit once
// those hooks are done.
func TestLinkToEndingTargetExitWaitsForOnStopHooks(t *testing.T) {
	target, release, hookDone := endingWithSlowOnStop(t)
	exits := make(chan bool, 1)
	watcher := mustSpawn(t, onMessage(func(msg any) {
		if m, ok := msg.(actor.Exit); ok && m.From == target {
			exits <- hookDone.Load()
		}
	}), actor.WithTrapExits())
	exec(t, watcher, func(c *actor.Context) { require.NoError(t, c.Link(target)) })
	expectAfterHook(t, exits, release, "the linked exit")
}

// AfterStop on an actor whose OnStop hooks still run calls f once those
// hooks are done.
func TestAfterStopOnEndingActorWaitsForOnStopHooks(t *testing.T) {
	target, release, hookDone := endingWithSlowOnStop(t)
	ran := make(chan bool, 1)
	target.AfterStop(func(*actor.Ref, error) { ran <- hookDone.Load() })
	expectAfterHook(t, ran, release, "AfterStop's f")
}

// stopWithSlowOnStop gives target an OnStop hook that waits for the
// returned gate once entered (blockingOnStop), asks target to stop, and
// returns once the hook runs: target's end has been decided and its links
// and monitors taken for notification, but nobody has been told yet.
func stopWithSlowOnStop(t *testing.T, target *actor.Ref) (release *gate, hookDone *atomic.Bool) {
	t.Helper()
	entered, release, hookDone := blockingOnStop(t, target)
	stopped := make(chan error, 1)
	go func() { stopped <- target.Stop(context.Background()) }()
	t.Cleanup(func() { <-stopped })
	t.Cleanup(release.open) // runs first: the stop waits for the hook
	next(t, entered)
	return release, hookDone
}

// OTP: once unlink has returned, the link has no effect on the caller
// (a non-trapping process is never killed by it afterwards), even if the
// partner's end was under way when Unlink ran.
func TestUnlinkedActorIsNotKilledByAnExitInFlight(t *testing.T) {
	target := mustSpawn(t, puppet(make(chan any, 8)))
	self := mustSpawn(t, puppet(make(chan any, 8))) // does not trap exits
	exec(t, self, func(c *actor.Context) { require.NoError(t, c.Link(target)) })
	// Links are told before AfterStop functions: once this runs, the
	// (former) link has had its say.
	notified := make(chan struct{})
	target.AfterStop(func(*actor.Ref, error) { close(notified) })
	release, _ := stopWithSlowOnStop(t, target)

	exec(t, self, func(c *actor.Context) { c.Unlink(target) })
	release.open()
	next(t, notified)

	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	_, err := self.Call(ctx, doFn(func(c *actor.Context) error { return c.Reply(nil) }))
	require.NoError(t, err, "the actor was stopped by the exit of an actor it had unlinked from")
	require.True(t, self.Alive())
}

// OTP: once demonitor has returned, no DOWN for that monitor is placed in
// the caller's queue afterwards (one already queued is not withdrawn), even
// if the target's end was under way when Demonitor ran.
func TestNoDownIsQueuedAfterDemonitorReturns(t *testing.T) {
	target := mustSpawn(t, puppet(make(chan any, 8)))
	downs := make(chan actor.Down, 1)
	self := mustSpawn(t, onMessage(func(msg any) {
		if m, ok := msg.(actor.Down); ok {
			downs <- m
		}
	}))
	var mon actor.MonitorRef
	exec(t, self, func(c *actor.Context) {
		var err error
		mon, err = c.Monitor(target)
		require.NoError(t, err)
	})
	release, _ := stopWithSlowOnStop(t, target)
	var active bool
	exec(t, self, func(c *actor.Context) { active = c.Demonitor(mon) })
	select {
	case d := <-downs:
		t.Fatalf("the Down was queued before Demonitor returned (active=%v): %+v", active, d)
	default: // nothing queued when Demonitor returned
	}
	release.open()
	select {
	case d := <-downs:
		t.Fatalf("a Down came after Demonitor had returned (it reported active=%v): reason %v", active, d.Reason)
	case <-time.After(300 * time.Millisecond):
	}
}
