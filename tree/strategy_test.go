package tree_test

import (
	"context"
	"testing"

	"github.com/arbor-go/arbor/strategy"
	"github.com/arbor-go/arbor/tree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOneForOne(t *testing.T) {
	t.Run("only the crashed child restarts, in place, keeping its Ref", func(t *testing.T) {
		sup := start(t, tree.Spec{Children: []tree.ChildSpec{worker("a", nil), worker("b", nil)}})
		ev := events(t, sup)
		a, b := refOf(t, sup, "a"), refOf(t, sup, "b")
		require.NoError(t, a.Send("crash"))
		exited := ev(tree.ChildExited, "a")
		assert.ErrorIs(t, exited.Reason, errBoom)
		restarted := ev(tree.ChildRestarted, "a")
		assert.Same(t, a, restarted.Ref)
		assert.Equal(t, uint64(2), incarnation(t, a))
		assert.Equal(t, uint64(1), incarnation(t, b))
		assert.Same(t, a, refOf(t, sup, "a"))
	})
	t.Run("a panic is a crash that carries its stack", func(t *testing.T) {
		sup := start(t, tree.Spec{Children: []tree.ChildSpec{worker("a", nil)}})
		ev := events(t, sup)
		require.NoError(t, refOf(t, sup, "a").Send("panic"))
		exited := ev(tree.ChildExited, "a")
		assert.NotEmpty(t, exited.Stack)
		assert.Contains(t, exited.Stack.String(), "probe")
		ev(tree.ChildRestarted, "a")
	})
}

func TestOneForAll(t *testing.T) {
	t.Run("a crash stops the others in reverse order and starts all in order", func(t *testing.T) {
		sup := start(t, tree.Spec{Strategy: strategy.OneForAll,
			Children: []tree.ChildSpec{worker("a", nil), worker("b", nil), worker("c", nil)}})
		ev := events(t, sup)
		b := refOf(t, sup, "b")
		require.NoError(t, b.Send("crash"))
		ev(tree.ChildExited, "b")
		assert.Equal(t, "c", ev(tree.ChildTerminated, "").Child)
		assert.Equal(t, "a", ev(tree.ChildTerminated, "").Child)
		var order []string
		for range 3 {
			e := ev(tree.ChildRestarted, "")
			order = append(order, e.Child)
		}
		assert.Equal(t, []string{"a", "b", "c"}, order)
		assert.Same(t, b, refOf(t, sup, "b"), "the crashed child restarts in place")
		assert.Equal(t, uint64(2), incarnation(t, b))
	})
	t.Run("a temporary sibling stopped as collateral is gone", func(t *testing.T) {
		sup := start(t, tree.Spec{Strategy: strategy.OneForAll, Children: []tree.ChildSpec{
			worker("a", nil), worker("tmp", nil, tree.Restart(strategy.Temporary))}})
		ev := events(t, sup)
		require.NoError(t, refOf(t, sup, "a").Send("crash"))
		ev(tree.ChildRestarted, "a")
		assert.Equal(t, tree.ChildState(-1), stateOf(t, sup, "tmp"))
	})
}

func TestOutsideStop(t *testing.T) {
	t.Run("a child stopped for good from outside is restarted as a new actor", func(t *testing.T) {
		sup := start(t, tree.Spec{Children: []tree.ChildSpec{worker("a", nil)}})
		ev := events(t, sup)
		a := refOf(t, sup, "a")
		require.NoError(t, a.Stop(context.Background()))
		restarted := ev(tree.ChildRestarted, "a")
		assert.NotSame(t, a, restarted.Ref)
		assert.Same(t, restarted.Ref, refOf(t, sup, "a"))
	})
}

func TestRestForOne(t *testing.T) {
	t.Run("the children after the crashed one restart, those before keep running", func(t *testing.T) {
		sup := start(t, tree.Spec{Strategy: strategy.RestForOne,
			Children: []tree.ChildSpec{worker("a", nil), worker("b", nil), worker("c", nil)}})
		ev := events(t, sup)
		a, b := refOf(t, sup, "a"), refOf(t, sup, "b")
		require.NoError(t, b.Send("crash"))
		assert.Equal(t, "c", ev(tree.ChildTerminated, "").Child)
		assert.Equal(t, "b", ev(tree.ChildRestarted, "").Child)
		assert.Equal(t, "c", ev(tree.ChildRestarted, "").Child)
		assert.Same(t, a, refOf(t, sup, "a"))
		assert.Equal(t, uint64(1), incarnation(t, a))
		assert.Equal(t, uint64(2), incarnation(t, b))
	})
}

// exitOnce makes a lone child of the given restart type exit with msg and
// checks whether it restarts.
func exitOnce(t *testing.T, restart strategy.Restart, msg string, again bool) {
	t.Helper()
	sup := start(t, tree.Spec{Children: []tree.ChildSpec{worker("a", nil, tree.Restart(restart))}})
	ev := events(t, sup)
	require.NoError(t, refOf(t, sup, "a").Send(msg))
	ev(tree.ChildExited, "a")
	if again {
		ev(tree.ChildRestarted, "a")
		assert.Equal(t, tree.Running, stateOf(t, sup, "a"))
		return
	}
	want := tree.Stopped
	if restart == strategy.Temporary {
		want = -1
	}
	assert.Equal(t, want, stateOf(t, sup, "a"))
}

func TestPermanentNormal(t *testing.T) {
	t.Run("a permanent child restarts after a normal exit", func(t *testing.T) {
		exitOnce(t, strategy.Permanent, "normal", true)
	})
	t.Run("a permanent child restarts after a shutdown", func(t *testing.T) {
		exitOnce(t, strategy.Permanent, "shutdown", true)
	})
}

func TestTransientNormal(t *testing.T) {
	t.Run("a transient child stays stopped after a normal exit, its spec kept", func(t *testing.T) {
		exitOnce(t, strategy.Transient, "normal", false)
	})
}

func TestTransientShutdown(t *testing.T) {
	t.Run("a transient child stays stopped after a shutdown with a detail", func(t *testing.T) {
		exitOnce(t, strategy.Transient, "shutdown", false)
	})
	t.Run("a transient child restarts after a crash", func(t *testing.T) {
		exitOnce(t, strategy.Transient, "crash", true)
	})
}

func TestTemporaryAbnormal(t *testing.T) {
	t.Run("a temporary child is not restarted after a crash and its spec is dropped", func(t *testing.T) {
		exitOnce(t, strategy.Temporary, "crash", false)
	})
}
