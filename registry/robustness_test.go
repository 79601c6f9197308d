package registry_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A zero Ref (declared by mistake, not made by Spawn) is no actor: the actor
// package answers ErrNilActor for it everywhere (Send, Call, Stop, Done,
// Err). The registry documents ErrNilActor for a nil ref, but for a zero Ref
// it says the actor has stopped, which a caller checking
// errors.Is(err, actor.ErrNilActor) does not catch.
func TestRegisterAndJoinOfAZeroRefAreErrNilActor(t *testing.T) {
	reg := registry.New()
	zero := new(actor.Ref)
	require.ErrorIs(t, zero.Send("x"), actor.ErrNilActor, "the actor package's answer for a zero Ref")

	err := reg.Register("zero", zero)
	assert.True(t, errors.Is(err, actor.ErrNilActor), "Register: got %v", err)
	err = reg.Join("g", zero)
	assert.True(t, errors.Is(err, actor.ErrNilActor), "Join: got %v", err)
	assert.Empty(t, reg.Names())
	assert.Empty(t, reg.Groups())
}

// An observer that panics (a bug of its own) panics out of the change that
// called it, on the caller's goroutine, which an actor's Receive recovers as
// a crash. The registry is left whole and unlocked: the change was made,
// later changes go through, and the name still ends with its holder.
func TestObserverPanicLeavesTheRegistryUsable(t *testing.T) {
	reg := registry.New(registry.WithObserver(func(e registry.Event) {
		if e.Name == "boom" || e.Group == "boom" {
			panic("observer bug")
		}
	}))
	ref := spawnBox(t).ref
	panics := func(f func()) (v any) {
		defer func() { v = recover() }()
		f()
		return nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		assert.NotNil(t, panics(func() { _ = reg.Register("boom", ref) }))
		assert.NotNil(t, panics(func() { _ = reg.Join("boom", ref) }))
		assert.NoError(t, reg.Register("after", ref))
		holder, ok := reg.Lookup("boom")
		assert.True(t, ok && holder == ref, "the name was registered before the observer heard of it")
		assert.Equal(t, []*actor.Ref{ref}, reg.Members("boom"))
		assert.NotNil(t, panics(func() { _ = reg.Leave("boom", ref) }))
		assert.Empty(t, reg.Members("boom"))
		assert.NotNil(t, panics(func() { _ = reg.Unregister("boom") }))
		_, ok = reg.Lookup("boom")
		assert.False(t, ok)
		assert.NoError(t, reg.Register("boom2", ref))
	}()
	closed(t, done)
	stop(t, ref)
	assert.Empty(t, reg.Names(), "the names ended with their holder")
}

// A real actor (made by Spawn) that stopped for good with a reason wrapping
// actor.ErrNilActor (it forwarded to a nil Ref and returned the error) is a
// stopped actor, not a zero Ref: Register and Join must say ErrStopped, as
// documented, not ErrNilActor.
func TestRegisterAndJoinOfAnActorStoppedWithAnErrNilActorReasonSayErrStopped(t *testing.T) {
	reg := registry.New()
	var peer *actor.Ref // never set: a bug of the actor's own
	ref, err := actor.Spawn(context.Background(), actor.Func(func(c *actor.Context, msg any) error {
		if err := peer.Send(msg); err != nil {
			return fmt.Errorf("forward: %w", err)
		}
		return nil
	}), quiet(), actor.WithLogger(nopLogger()))
	require.NoError(t, err)
	require.NoError(t, ref.Send("x"))
	closed(t, ref.Done())
	require.ErrorIs(t, ref.Err(), actor.ErrNilActor, "the actor crashed for good on its own bug")
	require.NotEqual(t, actor.ErrNilActor, ref.Err())

	err = reg.Register("svc", ref)
	assert.ErrorIs(t, err, actor.ErrStopped, "Register of a stopped actor: got %v", err)
	err = reg.Join("g", ref)
	assert.ErrorIs(t, err, actor.ErrStopped, "Join of a stopped actor: got %v", err)
}

// Join of an actor that has stopped for good with a normal exit (reason nil)
// must fail with ErrStopped, as documented and as Register does: it joins
// nothing. add's m.dead branch reads ref.Err() == nil as "the incarnation
// ended, the actor lives on", but nil is also a normal exit's reason.
func TestJoinOfAnActorStoppedNormallyIsErrStopped(t *testing.T) {
	reg := registry.New()
	b := spawnBox(t)
	require.NoError(t, b.ref.Send("stop"))
	closed(t, b.ref.Done())
	require.NoError(t, b.ref.Err(), "a normal exit")

	assert.ErrorIs(t, reg.Register("svc", b.ref), actor.ErrStopped, "Register says so")
	err := reg.Join("g", b.ref)
	assert.ErrorIs(t, err, actor.ErrStopped, "Join of a stopped actor: got %v", err)
	assert.Empty(t, reg.Members("g"))
}
