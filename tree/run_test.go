package tree_test

import (
	"context"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/clock"
	"github.com/arbor-go/arbor/mailbox"
	"github.com/arbor-go/arbor/strategy"
	"github.com/arbor-go/arbor/tree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	t.Run("Run returns nil once its context ends and the tree has stopped", func(t *testing.T) {
		refs := make(chan *actor.Ref, 1)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- tree.Run(ctx, tree.Spec{Children: []tree.ChildSpec{tracked("a", refs)}}, quiet())
		}()
		a := nextRef(t, refs)
		cancel()
		require.NoError(t, <-done)
		assert.False(t, a.Alive())
	})
	t.Run("Run returns why the tree gave up", func(t *testing.T) {
		refs := make(chan *actor.Ref, 1)
		done := make(chan error, 1)
		go func() {
			done <- tree.Run(context.Background(), tree.Spec{
				Intensity: strategy.Intensity{MaxRestarts: 0, Period: time.Second},
				Children:  []tree.ChildSpec{tracked("a", refs)}}, quiet())
		}()
		require.NoError(t, nextRef(t, refs).Send("crash"))
		assert.ErrorIs(t, <-done, tree.ErrIntensityExceeded)
	})
	t.Run("Run returns a start error at once", func(t *testing.T) {
		err := tree.Run(context.Background(), tree.Spec{Children: []tree.ChildSpec{tree.Worker("a", nil)}})
		assert.ErrorIs(t, err, tree.ErrNilFactory)
	})
}

func TestChildOptions(t *testing.T) {
	t.Run("a bounded mailbox applies its policy to messages queued during backoff", func(t *testing.T) {
		clk := clock.NewFake(epoch)
		seen := make(chan string, 8)
		sup := start(t, tree.Spec{Children: []tree.ChildSpec{worker("a", seen,
			tree.Backoff(strategy.Constant(time.Second)),
			tree.ActorOptions(actor.WithMailbox(mailbox.Options{Capacity: 2, Policy: mailbox.DropNewest})))}},
			tree.WithClock(clk))
		ev := events(t, sup)
		a := refOf(t, sup, "a")
		require.NoError(t, a.Send("crash"))
		ev(tree.ChildRestarting, "a")
		for _, m := range []string{"one", "two", "three"} {
			require.NoError(t, a.Send(m))
		}
		dl := ev(tree.DeadLetter, "a")
		assert.ErrorIs(t, dl.Reason, mailbox.ErrFull)
		clk.Advance(time.Second)
		assert.Equal(t, "a:one", next(t, seen))
		assert.Equal(t, "a:two", next(t, seen))
	})
	t.Run("jitter draws from the injected random source", func(t *testing.T) {
		clk := clock.NewFake(epoch)
		sup := start(t, tree.Spec{Children: []tree.ChildSpec{worker("a", nil,
			tree.Backoff(strategy.Constant(time.Second).WithJitter(strategy.FullJitter)))}},
			tree.WithClock(clk), tree.WithRandom(func() float64 { return 0.25 }))
		ev := events(t, sup)
		require.NoError(t, refOf(t, sup, "a").Send("crash"))
		assert.Equal(t, 250*time.Millisecond, ev(tree.ChildRestarting, "a").Delay)
	})
	t.Run("defaults reach children that set nothing", func(t *testing.T) {
		temporary := strategy.Temporary
		sup := start(t, tree.Spec{Defaults: tree.ChildDefaults{Restart: &temporary},
			Children: []tree.ChildSpec{worker("a", nil), worker("b", nil, tree.Restart(strategy.Permanent))}})
		infos, err := sup.WhichChildren(context.Background())
		require.NoError(t, err)
		assert.Equal(t, strategy.Permanent, infos[0].Restart)
		assert.Equal(t, strategy.Temporary, infos[1].Restart)
	})
}

func TestNames(t *testing.T) {
	t.Run("states, types and errors read well", func(t *testing.T) {
		assert.Equal(t, "running", tree.Running.String())
		assert.Equal(t, "restarting", tree.Restarting.String())
		assert.Equal(t, "waiting", tree.Waiting.String())
		assert.Equal(t, "stopped", tree.Stopped.String())
		assert.Equal(t, "ChildState(9)", tree.ChildState(9).String())
		assert.Equal(t, "worker", tree.WorkerChild.String())
		assert.Equal(t, "supervisor", tree.SupervisorChild.String())
		err := &tree.StartError{Supervisor: "root", Child: "db", Err: errBoom}
		assert.Equal(t, "tree: root: child db failed to start: boom", err.Error())
	})
}
