package tree_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/tree"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	flag.Parse()
	// The tests check every supervisor's counts against a scan of its
	// children after each message; the benchmarks do not pay for the scan.
	tree.CheckCounts(flag.Lookup("test.bench").Value.String() == "")
	code := m.Run()
	if msg := tree.CountsBroken(); msg != "" {
		fmt.Fprintln(os.Stderr, "FAIL: a supervisor's counts disagree with its children:", msg)
		code = 1
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL: goroutines leaked:", err)
			code = 1
		}
	}
	os.Exit(code)
}

var errBoom = errors.New("boom")

// wait bounds every wait of these tests: long enough for a loaded CI
// machine, short enough that a hang fails fast.
const wait = 5 * time.Second

// stopBound bounds the Stop of a tree at the end of a test: a test that
// fails while a child is blocked in the test's own code then reports its
// failure, instead of hanging until the test binary's timeout hides it.
const stopBound = 30 * time.Second

// stopBounded stops a tree within stopBound.
func stopBounded(stop func(context.Context) tree.StopReport) {
	ctx, cancel := context.WithTimeout(context.Background(), stopBound)
	defer cancel()
	stop(ctx)
}

// probe is a worker that reports its starts and the messages it handles.
type probe struct {
	id      string
	seen    chan<- string
	started chan<- *actor.Ref
	initErr func() error
}

// Init reports the start on started and fails with initErr's error, if set.
func (p *probe) Init(c *actor.Context) error {
	if p.initErr != nil {
		if err := p.initErr(); err != nil {
			return err
		}
	}
	if p.started != nil {
		p.started <- c.Self()
	}
	return nil
}

// Receive crashes on "crash", panics on "panic", exits normally on
// "normal", shuts down on "shutdown", replies with its incarnation to "inc?"
// and otherwise reports the message.
func (p *probe) Receive(c *actor.Context, msg any) error {
	switch msg {
	case "crash":
		return errBoom
	case "panic":
		panic("kaboom")
	case "normal":
		c.Stop(nil)
		return nil
	case "shutdown":
		return actor.Shutdown("done")
	case "inc?":
		return c.Reply(c.Incarnation())
	}
	if p.seen != nil {
		p.seen <- p.id + ":" + msg.(string)
	}
	return nil
}

func worker(id string, seen chan<- string, opts ...tree.ChildOption) tree.ChildSpec {
	return tree.Worker(id, func() actor.Actor { return &probe{id: id, seen: seen} }, opts...)
}

// quiet is the logger option of trees a test stops itself.
func quiet() tree.Option { return tree.WithLogger(zerolog.Nop()) }

// start starts a tree with a silent logger and stops it when the test ends.
func start(t *testing.T, spec tree.Spec, opts ...tree.Option) *tree.Sup {
	t.Helper()
	opts = append([]tree.Option{tree.WithLogger(zerolog.Nop())}, opts...)
	sup, err := tree.Start(context.Background(), spec, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { stopBounded(sup.Stop) })
	return sup
}

// events subscribes to the tree and returns a function that waits for the
// next event matching kind (any kind if 0) and child (any child if "").
func events(t *testing.T, sup *tree.Sup) func(kind tree.EventKind, child string) tree.Event {
	t.Helper()
	sub := sup.Subscribe(4096)
	t.Cleanup(sub.Close)
	return func(kind tree.EventKind, child string) tree.Event {
		t.Helper()
		deadline := time.NewTimer(wait)
		defer deadline.Stop()
		for {
			select {
			case ev, ok := <-sub.Events():
				require.True(t, ok, "the tree stopped before %v %s", kind, child)
				if (kind == 0 || ev.Kind == kind) && (child == "" || ev.Child == child) {
					return ev
				}
			case <-deadline.C:
				require.FailNow(t, "no event", "%v %s", kind, child)
			}
		}
	}
}

// refOf returns the Ref of a running child.
func refOf(t *testing.T, sup *tree.Sup, id string) *actor.Ref {
	t.Helper()
	infos, err := sup.WhichChildren(context.Background())
	require.NoError(t, err)
	for _, i := range infos {
		if i.ID == id {
			require.NotNil(t, i.Ref, "child %s is %v", id, i.State)
			return i.Ref
		}
	}
	require.FailNow(t, "no such child", id)
	return nil
}

// stateOf returns a child's state, or -1 if the supervisor has no such child.
func stateOf(t *testing.T, sup *tree.Sup, id string) tree.ChildState {
	t.Helper()
	infos, err := sup.WhichChildren(context.Background())
	require.NoError(t, err)
	for _, i := range infos {
		if i.ID == id {
			return i.State
		}
	}
	return -1
}

func incarnation(t *testing.T, ref *actor.Ref) uint64 {
	t.Helper()
	n, err := actor.CallAs[uint64](context.Background(), ref, "inc?")
	require.NoError(t, err)
	return n
}

// tracked is a worker that reports the Ref of every start on refs.
func tracked(id string, refs chan<- *actor.Ref, opts ...tree.ChildOption) tree.ChildSpec {
	return tree.Worker(id, func() actor.Actor { return &probe{id: id, started: refs} }, opts...)
}

func nextRef(t *testing.T, refs <-chan *actor.Ref) *actor.Ref {
	t.Helper()
	select {
	case r := <-refs:
		return r
	case <-time.After(wait):
		require.FailNow(t, "no start")
		return nil
	}
}

func next(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(wait):
		require.FailNow(t, "nothing received")
		return ""
	}
}

// recv reads the next event of sub within wait.
func recv(t *testing.T, sub *tree.Subscription) tree.Event {
	t.Helper()
	select {
	case e, ok := <-sub.Events():
		require.True(t, ok, "the subscription closed")
		return e
	case <-time.After(wait):
		require.FailNow(t, "no event")
		return tree.Event{}
	}
}
