package tree_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/clock"
	"github.com/arbor-go/arbor/strategy"
	"github.com/arbor-go/arbor/tree"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// holder is a worker that, on "hold", signals holding and keeps the message
// in hand until its incarnation's context ends (as a Suspend or a stop ends
// it), so that messages sent meanwhile queue behind it. It reports every
// other message with the incarnation that handled it, and crashes on
// "crash".
type holder struct {
	id      string
	seen    chan<- string
	holding chan<- struct{}
	ended   chan<- string
}

func (h *holder) Receive(c *actor.Context, msg any) error {
	switch msg {
	case "crash":
		return errBoom
	case "hold":
		h.holding <- struct{}{}
		<-c.Context().Done()
		return nil
	}
	h.seen <- fmt.Sprintf("%s:%v@%d", h.id, msg, c.Incarnation())
	return nil
}

// Terminate reports the end of an incarnation and its reason.
func (h *holder) Terminate(c *actor.Context, reason error) {
	if h.ended != nil {
		h.ended <- fmt.Sprintf("%s@%d:%v", h.id, c.Incarnation(), reason)
	}
}

func holderSpec(id string, seen chan<- string, holding chan<- struct{}, ended chan<- string) tree.ChildSpec {
	return tree.Worker(id, func() actor.Actor {
		return &holder{id: id, seen: seen, holding: holding, ended: ended}
	})
}

// collateral starts a tree of holders a, b, c with the given strategy, an
// intensity of one restart (so that a collateral stop counted as a crash
// would make the supervisor give up) and a logger into buf.
func collateral(t *testing.T, s strategy.Strategy, buf *logBuffer) (sup *tree.Sup, seen chan string, holding chan struct{}, ended chan string) {
	t.Helper()
	seen, holding, ended = make(chan string, 16), make(chan struct{}, 4), make(chan string, 16)
	sup, err := tree.Start(context.Background(), tree.Spec{Strategy: s,
		Intensity: strategy.Intensity{MaxRestarts: 1, Period: time.Hour},
		Children: []tree.ChildSpec{holderSpec("a", seen, holding, ended),
			holderSpec("b", seen, holding, ended), holderSpec("c", seen, holding, ended)},
	}, tree.WithLogger(zerolog.New(buf)))
	require.NoError(t, err)
	t.Cleanup(func() { stopBounded(sup.Stop) })
	return sup, seen, holding, ended
}

// quietSiblings checks what the collateral stops of ids must not have
// caused: a ChildExited event, an intensity exceeded, an error report.
func quietSiblings(t *testing.T, sup *tree.Sup, sub *tree.Subscription, buf *logBuffer, ids ...string) {
	t.Helper()
	// A call is handled after the ChildExit{Requested} notices, which the
	// siblings sent before their restart finished.
	_, err := sup.WhichChildren(context.Background())
	require.NoError(t, err)
	for {
		select {
		case e := <-sub.Events():
			assert.NotEqual(t, tree.IntensityExceeded, e.Kind, "%v", e)
			if e.Kind == tree.ChildExited {
				assert.NotContains(t, ids, e.Child, "a collateral stop is no exit: %v", e)
			}
			continue
		default:
		}
		break
	}
	for _, line := range strings.Split(buf.String(), "\n") {
		for _, id := range ids {
			if strings.Contains(line, `"child":"`+id+`"`) {
				assert.NotContains(t, line, `"level":"error"`, "a collateral stop is no crash")
			}
		}
	}
	select {
	case <-sup.Done():
		require.FailNow(t, "the supervisor stopped", "%v", sup.Err())
	default:
	}
}

func TestOneForAllInPlace(t *testing.T) {
	t.Run("a sibling keeps its Ref and queued messages across a restart caused by another child", func(t *testing.T) {
		var buf logBuffer
		sup, seen, holding, ended := collateral(t, strategy.OneForAll, &buf)
		sub := sup.Subscribe(256)
		defer sub.Close()
		a, b, c := refOf(t, sup, "a"), refOf(t, sup, "b"), refOf(t, sup, "c")

		// c holds a message while two more queue behind it.
		require.NoError(t, c.Send("hold"))
		<-holding
		require.NoError(t, c.Send("m1"))
		require.NoError(t, c.Send("m2"))
		require.NoError(t, b.Send("crash"))

		// The siblings' incarnations end in reverse start order, then all
		// three start again in start order, each in place.
		assert.Equal(t, "b@1:boom", next(t, ended))
		assert.Equal(t, "c@1:shutdown", next(t, ended))
		assert.Equal(t, "a@1:shutdown", next(t, ended))
		var terminated, restarted []string
		for len(restarted) < 3 {
			select {
			case e := <-sub.Events():
				switch e.Kind {
				case tree.ChildTerminated:
					terminated = append(terminated, e.Child)
				case tree.ChildRestarted:
					restarted = append(restarted, e.Child)
					assert.Same(t, map[string]*actor.Ref{"a": a, "b": b, "c": c}[e.Child], e.Ref)
				}
			case <-time.After(wait):
				require.FailNow(t, "no restart", "%v", restarted)
			}
		}
		assert.Equal(t, []string{"c", "a"}, terminated)
		assert.Equal(t, []string{"a", "b", "c"}, restarted)

		// The messages queued for c are handled, in order, by its next
		// incarnation.
		assert.Equal(t, "c:m1@2", next(t, seen))
		assert.Equal(t, "c:m2@2", next(t, seen))
		assert.Same(t, a, refOf(t, sup, "a"))
		assert.Same(t, b, refOf(t, sup, "b"))
		assert.Same(t, c, refOf(t, sup, "c"))
		for _, r := range []*actor.Ref{a, b, c} {
			assert.Equal(t, uint64(2), r.Incarnation())
			assert.True(t, r.Alive())
		}
		quietSiblings(t, sup, sub, &buf, "a", "c")
		require.NoError(t, a.Send("after"))
		assert.Equal(t, "a:after@2", next(t, seen))
	})
	t.Run("a nested supervisor sibling restarts in place and starts its children afresh", func(t *testing.T) {
		refs := make(chan *actor.Ref, 4)
		sup := start(t, tree.Spec{Strategy: strategy.OneForAll, Children: []tree.ChildSpec{
			worker("a", nil), tree.Supervisor("s", tree.Spec{Children: []tree.ChildSpec{tracked("w", refs)}})}})
		ev := events(t, sup)
		s, w := refOf(t, sup, "s"), nextRef(t, refs)
		require.NoError(t, refOf(t, sup, "a").Send("crash"))
		assert.Same(t, s, ev(tree.ChildRestarted, "s").Ref)
		w2 := nextRef(t, refs)
		assert.NotSame(t, w, w2, "the nested supervisor's own children were stopped for good")
		assert.False(t, w.Alive())
		assert.Same(t, s, refOf(t, sup, "s"))
		assert.Equal(t, uint64(2), s.Incarnation())
	})
	t.Run("a brutally killed sibling starts afresh with a new Ref", func(t *testing.T) {
		sup := start(t, tree.Spec{Strategy: strategy.OneForAll, Children: []tree.ChildSpec{
			worker("a", nil), worker("k", nil, tree.BrutalKill())}})
		ev := events(t, sup)
		k := refOf(t, sup, "k")
		require.NoError(t, refOf(t, sup, "a").Send("crash"))
		assert.ErrorIs(t, ev(tree.ChildTerminated, "k").Reason, actor.ErrKilled)
		restarted := ev(tree.ChildRestarted, "k")
		assert.NotSame(t, k, restarted.Ref)
		assert.False(t, k.Alive())
		assert.ErrorIs(t, k.Err(), actor.ErrKilled)
	})
	t.Run("a sibling that outlives its shutdown timeout is killed, reported and started afresh", func(t *testing.T) {
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		running := make(chan struct{}, 2)
		sup := start(t, tree.Spec{Strategy: strategy.OneForAll, Children: []tree.ChildSpec{
			worker("a", nil), stubborn("hang", release, running, tree.Shutdown(20*time.Millisecond))}})
		ev := events(t, sup)
		<-running
		hang := refOf(t, sup, "hang")
		require.NoError(t, refOf(t, sup, "a").Send("crash"))
		killed := ev(tree.ChildKilled, "hang")
		assert.ErrorIs(t, killed.Reason, actor.ErrKilled)
		restarted := ev(tree.ChildRestarted, "hang")
		assert.NotSame(t, hang, restarted.Ref)
		<-running
		assert.Equal(t, tree.Running, stateOf(t, sup, "hang"))
	})
	t.Run("a temporary sibling ends for good and the others keep their Refs", func(t *testing.T) {
		sup := start(t, tree.Spec{Strategy: strategy.OneForAll, Children: []tree.ChildSpec{
			worker("a", nil), worker("tmp", nil, tree.Restart(strategy.Temporary)), worker("c", nil)}})
		ev := events(t, sup)
		tmp, c := refOf(t, sup, "tmp"), refOf(t, sup, "c")
		require.NoError(t, refOf(t, sup, "a").Send("crash"))
		assert.Same(t, c, ev(tree.ChildRestarted, "c").Ref)
		assert.False(t, tmp.Alive())
		assert.ErrorIs(t, tmp.Err(), actor.ErrShutdown)
		assert.Equal(t, tree.ChildState(-1), stateOf(t, sup, "tmp"))
	})
}

func TestCollateralInPlaceMore(t *testing.T) {
	t.Run("a task sibling restarts in place: same Ref, a new run", func(t *testing.T) {
		seen := make(chan string, 16)
		loop := tree.Task("t", func(ctx context.Context, c *actor.Context) error {
			for {
				m, err := c.Recv(ctx)
				if err != nil {
					return err
				}
				seen <- fmt.Sprintf("t:%v@%d", m, c.Incarnation())
			}
		})
		sup := start(t, tree.Spec{Strategy: strategy.OneForAll, Children: []tree.ChildSpec{worker("a", nil), loop}})
		ev := events(t, sup)
		task := refOf(t, sup, "t")
		require.NoError(t, task.Send("m1"))
		assert.Equal(t, "t:m1@1", next(t, seen))
		require.NoError(t, refOf(t, sup, "a").Send("crash"))
		assert.ErrorIs(t, ev(tree.ChildTerminated, "t").Reason, actor.ErrShutdown)
		assert.Same(t, task, ev(tree.ChildRestarted, "t").Ref)
		require.NoError(t, task.Send("m2"))
		assert.Equal(t, "t:m2@2", next(t, seen))
	})
	t.Run("siblings wait suspended through the backoff and keep what is sent meanwhile", func(t *testing.T) {
		clk := clock.NewFake(epoch)
		seen := make(chan string, 16)
		sup := start(t, tree.Spec{Strategy: strategy.OneForAll, Backoff: strategy.Constant(time.Second),
			Children: []tree.ChildSpec{worker("a", nil), worker("b", seen)}}, tree.WithClock(clk))
		ev := events(t, sup)
		b := refOf(t, sup, "b")
		require.NoError(t, refOf(t, sup, "a").Send("crash"))
		ev(tree.ChildTerminated, "b")
		ev(tree.ChildRestarting, "a")
		assert.Equal(t, tree.Restarting, stateOf(t, sup, "b"))
		assert.True(t, b.Suspended())
		require.NoError(t, b.Send("during"))
		clk.Advance(time.Second)
		assert.Same(t, b, ev(tree.ChildRestarted, "b").Ref)
		assert.Equal(t, "b:during", next(t, seen))
		assert.Equal(t, uint64(2), incarnation(t, b))
	})
	t.Run("a supervisor that stops during the backoff stops its suspended siblings", func(t *testing.T) {
		clk := clock.NewFake(epoch)
		sup, err := tree.Start(context.Background(), tree.Spec{Strategy: strategy.OneForAll,
			Backoff:  strategy.Constant(time.Hour),
			Children: []tree.ChildSpec{worker("a", nil), worker("b", nil)}}, quiet(), tree.WithClock(clk))
		require.NoError(t, err)
		ev := events(t, sup)
		a, b := refOf(t, sup, "a"), refOf(t, sup, "b")
		require.NoError(t, a.Send("crash"))
		ev(tree.ChildRestarting, "a")
		rep := sup.Stop(context.Background())
		assert.NoError(t, rep.Err)
		assert.Empty(t, rep.Abandoned)
		<-a.Done()
		<-b.Done()
	})
}

func TestRestForOneInPlace(t *testing.T) {
	t.Run("a later sibling keeps its Ref and queued messages; earlier ones are untouched", func(t *testing.T) {
		var buf logBuffer
		sup, seen, holding, ended := collateral(t, strategy.RestForOne, &buf)
		sub := sup.Subscribe(256)
		defer sub.Close()
		a, b, c := refOf(t, sup, "a"), refOf(t, sup, "b"), refOf(t, sup, "c")

		require.NoError(t, c.Send("hold"))
		<-holding
		require.NoError(t, c.Send("m1"))
		require.NoError(t, c.Send("m2"))
		require.NoError(t, b.Send("crash"))

		assert.Equal(t, "b@1:boom", next(t, ended))
		assert.Equal(t, "c@1:shutdown", next(t, ended))
		assert.Equal(t, "c:m1@2", next(t, seen))
		assert.Equal(t, "c:m2@2", next(t, seen))
		assert.Same(t, b, refOf(t, sup, "b"))
		assert.Same(t, c, refOf(t, sup, "c"))
		assert.Equal(t, uint64(1), a.Incarnation(), "a child before the crashed one keeps running")
		assert.Equal(t, uint64(2), b.Incarnation())
		assert.Equal(t, uint64(2), c.Incarnation())
		quietSiblings(t, sup, sub, &buf, "a", "c")
		assert.Empty(t, ended, "only c was stopped as collateral")
	})
}

func TestOutsideSuspend(t *testing.T) {
	t.Run("a child suspended behind its supervisor's back counts as terminated, not crashed", func(t *testing.T) {
		sup := start(t, tree.Spec{Intensity: strategy.Intensity{MaxRestarts: 0, Period: time.Hour},
			Children: []tree.ChildSpec{worker("a", nil), worker("b", nil)}})
		ev := events(t, sup)
		a := refOf(t, sup, "a")
		require.NoError(t, a.Suspend(context.Background(), actor.Shutdown("by hand")))
		terminated := ev(tree.ChildTerminated, "a")
		assert.ErrorIs(t, terminated.Reason, actor.ErrShutdown)
		assert.Equal(t, tree.Stopped, stateOf(t, sup, "a"))
		<-a.Done()
		ref, err := sup.RestartChild(context.Background(), "a")
		require.NoError(t, err)
		assert.NotSame(t, a, ref)
		assert.Equal(t, tree.Running, stateOf(t, sup, "b"))
	})
}
