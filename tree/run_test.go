package tree_test

import (
	"bytes"
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/clock"
	"github.com/arbor-go/arbor/mailbox"
	"github.com/arbor-go/arbor/strategy"
	"github.com/arbor-go/arbor/tree"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	t.Run("Run returns nil once its context ends and the tree has stopped", func(t *testing.T) {
		refs := make(chan *actor.Ref, 1)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- tree.Run(ctx, tree.Spec{Children: []tree.ChildSpec{tracked("a", refs)}}, quiet())
		}()
		a := nextRef(t, refs)
		cancel()
		require.NoError(t, <-done)
		assert.False(t, a.Alive())
	})
	t.Run("Run returns why the tree gave up", func(t *testing.T) {
		refs := make(chan *actor.Ref, 1)
		done := make(chan error, 1)
		go func() {
			done <- tree.Run(context.Background(), tree.Spec{
				Intensity: strategy.Intensity{MaxRestarts: 0, Period: time.Second},
				Children:  []tree.ChildSpec{tracked("a", refs)}}, quiet())
		}()
		require.NoError(t, nextRef(t, refs).Send("crash"))
		assert.ErrorIs(t, <-done, tree.ErrIntensityExceeded)
	})
	t.Run("Run returns a start error at once", func(t *testing.T) {
		err := tree.Run(context.Background(), tree.Spec{Children: []tree.ChildSpec{tree.Worker("a", nil)}})
		assert.ErrorIs(t, err, tree.ErrNilFactory)
	})
}

func TestChildOptions(t *testing.T) {
	t.Run("a bounded mailbox applies its policy to messages queued during backoff", func(t *testing.T) {
		clk := clock.NewFake(epoch)
		seen := make(chan string, 8)
		sup := start(t, tree.Spec{Children: []tree.ChildSpec{worker("a", seen,
			tree.Backoff(strategy.Constant(time.Second)),
			tree.ActorOptions(actor.WithMailbox(mailbox.Options{Capacity: 2, Policy: mailbox.DropNewest})))}},
			tree.WithClock(clk))
		ev := events(t, sup)
		a := refOf(t, sup, "a")
		require.NoError(t, a.Send("crash"))
		ev(tree.ChildRestarting, "a")
		for _, m := range []string{"one", "two", "three"} {
			require.NoError(t, a.Send(m))
		}
		dl := ev(tree.DeadLetter, "a")
		assert.ErrorIs(t, dl.Reason, mailbox.ErrFull)
		clk.Advance(time.Second)
		assert.Equal(t, "a:one", next(t, seen))
		assert.Equal(t, "a:two", next(t, seen))
	})
	t.Run("jitter draws from the injected random source", func(t *testing.T) {
		clk := clock.NewFake(epoch)
		sup := start(t, tree.Spec{Children: []tree.ChildSpec{worker("a", nil,
			tree.Backoff(strategy.Constant(time.Second).WithJitter(strategy.FullJitter)))}},
			tree.WithClock(clk), tree.WithRandom(func() float64 { return 0.25 }))
		ev := events(t, sup)
		require.NoError(t, refOf(t, sup, "a").Send("crash"))
		assert.Equal(t, 250*time.Millisecond, ev(tree.ChildRestarting, "a").Delay)
	})
	t.Run("defaults reach children that set nothing", func(t *testing.T) {
		temporary := strategy.Temporary
		sup := start(t, tree.Spec{Defaults: tree.ChildDefaults{Restart: &temporary},
			Children: []tree.ChildSpec{worker("a", nil), worker("b", nil, tree.Restart(strategy.Permanent))}})
		infos, err := sup.WhichChildren(context.Background())
		require.NoError(t, err)
		assert.Equal(t, strategy.Permanent, infos[0].Restart)
		assert.Equal(t, strategy.Temporary, infos[1].Restart)
	})
}

func TestNames(t *testing.T) {
	t.Run("states, types and errors read well", func(t *testing.T) {
		assert.Equal(t, "running", tree.Running.String())
		assert.Equal(t, "restarting", tree.Restarting.String())
		assert.Equal(t, "waiting", tree.Waiting.String())
		assert.Equal(t, "stopped", tree.Stopped.String())
		assert.Equal(t, "ChildState(9)", tree.ChildState(9).String())
		assert.Equal(t, "worker", tree.WorkerChild.String())
		assert.Equal(t, "supervisor", tree.SupervisorChild.String())
		err := &tree.StartError{Supervisor: "root", Child: "db", Err: errBoom}
		assert.Equal(t, "tree: root: child db failed to start: boom", err.Error())
	})
}

// dialInit is a worker whose Init waits until its context ends, as a dial
// that honours its context does, or until release is closed.
type dialInit struct{ release <-chan struct{} }

func (d *dialInit) Init(c *actor.Context) error {
	select {
	case <-c.Context().Done():
		return context.Cause(c.Context())
	case <-d.release:
		return nil
	}
}

func (d *dialInit) Receive(*actor.Context, any) error { return nil }

// When the ctx of Start, or Run's, ends while a child's Init waits on its
// context, the start is given up: the Init sees its context end, Start
// returns its error and Run returns nil, as for any end of its ctx.
func TestCtxEndsDuringStart(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	spec := tree.Spec{Children: []tree.ChildSpec{
		worker("first", nil),
		tree.Worker("dial", func() actor.Actor { return &dialInit{release: release} }),
	}}
	within := func(t *testing.T, f func()) {
		t.Helper()
		done := make(chan struct{})
		go func() { defer close(done); f() }()
		select {
		case <-done:
		case <-time.After(wait):
			t.Fatal("did not return after its ctx ended, though the child's Init honours its context")
		}
	}
	t.Run("Start", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		within(t, func() {
			sup, err := tree.Start(ctx, spec, quiet())
			assert.Nil(t, sup)
			var serr *tree.StartError
			require.ErrorAs(t, err, &serr)
			assert.Equal(t, "dial", serr.Child)
			assert.ErrorIs(t, err, actor.ErrShutdown, "the Init's context ended as the start was given up")
		})
	})
	t.Run("Run", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		within(t, func() { assert.NoError(t, tree.Run(ctx, spec, quiet())) })
	})
	t.Run("a nil ctx is refused", func(t *testing.T) {
		var none context.Context
		assert.ErrorIs(t, tree.Run(none, spec, quiet()), actor.ErrNilContext)
	})
}

// terminated reports its Terminate on log and closes gone, if set; its
// Init runs init, if set.
type terminated struct {
	name string
	log  chan<- string
	gone chan struct{}
	init func(c *actor.Context)
}

func (w *terminated) Init(c *actor.Context) error {
	if w.init != nil {
		w.init(c)
	}
	return nil
}

func (w *terminated) Receive(*actor.Context, any) error { return nil }

func (w *terminated) Terminate(*actor.Context, error) {
	w.log <- w.name
	if w.gone != nil {
		close(w.gone)
	}
}

// When Start's ctx ends during a child's Init that succeeds all the same,
// the children stop in reverse start order, whether the start was given up
// or returned the tree, which then stops as by Stop: the end reaches the
// child starting, never the ones started before it.
func TestCtxEndsDuringAnInitThatIgnoresIt(t *testing.T) {
	log := make(chan string, 4)
	aGone := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := tree.Start(ctx, tree.Spec{Children: []tree.ChildSpec{
		tree.Worker("a", func() actor.Actor { return &terminated{name: "a", log: log, gone: aGone} }),
		tree.Worker("b", func() actor.Actor {
			return &terminated{name: "b", log: log, init: func(c *actor.Context) {
				cancel()
				select { // its own context ends with the start's
				case <-c.Context().Done():
				case <-time.After(wait):
					t.Error("the child starting never saw the start's ctx end")
				}
				select { // a connect that succeeds all the same; a must not stop meanwhile
				case <-aGone:
				case <-time.After(200 * time.Millisecond):
				}
			}}
		}),
	}}, quiet())
	if err != nil {
		var serr *tree.StartError
		require.ErrorAs(t, err, &serr, "the start was given up")
		assert.Equal(t, "b", serr.Child)
	}
	assert.Equal(t, []string{"b", "a"}, []string{<-log, <-log}, "stopped in reverse start order")
}

// cancelOnLog ends a context when the log line it is given contains word:
// here, the root's supervisor_started, written at the very end of its start.
type cancelOnLog struct {
	word   []byte
	cancel context.CancelFunc
}

func (w cancelOnLog) Write(p []byte) (int, error) {
	if bytes.Contains(p, w.word) {
		w.cancel()
		runtime.Gosched() // lets the tree see its ctx end, as a signal arriving now would
	}
	return len(p), nil
}

// When ctx ends as the tree finishes starting (a Ctrl-C then), the tree
// stops itself on that end, and Run, which finds both ctx and the tree done,
// returns nil either way: stopped as asked, not the tree's shutdown reason.
func TestRunReturnsNilWhenItsContextEndsAsTheTreeFinishesStarting(t *testing.T) {
	// The race is narrow: as many runs as fit in two seconds.
	for i, began := 0, time.Now(); time.Since(began) < 2*time.Second; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		log := zerolog.New(cancelOnLog{word: []byte(`"supervisor_started"`), cancel: cancel})
		err := tree.Run(ctx, tree.Spec{}, tree.WithLogger(log))
		cancel()
		require.NoError(t, err, "run %d: Run returned the tree's exit reason after its ctx ended", i)
	}
}

// When the tree gives up and Run's ctx ends while it does (a Ctrl-C as the
// last restart fails), Run must still return why the tree gave up, whichever
// of the two it sees first: the tree's decision came before the ctx ended.
// Here the ctx is cancelled from the tree's own reached_max_restart_intensity report,
// written before the tree's Done closes.
func TestRunReturnsWhyTheTreeGaveUpWhenItsContextEndsAsItGivesUp(t *testing.T) {
	for i := range 20 {
		ctx, cancel := context.WithCancel(context.Background())
		log := zerolog.New(cancelOnLog{word: []byte(`"reached_max_restart_intensity"`), cancel: cancel})
		err := tree.Run(ctx, tree.Spec{
			Intensity: strategy.Intensity{MaxRestarts: 0, Period: time.Minute},
			Children: []tree.ChildSpec{tree.Task("t", func(context.Context, *actor.Context) error {
				return errBoom
			})},
		}, tree.WithLogger(log))
		cancel()
		require.ErrorIs(t, err, tree.ErrIntensityExceeded, "run %d: the tree gave up before ctx ended", i)
	}
}
