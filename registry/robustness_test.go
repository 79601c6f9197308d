package registry_test

import (
	"errors"
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
