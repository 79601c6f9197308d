package tree_test

// Where one feature meets another: the stop's bound and children added
// later, concurrent stops, MaxRunning and ignored or dropped children,
// backoff timers and group restarts, AllSignificant and the queue.

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/clock"
	"github.com/arbor-go/arbor/strategy"
	"github.com/arbor-go/arbor/tree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slowStop is a worker whose Terminate takes d: a child that honours its
// shutdown timeout but needs some time to clean up.
type slowStop struct{ d time.Duration }

func (slowStop) Receive(*actor.Context, any) error { return nil }
func (s slowStop) Terminate(*actor.Context, error) { <-time.After(s.d) }

// A child added with StartChild has a 5 s shutdown timeout; it stops in
// 50 ms. The whole stop is bounded by the sum of the children's timeouts:
// nothing may be named stuck.
func TestStopBoundCountsStartedChildren(t *testing.T) {
	sup, err := tree.Start(context.Background(), tree.Spec{}, quiet())
	require.NoError(t, err)
	_, err = sup.StartChild(context.Background(), tree.Worker("late", func() actor.Actor {
		return slowStop{50 * time.Millisecond}
	}))
	require.NoError(t, err)
	rep := sup.Stop(context.Background())
	assert.Empty(t, rep.Stuck)
	assert.NoError(t, rep.Err)
}

// A nested dynamic supervisor's children stop within their own 1 s
// timeouts (they take 200 ms); the parent must wait for "the longest
// shutdown timeout plus ShutdownGrace", not for Defaults.Shutdown.
func TestStopBoundCountsNestedDynamicChildren(t *testing.T) {
	sup, err := tree.Start(context.Background(), tree.Spec{Children: []tree.ChildSpec{
		tree.Dynamic("pool", tree.DynamicSpec{
			Defaults: tree.ChildDefaults{Shutdown: 50 * time.Millisecond},
			Template: func(any) tree.ChildSpec {
				return tree.Worker("w", func() actor.Actor { return slowStop{200 * time.Millisecond} },
					tree.Shutdown(time.Second))
			},
		}),
	}}, quiet())
	require.NoError(t, err)
	_, err = tree.DynamicAt(refOf(t, sup, "pool")).StartChild(context.Background(), nil)
	require.NoError(t, err)
	rep := sup.Stop(context.Background())
	assert.Empty(t, rep.Stuck)
	assert.NoError(t, rep.Err)
}

// Stop called concurrently: each call is bounded by its own ctx.
func TestConcurrentStopsBoundedByEachContext(t *testing.T) {
	release := make(chan struct{})
	asked := make(chan struct{}, 1)
	sup, err := tree.Start(context.Background(), tree.Spec{Children: []tree.ChildSpec{
		tree.Task("hang", func(ctx context.Context, c *actor.Context) error {
			<-ctx.Done() // asked to stop
			asked <- struct{}{}
			<-release // but takes its time
			return nil
		}, tree.ShutdownInfinity())}}, quiet())
	require.NoError(t, err)
	first := make(chan tree.StopReport, 1)
	go func() { first <- sup.Stop(context.Background()) }() // an operator's stop, unbounded
	<-asked                                                 // the first Stop is under way
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	second := make(chan tree.StopReport, 1)
	go func() { second <- sup.Stop(ctx) }() // a signal handler with a deadline
	select {
	case rep := <-second:
		assert.ErrorIs(t, rep.Err, context.DeadlineExceeded)
		assert.Equal(t, []string{"root/hang"}, rep.Stuck)
	case <-time.After(wait):
		t.Error("Stop(ctx) with a 50 ms ctx still blocked after 5 s")
	}
	close(release)
	rep := <-first
	assert.ErrorIs(t, rep.Err, context.DeadlineExceeded, "one stop, bounded by both contexts")
}

// A running child whose factory returns Ignore on its restart ends for good
// (Stopped) and gives its MaxRunning slot back: the child waiting for a slot
// must be admitted.
func TestIgnoredRestartFreesSlot(t *testing.T) {
	ignoredOnRestart := func() tree.ChildSpec {
		var calls atomic.Int32
		return tree.Worker("a", func() actor.Actor {
			if calls.Add(1) > 1 {
				return tree.Ignore
			}
			return &probe{id: "a"}
		})
	}
	t.Run("restart at once (fast path)", func(t *testing.T) {
		sup := start(t, tree.Spec{MaxRunning: 1, Children: []tree.ChildSpec{ignoredOnRestart(), worker("b", nil)}})
		ev := events(t, sup)
		require.Equal(t, tree.Waiting, stateOf(t, sup, "b"))
		require.NoError(t, refOf(t, sup, "a").Send("crash"))
		ev(tree.ChildAdmitted, "b")
	})
	t.Run("restart after a backoff (supervisor's path)", func(t *testing.T) {
		clk := clock.NewFake(epoch)
		sup := start(t, tree.Spec{MaxRunning: 1, Backoff: strategy.Constant(time.Second),
			Children: []tree.ChildSpec{ignoredOnRestart(), worker("b", nil)}}, tree.WithClock(clk))
		ev := events(t, sup)
		require.Equal(t, tree.Waiting, stateOf(t, sup, "b"))
		require.NoError(t, refOf(t, sup, "a").Send("crash"))
		ev(tree.ChildRestarting, "a")
		clk.Advance(time.Second)
		ev(tree.ChildAdmitted, "b")
	})
}

// A temporary collateral child dropped by a OneForAll restart frees its
// MaxRunning slot: the child waiting for one must be admitted.
func TestDroppedTemporarySiblingFreesSlot(t *testing.T) {
	sup := start(t, tree.Spec{MaxRunning: 2, Strategy: strategy.OneForAll,
		Children: []tree.ChildSpec{worker("a", nil), worker("t", nil, tree.Restart(strategy.Temporary)), worker("w", nil)}})
	ev := events(t, sup)
	require.Equal(t, tree.Waiting, stateOf(t, sup, "w"))
	require.NoError(t, refOf(t, sup, "a").Send("crash"))
	ev(tree.ChildRestarted, "a")
	n, err := sup.CountChildren(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, n.Specs)
	assert.Equal(t, tree.Running, stateOf(t, sup, "w"), "a slot is free, yet w waits")
}

// RestForOne: a child waiting for its own (backoff) restart that joins the
// group of an earlier sibling's restart must be started after the earlier
// siblings, in start order, not by its own earlier timer.
func TestRestForOneGroupKeepsStartOrder(t *testing.T) {
	clk := clock.NewFake(epoch)
	sup := start(t, tree.Spec{Strategy: strategy.RestForOne,
		Intensity: strategy.Intensity{MaxRestarts: 10, Period: time.Minute},
		Children: []tree.ChildSpec{
			worker("a", nil, tree.Backoff(strategy.Constant(10*time.Second))),
			worker("b", nil),
			worker("c", nil, tree.Backoff(strategy.Constant(time.Second))),
		}}, tree.WithClock(clk))
	ev := events(t, sup)
	require.NoError(t, refOf(t, sup, "c").Send("crash"))
	ev(tree.ChildRestarting, "c")
	require.NoError(t, refOf(t, sup, "a").Send("crash"))
	ev(tree.ChildRestarting, "a")
	clk.Advance(time.Second) // c's own timer
	// c depends on a and b: it must not run while they wait for a's backoff.
	_, err := sup.CountChildren(context.Background()) // the restartDue has been handled
	require.NoError(t, err)
	assert.Equal(t, tree.Restarting, stateOf(t, sup, "a"))
	assert.Equal(t, tree.Restarting, stateOf(t, sup, "b"))
	assert.Equal(t, tree.Restarting, stateOf(t, sup, "c"), "c restarted before a and b")
	clk.Advance(9 * time.Second) // a's backoff: the group restarts, in start order
	var order []string
	for range 3 {
		order = append(order, ev(tree.ChildRestarted, "").Child)
	}
	assert.Equal(t, []string{"a", "b", "c"}, order)
}

// A backoff timer of a restart that TerminateChild cancelled must not
// restart the child later, cutting the backoff of a later crash short.
func TestTerminatedChildsTimerIsVoid(t *testing.T) {
	clk := clock.NewFake(epoch)
	ctx := context.Background()
	sup := start(t, tree.Spec{Backoff: strategy.Constant(10 * time.Second),
		Intensity: strategy.Intensity{MaxRestarts: 10, Period: time.Hour},
		Children:  []tree.ChildSpec{worker("a", nil)}}, tree.WithClock(clk))
	ev := events(t, sup)
	require.NoError(t, refOf(t, sup, "a").Send("crash"))
	ev(tree.ChildRestarting, "a") // timer T1 at +10s
	require.NoError(t, sup.TerminateChild(ctx, "a"))
	clk.Advance(5 * time.Second)
	_, err := sup.RestartChild(ctx, "a")
	require.NoError(t, err)
	require.NoError(t, refOf(t, sup, "a").Send("crash"))
	r := ev(tree.ChildRestarting, "a") // timer T2 at +15s
	require.Equal(t, 10*time.Second, r.Delay)
	clk.Advance(5 * time.Second) // T1 fires: 5 s into a 10 s backoff
	_, err = sup.CountChildren(ctx)
	require.NoError(t, err)
	assert.Equal(t, tree.Restarting, stateOf(t, sup, "a"), "restarted 5 s into its 10 s backoff, by a stale timer")
}

// AllSignificant: a significant child still waiting for its slot under
// MaxRunning has not terminated; the supervisor must not shut down.
func TestAllSignificantCountsWaiting(t *testing.T) {
	transient := tree.Restart(strategy.Transient)
	sup := start(t, tree.Spec{MaxRunning: 1, AutoShutdown: strategy.AllSignificant,
		Children: []tree.ChildSpec{
			worker("s1", nil, transient, tree.Significant()),
			worker("s2", nil, transient, tree.Significant()),
		}})
	ev := events(t, sup)
	require.Equal(t, tree.Waiting, stateOf(t, sup, "s2"))
	require.NoError(t, refOf(t, sup, "s1").Send("normal"))
	ev(tree.ChildExited, "s1")
	_, err := sup.CountChildren(context.Background())
	require.NoError(t, err, "the supervisor shut down although s2 never ran")
	assert.Equal(t, tree.Running, stateOf(t, sup, "s2"))
}

// A temporary child waiting for a slot is not running: a sibling's
// OneForAll restart must leave it waiting, not drop its spec.
func TestWaitingTemporarySurvivesGroupRestart(t *testing.T) {
	sup := start(t, tree.Spec{MaxRunning: 1, Strategy: strategy.OneForAll,
		Children: []tree.ChildSpec{worker("a", nil), worker("tmp", nil, tree.Restart(strategy.Temporary))}})
	ev := events(t, sup)
	require.Equal(t, tree.Waiting, stateOf(t, sup, "tmp"))
	require.NoError(t, refOf(t, sup, "a").Send("crash"))
	ev(tree.ChildRestarted, "a")
	assert.Equal(t, tree.Waiting, stateOf(t, sup, "tmp"))
}

// A nested supervisor that is killed (BrutalKill, or a shutdown timeout
// that ran out) runs no Terminate, which gives its children's
// SubtreeMaxRunning slots back one by one; they go back all at once, or the
// supervisor started in its place would find the subtree full of slots
// nobody holds.
func TestKilledSupervisorGivesSlotsBack(t *testing.T) {
	ctx := context.Background()
	sup := start(t, tree.Spec{SubtreeMaxRunning: 1, Children: []tree.ChildSpec{
		tree.Supervisor("sub", tree.Spec{Children: []tree.ChildSpec{worker("w", nil)}}, tree.BrutalKill()),
	}})
	_, st := childOf(t, refOf(t, sup, "sub"), "w")
	require.Equal(t, tree.Running, st)

	require.NoError(t, sup.TerminateChild(ctx, "sub")) // killed: its only worker ends with it
	sub, err := sup.RestartChild(ctx, "sub")
	require.NoError(t, err)
	_, st = childOf(t, sub, "w")
	assert.Equal(t, tree.Running, st, "the only worker of the subtree waits for a slot that was never given back")
}

// A child whose factory returns Ignore while its supervisor starts took a
// subtree slot to start: it gives it back at once, not when that supervisor
// next handles a message (never, for an idle one), while a sibling subtree
// waits for it.
func TestIgnoredAtStartGivesSlotBack(t *testing.T) {
	sup := start(t, tree.Spec{SubtreeMaxRunning: 1, Children: []tree.ChildSpec{
		tree.Supervisor("A", tree.Spec{Children: []tree.ChildSpec{
			tree.Worker("ignored", func() actor.Actor { return tree.Ignore }),
		}}),
		tree.Supervisor("B", tree.Spec{Children: []tree.ChildSpec{worker("b", nil)}}),
	}})
	_, st := childOf(t, refOf(t, sup, "B"), "b")
	assert.Equal(t, tree.Running, st, "no child of the subtree runs, yet b waits for a slot")
}

// A subscription with a buffer of one recovers from an overflow: once it
// has room, it gets one Lagged (counting the event it stands for too), and
// then, keeping pace, the events themselves.
func TestLaggedWithBufferOfOne(t *testing.T) {
	sup := start(t, tree.Spec{Intensity: strategy.Intensity{MaxRestarts: 1000, Period: time.Minute},
		Children: []tree.ChildSpec{worker("a", nil)}})
	sub := sup.Subscribe(1)
	defer sub.Close()
	ev := events(t, sup)
	a := refOf(t, sup, "a")

	require.NoError(t, a.Send("crash")) // three events: two dropped
	ev(tree.ChildRestarted, "a")
	<-sub.Events() // the subscriber catches up: its buffer is empty

	// From now on the subscriber keeps pace: it reads each event the tree
	// publishes before the next one is published (one event per call).
	for i := range 5 {
		_, err := sup.WhichChildren(context.Background()) // publishes nothing
		require.NoError(t, err)
		require.NoError(t, sup.TerminateChild(context.Background(), "a"))
		ev(tree.ChildTerminated, "a")
		got := <-sub.Events()
		if i > 0 {
			assert.NotEqual(t, tree.Lagged, got.Kind, "round %d: a subscriber keeping pace still gets only Lagged (dropped %d)", i, got.Dropped)
		}
		_, err = sup.RestartChild(context.Background(), "a")
		require.NoError(t, err)
		ev(tree.ChildStarted, "a")
		<-sub.Events()
	}
}

// A "/" in a child id would make two supervisors share a path ("a" with a
// child "b", and "a/b"), and a subscription to one see the other's events:
// the spec is refused.
func TestSlashInChildID(t *testing.T) {
	err := tree.Validate(tree.Spec{Children: []tree.ChildSpec{
		tree.Supervisor("a", tree.Spec{Children: []tree.ChildSpec{worker("b", nil)}}),
		tree.Supervisor("a/b", tree.Spec{Children: []tree.ChildSpec{worker("w", nil)}}),
	}})
	require.ErrorIs(t, err, tree.ErrSlashInID)
	var se *tree.SpecError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "a/b", se.Child)
	assert.Equal(t, "ID", se.Field)
}

// An idle dynamic supervisor (no children yet) under a static root without
// ShutdownGrace has a budget of 0: it must still be let stop, not killed
// and reported stuck by its parent's bound.
func TestIdleNestedDynamicStopsCleanly(t *testing.T) {
	sup, err := tree.Start(context.Background(), tree.Spec{Children: []tree.ChildSpec{
		tree.Dynamic("pool", tree.DynamicSpec{Template: func(any) tree.ChildSpec {
			return worker("w", nil)
		}}),
	}}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	rep := sup.Stop(context.Background())
	assert.Empty(t, rep.Stuck)
	assert.Empty(t, rep.Killed)
	assert.NoError(t, rep.Err)
}

// Same with a nested static supervisor that has no children of its own
// (they are added later with StartChild, or it has none yet).
func TestEmptyNestedSupervisorStopsCleanly(t *testing.T) {
	sup, err := tree.Start(context.Background(), tree.Spec{Children: []tree.ChildSpec{
		tree.Supervisor("sub", tree.Spec{}),
	}}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	rep := sup.Stop(context.Background())
	assert.Empty(t, rep.Stuck)
	assert.NoError(t, rep.Err)
}

// A Stop with a cancelled ctx: the report's Err should be that
// cancellation ("the deadline or cancellation of whichever Stop ended it").
// (Also when the root is done by the time the Stop looks.)
func TestCancelledStopReportsCancellation(t *testing.T) {
	sup := start(t, tree.Spec{Children: []tree.ChildSpec{worker("a", nil), worker("b", nil)}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep := sup.Stop(ctx)
	assert.ErrorIs(t, rep.Err, context.Canceled, "%+v", rep)
}

// secondCall is a worker whose factory returns second on its second call (its
// first restart): nil for a failed start, or Ignore; calls counts them.
func secondCall(id string, calls *atomic.Int32, second actor.Actor) tree.ChildSpec {
	return tree.Worker(id, func() actor.Actor {
		if calls.Add(1) == 2 {
			return second
		}
		return &probe{id: id}
	})
}

// OneForAll, as OTP: when a child of the group fails to restart, the whole
// group is retried, the children started before it stopped again (in reverse
// order), so that all start together, in order.
func TestOneForAllRetriesTheWholeGroup(t *testing.T) {
	var calls atomic.Int32
	flaky := secondCall("c", &calls, nil) // its first restart fails
	sup := start(t, tree.Spec{Strategy: strategy.OneForAll,
		Intensity: strategy.Intensity{MaxRestarts: 10, Period: time.Minute},
		Children:  []tree.ChildSpec{worker("a", nil), worker("b", nil), flaky}})
	ev := events(t, sup)
	require.NoError(t, refOf(t, sup, "a").Send("crash"))
	ev(tree.StartFailed, "c")
	var got []string
	for len(got) < 6 {
		e := ev(0, "")
		got = append(got, e.Kind.String()+" "+e.Child)
	}
	assert.Equal(t, []string{
		"child_terminated b", "child_terminated a", "child_restarting c",
		"child_restarted a", "child_restarted b", "child_restarted c",
	}, got)
}

// OneForAll, as OTP: the retry after a failed restart starts the whole
// group again, a child whose factory said Ignore on the failed attempt too
// (OTP's start_children calls every child's start function again).
func TestOneForAllRetryStartsAChildIgnoredOnTheFailedAttempt(t *testing.T) {
	var bCalls, cCalls atomic.Int32
	ignoring := secondCall("b", &bCalls, tree.Ignore) // its first restart says Ignore
	failing := secondCall("c", &cCalls, nil)          // its first restart fails
	sup := start(t, tree.Spec{Strategy: strategy.OneForAll,
		Intensity: strategy.Intensity{MaxRestarts: 10, Period: time.Minute},
		Children:  []tree.ChildSpec{worker("a", nil), ignoring, failing}})
	ev := events(t, sup)
	require.NoError(t, refOf(t, sup, "a").Send("crash"))
	ev(tree.StartFailed, "c")
	ev(tree.ChildRestarted, "c") // the retry
	assert.Equal(t, int32(3), bCalls.Load(), "the retry called b's factory again")
	infos, err := sup.WhichChildren(context.Background())
	require.NoError(t, err)
	for _, info := range infos {
		assert.NotNil(t, info.Ref, "%s runs after the retry", info.ID)
	}
}

// The same under MaxRunning: the slot that the ignored child gave back is
// taken again by the retry, before the child waiting in the queue can have
// it, so that no more than MaxRunning children run.
func TestOneForAllRetryOfAnIgnoredChildKeepsMaxRunning(t *testing.T) {
	var bCalls, cCalls atomic.Int32
	sup := start(t, tree.Spec{Strategy: strategy.OneForAll, MaxRunning: 3,
		Intensity: strategy.Intensity{MaxRestarts: 10, Period: time.Minute},
		Children: []tree.ChildSpec{
			worker("a", nil),
			secondCall("b", &bCalls, tree.Ignore),
			secondCall("c", &cCalls, nil),
			worker("d", nil), // waits for a slot
		}})
	ev := events(t, sup)
	require.Equal(t, tree.Waiting, stateOf(t, sup, "d"))
	require.NoError(t, refOf(t, sup, "a").Send("crash"))
	ev(tree.StartFailed, "c")
	ev(tree.ChildRestarted, "c")
	for _, id := range []string{"a", "b", "c"} {
		assert.Equal(t, tree.Running, stateOf(t, sup, id), id)
	}
	assert.Equal(t, tree.Waiting, stateOf(t, sup, "d"))
	counts, err := sup.CountChildren(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 3, counts.Active)
}

// blockingInit is a worker whose Init waits until its context ends (or the
// test releases it): a connection attempt, say.
type blockingInit struct {
	entered chan<- struct{}
	release <-chan struct{}
}

func (b *blockingInit) Init(c *actor.Context) error {
	b.entered <- struct{}{}
	select {
	case <-c.Context().Done():
		return c.Context().Err()
	case <-b.release:
		return nil
	}
}

func (b *blockingInit) Receive(*actor.Context, any) error { return nil }

// A nested supervisor (ShutdownInfinity, as by default) busy in a message
// when the root stops is given its budget and a margin, then killed:
// Stop(context.Background()) returns, naming it.
func TestBusyNestedSupervisorStopIsBounded(t *testing.T) {
	sup, err := tree.Start(context.Background(), tree.Spec{Children: []tree.ChildSpec{
		tree.Supervisor("sub", tree.Spec{Children: []tree.ChildSpec{
			worker("w", nil, tree.Shutdown(50*time.Millisecond)),
		}}),
	}}, quiet())
	require.NoError(t, err)
	sub := refOf(t, sup, "sub")

	entered, release := make(chan struct{}, 1), make(chan struct{})
	defer close(release) // lets everything end, whatever the outcome
	go func() {
		_, _ = tree.SupervisorAt(sub).StartChild(context.Background(), tree.Worker("slow",
			func() actor.Actor { return &blockingInit{entered: entered, release: release} },
			tree.Shutdown(50*time.Millisecond)))
	}()
	select {
	case <-entered: // sub's goroutine is now inside StartChild
	case <-time.After(wait):
		t.Fatal("StartChild never reached Init")
	}

	done := make(chan tree.StopReport, 1)
	go func() { done <- sup.Stop(context.Background()) }()
	select {
	case rep := <-done:
		assert.Contains(t, rep.Abandoned, "root/sub", "%+v", rep)
	case <-time.After(wait):
		t.Fatal("Stop(context.Background()) did not return within 5 s, though every child has a 50 ms shutdown timeout")
	}
}

// A supervisor that gives up while a child supervisor of its is busy in a
// message stops it within a bound too, and is restarted by its parent.
func TestGiveUpWithBusyChildSupervisorIsBounded(t *testing.T) {
	sup := start(t, tree.Spec{Children: []tree.ChildSpec{
		tree.Supervisor("n", tree.Spec{
			Intensity: strategy.Intensity{MaxRestarts: 0, Period: time.Second},
			Children: []tree.ChildSpec{
				tree.Supervisor("m", tree.Spec{}),
				worker("w", nil, tree.Shutdown(50*time.Millisecond)),
			}}),
	}})
	ev := events(t, sup)
	n := refOf(t, sup, "n")
	m, _ := childOf(t, n, "m")
	w, _ := childOf(t, n, "w")
	entered, release := make(chan struct{}, 1), make(chan struct{})
	defer close(release)
	go func() {
		_, _ = tree.SupervisorAt(m).StartChild(context.Background(), tree.Worker("slow",
			func() actor.Actor { return &blockingInit{entered: entered, release: release} },
			tree.Shutdown(50*time.Millisecond)))
	}()
	select {
	case <-entered:
	case <-time.After(wait):
		t.Fatal("StartChild never reached Init")
	}
	require.NoError(t, w.Send("crash")) // n gives up
	ev(tree.IntensityExceeded, "w")
	ev(tree.ChildRestarted, "n") // fails: n is stuck in its giveUp for ever
}

// slowStart is a worker whose Init waits for release (entered is told when
// it begins) and whose Terminate takes d, within its shutdown timeout, then
// closes done.
type slowStart struct {
	entered chan<- struct{}
	release <-chan struct{}
	d       time.Duration
	done    chan struct{}
}

func (s *slowStart) Init(*actor.Context) error {
	s.entered <- struct{}{}
	<-s.release
	return nil
}

func (s *slowStart) Receive(*actor.Context, any) error { return nil }

func (s *slowStart) Terminate(*actor.Context, error) {
	<-time.After(s.d) // a slow cleanup, within the timeout
	close(s.done)
}

// A child supervisor that is being started when the stop begins (its Init
// waits in a child's Init) counts in its parent's budget with its children:
// its parent does not cut a stop that keeps to them.
func TestStartingChildSupervisorIsCounted(t *testing.T) {
	entered, release := make(chan struct{}, 1), make(chan struct{})
	slow := &slowStart{entered: entered, release: release, d: 1500 * time.Millisecond, done: make(chan struct{})}
	sup, err := tree.Start(context.Background(), tree.Spec{Children: []tree.ChildSpec{
		tree.Supervisor("sub", tree.Spec{Children: []tree.ChildSpec{
			worker("w", nil, tree.Shutdown(50*time.Millisecond)),
		}}),
	}}, quiet())
	require.NoError(t, err)
	go func() {
		_, _ = tree.SupervisorAt(refOf(t, sup, "sub")).StartChild(context.Background(),
			tree.Supervisor("inner", tree.Spec{Children: []tree.ChildSpec{
				tree.Worker("slow", func() actor.Actor { return slow }, tree.Shutdown(3*time.Second)),
			}}))
	}()
	select {
	case <-entered: // sub is busy starting inner, whose Init starts slow
	case <-time.After(wait):
		t.Fatal("slow's Init never began")
	}
	done := make(chan tree.StopReport, 1)
	go func() { done <- sup.Stop(context.Background()) }()
	time.AfterFunc(300*time.Millisecond, func() { close(release) })
	select {
	case rep := <-done:
		assert.Empty(t, rep.Abandoned, "%+v", rep)
		assert.NoError(t, rep.Err)
	case <-time.After(2 * wait):
		t.Fatal("Stop did not return")
	}
	select {
	case <-slow.done:
	default:
		t.Error("slow's cleanup was cut short")
	}
}

// The second a child supervisor is given to begin its stop counts in its
// parent's budget: a child supervisor busy for part of it does not spend
// the time of the siblings stopped after it.
func TestChildSupervisorMarginIsCounted(t *testing.T) {
	stopping, release := make(chan struct{}), make(chan struct{})
	sup, err := tree.Start(context.Background(), tree.Spec{Children: []tree.ChildSpec{
		tree.Worker("w", func() actor.Actor { return slowStop{20 * time.Millisecond} }, tree.Shutdown(200*time.Millisecond)),
		tree.Supervisor("sub", tree.Spec{}),
		tree.Worker("m", func() actor.Actor { return &stopMarker{stopping: stopping} }, tree.Shutdown(10*time.Millisecond)),
	}}, quiet())
	require.NoError(t, err)
	entered := make(chan struct{}, 1)
	go func() {
		_, _ = tree.SupervisorAt(refOf(t, sup, "sub")).StartChild(context.Background(),
			tree.Worker("busy", func() actor.Actor { return &blockingInit{entered: entered, release: release} },
				tree.BrutalKill()))
	}()
	select {
	case <-entered: // sub is busy in StartChild
	case <-time.After(wait):
		t.Fatal("StartChild never reached Init")
	}
	done := make(chan tree.StopReport, 1)
	go func() { done <- sup.Stop(context.Background()) }()
	<-stopping                                                      // m first, then sub, busy
	time.AfterFunc(400*time.Millisecond, func() { close(release) }) // within sub's second
	select {
	case rep := <-done:
		assert.Empty(t, rep.Abandoned, "%+v", rep)
		assert.NoError(t, rep.Err)
	case <-time.After(wait):
		t.Fatal("Stop did not return")
	}
}

// stopMarker tells when its Terminate runs.
type stopMarker struct{ stopping chan struct{} }

func (m *stopMarker) Receive(*actor.Context, any) error { return nil }
func (m *stopMarker) Terminate(*actor.Context, error)   { close(m.stopping) }
