package tree_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/strategy"
	"github.com/arbor-go/arbor/tree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestChildAdm(t *testing.T) {
	ctx := context.Background()
	t.Run("StartChild follows OTP's error matrix", func(t *testing.T) {
		sup := start(t, tree.Spec{})
		ref, err := sup.StartChild(ctx, worker("a", nil))
		require.NoError(t, err)
		require.NotNil(t, ref)
		_, err = sup.StartChild(ctx, worker("a", nil))
		assert.ErrorIs(t, err, tree.ErrAlreadyStarted)
		require.NoError(t, sup.TerminateChild(ctx, "a"))
		_, err = sup.StartChild(ctx, worker("a", nil))
		assert.ErrorIs(t, err, tree.ErrAlreadyPresent)
		_, err = sup.StartChild(ctx, tree.Worker("", nil))
		var specErr *tree.SpecError
		require.ErrorAs(t, err, &specErr)
		assert.ErrorIs(t, err, tree.ErrEmptyID)
		assert.ErrorIs(t, err, tree.ErrNilFactory)
	})
	t.Run("TerminateChild is idempotent and drops temporary specs", func(t *testing.T) {
		sup := start(t, tree.Spec{Children: []tree.ChildSpec{
			worker("a", nil), worker("tmp", nil, tree.Restart(strategy.Temporary))}})
		a := refOf(t, sup, "a")
		require.NoError(t, sup.TerminateChild(ctx, "a"))
		require.NoError(t, sup.TerminateChild(ctx, "a"))
		assert.False(t, a.Alive())
		assert.Equal(t, tree.Stopped, stateOf(t, sup, "a"))
		require.NoError(t, sup.TerminateChild(ctx, "tmp"))
		assert.Equal(t, tree.ChildState(-1), stateOf(t, sup, "tmp"))
		assert.ErrorIs(t, sup.TerminateChild(ctx, "nope"), tree.ErrNotFound)
	})
	t.Run("RestartChild and DeleteChild work only on stopped children", func(t *testing.T) {
		sup := start(t, tree.Spec{Children: []tree.ChildSpec{worker("a", nil)}})
		_, err := sup.RestartChild(ctx, "a")
		assert.ErrorIs(t, err, tree.ErrRunning)
		assert.ErrorIs(t, sup.DeleteChild(ctx, "a"), tree.ErrRunning)
		_, err = sup.RestartChild(ctx, "nope")
		assert.ErrorIs(t, err, tree.ErrNotFound)
		assert.ErrorIs(t, sup.DeleteChild(ctx, "nope"), tree.ErrNotFound)

		require.NoError(t, sup.TerminateChild(ctx, "a"))
		ref, err := sup.RestartChild(ctx, "a")
		require.NoError(t, err)
		assert.Equal(t, uint64(1), incarnation(t, ref), "a restarted stopped child is a new actor")
		require.NoError(t, sup.TerminateChild(ctx, "a"))
		require.NoError(t, sup.DeleteChild(ctx, "a"))
		assert.Equal(t, tree.ChildState(-1), stateOf(t, sup, "a"))
	})
	t.Run("a child whose factory returns Ignore is kept stopped", func(t *testing.T) {
		sup := start(t, tree.Spec{})
		ref, err := sup.StartChild(ctx, tree.Worker("ig", func() actor.Actor { return tree.Ignore }))
		require.NoError(t, err)
		assert.Nil(t, ref)
		assert.Equal(t, tree.Stopped, stateOf(t, sup, "ig"))
	})
	t.Run("a failed StartChild names the child and keeps no spec", func(t *testing.T) {
		sup := start(t, tree.Spec{})
		_, err := sup.StartChild(ctx, tree.Worker("bad", func() actor.Actor {
			return &probe{initErr: func() error { return errBoom }}
		}))
		var startErr *tree.StartError
		require.ErrorAs(t, err, &startErr)
		assert.Equal(t, "bad", startErr.Child)
		assert.ErrorIs(t, err, errBoom)
		assert.Equal(t, tree.ChildState(-1), stateOf(t, sup, "bad"))
	})
	t.Run("a factory that panics or returns nil fails the start, not the supervisor", func(t *testing.T) {
		sup := start(t, tree.Spec{})
		_, err := sup.StartChild(ctx, tree.Worker("nil", func() actor.Actor { return nil }))
		assert.ErrorIs(t, err, tree.ErrNilChild)
		_, err = sup.StartChild(ctx, tree.Worker("p", func() actor.Actor { panic("no") }))
		var perr *actor.PanicError
		assert.ErrorAs(t, err, &perr)
		_, err = sup.StartChild(ctx, worker("ok", nil))
		assert.NoError(t, err)
	})
}

func TestCountChildren(t *testing.T) {
	t.Run("counts specs, active children, supervisors and workers", func(t *testing.T) {
		ctx := context.Background()
		sup := start(t, tree.Spec{Children: []tree.ChildSpec{
			worker("a", nil), worker("b", nil), tree.Supervisor("s", tree.Spec{})}})
		n, err := sup.CountChildren(ctx)
		require.NoError(t, err)
		assert.Equal(t, tree.Counts{Specs: 3, Active: 3, Supervisors: 1, Workers: 2}, n)
		require.NoError(t, sup.TerminateChild(ctx, "b"))
		n, err = sup.CountChildren(ctx)
		require.NoError(t, err)
		assert.Equal(t, tree.Counts{Specs: 3, Active: 2, Supervisors: 1, Workers: 2}, n)
	})
}

func TestOrderOfChildren(t *testing.T) {
	t.Run("WhichChildren lists the newest first with type and restart", func(t *testing.T) {
		sup := start(t, tree.Spec{Children: []tree.ChildSpec{
			worker("a", nil), tree.Supervisor("s", tree.Spec{}), worker("c", nil, tree.Restart(strategy.Transient))}})
		infos, err := sup.WhichChildren(context.Background())
		require.NoError(t, err)
		require.Len(t, infos, 3)
		assert.Equal(t, []string{"c", "s", "a"}, []string{infos[0].ID, infos[1].ID, infos[2].ID})
		assert.Equal(t, tree.SupervisorChild, infos[1].Type)
		assert.Equal(t, tree.WorkerChild, infos[0].Type)
		assert.Equal(t, strategy.Transient, infos[0].Restart)
	})
	t.Run("children start in order and stop in reverse order", func(t *testing.T) {
		refs := make(chan *actor.Ref, 3)
		sup, err := tree.Start(context.Background(), tree.Spec{Children: []tree.ChildSpec{
			tracked("a", refs), tracked("b", refs), tracked("c", refs)}}, quiet())
		require.NoError(t, err)
		var names []string
		for range 3 {
			names = append(names, nextRef(t, refs).Name())
		}
		assert.Equal(t, []string{"root/a", "root/b", "root/c"}, names)
		sub := sup.Subscribe(64)
		rep := sup.Stop(context.Background())
		assert.NoError(t, rep.Err)
		var stopped []string
		for ev := range sub.Events() {
			if ev.Kind == tree.ChildTerminated {
				stopped = append(stopped, ev.Child)
			}
		}
		assert.Equal(t, []string{"c", "b", "a"}, stopped)
	})
	t.Run("a child that fails while the supervisor starts stops those before it", func(t *testing.T) {
		refs := make(chan *actor.Ref, 3)
		_, err := tree.Start(context.Background(), tree.Spec{Children: []tree.ChildSpec{
			tracked("a", refs),
			tree.Worker("bad", func() actor.Actor { return &probe{initErr: func() error { return errBoom }} }),
			tracked("c", refs)}}, quiet())
		var startErr *tree.StartError
		require.ErrorAs(t, err, &startErr)
		assert.Equal(t, "bad", startErr.Child)
		assert.ErrorIs(t, err, errBoom)
		a := nextRef(t, refs)
		<-a.Done()
		assert.Empty(t, refs, "children after the failed one never start")
	})
}

func TestStoppedSupervisor(t *testing.T) {
	t.Run("every API call on a stopped supervisor fails with ErrSupervisorStopped", func(t *testing.T) {
		ctx := context.Background()
		sup, err := tree.Start(ctx, tree.Spec{Children: []tree.ChildSpec{worker("a", nil)}}, quiet())
		require.NoError(t, err)
		sup.Stop(ctx)
		_, err = sup.WhichChildren(ctx)
		assert.ErrorIs(t, err, tree.ErrSupervisorStopped)
		assert.ErrorIs(t, err, actor.ErrStopped)
		_, err = sup.StartChild(ctx, worker("b", nil))
		assert.ErrorIs(t, err, tree.ErrSupervisorStopped)
		assert.ErrorIs(t, sup.TerminateChild(ctx, "a"), tree.ErrSupervisorStopped)
		_, err = sup.CountChildren(ctx)
		assert.ErrorIs(t, err, tree.ErrSupervisorStopped)
		assert.ErrorIs(t, sup.Err(), actor.ErrShutdown)
	})
	t.Run("the tree stops when its start context ends", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		refs := make(chan *actor.Ref, 1)
		sup, err := tree.Start(ctx, tree.Spec{Children: []tree.ChildSpec{tracked("a", refs)}}, quiet())
		require.NoError(t, err)
		a := nextRef(t, refs)
		cancel()
		<-sup.Done()
		<-a.Done()
		assert.True(t, errors.Is(a.Err(), actor.ErrShutdown))
	})
}

// panickyFactory is a worker factory that panics: its name must show in the
// stack of the failed start.
func panickyFactory() actor.Actor { panic("no actor today") }

// panickyTemplate is a dynamic supervisor's template that panics.
func panickyTemplate(any) tree.ChildSpec { panic("no spec today") }

func TestFactoryPanicStack(t *testing.T) {
	ctx := context.Background()
	t.Run("a factory's panic fails the start with a stack that names the factory", func(t *testing.T) {
		sup := start(t, tree.Spec{})
		ev := events(t, sup)
		_, err := sup.StartChild(ctx, tree.Worker("p", panickyFactory))
		var perr *actor.PanicError
		require.ErrorAs(t, err, &perr)
		assert.Equal(t, "no actor today", perr.Value)
		require.NotEmpty(t, perr.Stack)
		assert.Contains(t, perr.Stack.Frames()[0].Function, "panickyFactory", "the stack starts at the panic")
		failed := ev(tree.StartFailed, "p")
		assert.Contains(t, failed.Stack.String(), "panickyFactory")
	})
	t.Run("a factory that panics on a restart reports its stack too", func(t *testing.T) {
		var calls atomic.Int32
		factory := func() actor.Actor {
			if calls.Add(1) > 1 {
				return panickyFactory()
			}
			return &probe{id: "a"}
		}
		sup := start(t, tree.Spec{Intensity: strategy.Intensity{MaxRestarts: 1, Period: time.Hour},
			Children: []tree.ChildSpec{tree.Worker("a", factory)}})
		ev := events(t, sup)
		require.NoError(t, refOf(t, sup, "a").Send("crash"))
		failed := ev(tree.StartFailed, "a")
		assert.Equal(t, 1, failed.Attempt)
		assert.Contains(t, failed.Stack.String(), "panickyFactory")
		<-sup.Done()
	})
	t.Run("a dynamic template's panic fails the start with a stack that names it", func(t *testing.T) {
		dyn, err := tree.StartDynamic(ctx, tree.DynamicSpec{Template: panickyTemplate}, quiet())
		require.NoError(t, err)
		defer dyn.Stop(ctx)
		_, err = dyn.StartChild(ctx, 1)
		var perr *actor.PanicError
		require.ErrorAs(t, err, &perr)
		assert.Contains(t, perr.Stack.String(), "panickyTemplate")
	})
}

// initPanicsOnRestart is a worker whose Init panics: the factory gives it
// for the restarts.
type initPanicsOnRestart struct{ probe }

func (*initPanicsOnRestart) Init(*actor.Context) error { panic("no restart today") }

// An Init that panics as the supervisor restarts its child is the user's
// code that Arbor called: the StartFailed's stack is Init's alone, on the
// fast path (a restart in place) as through the supervisor's Receive
// (actor.Ref.Restart), without Arbor's dispatch frames or the tree's.
func TestInitPanicStackOnARestart(t *testing.T) {
	for name, opts := range map[string][]tree.Option{
		"fast path":         nil,
		"without fast path": {tree.WithoutFastPath()},
	} {
		t.Run(name, func(t *testing.T) {
			var calls atomic.Int32
			factory := func() actor.Actor {
				if calls.Add(1) > 1 {
					return &initPanicsOnRestart{}
				}
				return &probe{id: "a"}
			}
			sup := start(t, tree.Spec{Intensity: strategy.Intensity{MaxRestarts: 1, Period: time.Hour},
				Children: []tree.ChildSpec{tree.Worker("a", factory)}}, opts...)
			ev := events(t, sup)
			require.NoError(t, refOf(t, sup, "a").Send("panic"))
			failed := ev(tree.StartFailed, "a")
			var names []string
			for _, f := range failed.Stack.Frames() {
				names = append(names, f.Function)
			}
			assert.Equal(t, []string{"github.com/arbor-go/arbor/tree_test.(*initPanicsOnRestart).Init"}, names)
			<-sup.Done()
		})
	}
}

// nilMaker has a value method New: called through a nil *nilMaker, it
// panics in the compiler's wrapper (*nilMaker).New, which Go's traceback
// shows as the panicking function.
type nilMaker struct{ _ int }

func (nilMaker) New() actor.Actor { return &probe{id: "n"} }

type maker interface{ New() actor.Actor }

// A factory that panics in a compiler's wrapper (a method value of an
// interface holding a nil pointer) fails the start with a stack that starts
// at that wrapper, as an actor's crash does, and ends there: the tree's
// frames that called the factory are Arbor's, cut as the actor's are.
func TestFactoryPanicStackStartsAtTheWrapperThatPanicked(t *testing.T) {
	sup := start(t, tree.Spec{})
	var m maker = (*nilMaker)(nil)
	_, err := sup.StartChild(context.Background(), tree.Worker("w", m.New))
	var perr *actor.PanicError
	require.ErrorAs(t, err, &perr)
	frames := perr.Stack.Frames()
	require.NotEmpty(t, frames)
	var names []string
	for _, f := range frames {
		names = append(names, f.Function)
	}
	assert.Equal(t, []string{"github.com/arbor-go/arbor/tree_test.(*nilMaker).New"}, names,
		"the wrapper that panicked, without the tree's frames that called it")
}
