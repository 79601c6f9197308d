package registry_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/mailbox"
	"github.com/arbor-go/arbor/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGroups(t *testing.T) {
	t.Run("members are listed once per join, in join order", func(t *testing.T) {
		reg := registry.New()
		a, b := spawnBox(t), spawnBox(t)
		require.NoError(t, reg.Join("portals", a.ref))
		require.NoError(t, reg.Join("portals", b.ref))
		require.NoError(t, reg.Join("portals", a.ref))
		assert.Equal(t, []*actor.Ref{a.ref, b.ref, a.ref}, reg.Members("portals"))
	})

	t.Run("an actor that joined twice must leave twice", func(t *testing.T) {
		reg := registry.New()
		a := spawnBox(t)
		require.NoError(t, reg.Join("portals", a.ref))
		require.NoError(t, reg.Join("portals", a.ref))
		require.NoError(t, reg.Leave("portals", a.ref))
		assert.Equal(t, []*actor.Ref{a.ref}, reg.Members("portals"), "one join remains")
		assert.Equal(t, []string{"portals"}, reg.Groups())
		require.NoError(t, reg.Leave("portals", a.ref))
		assert.Nil(t, reg.Members("portals"))
		assert.Empty(t, reg.Groups(), "an empty group vanishes")
		err := reg.Leave("portals", a.ref)
		require.ErrorIs(t, err, registry.ErrNotFound, "a third Leave has nothing to undo")
	})

	t.Run("leaving a group one is not in fails with an error naming group and actor", func(t *testing.T) {
		reg := registry.New()
		a, b := spawnBox(t, actor.WithName("outsider")), spawnBox(t)
		require.NoError(t, reg.Join("portals", b.ref))
		err := reg.Leave("portals", a.ref)
		require.ErrorIs(t, err, registry.ErrNotFound)
		var nf *registry.NotFoundError
		require.True(t, errors.As(err, &nf))
		assert.Equal(t, "portals", nf.Name)
		assert.Same(t, a.ref, nf.Ref)
		assert.Contains(t, err.Error(), "outsider")
		assert.Equal(t, []*actor.Ref{b.ref}, reg.Members("portals"), "the members are untouched")
	})

	t.Run("groups are listed sorted", func(t *testing.T) {
		reg := registry.New()
		a := spawnBox(t)
		for _, g := range []string{"c", "a/b", "b", "a"} {
			require.NoError(t, reg.Join(g, a.ref))
		}
		assert.Equal(t, []string{"a", "a/b", "b", "c"}, reg.Groups())
	})

	t.Run("a member that stops is removed from all its groups with one Left per join", func(t *testing.T) {
		reg := registry.New()
		a, b := spawnBox(t), spawnBox(t)
		w := watch(t, reg, "", 16)
		require.NoError(t, reg.Join("portals", a.ref))
		require.NoError(t, reg.Join("portals", a.ref))
		require.NoError(t, reg.Join("portals", b.ref))
		require.NoError(t, reg.Join("solo", a.ref))
		for range 3 {
			require.Equal(t, registry.Joined, next(t, w).Kind)
		}
		expect(t, w, registry.Joined, "solo", a.ref)
		stop(t, a.ref)
		left := map[string]int{}
		for range 3 {
			e := next(t, w)
			require.Equal(t, registry.Left, e.Kind)
			require.Same(t, a.ref, e.Ref)
			left[e.Group]++
		}
		assert.Equal(t, map[string]int{"portals": 2, "solo": 1}, left)
		assert.Equal(t, []*actor.Ref{b.ref}, reg.Members("portals"))
		assert.Equal(t, []string{"portals"}, reg.Groups(), "the emptied group vanished")
	})

	t.Run("a member that left and rejoined is removed only once when it stops", func(t *testing.T) {
		reg := registry.New()
		a := spawnBox(t)
		w := watch(t, reg, "", 16)
		require.NoError(t, reg.Join("g", a.ref))
		require.NoError(t, reg.Leave("g", a.ref))
		require.NoError(t, reg.Join("g", a.ref))
		stop(t, a.ref)
		expect(t, w, registry.Joined, "g", a.ref)
		expect(t, w, registry.Left, "g", a.ref)
		expect(t, w, registry.Joined, "g", a.ref)
		expect(t, w, registry.Left, "g", a.ref)
		require.NoError(t, reg.Register("marker", spawnBox(t).ref))
		assert.Equal(t, registry.Registered, next(t, w).Kind, "no second Left from the first membership")
		assert.Empty(t, reg.Groups())
	})

	t.Run("joining is refused to a nil or stopped actor", func(t *testing.T) {
		reg := registry.New()
		a := spawnBox(t)
		stop(t, a.ref)
		assert.ErrorIs(t, reg.Join("g", nil), actor.ErrNilActor)
		err := reg.Join("g", a.ref)
		require.ErrorIs(t, err, actor.ErrStopped)
		assert.Contains(t, err.Error(), `"g"`)
		assert.Empty(t, reg.Groups())
	})
}

// TestGroupsMatchAModel joins and leaves at random against a model of pg (a
// list of joins; a leave removes the last join of its actor), through enough
// churn that the group's lists are compacted many times over.
func TestGroupsMatchAModel(t *testing.T) {
	reg := registry.New()
	actors := make([]*actor.Ref, 40)
	for i := range actors {
		actors[i] = spawnBox(t).ref
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var model []*actor.Ref
	for step := range 5000 {
		ref := actors[rng.IntN(len(actors))]
		if rng.IntN(5) < 3 { // grow more than shrink, then drain
			if step < 4000 {
				require.NoError(t, reg.Join("g", ref))
				model = append(model, ref)
				continue
			}
		}
		i := -1
		for j, x := range slices.Backward(model) {
			if x == ref {
				i = j
				break
			}
		}
		err := reg.Leave("g", ref)
		if i < 0 {
			require.ErrorIs(t, err, registry.ErrNotFound, "step %d", step)
			continue
		}
		require.NoError(t, err, "step %d", step)
		model = slices.Delete(model, i, i+1)
		if step%97 == 0 || len(model) < 3 {
			requireMembers(t, reg, model, step)
		}
	}
	requireMembers(t, reg, model, -1)
}

// requireMembers checks Members and Broadcast against the model's joins.
func requireMembers(t *testing.T, reg *registry.Registry, model []*actor.Ref, step int) {
	t.Helper()
	if len(model) == 0 {
		require.Nil(t, reg.Members("g"), "step %d", step)
	} else {
		require.Equal(t, model, reg.Members("g"), "step %d", step)
	}
	var distinct []*actor.Ref
	for _, ref := range model {
		if !slices.Contains(distinct, ref) {
			distinct = append(distinct, ref)
		}
	}
	n, err := reg.Broadcast("g", "tick")
	require.NoError(t, err)
	require.Equal(t, len(distinct), n, "step %d: one send per member", step)
}

func TestGroupsDropStoppedMembersInBulk(t *testing.T) {
	reg := registry.New()
	boxes := make([]*box, 100)
	for i := range boxes {
		boxes[i] = spawnBox(t)
		require.NoError(t, reg.Join("g", boxes[i].ref))
		require.NoError(t, reg.Join("g", boxes[i].ref))
	}
	w := watch(t, reg, "", 256)
	var kept []*actor.Ref
	for i, b := range boxes {
		if i%5 < 3 { // three in five stop, so that the lists are compacted
			stop(t, b.ref)
			continue
		}
		kept = append(kept, b.ref)
	}
	for range 2 * 60 { // one Left per join of each stopped member
		require.Equal(t, registry.Left, next(t, w).Kind)
	}
	want := make([]*actor.Ref, 0, 2*len(kept))
	for _, ref := range kept {
		want = append(want, ref, ref) // each joined twice in a row
	}
	assert.Equal(t, want, reg.Members("g"), "the joins of the others, in join order")
	n, err := reg.Broadcast("g", "news")
	require.NoError(t, err)
	assert.Equal(t, len(kept), n)
}

func TestBroadcast(t *testing.T) {
	t.Run("a broadcast reaches each member once however often it joined", func(t *testing.T) {
		reg := registry.New()
		a, b := spawnBox(t), spawnBox(t)
		require.NoError(t, reg.Join("portals", a.ref))
		require.NoError(t, reg.Join("portals", a.ref))
		require.NoError(t, reg.Join("portals", b.ref))
		n, err := reg.Broadcast("portals", "news")
		require.NoError(t, err)
		assert.Equal(t, 2, n)
		assert.Equal(t, "news", recv(t, a.got))
		assert.Equal(t, "news", recv(t, b.got))
		require.NoError(t, a.ref.Send("marker"))
		assert.Equal(t, "marker", recv(t, a.got), "a got the broadcast once")
	})

	t.Run("a broadcast to a group nobody is in reaches no one and is no error", func(t *testing.T) {
		reg := registry.New()
		n, err := reg.Broadcast("empty", "news")
		assert.NoError(t, err)
		assert.Zero(t, n)
	})

	t.Run("a broadcast counts the members reached and joins the errors of the others", func(t *testing.T) {
		reg := registry.New()
		ok := spawnBox(t)
		release := make(chan struct{})
		started := make(chan struct{})
		full, err := actor.Spawn(context.Background(), actor.Func(func(c *actor.Context, msg any) error {
			if msg == "block" {
				close(started)
				<-release
			}
			return nil
		}), actor.WithMailbox(mailbox.Options{Capacity: 1, Policy: mailbox.Fail}), actor.WithName("full"), quiet())
		require.NoError(t, err)
		t.Cleanup(func() { close(release); stop(t, full) })
		require.NoError(t, full.Send("block"))
		<-started
		require.NoError(t, full.Send("fills the mailbox"))

		require.NoError(t, reg.Join("portals", ok.ref))
		require.NoError(t, reg.Join("portals", full))
		n, err := reg.Broadcast("portals", "news")
		assert.Equal(t, 1, n)
		require.ErrorIs(t, err, mailbox.ErrFull)
		assert.Contains(t, err.Error(), "full")
		assert.Contains(t, err.Error(), `"portals"`)
		assert.Equal(t, "news", recv(t, ok.got))
	})
}

// joiner joins its group in Init, through the directory it was spawned with,
// and otherwise behaves as a box. Init fails with fail, after the join, if
// fail is set.
type joiner struct {
	group string
	got   chan any
	fail  error
}

func (j joiner) Init(c *actor.Context) error {
	if err := c.Directory().(*registry.Registry).Join(j.group, c.Self()); err != nil {
		return err
	}
	return j.fail
}

func (j joiner) Receive(c *actor.Context, msg any) error { return behaviour(j.got).Receive(c, msg) }

// supervised spawns a as the child of a parent that puts every ChildExit on
// the returned channel, and restarts nothing itself.
func supervised(t *testing.T, a actor.Actor, opts ...actor.Option) (*actor.Ref, <-chan actor.ChildExit) {
	t.Helper()
	exits := make(chan actor.ChildExit, 16)
	parent, err := actor.Spawn(context.Background(), actor.Func(func(c *actor.Context, msg any) error {
		if x, ok := msg.(actor.ChildExit); ok {
			exits <- x
		}
		return nil
	}), quiet())
	require.NoError(t, err)
	t.Cleanup(func() { stop(t, parent) })
	child, err := actor.Spawn(context.Background(), a, append([]actor.Option{actor.WithParent(parent), quiet()}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = child.Stop(context.Background()) })
	return child, exits
}

// inPlace is a Restarter that restarts its child at once with next() and
// tells each outcome on done.
type inPlace struct {
	next func() actor.Actor
	done chan error
}

func (p inPlace) RestartNow(*actor.Ref, error) (actor.Actor, bool) { return p.next(), true }
func (p inPlace) Restarted(_ *actor.Ref, err error)                { p.done <- err }

// A restart makes a new incarnation, as a restart makes a new process in
// OTP: the joins made during the one that ended end with it, while the Ref,
// its mailbox and its names live on.
func TestGroupMembershipEndsWithIncarnation(t *testing.T) {
	t.Run("a member restarted by its parent is out of the group until its next Init joins it once", func(t *testing.T) {
		reg := registry.New()
		got := make(chan any, 16)
		ref, exits := supervised(t, joiner{group: "g", got: got}, actor.WithDirectory(reg))
		w := watch(t, reg, "", 64)
		require.Equal(t, []*actor.Ref{ref}, reg.Members("g"))
		for i := range 3 {
			require.NoError(t, ref.Send("crash"))
			x := recv(t, exits)
			require.False(t, x.Final)
			expect(t, w, registry.Left, "g", ref)
			require.Nil(t, reg.Members("g"), "restart %d: the incarnation that joined has ended", i+1)
			require.Empty(t, reg.Groups())
			require.NoError(t, ref.Restart(joiner{group: "g", got: got}))
			expect(t, w, registry.Joined, "g", ref)
			require.Equal(t, []*actor.Ref{ref}, reg.Members("g"), "restart %d", i+1)
		}
		require.NoError(t, reg.Leave("g", ref))
		assert.Nil(t, reg.Members("g"), "one Leave undoes the one join of the running incarnation")
	})

	t.Run("a member restarted in place by a Restarter joins once per incarnation", func(t *testing.T) {
		reg := registry.New()
		got := make(chan any, 16)
		done := make(chan error, 16)
		rs := inPlace{next: func() actor.Actor { return joiner{group: "g", got: got} }, done: done}
		ref, _ := supervised(t, joiner{group: "g", got: got}, actor.WithDirectory(reg), actor.WithRestarter(rs))
		w := watch(t, reg, "", 64)
		for i := range 3 {
			require.NoError(t, ref.Send("crash"))
			require.NoError(t, recv(t, done))
			expect(t, w, registry.Left, "g", ref)
			expect(t, w, registry.Joined, "g", ref)
			require.Equal(t, []*actor.Ref{ref}, reg.Members("g"), "restart %d", i+1)
		}
		assert.Equal(t, uint64(4), ref.Incarnation())
	})

	t.Run("a join from outside ends with the incarnation it was made in, with one Left per join", func(t *testing.T) {
		reg := registry.New()
		got := make(chan any, 16)
		ref, exits := supervised(t, behaviour(got))
		require.NoError(t, reg.Join("g", ref))
		require.NoError(t, reg.Join("g", ref))
		require.NoError(t, reg.Join("h", ref))
		w := watch(t, reg, "", 64)
		require.NoError(t, ref.Send("crash"))
		require.False(t, recv(t, exits).Final)
		left := map[string]int{}
		for range 3 {
			e := next(t, w)
			require.Equal(t, registry.Left, e.Kind, "event %v", e)
			require.Same(t, ref, e.Ref)
			left[e.Group]++
		}
		assert.Equal(t, map[string]int{"g": 2, "h": 1}, left)
		assert.Empty(t, reg.Groups())
	})

	t.Run("a join made while the actor waits for its restart belongs to the next incarnation", func(t *testing.T) {
		reg := registry.New()
		got := make(chan any, 16)
		ref, exits := supervised(t, behaviour(got))
		require.NoError(t, ref.Send("crash"))
		require.False(t, recv(t, exits).Final)
		require.True(t, ref.Suspended())
		require.NoError(t, reg.Join("g", ref))
		require.NoError(t, ref.Restart(behaviour(got)))
		assert.Equal(t, []*actor.Ref{ref}, reg.Members("g"), "the restart does not end it")
		require.NoError(t, ref.Send("crash"))
		require.False(t, recv(t, exits).Final)
		assert.Nil(t, reg.Members("g"), "the end of that next incarnation does")
	})

	t.Run("the joins of an Init that fails end with it", func(t *testing.T) {
		reg := registry.New()
		got := make(chan any, 16)
		ref, exits := supervised(t, behaviour(got), actor.WithDirectory(reg))
		require.NoError(t, ref.Send("crash"))
		require.False(t, recv(t, exits).Final)
		err := ref.Restart(joiner{group: "g", got: got, fail: errCrash})
		require.ErrorIs(t, err, errCrash)
		assert.Nil(t, reg.Members("g"))
		require.NoError(t, ref.Restart(joiner{group: "g", got: got}))
		assert.Equal(t, []*actor.Ref{ref}, reg.Members("g"))
	})

	t.Run("a name follows the restart while the groups do not", func(t *testing.T) {
		reg := registry.New()
		got := make(chan any, 16)
		ref, exits := supervised(t, behaviour(got))
		require.NoError(t, reg.Register("svc", ref))
		require.NoError(t, reg.Join("g", ref))
		require.NoError(t, ref.Send("crash"))
		require.False(t, recv(t, exits).Final)
		require.NoError(t, ref.Restart(behaviour(got)))
		held, ok := reg.Lookup("svc")
		require.True(t, ok)
		assert.Same(t, ref, held)
		assert.Nil(t, reg.Members("g"))
		require.NoError(t, reg.Register("svc", ref), "registering the holder again is a no-op")
	})
}

// The joins of an incarnation are undone before anyone hears of its end,
// even when a Kill comes while they are being undone (here the registry's
// lock is busy): the Kill's end waits for them before Done closes.
func TestKillWhileJoinsAreUndoneWaitsForThem(t *testing.T) {
	holding, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	defer once.Do(func() { close(release) })
	reg := registry.New(registry.WithObserver(func(e registry.Event) {
		if e.Kind == registry.Registered && e.Name == "hold" {
			close(holding)
			<-release // stands for a registry lock that is busy for a moment
		}
	}))

	ctxs := make(chan context.Context, 1)
	ref, err := actor.Spawn(context.Background(), actor.Func(func(c *actor.Context, msg any) error {
		ctxs <- c.Context()
		return errors.New("crash")
	}), quiet())
	require.NoError(t, err)
	require.NoError(t, reg.Join("g", ref))

	other := spawnBox(t)
	registered := make(chan error, 1)
	go func() { registered <- reg.Register("hold", other.ref) }()
	select { // the registry's lock is held
	case <-holding:
	case <-time.After(wait):
		t.Fatal("the registry's lock was not taken")
	}

	require.NoError(t, ref.Send("go"))
	ctx := recv(t, ctxs)
	// Cancelled by closeIncarnation under the same hold of the Ref's lock as
	// the one that takes the end hooks: from now on they are in flight.
	select {
	case <-ctx.Done():
	case <-time.After(wait):
		t.Fatal("the incarnation did not end")
	}
	go ref.Kill() // a Kill that waited for the hooks in flight would be right too
	select {
	case <-ref.Done():
		members := reg.Members("g")
		once.Do(func() { close(release) })
		require.NoError(t, recv(t, registered))
		t.Fatalf("Done closed while the ended incarnation's group join is still there (Members(g) = %v)", members)
	case <-time.After(100 * time.Millisecond):
		// Done waits for the joins being undone.
	}
	once.Do(func() { close(release) })
	require.NoError(t, recv(t, registered))
	<-ref.Done()
	require.Empty(t, reg.Members("g"))
}
