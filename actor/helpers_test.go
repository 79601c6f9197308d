package actor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

// patience bounds every wait of these tests. Nothing here should take more
// than a few milliseconds; the bound only turns a hang into a failure.
const patience = 5 * time.Second

var errBoom = errors.New("boom")

// mustSpawn spawns a on a background context with a silent logger (tests that
// read the log pass their own, which wins) and stops the actor when the test
// ends.
func mustSpawn(t *testing.T, a actor.Actor, opts ...actor.Option) *actor.Ref {
	t.Helper()
	opts = append([]actor.Option{actor.WithLogger(zerolog.Nop())}, opts...)
	ref, err := actor.Spawn(context.Background(), a, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { stopOrKill(t, ref) })
	return ref
}

// stopOrKill stops ref, and kills it if it does not stop in time.
func stopOrKill(t *testing.T, ref *actor.Ref) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := ref.Stop(ctx); err != nil {
		t.Errorf("actor %v did not stop: %v", ref, err)
		ref.Kill()
	}
}

// doFn is a message that a puppet runs inside its Receive, so that a test can
// make an actor link, monitor, reply or crash on demand.
type doFn func(c *actor.Context) error

// puppet returns an actor that runs the doFn messages it is sent and forwards
// every other message (Down, Exit, ChildExit included) to out.
func puppet(out chan<- any) actor.Func {
	return func(c *actor.Context, msg any) error {
		if f, ok := msg.(doFn); ok {
			return f(c)
		}
		out <- msg
		return nil
	}
}

// exec runs f inside the actor ref (a puppet) and returns once it has run.
func exec(t *testing.T, ref *actor.Ref, f func(c *actor.Context)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	_, err := ref.Call(ctx, doFn(func(c *actor.Context) error {
		f(c)
		return c.Reply(struct{}{})
	}))
	require.NoError(t, err)
}

// next returns the next value of ch, failing the test if none comes in time.
func next[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(patience):
		var zero T
		t.Fatalf("no %T arrived within %v", zero, patience)
		return zero
	}
}

// nextOf skips what ch yields until a value of type T, which it returns.
func nextOf[T any](t *testing.T, ch <-chan any) T {
	t.Helper()
	deadline := time.After(patience)
	for {
		select {
		case v := <-ch:
			if x, ok := v.(T); ok {
				return x
			}
		case <-deadline:
			var zero T
			t.Fatalf("no %T arrived within %v", zero, patience)
			return zero
		}
	}
}

// waitDone waits until ref has stopped for good and returns its exit reason.
func waitDone(t *testing.T, ref *actor.Ref) error {
	t.Helper()
	select {
	case <-ref.Done():
		return ref.Err()
	case <-time.After(patience):
		t.Fatalf("actor %v did not stop within %v", ref, patience)
		return nil
	}
}

// isDone reports whether ref's Done channel is closed right now.
func isDone(ref *actor.Ref) bool {
	select {
	case <-ref.Done():
		return true
	default:
		return false
	}
}

// eventually waits, with a deadline, for cond to hold.
func eventually(t *testing.T, cond func() bool, what string) {
	t.Helper()
	require.Eventually(t, cond, patience, time.Millisecond, what)
}

// callCtx returns a context bounded by patience for a call that must succeed.
func callCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	t.Cleanup(cancel)
	return ctx
}

// gate blocks a Receive until the test opens it.
type gate struct {
	ch   chan struct{}
	once sync.Once
}

func newGate() *gate { return &gate{ch: make(chan struct{})} }

func (g *gate) open() { g.once.Do(func() { close(g.ch) }) }

// lifecycle is an actor with every hook, each optional.
type lifecycle struct {
	init      func(c *actor.Context) error
	receive   func(c *actor.Context, msg any) error
	terminate func(c *actor.Context, reason error)
}

func (l *lifecycle) Init(c *actor.Context) error {
	if l.init == nil {
		return nil
	}
	return l.init(c)
}

func (l *lifecycle) Receive(c *actor.Context, msg any) error {
	if l.receive == nil {
		return nil
	}
	return l.receive(c, msg)
}

func (l *lifecycle) Terminate(c *actor.Context, reason error) {
	if l.terminate != nil {
		l.terminate(c, reason)
	}
}

// logSink is a goroutine-safe zerolog destination that hands each log line
// over to the test as a decoded JSON object.
type logSink struct {
	lines chan map[string]any
}

func newLogSink() *logSink { return &logSink{lines: make(chan map[string]any, 64)} }

func (s *logSink) Write(p []byte) (int, error) {
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(p), &line); err != nil {
		return 0, err
	}
	s.lines <- line
	return len(p), nil
}

func (s *logSink) logger() zerolog.Logger { return zerolog.New(s) }

// lineWith waits for a log line whose message is msg.
func (s *logSink) lineWith(t *testing.T, msg string) map[string]any {
	t.Helper()
	deadline := time.After(patience)
	for {
		select {
		case line := <-s.lines:
			if line[zerolog.MessageFieldName] == msg {
				return line
			}
		case <-deadline:
			t.Fatalf("no log line %q within %v", msg, patience)
			return nil
		}
	}
}

// frameNames returns the function names of a stack, outermost last.
func frameNames(s actor.Stack) []string {
	var names []string
	for _, f := range s.Frames() {
		names = append(names, f.Function)
	}
	return names
}

// hasFrame reports whether any name contains part.
func hasFrame(names []string, part string) bool {
	for _, n := range names {
		if strings.Contains(n, part) {
			return true
		}
	}
	return false
}

// goroutineID returns the ID of the calling goroutine, as runtime.Stack prints
// it. Tests use it to wait until the goroutine that ran an actor's Receive
// has finished the runtime's work after it, which no channel tells.
func goroutineID() uint64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	field := strings.Fields(strings.TrimPrefix(string(buf[:n]), "goroutine "))[0]
	id, err := strconv.ParseUint(field, 10, 64)
	if err != nil {
		panic(fmt.Sprintf("cannot parse goroutine ID from %q", buf[:n]))
	}
	return id
}

// waitGoroutineGone waits, with a deadline, until goroutine id has exited.
func waitGoroutineGone(t *testing.T, id uint64) {
	t.Helper()
	header := []byte(fmt.Sprintf("goroutine %d [", id))
	eventually(t, func() bool {
		buf := make([]byte, 1<<16)
		for {
			n := runtime.Stack(buf, true)
			if n < len(buf) {
				return !bytes.Contains(buf[:n], header)
			}
			buf = make([]byte, 2*len(buf))
		}
	}, fmt.Sprintf("goroutine %d exits", id))
}
