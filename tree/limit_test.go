package tree_test

import (
	"context"
	"testing"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/strategy"
	"github.com/arbor-go/arbor/tree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMaxRunning(t *testing.T) {
	ctx := context.Background()
	transient := tree.Restart(strategy.Transient)
	t.Run("children beyond the limit wait in order and are admitted as slots free", func(t *testing.T) {
		sup := start(t, tree.Spec{MaxRunning: 2, Children: []tree.ChildSpec{
			worker("a", nil, transient), worker("b", nil, transient), worker("c", nil), worker("d", nil)}})
		ev := events(t, sup)
		assert.Equal(t, tree.Waiting, stateOf(t, sup, "c"))
		assert.Equal(t, tree.Waiting, stateOf(t, sup, "d"))
		_, err := sup.RestartChild(ctx, "c")
		assert.ErrorIs(t, err, tree.ErrWaiting)

		require.NoError(t, refOf(t, sup, "a").Send("normal"))
		assert.Equal(t, "c", ev(tree.ChildAdmitted, "").Child)
		assert.Equal(t, tree.Running, stateOf(t, sup, "c"))
		assert.Equal(t, tree.Waiting, stateOf(t, sup, "d"))

		require.NoError(t, sup.TerminateChild(ctx, "b"))
		assert.Equal(t, tree.Running, stateOf(t, sup, "d"))
		n, err := sup.CountChildren(ctx)
		require.NoError(t, err)
		assert.Equal(t, 2, n.Active)
	})
	t.Run("a crashing child keeps its slot through its restart", func(t *testing.T) {
		sup := start(t, tree.Spec{MaxRunning: 1, Children: []tree.ChildSpec{worker("a", nil), worker("b", nil)}})
		ev := events(t, sup)
		require.NoError(t, refOf(t, sup, "a").Send("crash"))
		ev(tree.ChildRestarted, "a")
		assert.Equal(t, tree.Waiting, stateOf(t, sup, "b"))
	})
	t.Run("a child waiting for a slot keeps waiting through a OneForAll restart", func(t *testing.T) {
		sup := start(t, tree.Spec{MaxRunning: 1, Strategy: strategy.OneForAll,
			Children: []tree.ChildSpec{worker("a", nil), worker("b", nil)}})
		ev := events(t, sup)
		require.NoError(t, refOf(t, sup, "a").Send("crash"))
		ev(tree.ChildRestarted, "a")
		assert.Equal(t, tree.Waiting, stateOf(t, sup, "b"))
		n, err := sup.CountChildren(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, n.Active)
	})
	t.Run("a stopped child that OneForAll would start again waits when no slot is free", func(t *testing.T) {
		sup := start(t, tree.Spec{MaxRunning: 2, Strategy: strategy.OneForAll,
			Children: []tree.ChildSpec{worker("a", nil), worker("b", nil), worker("c", nil)}})
		ev := events(t, sup)
		require.NoError(t, sup.TerminateChild(ctx, "b")) // c takes b's slot
		assert.Equal(t, tree.Running, stateOf(t, sup, "c"))
		require.NoError(t, refOf(t, sup, "a").Send("crash"))
		assert.Equal(t, "b", ev(tree.ChildQueued, "").Child)
		ev(tree.ChildRestarted, "c")
		assert.Equal(t, tree.Waiting, stateOf(t, sup, "b"))
		n, err := sup.CountChildren(ctx)
		require.NoError(t, err)
		assert.Equal(t, 2, n.Active)
	})
	t.Run("StartChild beyond the limit queues the child", func(t *testing.T) {
		sup := start(t, tree.Spec{MaxRunning: 1, Children: []tree.ChildSpec{worker("a", nil)}})
		ref, err := sup.StartChild(ctx, worker("b", nil))
		require.NoError(t, err)
		assert.Nil(t, ref)
		assert.Equal(t, tree.Waiting, stateOf(t, sup, "b"))
	})
}

// childOf returns the Ref and state of child id of the supervisor at ref.
func childOf(t *testing.T, ref *actor.Ref, id string) (*actor.Ref, tree.ChildState) {
	t.Helper()
	infos, err := tree.SupervisorAt(ref).WhichChildren(context.Background())
	require.NoError(t, err)
	for _, in := range infos {
		if in.ID == id {
			return in.Ref, in.State
		}
	}
	require.FailNow(t, "no such child", id)
	return nil, 0
}

func TestSubtreeMaxRunning(t *testing.T) {
	ctx := context.Background()
	transient := tree.Restart(strategy.Transient)
	nested := func(id string, spec tree.Spec) tree.ChildSpec { return tree.Supervisor(id, spec) }

	t.Run("workers of nested supervisors share the cap, and wait in order", func(t *testing.T) {
		sup := start(t, tree.Spec{SubtreeMaxRunning: 2, Children: []tree.ChildSpec{
			nested("A", tree.Spec{Children: []tree.ChildSpec{worker("a1", nil, transient), worker("a2", nil)}}),
			nested("B", tree.Spec{Children: []tree.ChildSpec{worker("b1", nil), worker("b2", nil)}}),
		}})
		ev := events(t, sup)
		A, B := refOf(t, sup, "A"), refOf(t, sup, "B")
		_, st := childOf(t, B, "b1")
		assert.Equal(t, tree.Waiting, st, "the subtree's two slots are A's")
		_, st = childOf(t, B, "b2")
		assert.Equal(t, tree.Waiting, st)
		n, err := tree.SupervisorAt(B).CountChildren(ctx)
		require.NoError(t, err)
		assert.Zero(t, n.Active)

		a2, _ := childOf(t, A, "a2")
		require.NoError(t, a2.Send("crash")) // a crash keeps its slot
		ev(tree.ChildRestarted, "a2")
		_, st = childOf(t, B, "b1")
		assert.Equal(t, tree.Waiting, st)

		a1, _ := childOf(t, A, "a1")
		require.NoError(t, a1.Send("normal")) // a transient child's end frees its slot
		admitted := ev(tree.ChildAdmitted, "b1")
		assert.Equal(t, "root/B", admitted.Supervisor)
		_, st = childOf(t, B, "b1")
		assert.Equal(t, tree.Running, st)
		_, st = childOf(t, B, "b2")
		assert.Equal(t, tree.Waiting, st, "b2 still waits: b1 was first")

		require.NoError(t, tree.SupervisorAt(A).TerminateChild(ctx, "a2"))
		ev(tree.ChildAdmitted, "b2")
	})

	t.Run("a stopped supervisor gives its children's slots back", func(t *testing.T) {
		sup := start(t, tree.Spec{SubtreeMaxRunning: 1, Children: []tree.ChildSpec{
			nested("A", tree.Spec{Children: []tree.ChildSpec{worker("a", nil)}}),
			nested("B", tree.Spec{Children: []tree.ChildSpec{worker("b", nil)}}),
		}})
		ev := events(t, sup)
		_, st := childOf(t, refOf(t, sup, "B"), "b")
		require.Equal(t, tree.Waiting, st)
		require.NoError(t, sup.TerminateChild(ctx, "A"))
		ev(tree.ChildAdmitted, "b")
	})

	t.Run("caps nest: a child needs a slot from every capped supervisor above it", func(t *testing.T) {
		sup := start(t, tree.Spec{SubtreeMaxRunning: 3, Children: []tree.ChildSpec{
			nested("B", tree.Spec{SubtreeMaxRunning: 1, Children: []tree.ChildSpec{worker("b1", nil), worker("b2", nil)}}),
			worker("c", nil), worker("d", nil), worker("e", nil),
		}})
		B := refOf(t, sup, "B")
		_, st := childOf(t, B, "b2")
		assert.Equal(t, tree.Waiting, st, "B's own cap is 1")
		assert.Equal(t, tree.Running, stateOf(t, sup, "c"))
		assert.Equal(t, tree.Running, stateOf(t, sup, "d"))
		assert.Equal(t, tree.Waiting, stateOf(t, sup, "e"), "b1, c and d hold the root's 3")
	})

	t.Run("a dynamic supervisor under a cap refuses a child it has no slot for", func(t *testing.T) {
		sup := start(t, tree.Spec{SubtreeMaxRunning: 1, Children: []tree.ChildSpec{
			tree.Dynamic("pool", tree.DynamicSpec{Template: func(any) tree.ChildSpec { return worker("", nil) }}),
		}})
		pool := tree.DynamicAt(refOf(t, sup, "pool"))
		first, err := pool.StartChild(ctx, nil)
		require.NoError(t, err)
		_, err = pool.StartChild(ctx, nil)
		assert.ErrorIs(t, err, tree.ErrSubtreeFull)
		require.NoError(t, pool.TerminateChild(ctx, first))
		_, err = pool.StartChild(ctx, nil)
		assert.NoError(t, err, "the slot came back")
	})

	t.Run("a negative cap is a spec error", func(t *testing.T) {
		err := tree.Validate(tree.Spec{SubtreeMaxRunning: -1})
		assert.ErrorIs(t, err, tree.ErrNegativeLimit)
		var se *tree.SpecError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, "SubtreeMaxRunning", se.Field)
	})
}

// A child whose factory says Ignore takes no slot, under either cap: the
// sibling started after it runs at once, and Start returns once it does.
func TestIgnoredChildTakesNoSlot(t *testing.T) {
	for _, capped := range []struct {
		name string
		spec tree.Spec
	}{
		{"MaxRunning", tree.Spec{MaxRunning: 1}},
		{"SubtreeMaxRunning", tree.Spec{SubtreeMaxRunning: 1}},
	} {
		t.Run(capped.name, func(t *testing.T) {
			var sub *tree.Subscription
			spec := capped.spec
			spec.Children = []tree.ChildSpec{
				tree.Worker("a", func() actor.Actor { return tree.Ignore }),
				worker("b", nil),
			}
			start(t, spec, tree.WithSubscription(&sub, 256))
			var seen []string
			for ev := range sub.Events() {
				seen = append(seen, ev.Kind.String()+":"+ev.Child)
				if ev.Kind == tree.SupervisorStarted {
					break
				}
			}
			assert.Equal(t, []string{"child_started:b", "supervisor_started:"}, seen)
		})
	}
}

// Under MaxRunning, a slot freed during a OneForAll restart goes to the
// child queued first: here w, waiting since the start, rather than s, which
// was terminated by hand and which the group restart would start again.
func TestGroupRestartKeepsTheQueueOrder(t *testing.T) {
	ctx := context.Background()
	sup := start(t, tree.Spec{MaxRunning: 2, Strategy: strategy.OneForAll, Children: []tree.ChildSpec{
		worker("a", nil), worker("t", nil, tree.Restart(strategy.Temporary)), worker("s", nil), worker("w", nil)}})
	ev := events(t, sup)
	require.Equal(t, tree.Waiting, stateOf(t, sup, "s"))
	require.Equal(t, tree.Waiting, stateOf(t, sup, "w"))
	require.NoError(t, sup.TerminateChild(ctx, "s"))
	require.Equal(t, tree.Stopped, stateOf(t, sup, "s"))
	require.NoError(t, refOf(t, sup, "a").Send("crash"))
	ev(tree.ChildRestarted, "a")
	assert.Equal(t, tree.Running, stateOf(t, sup, "w"), "w was queued first")
	assert.Equal(t, tree.Waiting, stateOf(t, sup, "s"))
}

// A child that takes no slot (a nested supervisor, under SubtreeMaxRunning
// alone) starts at once, even when a worker before it waits for one: it
// has nothing to wait for.
func TestSlotlessChildIsNotQueued(t *testing.T) {
	sup := start(t, tree.Spec{SubtreeMaxRunning: 1, Children: []tree.ChildSpec{
		worker("w1", nil),
		worker("w2", nil),
		tree.Supervisor("n", tree.Spec{Children: []tree.ChildSpec{worker("x", nil)}}),
	}})
	require.Equal(t, tree.Running, stateOf(t, sup, "w1"))
	require.Equal(t, tree.Waiting, stateOf(t, sup, "w2"))
	assert.Equal(t, tree.Running, stateOf(t, sup, "n"), "a nested supervisor takes no slot")
	x, state := childOf(t, refOf(t, sup, "n"), "x")
	assert.Nil(t, x)
	assert.Equal(t, tree.Waiting, state, "its worker waits for the subtree's slot, in it")
}
