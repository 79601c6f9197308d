package tree_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/internal/clock"
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
