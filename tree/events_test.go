package tree_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/strategy"
	"github.com/arbor-go/arbor/tree"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEvents(t *testing.T) {
	t.Run("events carry a growing sequence number and a time", func(t *testing.T) {
		sup := start(t, tree.Spec{Children: []tree.ChildSpec{worker("a", nil)}})
		sub := sup.Subscribe(16)
		defer sub.Close()
		require.NoError(t, refOf(t, sup, "a").Send("crash"))
		e1, e2 := <-sub.Events(), <-sub.Events()
		assert.Equal(t, tree.ChildExited, e1.Kind)
		assert.Equal(t, e1.Seq+1, e2.Seq)
		assert.False(t, e1.Time.IsZero())
		assert.Contains(t, e1.String(), "child_exited root child=a")
	})
	t.Run("a slow subscriber loses events, learns how many, and never slows the tree", func(t *testing.T) {
		sup := start(t, tree.Spec{Intensity: strategy.Intensity{MaxRestarts: 100, Period: time.Minute},
			Children: []tree.ChildSpec{worker("a", nil)}})
		slow := sup.Subscribe(1)
		defer slow.Close()
		ev := events(t, sup)
		a := refOf(t, sup, "a")
		for range 5 {
			require.NoError(t, a.Send("crash"))
			ev(tree.ChildRestarted, "a")
		}
		first := <-slow.Events()
		assert.Equal(t, tree.ChildExited, first.Kind)
		require.NoError(t, a.Send("crash"))
		lag := <-slow.Events()
		require.Equal(t, tree.Lagged, lag.Kind)
		// Three events per restart, one delivered, and, with room for one
		// only, the news stands in for the event that brought it.
		assert.Equal(t, uint64(5*3-1+1), lag.Dropped)
	})
	t.Run("a subscription sees its subtree with paths", func(t *testing.T) {
		refs := make(chan *actor.Ref, 4)
		sup := start(t, tree.Spec{Name: "app", Children: []tree.ChildSpec{
			tree.Supervisor("db", tree.Spec{Children: []tree.ChildSpec{tracked("conn", refs)}})}})
		ev := events(t, sup)
		require.NoError(t, nextRef(t, refs).Send("crash"))
		assert.Equal(t, "app/db", ev(tree.ChildExited, "conn").Supervisor)
	})
	t.Run("dead letters of children become events", func(t *testing.T) {
		sup := start(t, tree.Spec{Children: []tree.ChildSpec{worker("a", nil)}})
		ev := events(t, sup)
		a := refOf(t, sup, "a")
		require.NoError(t, sup.TerminateChild(context.Background(), "a"))
		assert.ErrorIs(t, a.Send("late"), actor.ErrStopped)
		dl := ev(tree.DeadLetter, "a")
		assert.ErrorIs(t, dl.Reason, actor.ErrStopped)
	})
	t.Run("stopping a tree reports no dead letters for its children's exits", func(t *testing.T) {
		var buf logBuffer
		sup, err := tree.Start(context.Background(), tree.Spec{Children: []tree.ChildSpec{
			worker("a", nil), worker("b", nil),
			tree.Supervisor("s", tree.Spec{Children: []tree.ChildSpec{worker("c", nil)}}),
		}}, tree.WithLogger(zerolog.New(&buf)))
		require.NoError(t, err)
		sub := sup.Subscribe(64)
		sup.Stop(context.Background())
		for e := range sub.Events() {
			assert.NotEqual(t, tree.DeadLetter, e.Kind, "%v", e)
		}
		assert.NotContains(t, buf.String(), "dead_letter")
	})
	t.Run("subscriptions close when the tree stops", func(t *testing.T) {
		sup, err := tree.Start(context.Background(), tree.Spec{}, quiet())
		require.NoError(t, err)
		sub := sup.Subscribe(0)
		sup.Stop(context.Background())
		var last tree.Event
		for e := range sub.Events() {
			last = e
		}
		assert.Equal(t, tree.SupervisorStopped, last.Kind)
		sub.Close()
		late := sup.Subscribe(0)
		_, open := <-late.Events()
		assert.False(t, open)
	})
	t.Run("every kind has a readable name", func(t *testing.T) {
		for k := tree.SupervisorStarted; k <= tree.GroupLeft; k++ {
			assert.NotContains(t, k.String(), "EventKind")
		}
		assert.Equal(t, "EventKind(99)", tree.EventKind(99).String())
	})
}

// logBuffer is a zerolog writer safe for the tree's goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestReports(t *testing.T) {
	t.Run("crashes are errors with reason and stack; ends of transient jobs are not", func(t *testing.T) {
		var buf logBuffer
		logger := zerolog.New(&buf).Level(zerolog.InfoLevel)
		sup, err := tree.Start(context.Background(), tree.Spec{Name: "r",
			Intensity: strategy.Intensity{MaxRestarts: 1, Period: time.Minute},
			Children:  []tree.ChildSpec{worker("p", nil), worker("job", nil, tree.Restart(strategy.Transient))}},
			tree.WithLogger(logger))
		require.NoError(t, err)
		ev := events(t, sup)
		require.NoError(t, refOf(t, sup, "job").Send("normal"))
		ev(tree.ChildExited, "job")
		p := refOf(t, sup, "p")
		require.NoError(t, p.Send("panic"))
		ev(tree.ChildRestarted, "p")
		require.NoError(t, p.Send("crash"))
		<-sup.Done()
		out := buf.String()
		assert.Contains(t, out, `"level":"info","supervisor":"r","child":"p"`)
		assert.Contains(t, out, `"message":"child_terminated"`)
		assert.Contains(t, out, `"stack":"`)
		assert.Contains(t, out, `"message":"reached_max_restart_intensity"`)
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, `"child":"job"`) {
				assert.NotContains(t, line, `"level":"error"`, "a transient job's end is no crash")
			}
		}
	})
}

func TestAttemptTimeout(t *testing.T) {
	t.Run("a task attempt past its timeout ends with ErrAttemptTimeout and follows its restart type", func(t *testing.T) {
		sup := start(t, tree.Spec{Defaults: tree.ChildDefaults{AttemptTimeout: 10 * time.Millisecond},
			Intensity: strategy.Intensity{MaxRestarts: 100, Period: time.Minute},
			Children: []tree.ChildSpec{tree.Task("t", func(ctx context.Context, c *actor.Context) error {
				<-ctx.Done()
				return context.Cause(ctx)
			}, tree.Restart(strategy.Transient))}})
		ev := events(t, sup)
		exited := ev(tree.ChildExited, "t")
		assert.ErrorIs(t, exited.Reason, tree.ErrAttemptTimeout)
		ev(tree.ChildRestarted, "t")
	})
	t.Run("a task that returns in time is not affected", func(t *testing.T) {
		sup := start(t, tree.Spec{Children: []tree.ChildSpec{tree.Task("t", func(ctx context.Context, c *actor.Context) error {
			_, err := c.Recv(ctx)
			return err
		}, tree.Restart(strategy.Transient), tree.AttemptTimeout(time.Minute))}})
		ev := events(t, sup)
		require.NoError(t, refOf(t, sup, "t").Send("go"))
		exited := ev(tree.ChildExited, "t")
		assert.NoError(t, exited.Reason)
		assert.False(t, errors.Is(exited.Reason, tree.ErrAttemptTimeout))
	})
}

func TestSubscribeToANestedSupervisor(t *testing.T) {
	ctx := context.Background()
	sup := start(t, tree.Spec{Children: []tree.ChildSpec{
		worker("top", nil),
		tree.Supervisor("mid", tree.Spec{Children: []tree.ChildSpec{
			worker("a", nil),
			tree.Dynamic("pool", tree.DynamicSpec{Template: func(any) tree.ChildSpec { return worker("", nil) }}),
		}}),
	}})
	mid := tree.SupervisorAt(refOf(t, sup, "mid"))
	sub, err := mid.Subscribe(ctx, 16)
	require.NoError(t, err)
	defer sub.Close()

	require.NoError(t, refOf(t, sup, "top").Send("crash")) // outside mid's subtree
	infos, err := mid.WhichChildren(ctx)
	require.NoError(t, err)
	var a, pool *actor.Ref
	for _, in := range infos {
		switch in.ID {
		case "a":
			a = in.Ref
		case "pool":
			pool = in.Ref
		}
	}
	require.NoError(t, a.Send("crash"))
	e := <-sub.Events()
	assert.Equal(t, "root/mid", e.Supervisor, "the first event the subscription sees is from its subtree: %v", e)
	assert.Equal(t, "a", e.Child)

	poolSub, err := tree.DynamicAt(pool).Subscribe(ctx, 16)
	require.NoError(t, err)
	defer poolSub.Close()
	_, err = tree.DynamicAt(pool).StartChild(ctx, nil)
	require.NoError(t, err)
	for e := range poolSub.Events() {
		assert.Equal(t, "root/mid/pool", e.Supervisor)
		if e.Kind == tree.ChildStarted {
			break
		}
	}
	for e := range sub.Events() {
		if e.Supervisor == "root/mid/pool" && e.Kind == tree.ChildStarted {
			break // mid's subscription sees below it too
		}
		assert.NotEqual(t, "root", e.Supervisor, "nothing from above: %v", e)
	}

	sup.Stop(ctx)
	_, err = mid.Subscribe(ctx, 1)
	assert.Error(t, err, "a stopped supervisor takes no subscription")
}

func TestWithSubscriptionSeesTheStart(t *testing.T) {
	var sub *tree.Subscription
	sup := start(t, tree.Spec{Children: []tree.ChildSpec{worker("a", nil), worker("b", nil)}},
		tree.WithSubscription(&sub, 16))
	require.NotNil(t, sub)
	defer sub.Close()
	var kinds []string
	for e := range sub.Events() {
		kinds = append(kinds, e.Kind.String()+" "+e.Child)
		if e.Kind == tree.SupervisorStarted {
			break
		}
	}
	assert.Equal(t, []string{"child_started a", "child_started b", "supervisor_started "}, kinds)
	sup.Stop(context.Background())

	var failed *tree.Subscription
	_, err := tree.Start(context.Background(), tree.Spec{Children: []tree.ChildSpec{
		tree.Worker("bad", func() actor.Actor { return initFails{} }),
	}}, quiet(), tree.WithSubscription(&failed, 16))
	require.Error(t, err)
	var got []tree.EventKind
	for e := range failed.Events() { // closed: the tree never ran
		got = append(got, e.Kind)
	}
	assert.Contains(t, got, tree.StartFailed)

	// A spec refused before anything starts sets it too, closed.
	var refused *tree.Subscription
	_, err = tree.Start(context.Background(), tree.Spec{
		Intensity: strategy.Intensity{MaxRestarts: -1, Period: time.Second},
	}, quiet(), tree.WithSubscription(&refused, 16))
	require.Error(t, err)
	require.NotNil(t, refused)
	_, open := <-refused.Events()
	assert.False(t, open)
	var refusedDyn *tree.Subscription
	_, err = tree.StartDynamic(context.Background(), tree.DynamicSpec{}, quiet(), tree.WithSubscription(&refusedDyn, 16))
	require.Error(t, err)
	require.NotNil(t, refusedDyn)
	_, open = <-refusedDyn.Events()
	assert.False(t, open)
}

// A subscriber behind when the tree stops learns, before its channel closes,
// how many events it lost: the end of a stream never hides a loss. A nested
// supervisor's EventBuffer is the buffer of the subscriptions to it that ask
// for none.
func TestLaggedAtTheEnd(t *testing.T) {
	sup, err := tree.Start(context.Background(), tree.Spec{Children: []tree.ChildSpec{
		tree.Supervisor("mid", tree.Spec{EventBuffer: 2, Children: []tree.ChildSpec{worker("a", nil)}}),
	}}, quiet())
	require.NoError(t, err)
	slow, err := tree.SupervisorAt(refOf(t, sup, "mid")).Subscribe(context.Background(), 0)
	require.NoError(t, err)
	next := events(t, sup)
	a, _ := childOf(t, refOf(t, sup, "mid"), "a")
	require.NoError(t, a.Send("crash"))
	next(tree.ChildRestarted, "a") // exited, restarting, restarted: one more than slow's buffer

	sup.Stop(context.Background())
	var kinds []tree.EventKind
	var dropped uint64
	for e := range slow.Events() {
		kinds = append(kinds, e.Kind)
		dropped += e.Dropped
	}
	// mid's stop gives more events: ChildTerminated, SupervisorStopped.
	assert.Equal(t, []tree.EventKind{tree.ChildExited, tree.ChildRestarting, tree.Lagged}, kinds)
	assert.Equal(t, uint64(3), dropped, "ChildRestarted and the two events of mid's stop")
}

// initFails is an actor whose Init fails.
type initFails struct{}

func (initFails) Init(*actor.Context) error         { return errors.New("no") }
func (initFails) Receive(*actor.Context, any) error { return nil }

// As issue 3 asks, a run past its AttemptTimeout ends with
// ErrAttemptTimeout, a crash that restarts a Transient child, also when the
// task obeys its context by returning nil (a loop's usual
// `case <-ctx.Done(): return nil`).
func TestAttemptTimeoutEndsARunThatReturnsNilWithErrAttemptTimeout(t *testing.T) {
	var sub *tree.Subscription
	start(t, tree.Spec{Children: []tree.ChildSpec{
		tree.Task("job", func(ctx context.Context, c *actor.Context) error {
			<-ctx.Done() // the attempt's deadline
			return nil
		}, tree.Restart(strategy.Transient), tree.AttemptTimeout(time.Millisecond)),
	}}, tree.WithSubscription(&sub, 64))
	timeout := time.After(wait)
	for {
		select {
		case ev := <-sub.Events():
			if ev.Kind != tree.ChildExited {
				continue
			}
			require.ErrorIs(t, ev.Reason, tree.ErrAttemptTimeout,
				"a run past its AttemptTimeout ended with %v", ev.Reason)
			return
		case <-timeout:
			require.FailNow(t, "the task never exited")
		}
	}
}

// A buffer too large to make is bad input, not a panic: it is capped.
func TestSubscribeCapsItsBuffer(t *testing.T) {
	sup := start(t, tree.Spec{Children: []tree.ChildSpec{worker("a", nil)}})
	for _, n := range []int{math.MaxInt, 1 << 40} {
		sub := sup.Subscribe(n)
		assert.Equal(t, tree.MaxEventBuffer+1, cap(sub.Events()), "%d", n)
		sub.Close()
	}
}

// A crash that no subscriber with room hears of makes no events on the fast
// path, yet a stalled subscriber still learns how many it lost: the Lagged
// it gets once it reads counts each event of each crash. Without the fast
// path the count is the same.
func TestLaggedCountsCrashesNoOneHeard(t *testing.T) {
	onBothPaths(t, func(t *testing.T, opts ...tree.Option) {
		ctx := context.Background()
		sup := start(t, tree.Spec{Intensity: strategy.Intensity{MaxRestarts: 100, Period: time.Minute},
			Children: []tree.ChildSpec{worker("a", nil)}}, opts...)
		sub := sup.Subscribe(1) // the only subscriber: full after one event
		defer sub.Close()
		a := refOf(t, sup, "a")
		const crashes = 5
		for i := range crashes {
			require.NoError(t, a.Send("panic"))
			// Answered by the next incarnation: the restart is over.
			inc, err := actor.CallAs[uint64](ctx, a, "inc?")
			require.NoError(t, err)
			require.Equal(t, uint64(i+2), inc)
		}
		first := recv(t, sub)
		assert.Equal(t, tree.ChildExited, first.Kind, "the buffer's one event")

		// The next event finds room for the news only: the Lagged stands
		// for it too.
		require.NoError(t, sup.TerminateChild(ctx, "a"))
		lag := recv(t, sub)
		require.Equal(t, tree.Lagged, lag.Kind)
		assert.Equal(t, uint64(3*crashes-1+1), lag.Dropped,
			"three events a crash, but the first, and the ChildTerminated")
	})
}

// Subscriptions made and closed while children crash on the fast path
// neither race with it nor lose their end: each channel closes.
func TestSubscribeWhileCrashing(t *testing.T) {
	ctx := context.Background()
	sup := start(t, tree.Spec{Intensity: strategy.Intensity{MaxRestarts: 10000, Period: time.Minute},
		Children: []tree.ChildSpec{worker("a", nil)}})
	a := refOf(t, sup, "a")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 200 {
			require.NoError(t, a.Send("panic"))
			_, err := actor.CallAs[uint64](ctx, a, "inc?")
			require.NoError(t, err)
		}
	}()
	subscribed := 0
	for {
		select {
		case <-done:
			assert.Positive(t, subscribed)
			return
		default:
		}
		sub := sup.Subscribe(2)
		sub.Close()
		for range sub.Events() { // up to its buffer, then closed
		}
		subscribed++
	}
}

// Events no one hears take no number, on either path: a stalled subscriber
// of the whole tree, once it reads again, sees the same numbers with or
// without the fast path, and the same loss.
func TestSeqIsTheSameOnBothPathsAfterALag(t *testing.T) {
	run := func(opts ...tree.Option) (lag tree.Event, after tree.Event) {
		ctx := context.Background()
		sup := start(t, tree.Spec{Intensity: strategy.Intensity{MaxRestarts: 100, Period: time.Minute},
			Children: []tree.ChildSpec{worker("a", nil)}}, opts...)
		sub := sup.Subscribe(2)
		defer sub.Close()
		a := refOf(t, sup, "a")
		for range 4 {
			require.NoError(t, a.Send("panic"))
			_, err := actor.CallAs[uint64](ctx, a, "inc?")
			require.NoError(t, err)
		}
		recv(t, sub)
		recv(t, sub) // the buffer's two events: the first crash's
		require.NoError(t, sup.TerminateChild(ctx, "a"))
		lag = recv(t, sub)
		require.Equal(t, tree.Lagged, lag.Kind)
		after = recv(t, sub)
		require.Equal(t, tree.ChildTerminated, after.Kind)
		return lag, after
	}
	fastLag, fastAfter := run()
	slowLag, slowAfter := run(tree.WithoutFastPath())
	assert.Equal(t, slowLag.Dropped, fastLag.Dropped, "the same loss")
	assert.Equal(t, slowAfter.Seq, fastAfter.Seq, "the same event, the same number")
}

// With no subscriber and a log that writes nothing, the events of the start
// and of a TerminateChild and RestartChild go to no one and take no number:
// the first event a later subscriber sees is number 1.
func TestSeqCountsOnlyEventsSomeoneHears(t *testing.T) {
	ctx := context.Background()
	sup := start(t, tree.Spec{Children: []tree.ChildSpec{worker("a", nil)}}) // zerolog.Nop
	require.NoError(t, sup.TerminateChild(ctx, "a"))
	_, err := sup.RestartChild(ctx, "a")
	require.NoError(t, err)
	sub := sup.Subscribe(16)
	defer sub.Close()
	require.NoError(t, sup.TerminateChild(ctx, "a"))
	e := recv(t, sub)
	require.Equal(t, tree.ChildTerminated, e.Kind)
	assert.Equal(t, uint64(1), e.Seq)
}

// A slow subscriber of the whole tree, while children crash at once on
// their own goroutines: what it receives and what its Lagged events count
// add up to every event of the tree, its numbers grow, and they never skip
// more than the Lagged before them count. The interleaving differs from run
// to run; each round gives the subscriber another buffer.
func TestLaggedCountsAddUpUnderConcurrentCrashes(t *testing.T) {
	const children, crashes = 4, 200
	for round := range 4 {
		ctx := context.Background()
		var specs []tree.ChildSpec
		for i := range children {
			specs = append(specs, worker(strconv.Itoa(i), nil))
		}
		sup, err := tree.Start(ctx, tree.Spec{Intensity: strategy.Intensity{MaxRestarts: 1 << 20, Period: time.Hour},
			Children: specs}, quiet())
		require.NoError(t, err)
		sub := sup.Subscribe(1 + round)
		var got []tree.Event
		read := make(chan struct{})
		go func() {
			defer close(read)
			for e := range sub.Events() {
				got = append(got, e)
				for range len(got) % 7 * 50 { // a reader of uneven pace
					_ = time.Now()
				}
			}
		}()
		var crashing sync.WaitGroup
		for i := range children {
			ref := refOf(t, sup, strconv.Itoa(i))
			crashing.Go(func() {
				for range crashes {
					_ = ref.Send("panic")
					_, _ = actor.CallAs[uint64](ctx, ref, "inc?")
				}
			})
		}
		crashing.Wait()
		sup.Stop(ctx)
		<-read
		var total, last, lagged uint64
		for _, e := range got {
			if e.Kind == tree.Lagged {
				total += e.Dropped
				lagged += e.Dropped
				continue
			}
			total++
			if last != 0 {
				require.Greater(t, e.Seq, last, "round %d", round)
				require.LessOrEqual(t, e.Seq-last-1, lagged, "round %d: a skip beyond the Lagged count", round)
			}
			last, lagged = e.Seq, 0
		}
		// Three events a crash, then each child's ChildTerminated and
		// the SupervisorStopped.
		assert.Equal(t, uint64(3*children*crashes+children+1), total, "round %d", round)
	}
}

// A stalled subscriber sees the same events and the same losses with or
// without the fast path, through a restart, a failed Init and a restart
// that the factory ignores.
func TestStalledSubscriberSeesTheSameOnBothPaths(t *testing.T) {
	run := func(opts ...tree.Option) []string {
		ctx := context.Background()
		var dStarts, eStarts atomic.Int32
		spec := tree.Spec{Intensity: strategy.Intensity{MaxRestarts: 100, Period: time.Hour},
			Children: []tree.ChildSpec{
				worker("a", nil),
				tree.Worker("d", func() actor.Actor {
					if dStarts.Add(1) == 2 {
						return &probe{id: "d", initErr: func() error { return errBoom }}
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
		sup, err := tree.Start(ctx, spec, append([]tree.Option{quiet()}, opts...)...)
		require.NoError(t, err)
		sub := sup.Subscribe(1)
		a, d, e := refOf(t, sup, "a"), refOf(t, sup, "d"), refOf(t, sup, "e")
		require.NoError(t, a.Send("panic"))
		incarnation(t, a)
		require.NoError(t, d.Send("crash"))
		incarnation(t, d)
		require.NoError(t, e.Send("crash"))
		<-e.Done()
		sup.Stop(ctx)
		var out []string
		for ev := range sub.Events() {
			out = append(out, fmt.Sprintf("%v %s %d", ev.Kind, ev.Child, ev.Dropped))
		}
		return out
	}
	assert.Equal(t, run(tree.WithoutFastPath()), run())
}

// seqsUnderErrorLog crashes a permanent child twice under a logger that
// writes errors only, with no subscriber, then subscribes and crashes it
// once more: it returns the number of each crash report and the
// subscriber's events.
func seqsUnderErrorLog(t *testing.T, opts ...tree.Option) (reports []string, seen []string) {
	t.Helper()
	var buf logBuffer
	opts = append([]tree.Option{tree.WithLogger(zerolog.New(&buf).Level(zerolog.ErrorLevel))}, opts...)
	sup, err := tree.Start(context.Background(), tree.Spec{Name: "r", Children: []tree.ChildSpec{worker("a", nil)}}, opts...)
	require.NoError(t, err)
	defer stopBounded(sup.Stop)
	a := refOf(t, sup, "a")
	for i := range 2 {
		require.NoError(t, a.Send("panic"))
		require.Equal(t, uint64(i+2), incarnation(t, a))
		_, err := sup.WhichChildren(context.Background()) // the restart's events are out
		require.NoError(t, err)
	}
	sub := sup.Subscribe(64)
	defer sub.Close()
	require.NoError(t, a.Send("panic"))
	for range 3 {
		seen = append(seen, recv(t, sub).String())
	}
	re := regexp.MustCompile(`"message":"child_terminated".*?"seq":(\d+)|"seq":(\d+)[^\n]*"message":"child_terminated"`)
	for _, m := range re.FindAllStringSubmatch(buf.String(), -1) {
		reports = append(reports, m[1]+m[2])
	}
	return reports, seen
}

// Under a logger that writes only errors, a crash's ChildExited is logged
// and its ChildRestarting heard by no one: the two paths number them alike,
// in the reports and for a later subscriber, though the fast path publishes
// the two together.
func TestSeqIsTheSameOnBothPathsUnderAnErrorLog(t *testing.T) {
	fastReports, fastSeen := seqsUnderErrorLog(t)
	slowReports, slowSeen := seqsUnderErrorLog(t, tree.WithoutFastPath())
	assert.Equal(t, []string{"1", "2", "3"}, fastReports, "only the heard events were numbered")
	assert.Equal(t, slowReports, fastReports, "the numbers of the crash reports")
	assert.Equal(t, slowSeen, fastSeen, "a later subscriber's events")
}

// With a whole-tree subscriber whose buffer holds one event, a crash's
// ChildExited fills it and its ChildRestarting is heard by no one: each
// event is judged as if published alone, so that the subscriber sees the
// same numbers on both paths.
func TestSeqIsTheSameOnBothPathsWithABufferOfOne(t *testing.T) {
	run := func(opts ...tree.Option) (seen []string) {
		ctx := context.Background()
		sup := start(t, tree.Spec{Children: []tree.ChildSpec{worker("a", nil)}}, opts...)
		sub := sup.Subscribe(1)
		defer sub.Close()
		a := refOf(t, sup, "a")
		require.NoError(t, a.Send("panic"))
		require.Equal(t, uint64(2), incarnation(t, a))
		_, err := sup.WhichChildren(ctx) // the restart's events are out
		require.NoError(t, err)
		seen = append(seen, recv(t, sub).String()) // the ChildExited; the rest was lost
		require.NoError(t, sup.TerminateChild(ctx, "a"))
		seen = append(seen, recv(t, sub).String()) // Lagged, counting the ChildTerminated too
		_, err = sup.RestartChild(ctx, "a")
		require.NoError(t, err)
		seen = append(seen, recv(t, sub).String())
		return seen
	}
	assert.Equal(t, run(tree.WithoutFastPath()), run())
}

// Closing a Subscription that no tree made (nil, or the zero value) does
// nothing, rather than panic inside the tree.
func TestCloseOfASubscriptionNotMadeByATree(t *testing.T) {
	assert.NotPanics(t, func() { (*tree.Subscription)(nil).Close() })
	assert.NotPanics(t, func() { new(tree.Subscription).Close() })
}

// A Subscription that no tree made has no events: its channel is closed,
// rather than nil (a reader would wait forever) or a panic.
func TestEventsOfASubscriptionNotMadeByATree(t *testing.T) {
	for name, sub := range map[string]*tree.Subscription{"nil": nil, "zero": new(tree.Subscription)} {
		var ch <-chan tree.Event
		require.NotPanics(t, func() { ch = sub.Events() }, name)
		require.NotNil(t, ch, name)
		_, open := <-ch
		assert.False(t, open, "%s: the channel is closed", name)
	}
}
