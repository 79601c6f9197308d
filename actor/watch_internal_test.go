package actor

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// monitorsHeld returns how many monitors r holds on others, and how many
// others hold on r.
func monitorsHeld(r *Ref) (held, on int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.x == nil {
		return 0, 0
	}
	return len(r.x.monitors), len(r.x.watch.fns)
}

// A monitor belongs to the monitoring process, as in OTP: when the watcher
// stops, its monitors go with it, so that a target outliving many
// short-lived watchers does not keep them all (nor their Refs). A monitor
// that fired, or was removed, leaves no record with its watcher either.
func TestMonitorsEndWithTheirWatcher(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	idle := Func(func(*Context, any) error { return nil })
	target, err := Spawn(ctx, idle)
	require.NoError(t, err)
	defer target.Kill()

	downs := make(chan Down, 1)
	monitor := func(c *Context, msg any) error {
		switch m := msg.(type) {
		case Down:
			downs <- m
		case *Ref:
			mref, err := c.Monitor(m)
			if err != nil {
				return err
			}
			return c.Reply(mref)
		case MonitorRef:
			return c.Reply(c.Demonitor(m))
		}
		return nil
	}
	for range 100 {
		w, err := Spawn(ctx, Func(monitor))
		require.NoError(t, err)
		_, err = w.Call(ctx, target)
		require.NoError(t, err)
		require.NoError(t, w.Stop(ctx))
	}
	_, on := monitorsHeld(target)
	assert.Zero(t, on, "monitors of stopped watchers")

	w, err := Spawn(ctx, Func(monitor))
	require.NoError(t, err)
	defer w.Kill()
	m, err := CallAs[MonitorRef](ctx, w, target)
	require.NoError(t, err)
	held, _ := monitorsHeld(w)
	assert.Equal(t, 1, held)
	removed, err := CallAs[bool](ctx, w, m)
	require.NoError(t, err)
	assert.True(t, removed)
	held, _ = monitorsHeld(w)
	assert.Zero(t, held, "a removed monitor")
	_, on = monitorsHeld(target)
	assert.Zero(t, on)

	short, err := Spawn(ctx, idle)
	require.NoError(t, err)
	_, err = w.Call(ctx, short)
	require.NoError(t, err)
	require.NoError(t, short.Stop(ctx))
	select {
	case <-downs:
	case <-ctx.Done():
		t.Fatal("no Down")
	}
	held, _ = monitorsHeld(w)
	assert.Zero(t, held, "a monitor that fired")
}

// An exit requested of an incarnation that has ended since (a linked exit
// whose incarnation number was read just before the restart) must not cancel
// the context of the next incarnation.
func TestStaleExitSparesNextIncarnation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	parent, exits := exitParent(t)
	boom := errors.New("boom")
	child, err := Spawn(ctx, Func(func(*Context, any) error { return boom }), WithParent(parent))
	require.NoError(t, err)
	defer child.Kill()
	require.NoError(t, child.Send("crash"))
	select {
	case <-exits:
	case <-ctx.Done():
		t.Fatal("no ChildExit")
	}

	next := &ctxProbe{}
	require.NoError(t, child.Restart(next))
	require.NotNil(t, next.ctx)
	child.request(&exitRequest{reason: boom, inc: 1}) // made of incarnation 1
	assert.NoError(t, next.ctx.Err(), "incarnation 2's context")
	v, err := child.Call(ctx, "alive?")
	require.NoError(t, err)
	assert.Equal(t, uint64(2), v)
}

// ctxProbe keeps the context its Init was given and replies with its
// incarnation.
type ctxProbe struct{ ctx context.Context }

func (p *ctxProbe) Init(c *Context) error {
	p.ctx = c.Context()
	return nil
}

func (p *ctxProbe) Receive(c *Context, _ any) error { return c.Reply(c.Incarnation()) }

// supervisedChild spawns a as the child of an idle parent; both are killed
// when the test ends.
func supervisedChild(t *testing.T, ctx context.Context, a Actor, opts ...Option) *Ref {
	t.Helper()
	parent, err := Spawn(ctx, Func(func(*Context, any) error { return nil }))
	require.NoError(t, err)
	t.Cleanup(parent.Kill)
	child, err := Spawn(ctx, a, append([]Option{WithParent(parent)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(child.Kill)
	return child
}

// A Suspend that returns at once (the actor is suspended, or stopped) leaves
// no waiter behind.
func TestSuspendLeavesNoWaiter(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	child := supervisedChild(t, ctx, Func(func(*Context, any) error { return nil }))
	require.NoError(t, child.Suspend(ctx, ErrShutdown))
	for range 3 {
		require.NoError(t, child.Suspend(ctx, ErrShutdown), "suspended already")
	}
	require.NoError(t, child.Stop(ctx))
	require.ErrorIs(t, child.Suspend(ctx, ErrShutdown), ErrStopped)
	child.mu.Lock()
	defer child.mu.Unlock()
	assert.Empty(t, child.x.wait().paused)
}

// A target that stops while Monitor runs leaves no record with the watcher
// once its Down has come (the record is made before the watch).
func TestMonitorOfTargetEndingMeanwhile(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	idle := Func(func(*Context, any) error { return nil })
	downs := make(chan Down, 1)
	w, err := Spawn(ctx, Func(func(c *Context, msg any) error {
		switch m := msg.(type) {
		case Down:
			downs <- m
		case armed:
			close(m.ready)
			_, err := c.Monitor(m.target)
			return err
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Kill()
	const n = 20000
	for i := range n {
		target, err := Spawn(ctx, idle)
		if err != nil {
			t.Fatal(err)
		}
		ready := make(chan struct{})
		if err := w.Send(armed{target, ready}); err != nil {
			t.Fatal(err)
		}
		<-ready
		for range i % 64 {
			runtime.Gosched()
		}
		target.Kill() // races with the Monitor in w
		select {
		case <-downs:
		case <-ctx.Done():
			t.Fatalf("no Down for target %d", i)
		}
		if held, _ := monitorsHeld(w); held > 0 {
			t.Fatalf("after %d targets, each stopped and its Down received, the watcher still records %d monitor(s)", i+1, held)
		}
	}
}

type armed struct {
	target *Ref
	ready  chan struct{}
}

// Done closes once the actor's monitors are removed, also when it is made
// after the actor ended (as Stop makes it), while they are being removed.
func TestDoneAfterEndWaitsForMonitorRemoval(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	idle := Func(func(*Context, any) error { return nil })
	target, err := Spawn(ctx, idle)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Kill()
	const monitors = 2000
	for i := range 50 {
		w, err := Spawn(ctx, Func(func(c *Context, msg any) error {
			if ch, ok := msg.(chan struct{}); ok {
				for range monitors {
					if _, err := c.Monitor(target); err != nil {
						return err
					}
				}
				close(ch)
			}
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		monitored := make(chan struct{}) // not Call, which makes Done
		if err := w.Send(monitored); err != nil {
			t.Fatal(err)
		}
		<-monitored
		go w.Kill() // or any end: the actor's goroutine, a Stop, a linked crash
		for w.Alive() && ctx.Err() == nil {
			runtime.Gosched()
		}
		<-w.Done() // made now, after the end: must still wait for the removals
		if _, on := monitorsHeld(target); on != 0 {
			t.Fatalf("round %d: Done is closed, yet the target still holds %d of the stopped watcher's monitors", i, on)
		}
	}
}

// A stale exit request (made of incarnation 1, which has ended since) does
// not replace a Stop of incarnation 2 that waits for the message in hand:
// the loop would discard it as stale, and the Stop would be lost.
func TestStaleExitSparesPendingStop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	parent, exits := exitParent(t)
	boom := errors.New("boom")
	child, err := Spawn(context.Background(), Func(func(*Context, any) error { return boom }), WithParent(parent))
	if err != nil {
		t.Fatal(err)
	}
	defer child.Kill()
	if err := child.Send("crash"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exits:
	case <-ctx.Done():
		t.Fatal("no ChildExit")
	}

	busy, release := make(chan struct{}), make(chan struct{})
	if err := child.Restart(Func(func(c *Context, msg any) error {
		if msg == "hold" {
			close(busy)
			<-release
		}
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	if err := child.Send("hold"); err != nil {
		t.Fatal(err)
	}
	<-busy
	if err := child.Stop(expired()); err == nil { // asks, does not wait
		t.Fatal("stopped at once although busy")
	}
	child.request(&exitRequest{reason: boom, inc: 1}) // a linked exit made of incarnation 1
	close(release)
	select {
	case <-child.Done():
	case <-ctx.Done():
		t.Fatalf("the Stop of incarnation 2 was lost: pending %+v, alive %v, incarnation %d", child.pending.Load(), child.Alive(), child.Incarnation())
	}
}

// expired returns a context that has ended: a request made with it does
// not wait.
func expired() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// A Suspend that returns because its ctx ended (the tree's suspend with a
// shutdown timeout, then a Kill) leaves no waiter behind either.
func TestSuspendCutShortLeavesNoWaiter(t *testing.T) {
	parent, err := Spawn(context.Background(), Func(func(*Context, any) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Kill()
	busy, release := make(chan struct{}), make(chan struct{})
	child, err := Spawn(context.Background(), Func(func(c *Context, msg any) error {
		if msg == "hold" {
			close(busy)
			<-release
		}
		return nil
	}), WithParent(parent))
	if err != nil {
		t.Fatal(err)
	}
	defer child.Kill()
	if err := child.Send("hold"); err != nil {
		t.Fatal(err)
	}
	<-busy
	for range 3 {
		if err := child.Suspend(expired(), ErrShutdown); !errors.Is(err, context.Canceled) {
			t.Fatalf("Suspend: %v", err)
		}
	}
	child.Kill() // as the tree does after a Suspend that timed out
	close(release)
	child.mu.Lock()
	n := len(child.x.wait().paused)
	child.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d waiters left behind by Suspends that returned", n)
	}
}

type monitorNow struct {
	target   *Ref
	ready    chan struct{}
	returned chan struct{}
}

// A watcher killed while its Monitor runs leaves no watch on the target
// once Monitor has returned: its end may come between the record and the
// watch.
func TestMonitorOfWatcherKilledMeanwhile(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	idle := Func(func(*Context, any) error { return nil })
	target, err := Spawn(context.Background(), idle)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Kill()
	// Contention on target.mu, so that Monitor's addWatch and the Kill's
	// removeWatch queue up on it together.
	var quit atomic.Bool
	hammered := make(chan struct{})
	single := runtime.GOMAXPROCS(0) == 1
	go func() {
		defer close(hammered)
		for !quit.Load() {
			target.Alive()
			if single {
				runtime.Gosched() // else each round waits for its time slice
			}
		}
	}()
	defer func() { quit.Store(true); <-hammered }()

	const n = 20000
	for i := range n {
		w, err := Spawn(context.Background(), Func(func(c *Context, msg any) error {
			if m, ok := msg.(monitorNow); ok {
				close(m.ready)
				_, _ = c.Monitor(m.target)
				close(m.returned)
			}
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		m := monitorNow{target: target, ready: make(chan struct{}), returned: make(chan struct{})}
		if err := w.Send(m); err != nil {
			t.Fatal(err)
		}
		<-m.ready
		for range i % 16 {
			runtime.Gosched()
		}
		w.Kill() // races with the Monitor in w
		select {
		case <-m.returned:
		case <-ctx.Done():
			t.Fatal("Monitor never returned")
		}
		<-w.Done()
		if _, on := monitorsHeld(target); on > 0 {
			t.Fatalf("after %d watchers, each killed and its Monitor returned, the target still holds %d watch(es) of dead watchers", i+1, on)
		}
	}
}

// trapThenFail sets TrapExits in Init, then fails.
type trapThenFail struct{}

func (trapThenFail) Init(c *Context) error       { c.TrapExits(true); return ErrShutdown }
func (trapThenFail) Receive(*Context, any) error { return nil }

// The trap flag set by an incarnation that failed to start is reset too: a
// linked exit while the actor waits for its next restart is not queued as
// an Exit for an incarnation that does not trap exits; it ends that
// incarnation as soon as it starts instead.
func TestTrapOfFailedStartIsReset(t *testing.T) {
	parent, exits := exitParent(t)
	peer, err := Spawn(context.Background(), Func(func(*Context, any) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan any, 8)
	plain := func() Actor {
		return Func(func(c *Context, msg any) error {
			switch msg {
			case "link":
				return c.Link(peer)
			case "crash":
				return context.DeadlineExceeded
			}
			got <- msg
			return nil
		})
	}
	child, err := Spawn(context.Background(), plain(), WithParent(parent))
	if err != nil {
		t.Fatal(err)
	}
	defer child.Kill()
	_ = child.Send("link")
	_ = child.Send("crash")
	select {
	case <-exits:
	case <-time.After(5 * time.Second):
		t.Fatal("no ChildExit")
	}
	if err := child.Restart(trapThenFail{}); err == nil {
		t.Fatal("the restart should fail")
	}
	peer.Kill() // the linked exit arrives while child waits for its restart
	<-peer.Done()
	if err := child.Restart(plain()); err != nil {
		t.Fatal(err)
	}
	_ = child.Send("marker")
	select {
	case m := <-got:
		t.Fatalf("the new incarnation, which does not trap exits, received %#v", m)
	case ce := <-exits:
		if !errors.Is(ce.Reason, ErrKilled) || ce.Incarnation != 2 || ce.Final {
			t.Fatalf("ChildExit %+v, want incarnation 2 ended by the peer's exit", ce)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing received")
	}
	if n := child.MailboxLen(); n != 1 {
		t.Fatalf("MailboxLen = %d: the marker waits for the next incarnation", n)
	}
}

// exitParent spawns a parent for supervised actors that passes on the
// ChildExit messages it receives; it is killed when the test ends.
func exitParent(t *testing.T) (*Ref, <-chan ChildExit) {
	t.Helper()
	exits := make(chan ChildExit, 4)
	parent, err := Spawn(context.Background(), Func(func(_ *Context, msg any) error {
		if m, ok := msg.(ChildExit); ok {
			exits <- m
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(parent.Kill)
	return parent, exits
}

// suspendingRestarter restarts in place, but first has a Suspend made of the
// incarnation that has just ended, while it decides, and waits until the
// request is in.
type suspendingRestarter struct {
	ctx       context.Context
	suspended chan error
}

func (s *suspendingRestarter) RestartNow(child *Ref, _ error) (Actor, bool) {
	go func() { s.suspended <- child.Suspend(s.ctx, ErrShutdown) }()
	for child.pending.Load() == nil && s.ctx.Err() == nil {
		runtime.Gosched()
	}
	return Func(func(c *Context, _ any) error { return c.Reply(c.Incarnation()) }), true
}

func (s *suspendingRestarter) Restarted(*Ref, error) {}

// A Suspend made while a Restarter decides asked the incarnation that had
// just ended to end: it returns once the restart in place has made that
// plain, as it returns when a crash suspends the actor before it, rather
// than waiting for its ctx (for good, with context.Background()).
func TestSuspendOvertakenByARestartInPlaceReturns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rs := &suspendingRestarter{ctx: ctx, suspended: make(chan error, 1)}
	child := supervisedChild(t, ctx, Func(func(*Context, any) error { return errors.New("crash") }), WithRestarter(rs))
	require.NoError(t, child.Send("crash"))
	select {
	case err := <-rs.suspended:
		assert.NoError(t, err)
	case <-time.After(2 * time.Second):
		t.Fatal("Suspend still waits after the restart in place")
	}
	inc, err := CallAs[uint64](ctx, child, "inc?")
	require.NoError(t, err)
	assert.Equal(t, uint64(2), inc, "the restart in place went ahead")
	cancel() // ends a Suspend that is still waiting, so that nothing leaks
}

// failingInit fails once a Suspend waits.
type failingInit struct {
	ctx   context.Context
	child *Ref
}

func (f *failingInit) Init(*Context) error {
	for f.ctx.Err() == nil && suspendsWaiting(f.child) == 0 {
		runtime.Gosched()
	}
	return errors.New("no")
}

func suspendsWaiting(r *Ref) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.x.wait().paused)
}

func (f *failingInit) Receive(*Context, any) error { return nil }

// A Suspend made while a Restart runs an Init that fails returns: the actor
// is suspended again.
func TestSuspendDuringAFailedRestartReturns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	child := supervisedChild(t, ctx, Func(func(*Context, any) error { return nil }))
	require.NoError(t, child.Suspend(ctx, ErrShutdown))

	suspended := make(chan error, 1)
	restarted := make(chan error, 1)
	go func() { restarted <- child.Restart(&failingInit{ctx: ctx, child: child}) }()
	go func() {
		for child.state.Load() != stateRunning && ctx.Err() == nil { // Restart has taken it from suspended
			runtime.Gosched()
		}
		suspended <- child.Suspend(ctx, ErrShutdown)
	}()
	require.Error(t, <-restarted)
	select {
	case err := <-suspended:
		assert.NoError(t, err)
	case <-time.After(2 * time.Second):
		t.Fatal("Suspend still waits, the actor suspended again")
	}
	assert.True(t, child.Suspended())
	cancel()
}

// The record of calls taken with a Replier keeps those still open, not
// every one an incarnation ever deferred.
func TestDeferredCallsRecordStaysBounded(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ref, err := Spawn(ctx, Func(func(c *Context, _ any) error {
		p, err := c.Replier()
		if err != nil {
			return err
		}
		return p.Reply("later")
	}))
	require.NoError(t, err)
	defer ref.Kill()
	for range 1000 {
		_, err := ref.Call(ctx, "x")
		require.NoError(t, err)
	}
	ref.mu.Lock()
	n := len(ref.x.wait().deferred)
	ref.mu.Unlock()
	assert.LessOrEqual(t, n, 9, "answered calls are swept out")
}
