package actor_test

import (
	"context"
	"errors"
	"testing"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echo replies to every call with its message and forwards every sent
// message to out.
func echo(out chan<- any) actor.Func {
	return func(c *actor.Context, msg any) error {
		if err := c.Reply(msg); errors.Is(err, actor.ErrNoCall) {
			out <- msg
		}
		return nil
	}
}

// fakeDirectory is a Directory of fixed names, to show that any
// implementation will do.
type fakeDirectory map[string]*actor.Ref

func (d fakeDirectory) Lookup(name string) (*actor.Ref, bool) {
	ref, ok := d[name]
	return ref, ok
}

func (d fakeDirectory) Send(name string, msg any) error {
	if ref, ok := d[name]; ok {
		return ref.Send(msg)
	}
	return errors.New("fake: no such name")
}

func (d fakeDirectory) Call(ctx context.Context, name string, msg any) (any, error) {
	if ref, ok := d[name]; ok {
		return ref.Call(ctx, msg)
	}
	return nil, errors.New("fake: no such name")
}

func TestDirectoryAbsent(t *testing.T) {
	t.Parallel()
	ref := mustSpawn(t, puppet(make(chan any, 1)))
	exec(t, ref, func(c *actor.Context) {
		assert.Nil(t, c.Directory())
		assert.ErrorIs(t, c.SendName("x", 1), actor.ErrNoDirectory)
		_, err := c.CallName(context.Background(), "x", 1)
		assert.ErrorIs(t, err, actor.ErrNoDirectory)
	})
}

func TestDirectorySendAndCallByName(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	got := make(chan any, 4)
	target := mustSpawn(t, echo(got))
	require.NoError(t, reg.Register("svc/echo", target))
	caller := mustSpawn(t, puppet(make(chan any, 1)), actor.WithDirectory(reg))

	exec(t, caller, func(c *actor.Context) {
		assert.Same(t, actor.Directory(reg), c.Directory())
		assert.NoError(t, c.SendName("svc/echo", "hello"))
		v, err := c.CallName(c.Context(), "svc/echo", "ping")
		assert.NoError(t, err)
		assert.Equal(t, "ping", v)

		assert.ErrorIs(t, c.SendName("svc/none", 1), registry.ErrNotFound)
		_, err = c.CallName(c.Context(), "svc/none", 1)
		assert.ErrorIs(t, err, registry.ErrNotFound)
	})
	assert.Equal(t, "hello", next(t, got))
}

func TestDirectoryCallNameSelf(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	self := mustSpawn(t, puppet(make(chan any, 1)), actor.WithDirectory(reg))
	require.NoError(t, reg.Register("me", self))
	exec(t, self, func(c *actor.Context) {
		// A context unrelated to the actor's: the name alone tells.
		_, err := c.CallName(context.Background(), "me", 1)
		assert.ErrorIs(t, err, actor.ErrCallSelf)
		_, err = c.CallName(c.Context(), "me", 1)
		assert.ErrorIs(t, err, actor.ErrCallSelf)
	})
}

func TestDirectoryInheritedBySpawn(t *testing.T) {
	t.Parallel()
	got := make(chan any, 4)
	target := mustSpawn(t, echo(got))
	dir := fakeDirectory{"target": target}
	parent := mustSpawn(t, puppet(make(chan any, 1)), actor.WithDirectory(dir))

	dirs := make(chan actor.Directory, 2)
	probe := func(c *actor.Context, msg any) error {
		dirs <- c.Directory()
		return c.SendName("target", msg)
	}
	exec(t, parent, func(c *actor.Context) {
		kid, err := c.Spawn(actor.Func(probe))
		require.NoError(t, err)
		require.NoError(t, kid.Send("from kid"))
		orphan, err := c.Spawn(actor.Func(probe), actor.WithDirectory(nil))
		require.NoError(t, err)
		require.NoError(t, orphan.Send("from orphan"))
	})
	d1, d2 := next(t, dirs), next(t, dirs)
	// The two children run concurrently: one inherited the directory, the
	// other was spawned without one.
	assert.ElementsMatch(t, []bool{true, false}, []bool{d1 != nil, d2 != nil})
	assert.Equal(t, "from kid", next(t, got))
	select {
	case v := <-got:
		t.Fatalf("the child without a directory reached %v", v)
	default:
	}
}

func TestRegistryIsADirectory(t *testing.T) {
	t.Parallel()
	var d actor.Directory = registry.New()
	_, ok := d.Lookup("nobody")
	assert.False(t, ok)
}
