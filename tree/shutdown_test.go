package tree_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/tree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stubborn is a task that ignores its context until release is closed: a
// child that will not stop when asked.
func stubborn(id string, release <-chan struct{}, running chan<- struct{}, opts ...tree.ChildOption) tree.ChildSpec {
	return tree.Task(id, func(ctx context.Context, c *actor.Context) error {
		running <- struct{}{}
		<-release
		return nil
	}, opts...)
}

func TestSupStopTimeout(t *testing.T) {
	t.Run("a child that outlives its shutdown timeout is killed and named", func(t *testing.T) {
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		running := make(chan struct{}, 1)
		sup, err := tree.Start(context.Background(), tree.Spec{Children: []tree.ChildSpec{
			worker("polite", nil),
			stubborn("hang", release, running, tree.Shutdown(20*time.Millisecond)),
		}}, quiet())
		require.NoError(t, err)
		<-running
		sub := sup.Subscribe(64)
		rep := sup.Stop(context.Background())
		assert.Equal(t, []string{"root/hang"}, rep.Killed)
		assert.Equal(t, []string{"root/hang"}, rep.Abandoned)
		assert.Empty(t, rep.Stuck)
		assert.NoError(t, rep.Err)
		var kinds []tree.EventKind
		for ev := range sub.Events() {
			if ev.Child != "" {
				kinds = append(kinds, ev.Kind)
			}
		}
		assert.Equal(t, []tree.EventKind{tree.ChildKilled, tree.ChildTerminated}, kinds)
	})
	t.Run("a stop whose context ends names the children still running as stuck", func(t *testing.T) {
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		running := make(chan struct{}, 1)
		sup, err := tree.Start(context.Background(), tree.Spec{Children: []tree.ChildSpec{
			stubborn("hang", release, running, tree.ShutdownInfinity()),
		}}, quiet())
		require.NoError(t, err)
		<-running
		sub := sup.Subscribe(64)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		rep := sup.Stop(ctx)
		assert.Equal(t, []string{"root/hang"}, rep.Stuck)
		stuck := false
		for ev := range sub.Events() {
			stuck = stuck || (ev.Kind == tree.Stuck && ev.Child == "hang")
		}
		assert.True(t, stuck, "a Stuck event names the child")
		assert.ErrorIs(t, rep.Err, context.DeadlineExceeded)
		<-sup.Done()
	})
	t.Run("ShutdownGrace bounds a whole stop on top of the timeouts", func(t *testing.T) {
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		running := make(chan struct{}, 1)
		sup, err := tree.Start(context.Background(), tree.Spec{ShutdownGrace: 10 * time.Millisecond,
			Children: []tree.ChildSpec{tree.Supervisor("inner", tree.Spec{Children: []tree.ChildSpec{
				stubborn("hang", release, running, tree.ShutdownInfinity())}})},
		}, quiet())
		require.NoError(t, err)
		<-running
		rep := sup.Stop(context.Background())
		// The inner supervisor has no bound of its own: cut by the root's,
		// it is named stuck, and so is what it was still waiting for.
		assert.Equal(t, []string{"root/inner/hang", "root/inner"}, rep.Stuck)
	})
}

func TestSupStopBrutalKill(t *testing.T) {
	t.Run("a brutal kill ends the child at once and is no anomaly", func(t *testing.T) {
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		running := make(chan struct{}, 1)
		sup, err := tree.Start(context.Background(), tree.Spec{Children: []tree.ChildSpec{
			stubborn("hang", release, running, tree.BrutalKill())}}, quiet())
		require.NoError(t, err)
		<-running
		sub := sup.Subscribe(64)
		rep := sup.Stop(context.Background())
		assert.Empty(t, rep.Killed)
		assert.NoError(t, rep.Err)
		for ev := range sub.Events() {
			if ev.Kind == tree.ChildTerminated {
				assert.ErrorIs(t, ev.Reason, actor.ErrKilled)
			}
		}
	})
}

// Children that each outlive their own shutdown timeout are killed for it,
// not reported stuck: the whole stop's bound is the sum of those timeouts,
// and the stop's own work between them must not turn the last kill into a
// stop that ran out of time.
func TestStubbornChildrenAreKilledNotStuck(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	t.Run("static, in turn", func(t *testing.T) {
		const n = 10
		running := make(chan struct{}, n)
		var children []tree.ChildSpec
		var want []string
		for i := range n {
			id := fmt.Sprintf("hang%d", i)
			children = append(children, stubborn(id, release, running, tree.Shutdown(20*time.Millisecond)))
			want = append([]string{"root/" + id}, want...) // stopped in reverse order
		}
		sup, err := tree.Start(context.Background(), tree.Spec{Children: children}, quiet())
		require.NoError(t, err)
		for range n {
			<-running
		}
		sub := sup.Subscribe(256)
		rep := sup.Stop(context.Background())
		assert.Equal(t, want, rep.Killed)
		assert.Empty(t, rep.Stuck)
		assert.NoError(t, rep.Err)
		for ev := range sub.Events() {
			assert.NotEqual(t, tree.Stuck, ev.Kind, "%s", ev.Child)
		}
	})
	t.Run("dynamic, in parallel", func(t *testing.T) {
		const n = 50
		for round := range 3 {
			running := make(chan struct{}, n)
			d, err := tree.StartDynamic(context.Background(), tree.DynamicSpec{Template: func(any) tree.ChildSpec {
				return stubborn("", release, running, tree.Shutdown(50*time.Millisecond))
			}}, quiet())
			require.NoError(t, err)
			for range n {
				_, err := d.StartChild(context.Background(), nil)
				require.NoError(t, err)
				<-running
			}
			rep := d.Stop(context.Background())
			require.Empty(t, rep.Stuck, "round %d", round)
			require.Len(t, rep.Killed, n)
			require.NoError(t, rep.Err)
		}
	})
}

// When the ctx given to Start ends, the tree stops as by Stop, and a Stop
// called afterwards returns that stop's report.
func TestStopAfterStartCtxEndedReturnsItsReport(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	running := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sup, err := tree.Start(ctx, tree.Spec{Children: []tree.ChildSpec{
		worker("polite", nil),
		stubborn("hang", release, running, tree.Shutdown(20*time.Millisecond)),
	}}, quiet())
	require.NoError(t, err)
	<-running
	cancel()
	<-sup.Done()
	rep := sup.Stop(context.Background())
	assert.Equal(t, []string{"root/hang"}, rep.Killed)
	assert.Equal(t, []string{"root/hang"}, rep.Abandoned)
}

// A root busy in a message (a StartChild whose Init blocks) when the stop
// begins cannot hold it up: the stop is bounded by the budget (and a
// margin), or by the caller's ctx, and then names what it abandoned.
func TestBusyRootStopIsBounded(t *testing.T) {
	busy := func(t *testing.T, sup *tree.Sup, release <-chan struct{}) {
		t.Helper()
		entered := make(chan struct{}, 1)
		go func() {
			_, _ = sup.StartChild(context.Background(), tree.Worker("slow",
				func() actor.Actor { return &blockingInit{entered: entered, release: release} },
				tree.Shutdown(50*time.Millisecond)))
		}()
		select {
		case <-entered: // the root's goroutine is now inside StartChild
		case <-time.After(wait):
			t.Fatal("StartChild never reached Init")
		}
	}
	t.Run("by its budget", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		running := make(chan struct{}, 1)
		sup, err := tree.Start(context.Background(), tree.Spec{Children: []tree.ChildSpec{
			stubborn("hang", release, running, tree.Shutdown(50*time.Millisecond)),
		}}, quiet())
		require.NoError(t, err)
		<-running
		busy(t, sup, release)
		done := make(chan tree.StopReport, 1)
		go func() { done <- sup.Stop(context.Background()) }()
		select {
		case rep := <-done:
			assert.ErrorIs(t, rep.Err, context.DeadlineExceeded)
			// hang, and slow, whose Init held the root.
			assert.ElementsMatch(t, []string{"root/hang", "root/slow"}, rep.Stuck)
			assert.ElementsMatch(t, []string{"root/hang", "root/slow"}, rep.Abandoned)
		case <-time.After(wait):
			t.Fatal("Stop(context.Background()) of a busy root did not return")
		}
	})
	t.Run("by the caller's ctx", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		running := make(chan struct{}, 1)
		sup, err := tree.Start(context.Background(), tree.Spec{Children: []tree.ChildSpec{
			worker("polite", nil),
			tree.Supervisor("mid", tree.Spec{Children: []tree.ChildSpec{
				stubborn("hang", release, running, tree.Shutdown(50*time.Millisecond)),
			}}),
		}}, quiet())
		require.NoError(t, err)
		<-running
		busy(t, sup, release)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		rep := sup.Stop(ctx)
		assert.ErrorIs(t, rep.Err, context.DeadlineExceeded)
		assert.Contains(t, rep.Stuck, "root/mid/hang")
		assert.Contains(t, rep.Abandoned, "root/mid/hang")
		// So is the child whose Init held the root: its code still runs.
		assert.Contains(t, rep.Stuck, "root/slow")
		assert.Contains(t, rep.Abandoned, "root/slow")
	})
}

// A child whose own timeout no longer fits in what is left of the budget (a
// sibling without limit, covered by ShutdownGrace, took it all) is stuck
// when the budget runs out, not killed for a timeout it was never given.
func TestBudgetSpentBeforeOwnTimeoutIsStuck(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	running := make(chan struct{}, 2)
	sup, err := tree.Start(context.Background(), tree.Spec{ShutdownGrace: 30 * time.Millisecond,
		Children: []tree.ChildSpec{
			stubborn("a", release, running, tree.Shutdown(300*time.Millisecond)),
			stubborn("inf", release, running, tree.ShutdownInfinity()),
		}}, quiet())
	require.NoError(t, err)
	<-running
	<-running
	sub := sup.Subscribe(64)
	rep := sup.Stop(context.Background())
	// inf, stopped first, holds the stop until the budget (300 + 30 ms) is
	// spent; then nothing is left for a.
	assert.ElementsMatch(t, []string{"root/inf", "root/a"}, rep.Stuck)
	assert.Empty(t, rep.Killed)
	kinds := map[string]tree.EventKind{}
	for ev := range sub.Events() {
		if ev.Child != "" {
			kinds[ev.Child] = ev.Kind
		}
	}
	assert.Equal(t, tree.Stuck, kinds["a"])
}

// A child supervisor killed during a stop (its share no longer fits in the
// budget, or the caller's ctx ends) stops nothing below it: what still runs
// there is killed and named, before Stop returns.
func TestKilledChildSupervisorLeavesNothingRunning(t *testing.T) {
	t.Run("by the budget", func(t *testing.T) {
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		running := make(chan struct{}, 2)
		sup, err := tree.Start(context.Background(), tree.Spec{ShutdownGrace: 50 * time.Millisecond,
			Children: []tree.ChildSpec{
				tree.Supervisor("n", tree.Spec{Children: []tree.ChildSpec{
					stubborn("hang", release, running, tree.Shutdown(100*time.Millisecond))}}),
				stubborn("inf", release, running, tree.ShutdownInfinity()),
			}}, quiet())
		require.NoError(t, err)
		<-running
		<-running
		hang, _ := childOf(t, refOf(t, sup, "n"), "hang")
		require.NotNil(t, hang)
		rep := sup.Stop(context.Background())
		// inf, stopped first, holds the stop for the whole budget; then
		// nothing is left for n.
		assert.ElementsMatch(t, []string{"root/inf", "root/n/hang", "root/n"}, rep.Stuck)
		assert.False(t, hang.Alive())
	})
	t.Run("by the caller's ctx", func(t *testing.T) {
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		running := make(chan struct{}, 1)
		sup, err := tree.Start(context.Background(), tree.Spec{Children: []tree.ChildSpec{
			tree.Supervisor("n", tree.Spec{Children: []tree.ChildSpec{
				stubborn("hang", release, running, tree.Shutdown(2*time.Second))}}),
		}}, quiet())
		require.NoError(t, err)
		<-running
		hang, _ := childOf(t, refOf(t, sup, "n"), "hang")
		require.NotNil(t, hang)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		rep := sup.Stop(ctx)
		assert.ErrorIs(t, rep.Err, context.DeadlineExceeded)
		assert.ElementsMatch(t, []string{"root/n/hang", "root/n"}, rep.Abandoned)
		assert.False(t, hang.Alive())
	})
	t.Run("by its own timeout: what runs below it is killed, not stuck", func(t *testing.T) {
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		running := make(chan struct{}, 1)
		sup, err := tree.Start(context.Background(), tree.Spec{ShutdownGrace: 5 * time.Second,
			Children: []tree.ChildSpec{
				tree.Supervisor("n", tree.Spec{Children: []tree.ChildSpec{
					stubborn("hang", release, running, tree.Shutdown(10*time.Second))}},
					tree.Shutdown(100*time.Millisecond)),
			}}, quiet())
		require.NoError(t, err)
		<-running
		rep := sup.Stop(context.Background())
		assert.ElementsMatch(t, []string{"root/n/hang", "root/n"}, rep.Killed)
		assert.Empty(t, rep.Stuck)
		assert.NoError(t, rep.Err, "neither the ctx nor the budget ran out")
	})
}
