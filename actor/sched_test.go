package actor_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/arbor-go/arbor/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIdleActorsHoldNoGoroutine(t *testing.T) {
	const n = 1000
	baseline := runtime.NumGoroutine()
	var wg sync.WaitGroup
	wg.Add(n)
	a := actor.Func(func(*actor.Context, any) error {
		wg.Done()
		return nil
	})
	refs := make([]*actor.Ref, n)
	for i := range refs {
		refs[i] = mustSpawn(t, a)
		require.NoError(t, refs[i].Send(i))
	}
	handled := make(chan struct{})
	go func() {
		wg.Wait()
		close(handled)
	}()
	next(t, handled)

	// The dispatch goroutines that just handled their message return soon
	// after; a few of the test's own may still be winding down.
	const slack = 10
	eventually(t, func() bool { return runtime.NumGoroutine() <= baseline+slack },
		"the goroutine count returns to its baseline")
	for _, ref := range refs {
		require.True(t, ref.Alive(), "idle is not stopped")
	}

	t.Run("an idle actor wakes up for its next message", func(t *testing.T) {
		wg.Add(1)
		require.NoError(t, refs[0].Send("again"))
		wg.Wait()
	})
}

func TestFloodedActorDoesNotStarveOthers(t *testing.T) {
	// On a single processor the flooded actor could only be overtaken if it
	// gives the processor back between batches.
	prev := runtime.GOMAXPROCS(1)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })

	const backlog = 50_000
	var handled atomic.Int64
	g := newGate()
	defer g.open()
	entered := make(chan struct{})
	flooded := mustSpawn(t, actor.Func(func(_ *actor.Context, msg any) error {
		if msg == "block" {
			close(entered)
			<-g.ch
			return nil
		}
		handled.Add(1)
		return nil
	}))
	require.NoError(t, flooded.Send("block"))
	next(t, entered)
	for i := range backlog {
		require.NoError(t, flooded.Send(i))
	}

	progressAt := make(chan int64, 1)
	other := mustSpawn(t, actor.Func(func(*actor.Context, any) error {
		progressAt <- handled.Load()
		return nil
	}))
	require.NoError(t, other.Send("hello"))
	g.open()

	at := next(t, progressAt)
	assert.Less(t, at, int64(backlog), "the other actor ran while the flooded one still had a backlog")
	eventually(t, func() bool { return handled.Load() == backlog }, "the flooded actor handles its whole backlog")
}
