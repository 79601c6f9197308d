package actor_test

// Where one feature meets another: refs that are no actor's, a Suspend
// behind a linked exit, trapping exits across incarnations.

import (
	"context"
	"errors"
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
// is not queued as an Exit for the next one, which never asked to trap: it
// ends that one, as soon as it has started, as it ends one that runs.
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
	ce = nextOf[actor.ChildExit](t, f.parentOut)
	assert.Equal(t, uint64(2), ce.Incarnation)
	assert.ErrorIs(t, ce.Reason, errBoom, "the partner's crash ended incarnation 2")
	assert.Empty(t, out, "incarnation 2 received nothing, no Exit and no ping")
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

// crashWhileSuspended links the family's child to a partner, crashes the
// child, then the partner while the child waits for its restart, and returns
// the partner once its exit has reached the child.
func crashWhileSuspended(t *testing.T, f *family) (partner *actor.Ref) {
	t.Helper()
	partner, crash := suspendLinked(t, f)
	crash()
	return partner
}

// suspendLinked links the family's child to a partner and crashes the child,
// which waits for its restart; crash crashes the partner and returns once
// its exit has reached the child.
func suspendLinked(t *testing.T, f *family) (partner *actor.Ref, crash func()) {
	t.Helper()
	partner, crashWith := linkPartner(t, f)
	suspendChild(t, f)
	return partner, func() { crashWith(errBoom) }
}

// linkPartner links the family's child to a new partner; crash crashes the
// partner with reason and returns once its exit has reached the child.
func linkPartner(t *testing.T, f *family) (partner *actor.Ref, crash func(reason error)) {
	t.Helper()
	partner = mustSpawn(t, puppet(make(chan any, 1)), actor.WithName("partner"))
	exec(t, f.child, func(c *actor.Context) { require.NoError(t, c.Link(partner)) })
	notified := make(chan struct{})
	partner.AfterStop(func(*actor.Ref, error) { close(notified) }) // runs after the link exits
	return partner, func(reason error) {
		require.NoError(t, partner.Send(doFn(func(*actor.Context) error { return reason })))
		next(t, notified)
	}
}

// suspendChild crashes the family's child, which then waits for its
// restart.
func suspendChild(t *testing.T, f *family) {
	t.Helper()
	require.False(t, f.crash(t).Final)
	require.Equal(t, seen{"crash", 1}, next(t, f.childOut))
	require.True(t, f.child.Suspended())
}

// A Ref outlives its incarnations, and so do its links: the exit of a linked
// actor that comes while no incarnation runs is for the next one, whether it
// traps exits or not, rather than for none.
func TestLinkedExitWhileSuspendedIsForTheNextIncarnation(t *testing.T) {
	t.Run("without trapping, it ends the next incarnation as soon as it has started", func(t *testing.T) {
		f := spawnFamily(t)
		crashWhileSuspended(t, f)
		require.NoError(t, f.child.Send("queued"))
		var initErr error
		require.NoError(t, f.child.Restart(&lifecycle{
			init:    func(c *actor.Context) error { initErr = c.Context().Err(); return nil },
			receive: worker(f.childOut),
		}))
		assert.NoError(t, initErr, "Init runs as usual, the exit comes after it")
		ce := nextOf[actor.ChildExit](t, f.parentOut)
		assert.Equal(t, actor.ChildExit{Child: f.child, Reason: errBoom, Incarnation: 2}, ce)
		assert.Empty(t, f.childOut, "incarnation 2 handled nothing")

		// The exit is delivered once: the next incarnation runs on.
		require.NoError(t, f.child.Restart(worker(f.childOut)))
		assert.Equal(t, seen{"queued", 3}, next(t, f.childOut))
		inc, err := actor.CallAs[uint64](callCtx(t), f.child, "inc?")
		require.NoError(t, err)
		assert.Equal(t, uint64(3), inc)
	})

	t.Run("a restart whose Init fails leaves it for the next incarnation that starts", func(t *testing.T) {
		f := spawnFamily(t)
		crashWhileSuspended(t, f)
		failed := errors.New("init failed")
		require.ErrorIs(t, f.child.Restart(&lifecycle{init: func(*actor.Context) error { return failed }}), failed)
		require.True(t, f.child.Suspended())
		require.NoError(t, f.child.Restart(worker(f.childOut)))
		ce := nextOf[actor.ChildExit](t, f.parentOut)
		assert.Equal(t, actor.ChildExit{Child: f.child, Reason: errBoom, Incarnation: 2}, ce)
	})

	t.Run("one that comes while a restart's Init runs, and fails, is for the next that starts", func(t *testing.T) {
		f := spawnFamily(t)
		_, crash := suspendLinked(t, f)
		failed := errors.New("init failed")
		require.ErrorIs(t, f.child.Restart(&lifecycle{init: func(*actor.Context) error {
			crash() // the partner's exit comes while Init runs
			return failed
		}}), failed)
		require.True(t, f.child.Suspended())
		require.NoError(t, f.child.Restart(worker(f.childOut)))
		ce := nextOf[actor.ChildExit](t, f.parentOut)
		assert.Equal(t, actor.ChildExit{Child: f.child, Reason: errBoom, Incarnation: 2}, ce)
	})

	t.Run("trapped if the next incarnation's Init turns trapping on", func(t *testing.T) {
		f := spawnFamily(t)
		partner := crashWhileSuspended(t, f)
		out := make(chan any, 16)
		require.NoError(t, f.child.Restart(&lifecycle{
			init:    func(c *actor.Context) error { c.TrapExits(true); return nil },
			receive: puppet(out),
		}))
		assert.Equal(t, actor.Exit{From: partner, Reason: errBoom}, nextOf[actor.Exit](t, out))
		exec(t, f.child, func(c *actor.Context) { assert.Equal(t, uint64(2), c.Incarnation()) })
	})

	t.Run("trapping, the next incarnation receives it as an Exit and runs on", func(t *testing.T) {
		f := spawnFamily(t, actor.WithTrapExits())
		partner := crashWhileSuspended(t, f)
		out := make(chan any, 16)
		require.NoError(t, f.child.Restart(puppet(out)))
		assert.Equal(t, actor.Exit{From: partner, Reason: errBoom}, nextOf[actor.Exit](t, out))
		exec(t, f.child, func(c *actor.Context) { assert.Equal(t, uint64(2), c.Incarnation()) })
	})

	t.Run("restarting in place, the Restarter is asked again with its reason", func(t *testing.T) {
		asked := make(chan error, 4)
		decide := newGate()
		defer decide.open()
		rs := askRestarter{asked: asked, next: func() actor.Actor {
			<-decide.ch // while the Restarter decides, no incarnation runs
			return puppet(make(chan any, 16))
		}}
		f := spawnFamily(t, actor.WithRestarter(rs))
		partner := mustSpawn(t, puppet(make(chan any, 1)), actor.WithName("partner"))
		exec(t, f.child, func(c *actor.Context) { require.NoError(t, c.Link(partner)) })
		require.NoError(t, f.child.Send("crash"))
		assert.ErrorIs(t, next(t, asked), errBoom)
		notified := make(chan struct{})
		partner.AfterStop(func(*actor.Ref, error) { close(notified) })
		require.NoError(t, partner.Stop(callCtx(t)))
		next(t, notified)
		decide.open()
		assert.ErrorIs(t, next(t, asked), actor.ErrShutdown, "incarnation 2 ended of the partner's exit")
		eventually(t, func() bool { return f.child.Incarnation() == 3 }, "incarnation 3 starts")
		exec(t, f.child, func(*actor.Context) {})
		assert.Empty(t, asked, "incarnation 3 runs on")
	})
}

// A carried exit "is the Exit message it finds first" (docs/actors.md,
// Context.Link): a trapping restart's Init that gets a later linked exit
// finds that one first, the carried one behind it.
func TestCarriedExitIsFoundFirst(t *testing.T) {
	f := spawnFamily(t)
	p1, crash1 := linkPartner(t, f)
	p2, crash2 := linkPartner(t, f)
	suspendChild(t, f)
	crash1(errBoom) // carried: it came while no incarnation ran

	errLater := errors.New("later")
	out := make(chan any, 16)
	require.NoError(t, f.child.Restart(&lifecycle{
		init: func(c *actor.Context) error {
			c.TrapExits(true)
			crash2(errLater) // p2's exit, trapped, is in the mailbox
			return nil
		},
		receive: puppet(out),
	}))
	first := nextOf[actor.Exit](t, out)
	assert.True(t, first.From == p1, "the carried exit (p1's, boom) comes first; got %v first", first.Reason)
	second := nextOf[actor.Exit](t, out)
	assert.True(t, second.From == p2, "then p2's; got %v", second.Reason)
}

// "An exit that comes between two incarnations is trapped, or not, as the
// next one is once its Init has run" (docs/actors.md): spawned
// WithTrapExits, a restart whose Init turns trapping off should end of it;
// it receives it as an Exit message instead and runs on.
func TestCarriedExitTrappedAsInitChose(t *testing.T) {
	f := spawnFamily(t, actor.WithTrapExits())
	crashWhileSuspended(t, f)
	out := make(chan any, 16)
	require.NoError(t, f.child.Restart(&lifecycle{
		init:    func(c *actor.Context) error { c.TrapExits(false); return nil },
		receive: puppet(out),
	}))
	deadline := time.After(patience)
	for {
		select {
		case m := <-out:
			if e, ok := m.(actor.Exit); ok {
				t.Fatalf("incarnation 2 does not trap exits, yet received %v as a message", e)
			}
		case m := <-f.parentOut:
			if ce, ok := m.(actor.ChildExit); ok {
				assert.Equal(t, uint64(2), ce.Incarnation)
				assert.ErrorIs(t, ce.Reason, errBoom)
				return
			}
		case <-deadline:
			t.Fatal("incarnation 2 neither ended nor received the exit")
		}
	}
}

// Not trapping, the carried exit ends the next incarnation "as soon as its
// Init has run, with the same reason" (Context.Link): a linked exit that
// came later, while Init ran, ends it instead, with its own reason.
func TestCarriedExitReasonEndsTheNextIncarnation(t *testing.T) {
	f := spawnFamily(t)
	_, crash1 := linkPartner(t, f)
	_, crash2 := linkPartner(t, f)
	suspendChild(t, f)
	crash1(errBoom) // carried: it came while no incarnation ran

	errLater := errors.New("later")
	require.NoError(t, f.child.Restart(&lifecycle{init: func(c *actor.Context) error {
		crash2(errLater) // p2's exit came while Init ran
		return nil
	}}))
	ce := nextOf[actor.ChildExit](t, f.parentOut)
	assert.Equal(t, uint64(2), ce.Incarnation)
	assert.ErrorIs(t, ce.Reason, errBoom, "incarnation 2 ends of the carried exit, which came first")
}

// puppets spawns n puppets, as partners to link to.
func puppets(t *testing.T, n int) []*actor.Ref {
	t.Helper()
	refs := make([]*actor.Ref, n)
	for i := range refs {
		refs[i] = mustSpawn(t, puppet(make(chan any, 1)))
	}
	return refs
}

// suspendLinkedToAll links the family's child to each of refs, in order, then
// crashes it: it waits for its restart, its links held.
func suspendLinkedToAll(t *testing.T, f *family, refs ...*actor.Ref) {
	t.Helper()
	exec(t, f.child, func(c *actor.Context) {
		for _, r := range refs {
			require.NoError(t, c.Link(r))
		}
	})
	require.False(t, f.crash(t).Final)
	require.True(t, f.child.Suspended())
}

// The carried exits of a trapping restart are the Exit messages it finds
// first, in the order they came: a linked exit that comes as its Init
// returns comes after all of them. Many carried exits make the moment they
// are delivered long enough for the late one to try to overtake them.
func TestLaterExitComesAfterTheCarriedOnes(t *testing.T) {
	const n = 1000
	for trial := range 5 {
		f := spawnFamily(t)
		partners := puppets(t, n)
		x := mustSpawn(t, puppet(make(chan any, 1)))
		suspendLinkedToAll(t, f, append(partners, x)...)
		for _, p := range partners {
			p.Kill() // announce runs here: the exit is carried when Kill returns
		}

		out := make(chan any, n+16)
		goX := make(chan struct{})
		xKilled := make(chan struct{})
		go func() { <-goX; x.Kill(); close(xKilled) }()
		require.NoError(t, f.child.Restart(&lifecycle{
			init: func(c *actor.Context) error {
				c.TrapExits(true)
				close(goX) // x's exit comes as Init returns
				return nil
			},
			receive: puppet(out),
		}))
		next(t, xKilled)
		deadline := time.After(patience)
		for i := 0; i <= n; i++ {
			select {
			case m := <-out:
				e, ok := m.(actor.Exit)
				require.True(t, ok, "got %T", m)
				if e.From == x && i < n {
					t.Fatalf("trial %d: x's exit, which came after all %d carried exits, was found at position %d", trial, n, i)
				}
			case <-deadline:
				t.Fatalf("trial %d: only %d exits arrived", trial, i)
			}
		}
	}
}

// Not trapping, the next incarnation ends of the first abnormal carried
// exit, not of a linked exit that comes as its Init returns.
func TestFirstAbnormalCarriedExitEndsTheIncarnation(t *testing.T) {
	const n = 1000
	for trial := range 5 {
		f := spawnFamily(t)
		partners := puppets(t, n)
		p := mustSpawn(t, puppet(make(chan any, 1)))
		x := mustSpawn(t, puppet(make(chan any, 1)))
		suspendLinkedToAll(t, f, append(partners, p, x)...)
		delivered := make(chan struct{}, n+1)
		for _, q := range partners {
			q.AfterStop(func(*actor.Ref, error) { delivered <- struct{}{} }) // after the link exits
			require.NoError(t, q.Send(doFn(func(c *actor.Context) error { c.Stop(nil); return nil })))
		}
		p.AfterStop(func(*actor.Ref, error) { delivered <- struct{}{} })
		require.NoError(t, p.Send(doFn(func(*actor.Context) error { return errBoom })))
		for range n + 1 {
			next(t, delivered)
		}

		goX := make(chan struct{})
		xKilled := make(chan struct{})
		go func() { <-goX; x.Kill(); close(xKilled) }()
		require.NoError(t, f.child.Restart(&lifecycle{init: func(c *actor.Context) error {
			close(goX)
			return nil
		}}))
		next(t, xKilled)
		ce := nextOf[actor.ChildExit](t, f.parentOut)
		require.Equal(t, uint64(2), ce.Incarnation)
		if !errors.Is(ce.Reason, errBoom) {
			t.Fatalf("trial %d: incarnation 2 ended with %v, not the first abnormal carried exit (boom)", trial, ce.Reason)
		}
		require.NoError(t, f.child.Stop(callCtx(t)))
	}
}
