package tree_test

import (
	"context"
	"testing"

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
