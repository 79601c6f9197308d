package tree_test

import (
	"context"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/strategy"
	"github.com/arbor-go/arbor/tree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOneForAllEscalation(t *testing.T) {
	t.Run("a child supervisor past its intensity stops its children and its parent restarts it", func(t *testing.T) {
		refs := make(chan *actor.Ref, 16)
		inner := tree.Spec{Strategy: strategy.OneForAll,
			Intensity: strategy.Intensity{MaxRestarts: 0, Period: time.Second},
			Children:  []tree.ChildSpec{tracked("a", refs), tracked("b", refs)}}
		sup := start(t, tree.Spec{Name: "root", Children: []tree.ChildSpec{tree.Supervisor("inner", inner)}})
		ev := events(t, sup)
		a, b := nextRef(t, refs), nextRef(t, refs)
		innerRef := refOf(t, sup, "inner")

		require.NoError(t, a.Send("crash"))
		exceeded := ev(tree.IntensityExceeded, "a")
		assert.Equal(t, "root/inner", exceeded.Supervisor)
		assert.ErrorIs(t, exceeded.Reason, errBoom)
		exited := ev(tree.ChildExited, "inner")
		assert.Equal(t, "root", exited.Supervisor)
		assert.ErrorIs(t, exited.Reason, actor.ErrShutdown, "escalation is a shutdown, as in OTP")
		assert.ErrorIs(t, exited.Reason, tree.ErrIntensityExceeded)
		restarted := ev(tree.ChildRestarted, "inner")
		assert.Same(t, innerRef, restarted.Ref, "the child supervisor restarts in place")

		a2, b2 := nextRef(t, refs), nextRef(t, refs)
		assert.NotSame(t, a, a2, "grandchildren stopped for good start afresh")
		assert.NotSame(t, b, b2)
		assert.False(t, a.Alive())
		assert.False(t, b.Alive())
		assert.Equal(t, uint64(1), incarnation(t, a2))
	})
}

func TestTree(t *testing.T) {
	t.Run("failure escalates through two levels and the root gives up", func(t *testing.T) {
		refs := make(chan *actor.Ref, 16)
		zero := strategy.Intensity{MaxRestarts: 0, Period: time.Second}
		leaf := tree.Spec{Intensity: zero, Children: []tree.ChildSpec{tracked("w", refs)}}
		mid := tree.Spec{Intensity: zero, Children: []tree.ChildSpec{tree.Supervisor("leaf", leaf)}}
		sup, err := tree.Start(context.Background(), tree.Spec{Name: "top", Intensity: zero,
			Children: []tree.ChildSpec{tree.Supervisor("mid", mid)}}, quiet())
		require.NoError(t, err)
		w := nextRef(t, refs)

		require.NoError(t, w.Send("crash"))
		select {
		case <-sup.Done():
		case <-time.After(wait):
			require.FailNow(t, "the root did not give up")
		}
		assert.ErrorIs(t, sup.Err(), tree.ErrIntensityExceeded)
		assert.ErrorIs(t, sup.Err(), actor.ErrShutdown)
		var reason *tree.ExitReason
		require.ErrorAs(t, sup.Err(), &reason)
		assert.Equal(t, "top", reason.Supervisor)
		assert.Equal(t, "mid", reason.Child)
		assert.False(t, w.Alive())
		sup.Stop(context.Background())
	})
	t.Run("a crash deep in the tree restarts only its own branch", func(t *testing.T) {
		refs := make(chan *actor.Ref, 16)
		other := make(chan *actor.Ref, 16)
		leaf := tree.Spec{Children: []tree.ChildSpec{tracked("w", refs)}}
		sup := start(t, tree.Spec{Name: "top", Children: []tree.ChildSpec{
			tree.Supervisor("left", tree.Spec{Children: []tree.ChildSpec{tree.Supervisor("leaf", leaf)}}),
			tree.Supervisor("right", tree.Spec{Children: []tree.ChildSpec{tracked("x", other)}}),
		}})
		ev := events(t, sup)
		w, x := nextRef(t, refs), nextRef(t, other)
		require.NoError(t, w.Send("crash"))
		restarted := ev(tree.ChildRestarted, "w")
		assert.Equal(t, "top/left/leaf", restarted.Supervisor)

		left := tree.SupervisorAt(refOf(t, sup, "left"))
		infos, err := left.WhichChildren(context.Background())
		require.NoError(t, err)
		require.Len(t, infos, 1)
		assert.Equal(t, "leaf", infos[0].ID)
		_, err = left.StartChild(context.Background(), worker("extra", nil))
		require.NoError(t, err)
		require.NoError(t, left.TerminateChild(context.Background(), "extra"))
		require.NoError(t, left.DeleteChild(context.Background(), "extra"))
		assert.Equal(t, uint64(2), incarnation(t, w))
		assert.Equal(t, uint64(1), incarnation(t, x))
	})
}

func TestSignificantTransient(t *testing.T) {
	t.Run("any significant: one significant child's normal exit stops the supervisor", func(t *testing.T) {
		sup, err := tree.Start(context.Background(), tree.Spec{AutoShutdown: strategy.AnySignificant,
			Children: []tree.ChildSpec{
				worker("job", nil, tree.Restart(strategy.Transient), tree.Significant()),
				worker("helper", nil),
			}}, quiet())
		require.NoError(t, err)
		helper := refOf(t, sup, "helper")
		require.NoError(t, refOf(t, sup, "job").Send("normal"))
		<-sup.Done()
		assert.ErrorIs(t, sup.Err(), tree.ErrAutoShutdown)
		assert.False(t, helper.Alive())
	})
	t.Run("all significant: the supervisor stops only when the last one exits", func(t *testing.T) {
		sup := start(t, tree.Spec{AutoShutdown: strategy.AllSignificant,
			Children: []tree.ChildSpec{
				worker("one", nil, tree.Restart(strategy.Transient), tree.Significant()),
				worker("two", nil, tree.Restart(strategy.Transient), tree.Significant()),
			}})
		ev := events(t, sup)
		require.NoError(t, refOf(t, sup, "one").Send("normal"))
		ev(tree.ChildExited, "one")
		assert.Equal(t, tree.Stopped, stateOf(t, sup, "one"))
		require.NoError(t, refOf(t, sup, "two").Send("shutdown"))
		<-sup.Done()
		assert.ErrorIs(t, sup.Err(), tree.ErrAutoShutdown)
	})
	t.Run("a significant child that crashes is restarted, not a reason to stop", func(t *testing.T) {
		sup := start(t, tree.Spec{AutoShutdown: strategy.AnySignificant,
			Children: []tree.ChildSpec{worker("job", nil, tree.Restart(strategy.Transient), tree.Significant())}})
		ev := events(t, sup)
		require.NoError(t, refOf(t, sup, "job").Send("crash"))
		ev(tree.ChildRestarted, "job")
	})
	t.Run("terminating a significant child does not stop the supervisor", func(t *testing.T) {
		sup := start(t, tree.Spec{AutoShutdown: strategy.AnySignificant,
			Children: []tree.ChildSpec{worker("job", nil, tree.Restart(strategy.Transient), tree.Significant())}})
		require.NoError(t, sup.TerminateChild(context.Background(), "job"))
		assert.Equal(t, tree.Stopped, stateOf(t, sup, "job"))
	})
}
