package registry_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegister(t *testing.T) {
	t.Run("a registered name is found by Lookup", func(t *testing.T) {
		reg := registry.New()
		b := spawnBox(t)
		require.NoError(t, reg.Register("bridge/matrix", b.ref))
		ref, ok := reg.Lookup("bridge/matrix")
		require.True(t, ok)
		assert.Same(t, b.ref, ref)
		_, ok = reg.Lookup("bridge/other")
		assert.False(t, ok, "an unregistered name is not found")
	})

	t.Run("the zero value is a registry ready to use", func(t *testing.T) {
		var reg registry.Registry
		b := spawnBox(t)
		require.NoError(t, reg.Register("zero", b.ref))
		require.NoError(t, reg.Send("zero", "hello"))
		assert.Equal(t, "hello", recv(t, b.got))
		require.NoError(t, reg.Join("g", b.ref))
		assert.Equal(t, []string{"g"}, reg.Groups())
	})

	t.Run("a name held by a live actor is refused with an error naming the holder", func(t *testing.T) {
		reg := registry.New()
		holder, other := spawnBox(t, actor.WithName("holder")), spawnBox(t)
		require.NoError(t, reg.Register("bridge/matrix", holder.ref))
		err := reg.Register("bridge/matrix", other.ref)
		require.ErrorIs(t, err, registry.ErrTaken)
		var taken *registry.TakenError
		require.True(t, errors.As(err, &taken))
		assert.Equal(t, "bridge/matrix", taken.Name)
		assert.Same(t, holder.ref, taken.Holder)
		assert.Contains(t, err.Error(), `"bridge/matrix"`)
		assert.Contains(t, err.Error(), "holder")
		ref, _ := reg.Lookup("bridge/matrix")
		assert.Same(t, holder.ref, ref, "the holder keeps its name")
	})

	t.Run("registering the holder again under its name changes nothing and one Unregister frees it", func(t *testing.T) {
		reg := registry.New()
		b := spawnBox(t)
		w := watch(t, reg, "", 16)
		require.NoError(t, reg.Register("twice", b.ref))
		require.NoError(t, reg.Register("twice", b.ref))
		require.NoError(t, reg.Register("marker", b.ref))
		first := expect(t, w, registry.Registered, "twice", b.ref)
		marker := expect(t, w, registry.Registered, "marker", b.ref)
		assert.Equal(t, first.Seq+1, marker.Seq, "the second Register made no event")

		require.NoError(t, reg.Unregister("twice"))
		_, ok := reg.Lookup("twice")
		assert.False(t, ok)
		assert.ErrorIs(t, reg.Unregister("twice"), registry.ErrNotFound)
	})

	t.Run("an actor may hold several names", func(t *testing.T) {
		reg := registry.New()
		b := spawnBox(t)
		require.NoError(t, reg.Register("one", b.ref))
		require.NoError(t, reg.Register("two", b.ref))
		assert.Equal(t, []string{"one", "two"}, reg.Names())
		require.NoError(t, reg.Unregister("one"))
		ref, ok := reg.Lookup("two")
		require.True(t, ok, "unregistering one name leaves the others")
		assert.Same(t, b.ref, ref)
	})

	t.Run("Unregister frees the name for another actor", func(t *testing.T) {
		reg := registry.New()
		a, b := spawnBox(t), spawnBox(t)
		require.NoError(t, reg.Register("seat", a.ref))
		require.NoError(t, reg.Unregister("seat"))
		require.NoError(t, reg.Register("seat", b.ref))
		ref, _ := reg.Lookup("seat")
		assert.Same(t, b.ref, ref)
	})

	t.Run("an unregistered actor that stops does not touch the name's new holder", func(t *testing.T) {
		reg := registry.New()
		a, b := spawnBox(t), spawnBox(t)
		w := watch(t, reg, "", 16)
		require.NoError(t, reg.Register("seat", a.ref))
		require.NoError(t, reg.Unregister("seat"))
		require.NoError(t, reg.Register("seat", b.ref))
		stop(t, a.ref)
		require.NoError(t, reg.Register("marker", b.ref))
		expect(t, w, registry.Registered, "seat", a.ref)
		expect(t, w, registry.Unregistered, "seat", a.ref)
		expect(t, w, registry.Registered, "seat", b.ref)
		expect(t, w, registry.Registered, "marker", b.ref)
		ref, _ := reg.Lookup("seat")
		assert.Same(t, b.ref, ref)
	})

	t.Run("Unregister of a name nobody holds returns an error naming it", func(t *testing.T) {
		reg := registry.New()
		err := reg.Unregister("ghost")
		require.ErrorIs(t, err, registry.ErrNotFound)
		var nf *registry.NotFoundError
		require.True(t, errors.As(err, &nf))
		assert.Equal(t, "ghost", nf.Name)
		assert.Contains(t, err.Error(), `"ghost"`)
	})

	t.Run("a nil ref is refused", func(t *testing.T) {
		reg := registry.New()
		assert.ErrorIs(t, reg.Register("nil", nil), actor.ErrNilActor)
		assert.Empty(t, reg.Names())
	})

	t.Run("an actor that has stopped cannot be registered", func(t *testing.T) {
		reg := registry.New()
		b := spawnBox(t)
		stop(t, b.ref)
		err := reg.Register("late", b.ref)
		require.ErrorIs(t, err, actor.ErrStopped)
		assert.Contains(t, err.Error(), `"late"`)
		_, ok := reg.Lookup("late")
		assert.False(t, ok)
	})
}

func TestNamesDieWithTheirActor(t *testing.T) {
	for _, how := range []struct {
		sentence string
		end      func(t *testing.T, ref *actor.Ref)
	}{
		{"a name is removed when its actor is stopped", func(t *testing.T, ref *actor.Ref) { stop(t, ref) }},
		{"a name is removed when its actor is killed", func(t *testing.T, ref *actor.Ref) { ref.Kill() }},
		{"a name is removed when its actor stops itself", func(t *testing.T, ref *actor.Ref) { require.NoError(t, ref.Send("stop")) }},
		{"a name is removed when its unsupervised actor crashes", func(t *testing.T, ref *actor.Ref) {
			require.NoError(t, ref.Send("crash"))
		}},
	} {
		t.Run(how.sentence, func(t *testing.T) {
			reg := registry.New()
			b := spawnBox(t, actor.WithLogger(nopLogger()))
			w := watch(t, reg, "", 16)
			require.NoError(t, reg.Register("mortal", b.ref))
			require.NoError(t, reg.Register("mortal/alias", b.ref))
			expect(t, w, registry.Registered, "mortal", b.ref)
			expect(t, w, registry.Registered, "mortal/alias", b.ref)
			how.end(t, b.ref)
			gone := map[string]bool{}
			for range 2 {
				e := next(t, w)
				require.Equal(t, registry.Unregistered, e.Kind)
				require.Same(t, b.ref, e.Ref)
				gone[e.Name] = true
			}
			assert.Equal(t, map[string]bool{"mortal": true, "mortal/alias": true}, gone)
			assert.Empty(t, reg.Names())
			assert.ErrorIs(t, reg.Send("mortal", "hello"), registry.ErrNotFound)
		})
	}

	t.Run("a name whose holder has stopped can be taken at once", func(t *testing.T) {
		// In about half of the rounds the registry has yet to hear of the
		// death when the heir registers.
		reg := registry.New()
		for i := range 40 {
			old, heir := spawnBox(t), spawnBox(t)
			name := fmt.Sprintf("seat/%d", i)
			require.NoError(t, reg.Register(name, old.ref))
			dead, release := dying(t, old.ref)
			go old.ref.Kill()
			closed(t, dead)
			require.NoError(t, reg.Register(name, heir.ref), "round %d", i)
			ref, _ := reg.Lookup(name)
			require.Same(t, heir.ref, ref)
			release()
		}
	})

	t.Run("the death of a former holder never removes its heir's registration", func(t *testing.T) {
		// The heir registers while the old holder is dead but, in about half
		// of the rounds, the registry's watch of it has yet to run. Once all
		// its aliases are gone, that watch has run too in most rounds, and a
		// wrong removal would show.
		reg := registry.New()
		const rounds, aliases = 40, 7
		heirs := make([]*actor.Ref, rounds)
		for i := range rounds {
			old, heir := spawnBox(t), spawnBox(t)
			name := fmt.Sprintf("seat/%d", i)
			require.NoError(t, reg.Register(name, old.ref))
			for j := range aliases {
				require.NoError(t, reg.Register(fmt.Sprintf("alias/%d/%d", i, j), old.ref))
			}
			dead, release := dying(t, old.ref)
			go old.ref.Kill()
			closed(t, dead)
			require.NoError(t, reg.Register(name, heir.ref))
			release()
			heirs[i] = heir.ref
		}
		require.Eventually(t, func() bool { return len(reg.Select("alias")) == 0 }, wait, wait/1000,
			"the old holders' deaths are processed")
		for i, heir := range heirs {
			ref, ok := reg.Lookup(fmt.Sprintf("seat/%d", i))
			require.True(t, ok, "round %d: the heir lost its name", i)
			require.Same(t, heir, ref)
		}
	})
}

func TestSupervisedRestart(t *testing.T) {
	t.Run("a name follows a supervised restart and a send meanwhile is queued", func(t *testing.T) {
		reg := registry.New()
		exits := make(chan actor.ChildExit, 8)
		parent, err := actor.Spawn(context.Background(), actor.Func(func(c *actor.Context, msg any) error {
			if x, ok := msg.(actor.ChildExit); ok {
				exits <- x
			}
			return nil
		}))
		require.NoError(t, err)
		t.Cleanup(func() { stop(t, parent) })
		child := spawnBox(t, actor.WithParent(parent))
		w := watch(t, reg, "", 16)
		require.NoError(t, reg.Register("bridge/matrix", child.ref))
		expect(t, w, registry.Registered, "bridge/matrix", child.ref)

		require.NoError(t, reg.Send("bridge/matrix", "crash"))
		x := recv(t, exits)
		require.False(t, x.Final, "the child is suspended, not stopped")
		require.ErrorIs(t, x.Reason, errCrash)

		ref, ok := reg.Lookup("bridge/matrix")
		require.True(t, ok, "the name survives the crash")
		require.Same(t, child.ref, ref)
		require.NoError(t, reg.Send("bridge/matrix", "while restarting"))

		require.NoError(t, child.ref.Restart(behaviour(child.got)))
		assert.Equal(t, "while restarting", recv(t, child.got))
		v, err := reg.Call(context.Background(), "bridge/matrix", "after restart")
		require.NoError(t, err)
		assert.Equal(t, "after restart", v)

		require.NoError(t, reg.Register("marker", child.ref))
		expect(t, w, registry.Registered, "marker", child.ref) // and no Unregistered before it

		stop(t, child.ref)
		recv(t, exits) // the final exit
		gone := map[string]bool{}
		for range 2 {
			e := next(t, w)
			require.Equal(t, registry.Unregistered, e.Kind)
			gone[e.Name] = true
		}
		assert.Equal(t, map[string]bool{"bridge/matrix": true, "marker": true}, gone,
			"a child stopped for good loses its names")
	})
}

func TestManyNames(t *testing.T) {
	t.Run("thousands of names come and go and each is found exactly while held", func(t *testing.T) {
		reg := registry.New()
		a, b := spawnBox(t), spawnBox(t)
		const n = 3000
		holder := func(i int) *actor.Ref {
			if i%2 == 0 {
				return a.ref
			}
			return b.ref
		}
		for i := range n {
			require.NoError(t, reg.Register(fmt.Sprintf("room/%d", i), holder(i)))
		}
		for i := 0; i < n; i += 3 {
			require.NoError(t, reg.Unregister(fmt.Sprintf("room/%d", i)))
		}
		for i := range n {
			ref, ok := reg.Lookup(fmt.Sprintf("room/%d", i))
			if i%3 == 0 {
				require.False(t, ok, "room/%d was unregistered", i)
				continue
			}
			require.True(t, ok, "room/%d is held", i)
			require.Same(t, holder(i), ref, "room/%d", i)
		}
		assert.Len(t, reg.Names(), n-n/3)
		stop(t, a.ref)
		require.Eventually(t, func() bool { return len(reg.Names()) == n/3 }, wait, wait/1000,
			"the names of the stopped actor go, the others stay")
		for _, name := range reg.Names() {
			ref, _ := reg.Lookup(name)
			require.Same(t, b.ref, ref)
		}
	})
}

// An actor's names and groups are released as part of its end, before
// anyone can learn of that end: by the time its Done closes or its parent
// hears of it, a Lookup no longer finds it.
func TestReleasedBeforeTheEndIsKnown(t *testing.T) {
	for _, tc := range []struct {
		name   string
		end    func(t *testing.T, ref *actor.Ref)
		reason error
	}{
		{"stopped", func(t *testing.T, ref *actor.Ref) { stop(t, ref) }, actor.ErrShutdown},
		{"crashed", func(t *testing.T, ref *actor.Ref) { require.NoError(t, ref.Send("crash")) }, errCrash},
		{"killed", func(t *testing.T, ref *actor.Ref) { ref.Kill() }, actor.ErrKilled},
	} {
		t.Run("the names and groups of an actor "+tc.name+" are gone before its Done closes", func(t *testing.T) {
			b := spawnBox(t, actor.WithLogger(nopLogger()))
			var mu sync.Mutex
			released := map[string]bool{} // key -> whether Done was closed then
			reg := registry.New(registry.WithObserver(func(e registry.Event) {
				if e.Ref == b.ref && (e.Kind == registry.Unregistered || e.Kind == registry.Left) {
					mu.Lock()
					released[e.Name+e.Group] = isClosed(b.ref.Done())
					mu.Unlock()
				}
			}))
			require.NoError(t, reg.Register("svc", b.ref))
			require.NoError(t, reg.Join("g", b.ref))
			tc.end(t, b.ref)
			closed(t, b.ref.Done())
			require.ErrorIs(t, b.ref.Err(), tc.reason)
			_, held := reg.Lookup("svc")
			assert.False(t, held, "Done is closed: the name is gone")
			assert.Nil(t, reg.Members("g"))
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, map[string]bool{"svc": false, "g": false}, released,
				"each was released, while Done was still open")
		})
	}

	t.Run("the name of a supervised child is gone before its parent hears that it stopped", func(t *testing.T) {
		reg := registry.New()
		heard := make(chan bool, 1) // whether the name was still held then
		parent, err := actor.Spawn(context.Background(), actor.Func(func(c *actor.Context, msg any) error {
			if x, ok := msg.(actor.ChildExit); ok && x.Final {
				_, held := reg.Lookup("svc")
				heard <- held || reg.Members("g") != nil
			}
			return nil
		}), quiet())
		require.NoError(t, err)
		t.Cleanup(func() { stop(t, parent) })
		child := spawnBox(t, actor.WithParent(parent))
		require.NoError(t, reg.Register("svc", child.ref))
		require.NoError(t, reg.Join("g", child.ref))
		stop(t, child.ref)
		assert.False(t, recv(t, heard), "the parent found the child still registered")
	})
}

// isClosed reports whether ch is closed right now.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
