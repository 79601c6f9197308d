package tree_test

import (
	"context"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/clock"
	"github.com/arbor-go/arbor/registry"
	"github.com/arbor-go/arbor/strategy"
	"github.com/arbor-go/arbor/tree"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fast path of a crash (a child's own goroutine decides its restart and
// restarts in place) must change nothing that can be observed but speed:
// these tests run the same scenarios with and without it.

// recorder reads a subscription and keeps every event it has read.
type recorder struct {
	t   *testing.T
	sub *tree.Subscription
	all []tree.Event
}

// until reads events until one matches kind and child, and returns it.
func (r *recorder) until(kind tree.EventKind, child string) tree.Event {
	r.t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		select {
		case ev, ok := <-r.sub.Events():
			require.True(r.t, ok, "the tree stopped before %v %s", kind, child)
			r.all = append(r.all, ev)
			if ev.Kind == kind && ev.Child == child {
				return ev
			}
		case <-deadline.C:
			require.FailNow(r.t, "no event", "%v %s", kind, child)
		}
	}
}

// rest reads the events left until the tree stops.
func (r *recorder) rest() {
	r.t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		select {
		case ev, ok := <-r.sub.Events():
			if !ok {
				return
			}
			r.all = append(r.all, ev)
		case <-deadline.C:
			require.FailNow(r.t, "the tree did not stop")
		}
	}
}

// lines describes the events, without what differs from run to run (times,
// Refs).
func (r *recorder) lines() []string {
	out := make([]string, 0, len(r.all))
	for _, e := range r.all {
		reason := ""
		if e.Reason != nil {
			reason = e.Reason.Error()
		}
		out = append(out, fmt.Sprintf("#%d %v %s/%s reason=%q stack=%v delay=%v attempt=%d restarts=%d",
			e.Seq, e.Kind, e.Supervisor, e.Child, reason, len(e.Stack) > 0, e.Delay, e.Attempt, e.Restarts))
	}
	return out
}

// stackField matches the stack of a report, whose frames below the user's
// code differ with the goroutine that reports it.
var stackField = regexp.MustCompile(`"stack":"[^"]*",?`)

// crashScenario crashes a tree's children in turn, waiting for each step's
// last event, until the supervisor gives up, and returns the events, the
// reports (without stacks) and the children's states before the last crash.
func crashScenario(t *testing.T, opts ...tree.Option) (events []string, reports string, states []tree.ChildInfo) {
	t.Helper()
	var buf logBuffer
	var dStarts, eStarts atomic.Int32
	spec := tree.Spec{Name: "r", Intensity: strategy.Intensity{MaxRestarts: 7, Period: time.Hour},
		Children: []tree.ChildSpec{
			worker("a", nil),
			worker("b", nil, tree.Restart(strategy.Transient)),
			worker("c", nil, tree.Restart(strategy.Temporary)),
			tree.Worker("d", func() actor.Actor {
				switch dStarts.Add(1) {
				case 2: // the first restart fails in Init
					return &probe{id: "d", initErr: func() error { return errBoom }}
				case 4: // the second in the factory
					panic("no d today")
				}
				return &probe{id: "d"}
			}),
			tree.Worker("e", func() actor.Actor {
				if eStarts.Add(1) > 1 {
					return tree.Ignore
				}
				return &probe{id: "e"}
			}),
		}}
	opts = append([]tree.Option{tree.WithLogger(zerolog.New(&buf).Level(zerolog.DebugLevel))}, opts...)
	sup, err := tree.Start(context.Background(), spec, opts...)
	require.NoError(t, err)
	defer stopBounded(sup.Stop)
	rec := &recorder{t: t, sub: sup.Subscribe(1024)}
	defer rec.sub.Close()
	ref := func(id string) *actor.Ref { return refOf(t, sup, id) }

	require.NoError(t, ref("a").Send("panic")) // restart 1
	rec.until(tree.ChildRestarted, "a")
	require.NoError(t, ref("b").Send("crash")) // restart 2
	rec.until(tree.ChildRestarted, "b")
	require.NoError(t, ref("b").Send("normal")) // a transient job done: no restart
	rec.until(tree.ChildExited, "b")
	require.NoError(t, ref("c").Send("crash")) // temporary: dropped
	rec.until(tree.ChildExited, "c")
	require.NoError(t, ref("d").Send("crash")) // restart 3, Init fails, retry 4
	rec.until(tree.ChildRestarted, "d")
	require.NoError(t, ref("d").Send("panic")) // restart 5, the factory panics, retry 6
	rec.until(tree.ChildRestarted, "d")
	e := ref("e")
	require.NoError(t, e.Send("crash")) // restart 7, the factory says Ignore
	rec.until(tree.ChildRestarting, "e")
	select {
	case <-e.Done():
	case <-time.After(wait):
		require.FailNow(t, "e still runs")
	}
	states, err = sup.WhichChildren(context.Background())
	require.NoError(t, err)
	for i := range states {
		states[i].Ref = nil
	}
	require.NoError(t, ref("a").Send("crash")) // restart 8 exceeds the intensity
	rec.until(tree.IntensityExceeded, "a")
	rec.rest()
	return rec.lines(), stackField.ReplaceAllString(buf.String(), ""), states
}

func TestFastPathChangesNothingObservable(t *testing.T) {
	fastEvents, fastReports, fastStates := crashScenario(t)
	slowEvents, slowReports, slowStates := crashScenario(t, tree.WithoutFastPath())
	assert.Equal(t, slowEvents, fastEvents)
	assert.Equal(t, slowReports, fastReports)
	assert.Equal(t, slowStates, fastStates)
	assert.Contains(t, fastReports, `"message":"reached_max_restart_intensity"`)
	if t.Failed() {
		for i := range max(len(fastEvents), len(slowEvents)) {
			var f, s string
			if i < len(fastEvents) {
				f = fastEvents[i]
			}
			if i < len(slowEvents) {
				s = slowEvents[i]
			}
			t.Logf("fast %s\n     slow %s", f, s)
		}
	}
}

// onFastPath reports whether its caller runs on the fast path of a restart:
// a factory called by the crashed child's own goroutine.
func onFastPath() bool {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	for {
		f, more := frames.Next()
		if strings.Contains(f.Function, "(*fastHook).RestartNow") {
			return true
		}
		if !more {
			return false
		}
	}
}

func TestFastRestartEventsInOrder(t *testing.T) {
	var fast atomic.Int32
	sup := start(t, tree.Spec{Intensity: strategy.Intensity{MaxRestarts: 1000, Period: time.Hour},
		Children: []tree.ChildSpec{tree.Worker("a", func() actor.Actor {
			if onFastPath() {
				fast.Add(1)
			}
			return &probe{id: "a"}
		})}})
	rec := &recorder{t: t, sub: sup.Subscribe(1024)}
	t.Cleanup(rec.sub.Close)
	a := refOf(t, sup, "a")
	const crashes = 100
	for i := range crashes {
		require.NoError(t, a.Send("panic"))
		// The next message is handled by the next incarnation.
		assert.Equal(t, uint64(i+2), incarnation(t, a))
	}
	rec.until(tree.ChildRestarted, "a")
	for len(rec.all) < 3*crashes {
		rec.until(tree.ChildRestarted, "a")
	}
	require.Len(t, rec.all, 3*crashes)
	for i := range crashes {
		exited, restarting, restarted := rec.all[3*i], rec.all[3*i+1], rec.all[3*i+2]
		assert.Equal(t, tree.ChildExited, exited.Kind, "#%d", i)
		var perr *actor.PanicError
		assert.ErrorAs(t, exited.Reason, &perr)
		assert.NotEmpty(t, exited.Stack, "the crash carries its stack")
		assert.Equal(t, tree.ChildRestarting, restarting.Kind)
		assert.Equal(t, i+1, restarting.Restarts)
		assert.Equal(t, tree.ChildRestarted, restarted.Kind)
		assert.Same(t, a, restarted.Ref, "restarted in place")
		assert.Equal(t, exited.Seq+1, restarting.Seq)
		assert.Equal(t, restarting.Seq+1, restarted.Seq)
	}
	infos, err := sup.WhichChildren(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []tree.ChildInfo{{ID: "a", Ref: a, State: tree.Running, Restart: strategy.Permanent}}, infos)
	assert.Equal(t, int32(crashes), fast.Load(), "every restart took the fast path")
}

func TestFastRestartIntensityUnderConcurrentCrashes(t *testing.T) {
	const limit = 20
	sup, err := tree.Start(context.Background(), tree.Spec{Name: "r",
		Intensity: strategy.Intensity{MaxRestarts: limit, Period: time.Hour},
		Children:  []tree.ChildSpec{worker("a", nil), worker("b", nil), worker("c", nil)}}, quiet())
	require.NoError(t, err)
	rec := &recorder{t: t, sub: sup.Subscribe(4096)}
	defer rec.sub.Close()
	var wg sync.WaitGroup
	for _, ref := range []*actor.Ref{refOf(t, sup, "a"), refOf(t, sup, "b")} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ref.Send("panic") == nil {
				_, _ = actor.CallAs[uint64](context.Background(), ref, "inc?")
			}
		}()
	}
	rec.rest()
	wg.Wait()
	<-sup.Done()
	var reason *tree.ExitReason
	require.ErrorAs(t, sup.Err(), &reason)
	assert.ErrorIs(t, reason.Cause, tree.ErrIntensityExceeded)

	counts := map[tree.EventKind]int{}
	last := map[string]tree.EventKind{}
	for _, e := range rec.all {
		counts[e.Kind]++
		if e.Child == "" || e.Kind == tree.IntensityExceeded || e.Kind == tree.DeadLetter {
			continue
		}
		// Each child's events follow the life of one child.
		switch prev := last[e.Child]; e.Kind {
		case tree.ChildExited:
			assert.Contains(t, []tree.EventKind{0, tree.ChildRestarted}, prev, "%v", e)
		case tree.ChildRestarting:
			assert.Equal(t, tree.ChildExited, prev, "%v", e)
		case tree.ChildRestarted:
			assert.Equal(t, tree.ChildRestarting, prev, "%v", e)
		case tree.ChildTerminated:
			assert.Contains(t, []tree.EventKind{0, tree.ChildRestarted, tree.ChildExited}, prev, "%v", e)
		}
		last[e.Child] = e.Kind
	}
	assert.Equal(t, limit, counts[tree.ChildRestarting], "every allowed restart, and no more")
	assert.Equal(t, limit, counts[tree.ChildRestarted], "every decided restart is carried out")
	assert.Equal(t, 1, counts[tree.IntensityExceeded])
	for i, e := range rec.all {
		if e.Kind == tree.IntensityExceeded {
			assert.Equal(t, limit+1, e.Restarts)
			for _, later := range rec.all[i+1:] {
				assert.NotContains(t, []tree.EventKind{tree.ChildRestarting, tree.ChildRestarted}, later.Kind,
					"no restart after giving up: %v", later)
			}
		}
	}
	stopped := false
	for _, e := range rec.all {
		if stopped {
			// Only the crashing goroutines' last sends, to stopped children.
			assert.Equal(t, tree.DeadLetter, e.Kind, "%v after the supervisor stopped", e)
		}
		stopped = stopped || e.Kind == tree.SupervisorStopped
	}
	assert.True(t, stopped)
}

func TestFastRestartRacingStop(t *testing.T) {
	for range 20 {
		sup, err := tree.Start(context.Background(), tree.Spec{
			Intensity: strategy.Intensity{MaxRestarts: 1 << 20, Period: time.Hour},
			Children:  []tree.ChildSpec{worker("a", nil), worker("b", nil)}}, quiet())
		require.NoError(t, err)
		sub := sup.Subscribe(1 << 14)
		a := refOf(t, sup, "a")
		crashing := make(chan struct{})
		go func() {
			defer close(crashing)
			for a.Send("panic") == nil {
				_, _ = actor.CallAs[uint64](context.Background(), a, "inc?")
			}
		}()
		rec := &recorder{t: t, sub: sub}
		rec.until(tree.ChildRestarted, "a")
		rep := sup.Stop(context.Background())
		assert.NoError(t, rep.Err)
		assert.Empty(t, rep.Abandoned)
		<-crashing
		rec.rest()
		assert.False(t, a.Alive())
		stopped := false
		for _, e := range rec.all {
			assert.NotEqual(t, tree.IntensityExceeded, e.Kind)
			assert.NotEqual(t, tree.StartFailed, e.Kind)
			if stopped {
				// Only the crashing goroutine's last sends, to a stopped child.
				assert.Equal(t, tree.DeadLetter, e.Kind, "%v after the supervisor stopped", e)
			}
			stopped = stopped || e.Kind == tree.SupervisorStopped && e.Supervisor == "root"
		}
		assert.True(t, stopped)
	}
}

func TestFastRestartRacingTerminateChild(t *testing.T) {
	sup := start(t, tree.Spec{Intensity: strategy.Intensity{MaxRestarts: 1 << 20, Period: time.Hour},
		Children: []tree.ChildSpec{worker("a", nil)}})
	ctx := context.Background()
	for range 20 {
		a := refOf(t, sup, "a")
		crashing := make(chan struct{})
		go func() {
			defer close(crashing)
			for a.Send("panic") == nil {
				_, _ = actor.CallAs[uint64](ctx, a, "inc?")
			}
		}()
		require.NoError(t, sup.TerminateChild(ctx, "a"))
		<-crashing
		assert.Equal(t, tree.Stopped, stateOf(t, sup, "a"))
		assert.False(t, a.Alive())
		_, err := sup.RestartChild(ctx, "a")
		require.NoError(t, err)
	}
}

func TestFastRestartNameFollows(t *testing.T) {
	reg := registry.New()
	seen := make(chan string, 16)
	sup := start(t, tree.Spec{Intensity: strategy.Intensity{MaxRestarts: 10, Period: time.Hour},
		Children: []tree.ChildSpec{incWorker("w", seen, tree.Name("svc/w"))}}, tree.WithRegistry(reg))
	rec := &recorder{t: t, sub: sup.Subscribe(1024)}
	t.Cleanup(rec.sub.Close)
	ref := refOf(t, sup, "w")
	for i := 2; i <= 6; i++ {
		require.NoError(t, reg.Send("svc/w", "crash"))
		require.NoError(t, reg.Send("svc/w", "hi"))
		assert.Equal(t, fmt.Sprintf("w:hi@%d", i), nextString(t, seen))
		got, ok := reg.Lookup("svc/w")
		require.True(t, ok)
		assert.Same(t, ref, got)
		rec.until(tree.ChildRestarted, "w")
	}
	for _, e := range rec.all {
		assert.NotContains(t, []tree.EventKind{tree.NameRegistered, tree.NameUnregistered}, e.Kind,
			"a restart in place keeps the name: %v", e)
	}
}

// dynamicScenario crashes a dynamic supervisor's children: a permanent one
// until the supervisor gives up, a transient one that ends normally.
func dynamicScenario(t *testing.T, opts ...tree.Option) []string {
	t.Helper()
	sup, err := tree.StartDynamic(context.Background(), tree.DynamicSpec{Name: "d",
		Intensity: strategy.Intensity{MaxRestarts: 3, Period: time.Hour},
		Template: func(arg any) tree.ChildSpec {
			return worker("", nil, tree.Restart(arg.(strategy.Restart)))
		}}, append([]tree.Option{quiet()}, opts...)...)
	require.NoError(t, err)
	defer stopBounded(sup.Stop)
	rec := &recorder{t: t, sub: sup.Subscribe(1024)}
	defer rec.sub.Close()
	p, err := sup.StartChild(context.Background(), strategy.Permanent)
	require.NoError(t, err)
	tr, err := sup.StartChild(context.Background(), strategy.Transient)
	require.NoError(t, err)
	require.NoError(t, p.Send("panic"))
	rec.until(tree.ChildRestarted, "1")
	require.NoError(t, tr.Send("crash"))
	rec.until(tree.ChildRestarted, "2")
	require.NoError(t, tr.Send("normal"))
	rec.until(tree.ChildExited, "2")
	infos, err := sup.WhichChildren(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []tree.ChildInfo{{ID: "1", Ref: p, State: tree.Running, Restart: strategy.Permanent}}, infos)
	require.NoError(t, p.Send("crash"))
	rec.until(tree.ChildRestarted, "1")
	require.NoError(t, p.Send("crash"))
	rec.until(tree.IntensityExceeded, "1")
	rec.rest()
	return rec.lines()
}

func TestFastRestartDynamic(t *testing.T) {
	assert.Equal(t, dynamicScenario(t, tree.WithoutFastPath()), dynamicScenario(t))
}

// errDepGone is what an Init returns when a dependency it calls has stopped:
// an error that wraps actor.ErrStopped, and a failed start like any other.
var errDepGone = fmt.Errorf("the store is gone: %w", actor.ErrStopped)

// depWorker's second incarnation fails in Init with errDepGone; the others
// start.
func depWorker(id string, starts *atomic.Int32, opts ...tree.ChildOption) tree.ChildSpec {
	return tree.Worker(id, func() actor.Actor {
		if starts.Add(1) == 2 {
			return &probe{id: id, initErr: func() error { return errDepGone }}
		}
		return &probe{id: id}
	}, opts...)
}

// A restart whose Init fails with an error that wraps actor.ErrStopped is a
// failed start, reported and retried in place, on both paths: it is not the
// child's own actor stopped for good. With a name, the child comes back under
// it (a new actor spawned beside the suspended one would find it taken).
func TestInitErrorWrappingErrStoppedIsAFailedStart(t *testing.T) {
	for _, tc := range []struct {
		name     string
		strategy strategy.Strategy
		opts     []tree.Option
	}{
		{"fast path", strategy.OneForOne, nil},
		{"slow path", strategy.OneForAll, nil},
		{"slow path, named", strategy.RestForOne, []tree.Option{tree.WithRegistry(registry.New())}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var starts atomic.Int32
			var childOpts []tree.ChildOption
			if tc.opts != nil {
				childOpts = append(childOpts, tree.Name("dep/w"))
			}
			sup := start(t, tree.Spec{Strategy: tc.strategy,
				Intensity: strategy.Intensity{MaxRestarts: 10, Period: time.Hour},
				Children:  []tree.ChildSpec{depWorker("w", &starts, childOpts...)}}, tc.opts...)
			ev := events(t, sup)
			w := refOf(t, sup, "w")
			require.NoError(t, w.Send("crash"))
			failed := ev(tree.StartFailed, "w")
			assert.ErrorIs(t, failed.Reason, errDepGone)
			back := ev(tree.ChildRestarted, "w")
			assert.Same(t, w, back.Ref, "a restart in place keeps the Ref")
			inc, err := actor.CallAs[uint64](context.Background(), w, "inc?")
			require.NoError(t, err)
			assert.Equal(t, uint64(2), inc, "the failed start counted no incarnation")
		})
	}
}

// advancingInit is a probe whose Init, from its second incarnation on,
// moves a fake clock on: a restart that takes that long.
type advancingInit struct {
	probe
	clock *clock.Fake
	by    time.Duration
}

func (a *advancingInit) Init(c *actor.Context) error {
	if c.Incarnation() > 1 {
		a.clock.Advance(a.by)
	}
	return nil
}

// onBothPaths runs f as two subtests: with the fast path and without it.
func onBothPaths(t *testing.T, f func(t *testing.T, opts ...tree.Option)) {
	t.Run("fast path", func(t *testing.T) { f(t) })
	t.Run("slow path", func(t *testing.T) { f(t, tree.WithoutFastPath()) })
}

// attemptAfterAnUnheardRestart starts child "a" under the fake clock fc,
// crashes it once with no one to hear of the restart, then once more, and
// returns the attempt of the second restart.
func attemptAfterAnUnheardRestart(t *testing.T, fc *clock.Fake, a tree.ChildSpec, opts ...tree.Option) int {
	t.Helper()
	ctx := context.Background()
	sup := start(t, tree.Spec{Intensity: strategy.Intensity{MaxRestarts: 100, Period: time.Hour},
		Children: []tree.ChildSpec{a}}, append([]tree.Option{tree.WithClock(fc)}, opts...)...)
	ref := refOf(t, sup, "a")
	require.NoError(t, ref.Send("panic")) // no one hears of it
	inc, err := actor.CallAs[uint64](ctx, ref, "inc?")
	require.NoError(t, err)
	require.Equal(t, uint64(2), inc)

	next := events(t, sup)
	require.NoError(t, ref.Send("panic"))
	return next(tree.ChildRestarting, "a").Attempt
}

// A child restarted at once but with a ResetAfter counts its run from when
// its restart finished, not from when it was decided, even when no one
// hears of the restart: a crash right after a restart that took longer than
// ResetAfter is the next attempt, not the first again. Without the fast
// path it is the same.
func TestResetAfterCountsFromTheRestartsEnd(t *testing.T) {
	onBothPaths(t, func(t *testing.T, opts ...tree.Option) {
		fc := clock.NewFake(time.Unix(1000, 0))
		a := tree.Worker("a", func() actor.Actor { return &advancingInit{clock: fc, by: 2 * time.Minute} },
			tree.Backoff(strategy.Backoff{ResetAfter: time.Minute}))
		assert.Equal(t, 2, attemptAfterAnUnheardRestart(t, fc, a, opts...),
			"the run since the restart ended was too short to reset the attempts")
	})
}

// A child without backoff counts each run afresh: a crash after a restart
// is attempt 1 again, even with a fake clock at the zero time (which the
// backoff state once took for "never started") and a restart no one hears
// of (which takes the decision's time for the start's).
func TestNoBackoffCountsEachRunAfreshFromTheZeroTime(t *testing.T) {
	onBothPaths(t, func(t *testing.T, opts ...tree.Option) {
		fc := clock.NewFake(time.Time{})
		assert.Equal(t, 1, attemptAfterAnUnheardRestart(t, fc, worker("a", nil), opts...), "the child ran after its restart")
	})
}
