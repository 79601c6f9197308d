package tree_test

import (
	"context"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/tree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stubborn is a task that ignores its context until release is closed: a
// child that will not stop when asked.
func stubborn(id string, release <-chan struct{}, running chan<- struct{}, opts ...tree.ChildOption) tree.ChildSpec {
	return tree.Task(id, func(ctx context.Context, c *actor.Context) error {
		running <- struct{}{}
		<-release
		return nil
	}, opts...)
}

func TestSupStopTimeout(t *testing.T) {
	t.Run("a child that outlives its shutdown timeout is killed and named", func(t *testing.T) {
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		running := make(chan struct{}, 1)
		sup, err := tree.Start(context.Background(), tree.Spec{Children: []tree.ChildSpec{
			worker("polite", nil),
			stubborn("hang", release, running, tree.Shutdown(20*time.Millisecond)),
		}}, quiet())
		require.NoError(t, err)
		<-running
		sub := sup.Subscribe(64)
		rep := sup.Stop(context.Background())
		assert.Equal(t, []string{"root/hang"}, rep.Killed)
		assert.Equal(t, []string{"root/hang"}, rep.Abandoned)
		assert.Empty(t, rep.Stuck)
		assert.NoError(t, rep.Err)
		var kinds []tree.EventKind
		for ev := range sub.Events() {
			if ev.Child != "" {
				kinds = append(kinds, ev.Kind)
			}
		}
		assert.Equal(t, []tree.EventKind{tree.ChildKilled, tree.ChildTerminated}, kinds)
	})
	t.Run("a stop whose context ends names the children still running as stuck", func(t *testing.T) {
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		running := make(chan struct{}, 1)
		sup, err := tree.Start(context.Background(), tree.Spec{Children: []tree.ChildSpec{
			stubborn("hang", release, running, tree.ShutdownInfinity()),
		}}, quiet())
		require.NoError(t, err)
		<-running
		sub := sup.Subscribe(64)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		rep := sup.Stop(ctx)
		assert.Equal(t, []string{"root/hang"}, rep.Stuck)
		stuck := false
		for ev := range sub.Events() {
			stuck = stuck || (ev.Kind == tree.Stuck && ev.Child == "hang")
		}
		assert.True(t, stuck, "a Stuck event names the child")
		assert.ErrorIs(t, rep.Err, context.DeadlineExceeded)
		<-sup.Done()
	})
	t.Run("ShutdownGrace bounds a whole stop on top of the timeouts", func(t *testing.T) {
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		running := make(chan struct{}, 1)
		sup, err := tree.Start(context.Background(), tree.Spec{ShutdownGrace: 10 * time.Millisecond,
			Children: []tree.ChildSpec{tree.Supervisor("inner", tree.Spec{Children: []tree.ChildSpec{
				stubborn("hang", release, running, tree.ShutdownInfinity())}})},
		}, quiet())
		require.NoError(t, err)
		<-running
		rep := sup.Stop(context.Background())
		assert.Equal(t, []string{"root/inner"}, rep.Stuck, "the inner supervisor has no bound of its own")
	})
}

func TestSupStopBrutalKill(t *testing.T) {
	t.Run("a brutal kill ends the child at once and is no anomaly", func(t *testing.T) {
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		running := make(chan struct{}, 1)
		sup, err := tree.Start(context.Background(), tree.Spec{Children: []tree.ChildSpec{
			stubborn("hang", release, running, tree.BrutalKill())}}, quiet())
		require.NoError(t, err)
		<-running
		sub := sup.Subscribe(64)
		rep := sup.Stop(context.Background())
		assert.Empty(t, rep.Killed)
		assert.NoError(t, rep.Err)
		for ev := range sub.Events() {
			if ev.Kind == tree.ChildTerminated {
				assert.ErrorIs(t, ev.Reason, actor.ErrKilled)
			}
		}
	})
}
