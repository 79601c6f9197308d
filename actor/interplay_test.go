package actor_test

// Where one feature meets another: refs that are no actor's, a Suspend
// behind a linked exit, trapping exits across incarnations.

import (
	"context"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A nil *Ref (what StartChild returns for an ignored child) and a zero Ref
// (declared by mistake, never spawned) are no actor: every method fails with
// ErrNilActor or reports a stopped actor, at the call, rather than panicking
// there or, for a zero Ref, later on a goroutine of Arbor's.
func TestNoActorRefs(t *testing.T) {
	ctx := context.Background()
	for name, r := range map[string]*actor.Ref{"nil": nil, "zero": new(actor.Ref)} {
		t.Run(name, func(t *testing.T) {
			assert.ErrorIs(t, r.Send("x"), actor.ErrNilActor)
			assert.ErrorIs(t, r.SendContext(ctx, "x"), actor.ErrNilActor)
			_, err := r.Call(ctx, "x")
			assert.ErrorIs(t, err, actor.ErrNilActor)
			assert.ErrorIs(t, r.Stop(ctx), actor.ErrNilActor)
			assert.ErrorIs(t, r.Suspend(ctx, actor.ErrShutdown), actor.ErrNilActor)
			assert.ErrorIs(t, r.Restart(actor.Func(func(*actor.Context, any) error { return nil })), actor.ErrNilActor)
			assert.ErrorIs(t, r.Err(), actor.ErrNilActor)
			assert.False(t, r.Alive())
			select {
			case <-r.Done():
			default:
				t.Error("Done is not closed")
			}
			assert.NotPanics(t, r.Kill)
			var got error
			stop := r.AfterStop(func(_ *actor.Ref, reason error) { got = reason })
			assert.ErrorIs(t, got, actor.ErrNilActor, "AfterStop runs f at once")
			assert.False(t, stop())
		})
	}
}

// askRestarter restarts in place, and tells each time it is asked.
type askRestarter struct {
	asked chan error
	next  func() actor.Actor
}

func (a askRestarter) RestartNow(_ *actor.Ref, reason error) (actor.Actor, bool) {
	a.asked <- reason
	return a.next(), true
}
func (askRestarter) Restarted(*actor.Ref, error) {}

// busyWhenPartnerCrashes spawns a supervised child linked to a partner, has
// the child busy with a message when the partner crashes, and returns once
// the linked exit has been requested of the child; opening the gate lets
// the child finish its message.
func busyWhenPartnerCrashes(t *testing.T, opts ...actor.Option) (parentOut chan any, child *actor.Ref, g *gate) {
	parentOut = make(chan any, 16)
	parent := mustSpawn(t, puppet(parentOut), actor.WithName("parent"))
	childOut := make(chan any, 16)
	child = mustSpawn(t, puppet(childOut), append([]actor.Option{actor.WithParent(parent), actor.WithName("child")}, opts...)...)
	partner := mustSpawn(t, puppet(make(chan any, 16)), actor.WithName("partner"))
	exec(t, child, func(c *actor.Context) { require.NoError(t, c.Link(partner)) })
	entered, cancelled := make(chan struct{}), make(chan struct{})
	g = newGate()
	require.NoError(t, child.Send(doFn(func(c *actor.Context) error {
		close(entered)
		<-c.Context().Done() // the partner's exit has been requested of us
		close(cancelled)
		<-g.ch
		return nil
	})))
	next(t, entered) // busy: the exit request will wait for this message
	require.NoError(t, partner.Send(doFn(func(*actor.Context) error { return errBoom })))
	next(t, cancelled)
	return parentOut, child, g
}

// suspendRequest makes Suspend's request and returns at once (its ctx is
// already over), so that the test knows the request has been made.
func suspendRequest(t *testing.T, child *actor.Ref) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, child.Suspend(ctx, actor.ErrShutdown), context.Canceled)
}

// A Suspend made while a linked exit of the same incarnation is pending is
// not swallowed by it: the parent learns that it asked.
func TestSuspendOverPendingLinkedExitIsRequested(t *testing.T) {
	parentOut, child, g := busyWhenPartnerCrashes(t)
	suspendRequest(t, child) // as a OneForAll supervisor does to a sibling
	g.open()
	ce := nextOf[actor.ChildExit](t, parentOut)
	// Doc: "the parent's ChildExit has Requested set".
	assert.True(t, ce.Requested, "ChildExit after Suspend: %+v", ce)
}

// ... and the Restarter, which only decides the exits nobody asked for, is
// not consulted.
func TestSuspendOverPendingLinkedExitSkipsRestarter(t *testing.T) {
	asked := make(chan error, 4)
	rs := askRestarter{asked: asked, next: func() actor.Actor { return puppet(make(chan any, 16)) }}
	parentOut, child, g := busyWhenPartnerCrashes(t, actor.WithRestarter(rs))
	suspendRequest(t, child)
	g.open()
	// Doc (WithRestarter): "Exits asked for by Suspend, Stop or Kill never
	// reach it". The child must suspend and its parent get a ChildExit.
	select {
	case reason := <-asked:
		t.Fatalf("the Restarter was asked about a requested suspension (reason %v); child incarnation %d, suspended %v",
			reason, child.Incarnation(), child.Suspended())
	case ce := <-parentOut:
		assert.IsType(t, actor.ChildExit{}, ce)
	case <-time.After(patience):
		t.Fatal("neither")
	}
}

// A flag set by TrapExits belongs to the incarnation that set it; the next
// one starts as the actor was spawned.
func TestTrapExitsIsPerIncarnation(t *testing.T) {
	f := spawnFamily(t) // no WithTrapExits
	exec(t, f.child, func(c *actor.Context) { c.TrapExits(true) })
	ce := f.crash(t)
	require.False(t, ce.Final)
	out := make(chan any, 16)
	require.NoError(t, f.child.Restart(puppet(out))) // a fresh behaviour, "a new Context"

	partner := mustSpawn(t, puppet(make(chan any, 1)))
	exec(t, f.child, func(c *actor.Context) { require.NoError(t, c.Link(partner)) })
	require.NoError(t, partner.Send(doFn(func(*actor.Context) error { return errBoom })))

	// The new incarnation never asked to trap exits: in OTP a restarted
	// child is a new process, with trap_exit false, and the linked crash
	// ends it. Here it gets an Exit message, and lives on.
	select {
	case m := <-out:
		t.Fatalf("the new incarnation received %#v: it traps exits it never asked to trap", m)
	case m := <-f.parentOut:
		ce, ok := m.(actor.ChildExit)
		require.True(t, ok, "%#v", m)
		assert.ErrorIs(t, ce.Reason, errBoom)
	case <-time.After(patience):
		t.Fatal("nothing happened")
	}
}

// WithTrapExits, given at spawn, holds for every incarnation.
func TestWithTrapExitsOutlivesRestarts(t *testing.T) {
	f := spawnFamily(t, actor.WithTrapExits())
	f.crash(t)
	out := make(chan any, 16)
	require.NoError(t, f.child.Restart(puppet(out)))
	partner := mustSpawn(t, puppet(make(chan any, 1)))
	exec(t, f.child, func(c *actor.Context) { require.NoError(t, c.Link(partner)) })
	require.NoError(t, partner.Send(doFn(func(*actor.Context) error { return errBoom })))
	m := nextOf[actor.Exit](t, out)
	assert.ErrorIs(t, m.Reason, errBoom)
}

// The flag set by TrapExits ends with its incarnation: a linked crash while
// the actor is suspended between two incarnations (a supervisor's backoff)
// is not queued as an Exit for the next one, which never asked to trap.
func TestTrapFlagEndsWithItsIncarnation(t *testing.T) {
	f := spawnFamily(t) // no WithTrapExits
	partner := mustSpawn(t, puppet(make(chan any, 1)))
	exec(t, f.child, func(c *actor.Context) {
		c.TrapExits(true)
		require.NoError(t, c.Link(partner))
	})
	ce := f.crash(t)
	require.False(t, ce.Final)
	require.True(t, f.child.Suspended()) // between incarnations, as in a backoff

	notified := make(chan struct{})
	partner.AfterStop(func(*actor.Ref, error) { close(notified) }) // runs after the link exits
	require.NoError(t, partner.Send(doFn(func(*actor.Context) error { return errBoom })))
	next(t, notified)

	out := make(chan any, 16)
	require.NoError(t, f.child.Restart(puppet(out))) // does not trap exits
	require.NoError(t, f.child.Send("ping"))
	m := next(t, out)
	require.Equal(t, "ping", m, "incarnation 2, which does not trap exits, received %#v", m)
}

// A zero Ref is no actor: Monitor and Link fail with ErrNilActor, rather
// than watch a Ref that never ends.
func TestMonitorOfZeroRef(t *testing.T) {
	out := make(chan any, 4)
	w := mustSpawn(t, puppet(out))
	var err error
	exec(t, w, func(c *actor.Context) { _, err = c.Monitor(new(actor.Ref)) })
	require.ErrorIs(t, err, actor.ErrNilActor)
}

func TestLinkToZeroRef(t *testing.T) {
	out := make(chan any, 4)
	w := mustSpawn(t, puppet(out), actor.WithTrapExits())
	var err error
	exec(t, w, func(c *actor.Context) { err = c.Link(new(actor.Ref)) })
	require.ErrorIs(t, err, actor.ErrNilActor)
}
