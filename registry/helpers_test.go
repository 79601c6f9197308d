package registry_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/registry"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

// wait bounds every wait for an effect: generous, since a test that passes
// never waits that long.
const wait = 5 * time.Second

var errCrash = errors.New("crash on request")

// box is an actor for tests: it answers a call with the message itself,
// puts every other message on got, crashes on "crash" and stops on "stop".
type box struct {
	ref *actor.Ref
	got chan any
}

func behaviour(got chan any) actor.Actor {
	return actor.Func(func(c *actor.Context, msg any) error {
		switch msg {
		case "crash":
			return errCrash
		case "stop":
			c.Stop(nil)
			return nil
		}
		if c.Reply(msg) == actor.ErrNoCall {
			got <- msg
		}
		return nil
	})
}

// quiet drops dead letters instead of logging them: tests make plenty.
func quiet() actor.Option { return actor.WithDeadLetters(func(actor.DeadLetter) {}) }

func spawnBox(t testing.TB, opts ...actor.Option) *box {
	t.Helper()
	got := make(chan any, 1024)
	ref, err := actor.Spawn(context.Background(), behaviour(got), append([]actor.Option{quiet()}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ref.Stop(context.Background()) })
	return &box{ref: ref, got: got}
}

// stop stops ref and waits until it has stopped for good.
func stop(t testing.TB, ref *actor.Ref) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	require.NoError(t, ref.Stop(ctx))
}

// recv returns the next value from ch, failing the test after a while.
func recv[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v, ok := <-ch:
		require.True(t, ok, "channel closed")
		return v
	case <-time.After(wait):
		require.FailNow(t, "nothing received in time")
	}
	panic("unreachable")
}

// watch opens a watch closed with the test.
func watch(t testing.TB, reg *registry.Registry, prefix string, buffer int) *registry.Watch {
	t.Helper()
	w := reg.Watch(prefix, buffer)
	t.Cleanup(w.Close)
	return w
}

// next returns the next event of w.
func next(t testing.TB, w *registry.Watch) registry.Event {
	t.Helper()
	return recv(t, w.Events())
}

// expect reads the next event of w and checks its kind, key and actor.
func expect(t testing.TB, w *registry.Watch, kind registry.EventKind, key string, ref *actor.Ref) registry.Event {
	t.Helper()
	e := next(t, w)
	require.Equal(t, kind, e.Kind, "event %v", e)
	if kind == registry.Joined || kind == registry.Left {
		require.Equal(t, key, e.Group, "event %v", e)
	} else {
		require.Equal(t, key, e.Name, "event %v", e)
	}
	require.Same(t, ref, e.Ref, "event %v", e)
	return e
}

// nopLogger silences the crash reports of actors that crash on purpose.
func nopLogger() zerolog.Logger { return zerolog.Nop() }

// closed waits for ch to be closed, failing the test after a while.
func closed(t testing.TB, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(wait):
		require.FailNow(t, "not closed in time")
	}
}

// dying holds ref in the middle of its death: once it has stopped (Alive is
// false), the hooks that release what it held (the registry's among them)
// run one after the other, in no set order, before its Done closes, and one
// of them, installed here, waits for release. Between dying's channel and
// release, ref is dead and the registry may or may not have heard of it
// yet: the window in which races with death happen.
func dying(t testing.TB, ref *actor.Ref) (dead <-chan struct{}, release func()) {
	t.Helper()
	entered, gate := make(chan struct{}), make(chan struct{})
	ref.OnStop(func(*actor.Ref, error) {
		close(entered)
		<-gate
	})
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)
	return entered, release
}
