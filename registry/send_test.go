package registry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/mailbox"
	"github.com/arbor-go/arbor/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSendByName(t *testing.T) {
	t.Run("a message sent by name reaches the holder", func(t *testing.T) {
		reg := registry.New()
		b := spawnBox(t)
		require.NoError(t, reg.Register("bridge/matrix", b.ref))
		require.NoError(t, reg.Send("bridge/matrix", "hello"))
		assert.Equal(t, "hello", recv(t, b.got))
	})

	t.Run("a send to an unknown name fails with an error naming it", func(t *testing.T) {
		reg := registry.New()
		err := reg.Send("bridge/nobody", "hello")
		require.ErrorIs(t, err, registry.ErrNotFound)
		var nf *registry.NotFoundError
		require.True(t, errors.As(err, &nf))
		assert.Equal(t, "bridge/nobody", nf.Name)
		assert.Contains(t, err.Error(), `"bridge/nobody"`)
	})

	t.Run("a send that the actor refuses fails with its error and the name", func(t *testing.T) {
		reg := registry.New()
		release := make(chan struct{})
		started := make(chan struct{})
		ref, err := actor.Spawn(context.Background(), actor.Func(func(c *actor.Context, msg any) error {
			if msg == "block" {
				close(started)
				<-release
			}
			return nil
		}), actor.WithMailbox(mailbox.Options{Capacity: 1, Policy: mailbox.Fail}), quiet())
		require.NoError(t, err)
		t.Cleanup(func() { close(release); stop(t, ref) })
		require.NoError(t, reg.Register("busy", ref))
		require.NoError(t, reg.Send("busy", "block"))
		<-started
		require.NoError(t, reg.Send("busy", "fills the mailbox"))
		err = reg.Send("busy", "one too many")
		require.ErrorIs(t, err, mailbox.ErrFull)
		assert.Contains(t, err.Error(), `"busy"`)
	})

	t.Run("a nil message is refused", func(t *testing.T) {
		reg := registry.New()
		b := spawnBox(t)
		require.NoError(t, reg.Register("x", b.ref))
		assert.ErrorIs(t, reg.Send("x", nil), actor.ErrNilMessage)
	})

	t.Run("a send by name to an actor that just stopped fails", func(t *testing.T) {
		reg := registry.New()
		b := spawnBox(t)
		require.NoError(t, reg.Register("x", b.ref))
		stop(t, b.ref)
		// Before the death is processed the name still resolves and the
		// send fails as a send to a stopped actor; after, it is not found.
		err := reg.Send("x", "hello")
		require.Error(t, err)
		assert.True(t, errors.Is(err, actor.ErrStopped) || errors.Is(err, registry.ErrNotFound), "got %v", err)
	})
}

func TestCallByName(t *testing.T) {
	t.Run("a call by name returns the holder's reply", func(t *testing.T) {
		reg := registry.New()
		b := spawnBox(t)
		require.NoError(t, reg.Register("echo", b.ref))
		v, err := reg.Call(context.Background(), "echo", 42)
		require.NoError(t, err)
		assert.Equal(t, 42, v)
	})

	t.Run("a call to an unknown name fails at once", func(t *testing.T) {
		reg := registry.New()
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		_, err := reg.Call(ctx, "nobody", 42)
		require.ErrorIs(t, err, registry.ErrNotFound)
		assert.Contains(t, err.Error(), `"nobody"`)
	})

	t.Run("a call whose callee crashes returns the exit reason and the name", func(t *testing.T) {
		reg := registry.New()
		b := spawnBox(t, actor.WithLogger(nopLogger()))
		require.NoError(t, reg.Register("fragile", b.ref))
		_, err := reg.Call(context.Background(), "fragile", "crash")
		require.ErrorIs(t, err, errCrash)
		var exit *actor.ExitError
		require.True(t, errors.As(err, &exit))
		assert.Same(t, b.ref, exit.Actor)
		assert.Contains(t, err.Error(), `"fragile"`)
	})

	t.Run("a call bounded by its context returns the context's error", func(t *testing.T) {
		reg := registry.New()
		release := make(chan struct{})
		ref, err := actor.Spawn(context.Background(), actor.Func(func(c *actor.Context, msg any) error {
			<-release
			return nil
		}), quiet())
		require.NoError(t, err)
		t.Cleanup(func() { stop(t, ref) })
		defer close(release)
		require.NoError(t, reg.Register("slow", ref))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err = reg.Call(ctx, "slow", "anything")
		require.ErrorIs(t, err, context.Canceled)
	})
}
