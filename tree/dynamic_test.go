package tree_test

import (
	"context"
	"testing"
	"time"

	"github.com/arbor-go/arbor/clock"
	"github.com/arbor-go/arbor/strategy"
	"github.com/arbor-go/arbor/tree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pool is a dynamic spec whose StartChild argument is the child's options.
func pool(max int) tree.DynamicSpec {
	return tree.DynamicSpec{Name: "pool", MaxChildren: max,
		Intensity: strategy.Intensity{MaxRestarts: 10, Period: time.Minute},
		Template: func(arg any) tree.ChildSpec {
			opts, _ := arg.([]tree.ChildOption)
			return worker("", nil, opts...)
		}}
}

func startDynamic(t *testing.T, spec tree.DynamicSpec, opts ...tree.Option) *tree.DynamicSup {
	t.Helper()
	d, err := tree.StartDynamic(context.Background(), spec, append([]tree.Option{quiet()}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { stopBounded(d.Stop) })
	return d
}

func dynEvents(t *testing.T, d *tree.DynamicSup) func(tree.EventKind) tree.Event {
	sub := d.Subscribe(1024)
	t.Cleanup(sub.Close)
	return func(kind tree.EventKind) tree.Event {
		t.Helper()
		timeout := time.After(wait)
		for {
			select {
			case ev := <-sub.Events():
				if ev.Kind == kind {
					return ev
				}
			case <-timeout:
				require.FailNow(t, "no event", "%v", kind)
			}
		}
	}
}

func TestDynamicSupervisor(t *testing.T) {
	ctx := context.Background()
	t.Run("children start on demand from the template", func(t *testing.T) {
		d := startDynamic(t, pool(0))
		a, err := d.StartChild(ctx, nil)
		require.NoError(t, err)
		b, err := d.StartChild(ctx, nil)
		require.NoError(t, err)
		assert.NotSame(t, a, b)
		infos, err := d.WhichChildren(ctx)
		require.NoError(t, err)
		require.Len(t, infos, 2)
		assert.Same(t, b, infos[0].Ref, "newest first")
		n, err := d.CountChildren(ctx)
		require.NoError(t, err)
		assert.Equal(t, tree.Counts{Specs: 2, Active: 2, Workers: 2}, n)
	})
	t.Run("MaxChildren is enforced, and restarting children count", func(t *testing.T) {
		clk := clock.NewFake(epoch)
		spec := pool(2)
		spec.Backoff = strategy.Constant(time.Second)
		d := startDynamic(t, spec, tree.WithClock(clk))
		ev := dynEvents(t, d)
		a, err := d.StartChild(ctx, nil)
		require.NoError(t, err)
		_, err = d.StartChild(ctx, nil)
		require.NoError(t, err)
		_, err = d.StartChild(ctx, nil)
		assert.ErrorIs(t, err, tree.ErrMaxChildren)
		require.NoError(t, a.Send("crash"))
		ev(tree.ChildRestarting)
		_, err = d.StartChild(ctx, nil)
		assert.ErrorIs(t, err, tree.ErrMaxChildren, "a child waiting to restart holds its place")
		require.NoError(t, d.TerminateChild(ctx, a))
		_, err = d.StartChild(ctx, nil)
		assert.NoError(t, err)
	})
	t.Run("TerminateChild forgets the child; an unknown Ref is not found", func(t *testing.T) {
		d := startDynamic(t, pool(0))
		a, err := d.StartChild(ctx, nil)
		require.NoError(t, err)
		require.NoError(t, d.TerminateChild(ctx, a))
		assert.False(t, a.Alive())
		assert.ErrorIs(t, d.TerminateChild(ctx, a), tree.ErrNotFound)
		n, err := d.CountChildren(ctx)
		require.NoError(t, err)
		assert.Zero(t, n.Specs)
	})
	t.Run("an invalid template spec and a missing template are errors", func(t *testing.T) {
		d := startDynamic(t, tree.DynamicSpec{Template: func(any) tree.ChildSpec { return tree.Worker("", nil) }})
		_, err := d.StartChild(ctx, nil)
		assert.ErrorIs(t, err, tree.ErrNilFactory)
		_, err = tree.StartDynamic(ctx, tree.DynamicSpec{})
		assert.ErrorIs(t, err, tree.ErrNilTemplate)
	})
}

func TestDynamicRestartTypes(t *testing.T) {
	cases := []struct {
		name    string
		restart strategy.Restart
		msg     string
		again   bool
	}{
		{"a permanent child restarts after a normal exit", strategy.Permanent, "normal", true},
		{"a permanent child restarts after a crash", strategy.Permanent, "crash", true},
		{"a transient child is gone after a normal exit", strategy.Transient, "normal", false},
		{"a transient child is gone after a shutdown", strategy.Transient, "shutdown", false},
		{"a transient child restarts after a crash", strategy.Transient, "crash", true},
		{"a temporary child is gone after a crash", strategy.Temporary, "crash", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := startDynamic(t, pool(0))
			ev := dynEvents(t, d)
			ref, err := d.StartChild(context.Background(), []tree.ChildOption{tree.Restart(tc.restart)})
			require.NoError(t, err)
			require.NoError(t, ref.Send(tc.msg))
			ev(tree.ChildExited)
			n, err := d.CountChildren(context.Background())
			require.NoError(t, err)
			if tc.again {
				assert.Equal(t, 1, n.Active)
				assert.Equal(t, uint64(2), incarnation(t, ref))
				return
			}
			assert.Zero(t, n.Specs)
			assert.False(t, ref.Alive())
		})
	}
}

func TestDynamicShutdown(t *testing.T) {
	t.Run("children stop in parallel under one deadline, each by its shutdown kind", func(t *testing.T) {
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		running := make(chan struct{}, 4)
		d := startDynamic(t, tree.DynamicSpec{Template: func(arg any) tree.ChildSpec {
			if opt, ok := arg.(tree.ChildOption); ok {
				return stubborn("", release, running, opt)
			}
			return worker("", nil)
		}})
		ctx := context.Background()
		_, err := d.StartChild(ctx, nil)
		require.NoError(t, err)
		for _, opt := range []tree.ChildOption{
			tree.Shutdown(300 * time.Millisecond), tree.Shutdown(300 * time.Millisecond), tree.BrutalKill(),
		} {
			_, err := d.StartChild(ctx, opt)
			require.NoError(t, err)
			<-running
		}
		began := time.Now()
		rep := d.Stop(ctx)
		assert.Less(t, time.Since(began), 550*time.Millisecond, "two 300 ms timeouts run side by side")
		assert.ElementsMatch(t, []string{"root/2", "root/3"}, rep.Killed)
		assert.NoError(t, rep.Err)
	})
	t.Run("a dynamic supervisor nests in a static one and is reached through its Ref", func(t *testing.T) {
		ctx := context.Background()
		sup := start(t, tree.Spec{Name: "app", Children: []tree.ChildSpec{tree.Dynamic("pool", pool(0))}})
		ev := events(t, sup)
		infos, err := sup.WhichChildren(ctx)
		require.NoError(t, err)
		assert.Equal(t, tree.SupervisorChild, infos[0].Type)
		assert.Equal(t, "app/pool", infos[0].Ref.Name())
		p := tree.DynamicAt(infos[0].Ref)
		ref, err := p.StartChild(ctx, nil)
		require.NoError(t, err)
		assert.Equal(t, "app/pool/1", ref.Name())
		require.NoError(t, ref.Send("crash"))
		assert.Equal(t, "app/pool", ev(tree.ChildRestarted, "1").Supervisor)
		n, err := p.CountChildren(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, n.Active)
		require.NoError(t, p.TerminateChild(ctx, ref))

		_, err = tree.DynamicAt(sup.Ref()).StartChild(ctx, nil)
		assert.ErrorIs(t, err, tree.ErrNotDynamic)
		_, err = tree.SupervisorAt(infos[0].Ref).StartChild(ctx, worker("x", nil))
		assert.ErrorIs(t, err, tree.ErrDynamic)
	})
}

// A dynamic child stopped for good from outside the tree, and waiting out
// its backoff to be spawned anew, is still filed under its Ref: as in
// Elixir, TerminateChild with that Ref forgets it and frees its place.
func TestDynamicTerminateChildWaitingToRespawn(t *testing.T) {
	clk := clock.NewFake(epoch)
	spec := pool(1)
	spec.Backoff = strategy.Constant(time.Second)
	d := startDynamic(t, spec, tree.WithClock(clk))
	ev := dynEvents(t, d)
	ctx := context.Background()
	a, err := d.StartChild(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, a.Stop(ctx))
	ev(tree.ChildRestarting)
	n, err := d.CountChildren(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n.Specs, "the child waits for its restart")

	require.NoError(t, d.TerminateChild(ctx, a))
	n, err = d.CountChildren(ctx)
	require.NoError(t, err)
	assert.Zero(t, n.Specs)
	_, err = d.StartChild(ctx, nil)
	assert.NoError(t, err, "its MaxChildren place is free again")
	clk.Advance(time.Minute) // its timer, if any were left, would restart it now
	n, err = d.CountChildren(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n.Specs, "the terminated child never comes back")
	assert.ErrorIs(t, d.TerminateChild(ctx, a), tree.ErrNotFound, "forgotten: a second time finds nothing")
}
