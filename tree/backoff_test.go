package tree_test

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

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestBackoff(t *testing.T) {
	t.Run("a restart waits for its backoff on the injected clock", func(t *testing.T) {
		clk := clock.NewFake(epoch)
		sup := start(t, tree.Spec{Backoff: strategy.Exponential(100*time.Millisecond, time.Second),
			Intensity: strategy.Intensity{MaxRestarts: 10, Period: time.Minute},
			Children:  []tree.ChildSpec{worker("a", nil)}}, tree.WithClock(clk))
		ev := events(t, sup)
		a := refOf(t, sup, "a")
		for attempt, delay := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond} {
			require.NoError(t, a.Send("crash"))
			r := ev(tree.ChildRestarting, "a")
			assert.Equal(t, delay, r.Delay)
			assert.Equal(t, attempt+1, r.Attempt)
			assert.Equal(t, tree.Restarting, stateOf(t, sup, "a"))
			clk.Advance(delay - time.Millisecond)
			assert.Equal(t, tree.Restarting, stateOf(t, sup, "a"), "not before the delay")
			clk.Advance(time.Millisecond)
			ev(tree.ChildRestarted, "a")
		}
		assert.Equal(t, uint64(4), incarnation(t, a))
	})
	t.Run("the attempt count resets after a stable run", func(t *testing.T) {
		clk := clock.NewFake(epoch)
		sup := start(t, tree.Spec{Backoff: strategy.Exponential(100*time.Millisecond, time.Second),
			Children: []tree.ChildSpec{worker("a", nil)}}, tree.WithClock(clk))
		ev := events(t, sup)
		a := refOf(t, sup, "a")
		require.NoError(t, a.Send("crash"))
		ev(tree.ChildRestarting, "a")
		clk.Advance(100 * time.Millisecond)
		ev(tree.ChildRestarted, "a")
		clk.Advance(time.Hour)
		require.NoError(t, a.Send("crash"))
		assert.Equal(t, 1, ev(tree.ChildRestarting, "a").Attempt)
	})
	t.Run("messages sent during the backoff wait in the mailbox and survive the restart", func(t *testing.T) {
		clk := clock.NewFake(epoch)
		seen := make(chan string, 16)
		sup := start(t, tree.Spec{Backoff: strategy.Constant(time.Second),
			Children: []tree.ChildSpec{worker("a", seen)}}, tree.WithClock(clk))
		ev := events(t, sup)
		a := refOf(t, sup, "a")
		require.NoError(t, a.Send("crash"))
		ev(tree.ChildRestarting, "a")
		for _, m := range []string{"one", "two", "three"} {
			require.NoError(t, a.Send(m))
		}
		assert.Equal(t, 3, a.MailboxLen())
		assert.Empty(t, seen)
		clk.Advance(time.Second)
		ev(tree.ChildRestarted, "a")
		assert.Equal(t, "a:one", next(t, seen))
		assert.Equal(t, "a:two", next(t, seen))
		assert.Equal(t, "a:three", next(t, seen))
	})
	t.Run("stopping the tree cancels a pending restart", func(t *testing.T) {
		clk := clock.NewFake(epoch)
		sup, err := tree.Start(context.Background(), tree.Spec{Backoff: strategy.Constant(time.Second),
			Children: []tree.ChildSpec{worker("a", nil)}}, quiet(), tree.WithClock(clk))
		require.NoError(t, err)
		ev := events(t, sup)
		a := refOf(t, sup, "a")
		require.NoError(t, a.Send("crash"))
		ev(tree.ChildRestarting, "a")
		sup.Stop(context.Background())
		assert.Zero(t, clk.Pending())
		assert.False(t, a.Alive())
	})
}

func TestHangingRestartLoop(t *testing.T) {
	t.Run("a child that cannot restart is retried with backoff while the API answers, until intensity gives up", func(t *testing.T) {
		clk := clock.NewFake(epoch)
		var broken atomic.Bool
		sup, err := tree.Start(context.Background(), tree.Spec{
			Backoff:   strategy.Constant(time.Second),
			Intensity: strategy.Intensity{MaxRestarts: 3, Period: time.Minute},
			Children: []tree.ChildSpec{tree.Worker("a", func() actor.Actor {
				return &probe{initErr: func() error {
					if broken.Load() {
						return errBoom
					}
					return nil
				}}
			})},
		}, quiet(), tree.WithClock(clk))
		require.NoError(t, err)
		ev := events(t, sup)
		a := refOf(t, sup, "a")
		broken.Store(true)
		require.NoError(t, a.Send("crash"))
		for range 3 {
			ev(tree.ChildRestarting, "a")
			infos, err := sup.WhichChildren(context.Background())
			require.NoError(t, err, "the supervisor answers between attempts")
			assert.Equal(t, tree.Restarting, infos[0].State)
			_, err = sup.RestartChild(context.Background(), "a")
			assert.ErrorIs(t, err, tree.ErrRestarting)
			clk.Advance(time.Second)
			failed := ev(tree.StartFailed, "a")
			assert.ErrorIs(t, failed.Reason, errBoom)
		}
		ev(tree.IntensityExceeded, "a")
		<-sup.Done()
		assert.ErrorIs(t, sup.Err(), tree.ErrIntensityExceeded)
		assert.False(t, a.Alive())
	})
}

func TestStaleRestartTimer(t *testing.T) {
	t.Run("a backoff timer of a supervisor's previous incarnation cannot restart a child of the next one", func(t *testing.T) {
		clk := clock.NewFake(epoch)
		var second, crashed, gated atomic.Bool
		blocking, unblock := make(chan struct{}), make(chan struct{})
		gating, gate := make(chan struct{}), make(chan struct{})
		goCrash, crashing := make(chan struct{}), make(chan *actor.Ref, 1)
		ran := make(chan struct{}, 1)
		task := tree.Task("t", func(ctx context.Context, c *actor.Context) error {
			if second.Load() && crashed.CompareAndSwap(false, true) {
				crashing <- c.Self()
				<-goCrash
				return errBoom
			}
			select {
			case ran <- struct{}{}:
			default:
			}
			<-ctx.Done()
			return nil
		})
		gated2 := tree.Worker("gate", func() actor.Actor {
			return &probe{initErr: func() error {
				if second.Load() && gated.CompareAndSwap(false, true) {
					gating <- struct{}{}
					<-gate
				}
				return nil
			}}
		})
		inner := tree.Spec{Backoff: strategy.Constant(time.Second),
			Intensity: strategy.Intensity{MaxRestarts: 1, Period: time.Hour},
			Children:  []tree.ChildSpec{worker("w", nil), worker("x", nil), task, gated2}}
		sup := start(t, tree.Spec{Children: []tree.ChildSpec{tree.Supervisor("s", inner)}}, tree.WithClock(clk))
		t.Cleanup(func() { // before the tree's Stop: a test failed half way leaves nothing blocked
			for _, ch := range []chan struct{}{unblock, gate, goCrash} {
				select {
				case <-ch:
				default:
					close(ch)
				}
			}
		})
		ev := events(t, sup)
		s := refOf(t, sup, "s")
		// The first incarnation of t has run, and read second, before the
		// test sets it: on a loaded machine its goroutine may start late.
		select {
		case <-ran:
		case <-time.After(wait):
			require.FailNow(t, "t never ran")
		}
		api := tree.SupervisorAt(s)
		ctx := context.Background()
		ref := func(id string) *actor.Ref {
			infos, err := api.WhichChildren(ctx)
			require.NoError(t, err)
			for _, i := range infos {
				if i.ID == id {
					return i.Ref
				}
			}
			require.FailNow(t, "no child", id)
			return nil
		}
		x := ref("x")

		// First incarnation: w's restart waits for its backoff.
		require.NoError(t, ref("w").Send("crash"))
		ev(tree.ChildRestarting, "w")
		// The supervisor is held in a StartChild while w's timer fires and x
		// crashes, which exceeds the intensity: the timer's message is left
		// in the mailbox of the incarnation that gives up.
		added := make(chan error, 1)
		go func() {
			_, err := api.StartChild(ctx, tree.Worker("blocker", func() actor.Actor {
				return &probe{initErr: func() error {
					blocking <- struct{}{}
					<-unblock
					return nil
				}}
			}))
			added <- err
		}()
		<-blocking
		clk.Advance(time.Second) // w's restartDue, on the user lane
		require.NoError(t, x.Send("crash"))
		require.Eventually(t, func() bool { return s.MailboxLen() == 2 }, wait, time.Millisecond,
			"x's exit waits on the system lane")
		second.Store(true)
		close(unblock)
		require.NoError(t, <-added)
		ev(tree.IntensityExceeded, "x")

		// Second incarnation, restarted in place by the root: t crashes while
		// the supervisor still starts its children, so that its restart is
		// planned before the old timer's message is read.
		<-gating
		tref := <-crashing
		n := s.MailboxLen()
		close(goCrash)
		require.Eventually(t, func() bool { return tref.Suspended() && s.MailboxLen() > n }, wait, time.Millisecond,
			"t's exit waits on the system lane")
		close(gate)
		restarting := ev(tree.ChildRestarting, "t")
		assert.Equal(t, "root/s", restarting.Supervisor)
		assert.Equal(t, time.Second, restarting.Delay)
		infos, err := api.WhichChildren(ctx)
		require.NoError(t, err)
		for _, i := range infos {
			if i.ID == "t" {
				assert.Equal(t, tree.Restarting, i.State, "t restarts only after its own backoff")
			}
		}
		clk.Advance(time.Second)
		ev(tree.ChildRestarted, "t")
	})
}
