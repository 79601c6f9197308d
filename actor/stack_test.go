package actor_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/clock"
	"github.com/arbor-go/arbor/mailbox"
	"github.com/arbor-go/arbor/strategy"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// explode is small enough for the compiler to inline into its caller, which
// the stack trimming must see through.
func explode(v any) { panic(v) }

//go:noinline
func explodeNotInlined(v any) { panic(v) }

//go:noinline
func dereference(p *int) int { return *p }

// funcName returns the name of the function that calls it.
func funcName() string {
	pc, _, _, _ := runtime.Caller(1)
	return runtime.FuncForPC(pc).Name()
}

const pkgPrefix = "github.com/arbor-go/arbor/actor_test."

// checkTrimmed asserts what every captured stack must satisfy: no runtime
// panic machinery on top, none of Arbor's dispatch frames at the bottom.
func checkTrimmed(t *testing.T, s actor.Stack) {
	t.Helper()
	names := frameNames(s)
	require.NotEmpty(t, names)
	for _, n := range names {
		assert.False(t, strings.HasPrefix(n, "runtime."), "runtime frame %s kept in %v", n, names)
		assert.False(t, strings.HasPrefix(n, "github.com/arbor-go/arbor/actor.(*Ref)."),
			"dispatch frame %s kept in %v", n, names)
	}
}

func TestPanicStackIsTrimmed(t *testing.T) {
	tests := []struct {
		name  string
		fire  func(where chan<- string)
		first string // the expected first frame; "" means the closure that reports where
		value func(t *testing.T, v any)
	}{
		{
			name: "a panic in Receive itself starts at Receive",
			fire: func(where chan<- string) {
				where <- funcName()
				panic("direct")
			},
			value: func(t *testing.T, v any) { assert.Equal(t, "direct", v) },
		},
		{
			name: "a panic in a helper starts at the helper",
			fire: func(where chan<- string) {
				where <- funcName()
				explodeNotInlined("helper")
			},
			first: pkgPrefix + "explodeNotInlined",
			value: func(t *testing.T, v any) { assert.Equal(t, "helper", v) },
		},
		{
			name: "a panic in an inlined helper starts at the helper",
			fire: func(where chan<- string) {
				where <- funcName()
				explode("inlined")
			},
			first: pkgPrefix + "explode",
			value: func(t *testing.T, v any) { assert.Equal(t, "inlined", v) },
		},
		{
			name: "a nil dereference starts at the function that dereferenced",
			fire: func(where chan<- string) {
				where <- funcName()
				dereference(nil)
			},
			first: pkgPrefix + "dereference",
			value: func(t *testing.T, v any) {
				_, isRuntimeError := v.(runtime.Error)
				assert.True(t, isRuntimeError, "the value is the runtime error, got %T", v)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			where := make(chan string, 1)
			perr := crashOf(t, func() error { tt.fire(where); return nil })
			tt.value(t, perr.Value)
			caller := next(t, where)
			names := frameNames(perr.Stack)
			require.NotEmpty(t, names)
			if tt.first == "" {
				assert.Equal(t, caller, names[0])
			} else {
				assert.Equal(t, tt.first, names[0])
				assert.Contains(t, names, caller, "the caller of the panicking helper is kept")
			}
			assert.Contains(t, perr.Stack.String(), "TestPanicStackIsTrimmed")
			checkTrimmed(t, perr.Stack)
		})
	}
}

type panickyInit struct{}

func (panickyInit) Init(*actor.Context) error         { explodeNotInlined("init"); return nil }
func (panickyInit) Receive(*actor.Context, any) error { return nil }

func TestPanicStackOfHooksAndTasks(t *testing.T) {
	t.Run("a panic in Init is trimmed to Init and below", func(t *testing.T) {
		_, err := actor.Spawn(context.Background(), panickyInit{}, actor.WithLogger(zerolog.Nop()))
		var perr *actor.PanicError
		require.ErrorAs(t, err, &perr)
		names := frameNames(perr.Stack)
		require.NotEmpty(t, names)
		assert.Equal(t, pkgPrefix+"explodeNotInlined", names[0])
		assert.True(t, hasFrame(names, "panickyInit.Init"), "Init is in %v", names)
		checkTrimmed(t, perr.Stack)
	})

	t.Run("a panic in a task is trimmed to the task's function", func(t *testing.T) {
		ref := mustSpawn(t, actor.Task(func(context.Context, *actor.Context) error {
			explodeNotInlined("task")
			return nil
		}))
		var perr *actor.PanicError
		require.ErrorAs(t, waitDone(t, ref), &perr)
		names := frameNames(perr.Stack)
		require.NotEmpty(t, names)
		assert.Equal(t, pkgPrefix+"explodeNotInlined", names[0])
		assert.True(t, hasFrame(names, "TestPanicStackOfHooksAndTasks"), "the task's function is in %v", names)
		checkTrimmed(t, perr.Stack)
	})
}

func TestStackFormatting(t *testing.T) {
	t.Run("an empty stack has no frames and prints nothing", func(t *testing.T) {
		var s actor.Stack
		assert.Nil(t, s.Frames())
		assert.Empty(t, s.String())
	})

	t.Run("a stack prints each function followed by its file and line", func(t *testing.T) {
		perr := crashOf(t, func() error { explodeNotInlined("fmt"); return nil })
		lines := strings.Split(strings.TrimSuffix(perr.Stack.String(), "\n"), "\n")
		require.Equal(t, 2*len(perr.Stack.Frames()), len(lines))
		assert.Equal(t, pkgPrefix+"explodeNotInlined", lines[0])
		assert.True(t, strings.HasPrefix(lines[1], "\t"), "file line is indented: %q", lines[1])
		assert.Contains(t, lines[1], "stack_test.go:")
	})
}

// initPanics is an actor whose Init panics.
type initPanics struct{ actor.Func }

func (initPanics) Init(*actor.Context) error { panic("init") }

// An Init that panics in a restart in place runs inside the recover of the
// crash before, on top of that panic's frames: its stack is trimmed to Init
// all the same, not returned whole.
func TestPanicStackOfInitInARestartInPlace(t *testing.T) {
	rs := newRestarter(func() (actor.Actor, bool) { return initPanics{}, true })
	f := spawnFamily(t, actor.WithRestarter(rs))
	require.NoError(t, f.child.Send(doFn(func(*actor.Context) error { explodeNotInlined("crash"); return nil })))
	next(t, rs.calls) // asked
	got, ok := next(t, rs.calls).(restarted)
	require.True(t, ok)
	var perr *actor.PanicError
	require.ErrorAs(t, got.err, &perr)
	assert.Equal(t, "init", perr.Value)
	checkTrimmed(t, perr.Stack)
	names := frameNames(perr.Stack)
	require.NotEmpty(t, names)
	assert.Equal(t, pkgPrefix+"initPanics.Init", names[0], "the stack starts at Init: %v", names)
}

// writeNilMap panics with a runtime error raised by the runtime's map code.
//
//go:noinline
func writeNilMap() {
	var m map[string]int
	//lint:ignore SA5000 the panic is what the tests want
	m["x"] = 1
}

// checkNested asserts what the stack of a panic that interrupted another
// must satisfy: it starts at a frame of the user's, holds the interrupted
// panic's runtime.gopanic below it, as Go's traceback does, and ends
// before Arbor's dispatch frames.
func checkNested(t *testing.T, s actor.Stack) {
	t.Helper()
	names := frameNames(s)
	require.NotEmpty(t, names)
	assert.False(t, strings.HasPrefix(names[0], "runtime."), "the stack starts in the runtime: %v", names)
	assert.Contains(t, names, "runtime.gopanic", "the interrupted panic is not shown: %v", names)
	for _, n := range names {
		assert.False(t, strings.HasPrefix(n, "github.com/arbor-go/arbor/actor.(*Ref)."),
			"dispatch frame %s kept in %v", n, names)
	}
}

// crashOf spawns an actor whose Receive runs body, sends it a message and
// returns the *PanicError it crashed with.
func crashOf(t *testing.T, body func() error) *actor.PanicError {
	t.Helper()
	return panicOf(t, actor.Func(func(*actor.Context, any) error { return body() }))
}

// panicOf spawns a with opts, sends it a message and returns the
// *PanicError it crashed with.
func panicOf(t *testing.T, a actor.Actor, opts ...actor.Option) *actor.PanicError {
	t.Helper()
	ref := mustSpawn(t, a, opts...)
	require.NoError(t, ref.Send("go"))
	var perr *actor.PanicError
	require.ErrorAs(t, waitDone(t, ref), &perr)
	return perr
}

// indexOf returns the index of the first name that ends with suffix, or -1.
func indexOf(names []string, suffix string) int {
	for i, n := range names {
		if strings.HasSuffix(n, suffix) {
			return i
		}
	}
	return -1
}

// A Receive that recovers a panic to clean up and panics again with the
// value (recover, log, re-panic) crashes with that value; as in Go's
// traceback, its stack starts at the deferred function that panicked
// again, and shows the first panic below it, down to where the value was
// raised.
func TestPanicStackOfARepanic(t *testing.T) {
	tests := []struct {
		name  string
		first string
		fire  func()
	}{
		{"a panic", "explodeNotInlined", func() { explodeNotInlined("first") }},
		{"a runtime error", "writeNilMap", writeNilMap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			where := make(chan string, 1)
			perr := crashOf(t, func() error {
				defer func() {
					if v := recover(); v != nil {
						where <- funcName()
						panic(v) // cleaned up; let the actor crash as before
					}
				}()
				tt.fire()
				return nil
			})
			names := frameNames(perr.Stack)
			require.NotEmpty(t, names)
			assert.Equal(t, next(t, where), names[0], "the stack starts where the value was panicked again: %v", names)
			assert.Greater(t, indexOf(names, "."+tt.first), indexOf(names, "runtime.gopanic"),
				"where the value was raised shows below the first panic: %v", names)
			checkNested(t, perr.Stack)
		})
	}
}

// A deferred function that panics with a value of its own while another
// panic unwinds (a cleanup that fails) is where the crash's value was
// raised: the stack starts there, as Go's traceback does.
func TestPanicStackOfAPanicInADeferredFunctionStartsThere(t *testing.T) {
	t.Run("a deferred function of Receive panics during another panic", func(t *testing.T) {
		where := make(chan string, 1)
		perr := crashOf(t, func() error {
			defer func() {
				where <- funcName()
				panic("cleanup failed") // not a re-panic: a value of its own
			}()
			writeNilMap()
			return nil
		})
		assert.Equal(t, "cleanup failed", perr.Value)
		names := frameNames(perr.Stack)
		require.NotEmpty(t, names)
		assert.Equal(t, next(t, where), names[0], "the stack starts where the crash's value was raised: %v", names)
		checkNested(t, perr.Stack)
	})

	t.Run("NewPanicError in a recover nested in a deferred function", func(t *testing.T) {
		inner := make(chan *actor.PanicError, 1)
		crashOf(t, func() error {
			defer func() {
				if v := recover(); v != nil {
					func() { // a cleanup guarded by the user's own recover
						defer func() {
							if w := recover(); w != nil {
								inner <- actor.NewPanicError(w)
							}
						}()
						explodeNotInlined("cleanup failed")
					}()
					panic(v)
				}
			}()
			writeNilMap()
			return nil
		})
		perr := next(t, inner)
		assert.Equal(t, "cleanup failed", perr.Value)
		names := frameNames(perr.Stack)
		require.NotEmpty(t, names)
		assert.Equal(t, pkgPrefix+"explodeNotInlined", names[0],
			"the stack of the cleanup's panic starts where it was raised, not at the first crash: %v", names)
		checkNested(t, perr.Stack)
	})
}

// A defer that is not open-coded (in a loop, past eight defers, or in a
// build without optimizations) runs at the function's return through
// runtime.deferreturn, which the walk of frame pointers sees and
// runtime.Callers does not: a panic there keeps no runtime frame.
func TestPanicStackOfADeferredCallAtReturnHasNoRuntimeFrame(t *testing.T) {
	where := make(chan string, 1)
	perr := crashOf(t, func() error {
		for range 1 {
			defer func() {
				where <- funcName()
				panic("at return")
			}()
		}
		return nil
	})
	names := frameNames(perr.Stack)
	require.NotEmpty(t, names)
	assert.Equal(t, next(t, where), names[0])
	checkTrimmed(t, perr.Stack)
}

// nilValueActor has value methods: called through a nil *nilValueActor,
// each panics in the compiler's wrapper, through runtime.panicwrap.
type nilValueActor struct{ _ int }

func (nilValueActor) Init(*actor.Context) error         { return nil }
func (nilValueActor) Receive(*actor.Context, any) error { return nil }

// nilValueReceiver is nilValueActor without Init.
type nilValueReceiver struct{ _ int }

func (nilValueReceiver) Receive(*actor.Context, any) error { return nil }

// An actor given as a nil pointer whose methods have value receivers
// panics in the wrapper the compiler wrote, which Go's traceback shows as
// the panicking function: the stack is that wrapper, not the whole stack.
func TestPanicStackOfANilPointerActorWithValueMethods(t *testing.T) {
	t.Run("Init", func(t *testing.T) {
		_, err := actor.Spawn(context.Background(), (*nilValueActor)(nil), actor.WithLogger(zerolog.Nop()))
		var perr *actor.PanicError
		require.ErrorAs(t, err, &perr)
		checkTrimmed(t, perr.Stack)
		assert.Equal(t, []string{pkgPrefix + "(*nilValueActor).Init"}, frameNames(perr.Stack))
	})
	t.Run("Receive", func(t *testing.T) {
		perr := panicOf(t, (*nilValueReceiver)(nil))
		checkTrimmed(t, perr.Stack)
		assert.Equal(t, []string{pkgPrefix + "(*nilValueReceiver).Receive"}, frameNames(perr.Stack))
	})
}

// OnStop, OnIncarnationEnd and AfterStop run f at once, on the caller's
// goroutine, on an actor that has stopped. If f panics in a Receive, the
// actor crashes, and its stack is the hook's, down to the hook: Arbor's
// frames that ran it cut the stack, as they cut every function of the
// user's that Arbor calls.
func TestPanicStackOfAnEndHookRunAtOnce(t *testing.T) {
	dead := mustSpawn(t, actor.Func(func(*actor.Context, any) error { return nil }))
	stopOrKill(t, dead)
	hook := make(chan string, 1)
	perr := crashOf(t, func() error {
		dead.OnStop(func(*actor.Ref, error) {
			hook <- funcName()
			explodeNotInlined("hook")
		})
		return nil
	})
	assert.Equal(t, []string{pkgPrefix + "explodeNotInlined", next(t, hook)}, frameNames(perr.Stack))
}

// A deferred close(ch) that panics while another panic unwinds (a channel
// closed twice) raised the crash's value, from a wrapper of the compiler's
// that runtime.Callers leaves out, as Go's traceback does: the stack starts
// at the interrupted panic's runtime.gopanic, not as if the first panic's
// line had closed the channel.
func TestPanicStackOfADeferredCloseDuringAPanic(t *testing.T) {
	perr := crashOf(t, func() error {
		done := make(chan struct{})
		close(done)
		defer close(done) // closed twice: panics while "first" unwinds
		explodeNotInlined("first")
		return nil
	})
	rerr, ok := perr.Value.(runtime.Error)
	require.True(t, ok, "the value is the close's runtime error, got %T", perr.Value)
	assert.Contains(t, rerr.Error(), "close of closed channel")
	names := frameNames(perr.Stack)
	require.GreaterOrEqual(t, len(names), 2, "%v", names)
	assert.Equal(t, []string{"runtime.gopanic", pkgPrefix + "explodeNotInlined"}, names[:2])
}

// A dead-letter hook is the user's code that Arbor calls: when it panics
// as the actor ends with a message still queued (the actor's own goroutine
// drains the mailbox), the logged stack ends at the hook, without Arbor's
// frames: neither the dispatch frames nor the mailbox that called them.
func TestPanicStackOfADeadLetterHookRunAsTheMailboxDrains(t *testing.T) {
	sink := newLogSink()
	inside := make(chan struct{})
	g := newGate()
	ref := mustSpawn(t, actor.Func(func(_ *actor.Context, msg any) error {
		if msg == "block" {
			close(inside)
			<-g.ch
			return errBoom
		}
		return nil
	}), actor.WithLogger(sink.logger()),
		actor.WithDeadLetters(func(actor.DeadLetter) { explodeNotInlined("dead letter") }))
	require.NoError(t, ref.Send("block"))
	next(t, inside)
	require.NoError(t, ref.Send("queued")) // still queued as the actor ends
	g.open()
	line := sink.lineWith(t, "panic in the dead-letter hook")
	stack, _ := line["stack"].(string)
	var names []string
	for _, l := range strings.Split(strings.TrimSuffix(stack, "\n"), "\n") {
		if !strings.HasPrefix(l, "\t") {
			names = append(names, l)
		}
	}
	require.NotEmpty(t, names, "no stack logged")
	assert.Equal(t, pkgPrefix+"explodeNotInlined", names[0])
	for _, n := range names {
		assert.False(t, strings.HasPrefix(n, "github.com/arbor-go/arbor/actor.(*Ref)."),
			"dispatch frame %s kept in %v", n, names)
		assert.False(t, strings.HasPrefix(n, "github.com/arbor-go/arbor/mailbox."),
			"Arbor's mailbox frame %s kept in %v", n, names)
	}
}

// The interrupted panic of a re-panic shows below it as Go's traceback
// shows it: its runtime.gopanic, then the user's frame that faulted, without
// the runtime functions that raised the fault for the user (runtime.panicmem
// and runtime.sigpanic here), which the reported panic's top leaves out too.
func TestPanicStackOfARepanicOfAFaultShowsNoRuntimeHelpers(t *testing.T) {
	perr := crashOf(t, func() error {
		defer func() {
			if v := recover(); v != nil {
				panic(v)
			}
		}()
		dereference(nil)
		return nil
	})
	names := frameNames(perr.Stack)
	require.Contains(t, names, "runtime.gopanic")
	for _, n := range names {
		if strings.HasPrefix(n, "runtime.") {
			assert.Equal(t, "runtime.gopanic", n, "runtime frame kept below the interrupted panic: %v", names)
		}
	}
}

// gowrapHelper is a user's function whose name contains ".gowrap", as a
// compiler-written go-statement wrapper's does.
//
//go:noinline
func gowrapHelper() { explodeNotInlined("helper") }

// deferwrapHelper is the same for ".deferwrap".
//
//go:noinline
func deferwrapHelper() { explodeNotInlined("helper") }

// Only code the compiler wrote is left out as a wrapper: a user's function
// whose name merely contains ".gowrap" or ".deferwrap" is kept.
func TestPanicStackKeepsAUserFunctionNamedLikeAWrapper(t *testing.T) {
	for _, tt := range []struct {
		name string
		fn   func()
	}{{"gowrapHelper", gowrapHelper}, {"deferwrapHelper", deferwrapHelper}} {
		t.Run(tt.name, func(t *testing.T) {
			perr := crashOf(t, func() error { tt.fn(); return nil })
			names := frameNames(perr.Stack)
			assert.Contains(t, names, pkgPrefix+tt.name, "the user's function is dropped: %v", names)
		})
	}
}

// genericCrasher is a generic actor whose Receive is too big to inline (as
// most are): Arbor calls it through the Actor interface, that is through
// the compiler's wrapper of the instantiation, which carries the same name.
type genericCrasher[T any] struct{ v T }

//go:noinline
func (a genericCrasher[T]) Receive(*actor.Context, any) error {
	panic(a.v)
}

// genericHandler is a generic function given to actor.Func as a func value,
// which is also the instantiation's wrapper.
//
//go:noinline
func genericHandler[T any](_ *actor.Context, msg any) error {
	panic(msg)
}

// A generic function called through an interface or a func value runs
// inside a wrapper that the compiler wrote for the instantiation. Go's
// traceback and runtime.Callers leave it out; the walk of frame pointers
// sees it, and since it is named as the function it wraps and has a real
// file, the stack shows the user's function twice.
func TestPanicStackOfAGenericFunctionShowsItOnce(t *testing.T) {
	t.Run("a generic actor's Receive", func(t *testing.T) {
		perr := panicOf(t, genericCrasher[string]{"generic"})
		assert.Equal(t, []string{pkgPrefix + "genericCrasher[...].Receive"}, frameNames(perr.Stack))
	})
	t.Run("a generic function as actor.Func", func(t *testing.T) {
		perr := panicOf(t, actor.Func(genericHandler[int]))
		assert.Equal(t, []string{pkgPrefix + "genericHandler[...]", "github.com/arbor-go/arbor/actor.Func.Receive"},
			frameNames(perr.Stack))
	})
}

type nilValueM struct{ _ int }

func (nilValueM) M() {}

type mer interface{ M() }

//go:noinline
func callM(i mer) { i.M() }

// A value method called through a nil pointer panics in the compiler's
// wrapper, which Go's traceback shows as the panicking function and which
// a crash of an actor's Receive keeps on top. Captured by NewPanicError,
// the stack starts with the user's deferred function (skipped by Frames),
// so the wrapper is no longer "before any frame of the user's" and is
// dropped: the stack starts at the caller instead.
func TestNewPanicErrorKeepsTheWrapperThatRaisedThePanic(t *testing.T) {
	want := pkgPrefix + "(*nilValueM).M"
	t.Run("crash of a Receive", func(t *testing.T) {
		perr := crashOf(t, func() error { callM((*nilValueM)(nil)); return nil })
		names := frameNames(perr.Stack)
		require.NotEmpty(t, names)
		assert.Equal(t, want, names[0], "%v", names)
	})
	t.Run("NewPanicError with no Arbor frame", func(t *testing.T) {
		var perr *actor.PanicError
		func() {
			defer func() { perr = actor.NewPanicError(recover()) }()
			callM((*nilValueM)(nil))
		}()
		names := frameNames(perr.Stack)
		require.NotEmpty(t, names)
		assert.Equal(t, want, names[0], "%v", names)
	})
	t.Run("NewPanicError in a Receive", func(t *testing.T) {
		got := make(chan *actor.PanicError, 1)
		crashOf(t, func() error {
			func() {
				defer func() { got <- actor.NewPanicError(recover()) }()
				callM((*nilValueM)(nil))
			}()
			panic("done")
		})
		names := frameNames(next(t, got).Stack)
		require.NotEmpty(t, names)
		assert.Equal(t, want, names[0], "%v", names)
	})
}

// count returns how many of names are exactly name.
func count(names []string, name string) int {
	n := 0
	for _, x := range names {
		if x == name {
			n++
		}
	}
	return n
}

// convert is a generic function that hands its value on as a string, to
// the string instantiation of itself: one call at T=int, then T=string
// (another shape, so another function at another entry, which Go's
// traceback and runtime.Callers show as a frame of its own, under the same
// printed name convert[...]).
//
//go:noinline
func convert[T any](n int, v T) {
	if n == 0 {
		panic(fmt.Sprint("bottom: ", v))
	}
	convert[string](n-1, fmt.Sprint(v))
}

// relay is a generic actor decorator that forwards to the actor it wraps,
// here a relay of another instantiation.
type relay[T any] struct {
	tag  T
	next actor.Actor
}

//go:noinline
func (r relay[T]) Receive(c *actor.Context, msg any) error {
	if r.next == nil {
		panic(fmt.Sprint("no next after ", r.tag))
	}
	return r.next.Receive(c, msg)
}

// A generic function or method that calls another instantiation of itself
// (of another shape) runs in two real functions with the same printed name:
// the stack shows both frames, as Go's traceback does, though it drops the
// wrapper of an instantiation, which has that name too.
func TestPanicStackKeepsEachInstantiationOfAGeneric(t *testing.T) {
	t.Run("a generic function calling another instantiation of itself", func(t *testing.T) {
		perr := crashOf(t, func() error { convert[int](2, 7); return nil })
		names := frameNames(perr.Stack)
		// convert[int](2) -> convert[string](1) -> convert[string](0), as Go shows it.
		assert.Equal(t, 3, count(names, pkgPrefix+"convert[...]"), "%v", names)
	})
	t.Run("a generic method on a generic type at two instantiations", func(t *testing.T) {
		perr := panicOf(t, relay[int]{tag: 1, next: relay[string]{tag: "inner"}})
		names := frameNames(perr.Stack)
		// relay[string].Receive (panics) <- relay[int].Receive (forwards) <- Arbor.
		assert.Equal(t, []string{pkgPrefix + "relay[...].Receive", pkgPrefix + "relay[...].Receive"}, names)
	})
}

// chain is a list whose walk recurses through an interface: walk is small
// enough to be inlined at a direct call, while its calls to itself, through
// the interface, are real calls.
type walker interface{ walk(n int) }

type chain struct{ next walker }

func (c *chain) walk(n int) {
	if n == 0 {
		panic("end of the chain")
	}
	c.next.walk(n - 1)
}

// stepper recurses through a method value kept in a field.
type stepper struct{ step func(int) }

func (s *stepper) run(n int) {
	if n == 0 {
		panic("no more steps")
	}
	s.step(n - 1)
}

// selfCall is a function that is given itself, to call itself again.
type selfCall func(self selfCall, n int)

// A function that calls itself indirectly (through an interface, a method
// value, a closure passed to itself) can be inlined at the first, direct,
// call: that frame is the inlined function, whose Entry is its caller's,
// under the same name as the real frame of the function above it. It is a
// frame of its own (Go's traceback shows it, with the caller's line), not
// the wrapper of a generic instantiation.
func TestPanicStackKeepsTheInlinedFirstCallOfARecursion(t *testing.T) {
	// rawCount is how many frames of name the unwinder itself reports,
	// inlined ones included (runtime.CallersFrames, as Go's traceback).
	rawCount := func(s actor.Stack, name string) int {
		n := 0
		frames := runtime.CallersFrames(s)
		for {
			f, more := frames.Next()
			if f.Function == name {
				n++
			}
			if !more {
				return n
			}
		}
	}
	// threeCalls asserts that the stack of fire's crash shows name's
	// three calls, as the capture holds them.
	threeCalls := func(t *testing.T, name string, fire func()) {
		t.Helper()
		perr := crashOf(t, func() error { fire(); return nil })
		names := frameNames(perr.Stack)
		require.Equal(t, 3, rawCount(perr.Stack, name), "the capture holds the three calls")
		assert.Equal(t, 3, count(names, name), "%v", names)
	}
	t.Run("through an interface", func(t *testing.T) {
		threeCalls(t, pkgPrefix+"(*chain).walk", func() {
			c := &chain{}
			c.next = c
			c.walk(2) // walk(2) -> walk(1) -> walk(0)
		})
	})
	t.Run("through a method value", func(t *testing.T) {
		threeCalls(t, pkgPrefix+"(*stepper).run", func() {
			s := &stepper{}
			s.step = s.run
			s.run(2)
		})
	})
	t.Run("through a closure given itself", func(t *testing.T) {
		var name string
		perr := crashOf(t, func() error {
			countdown := selfCall(func(self selfCall, n int) {
				if n == 0 {
					name = funcName()
					panic("liftoff")
				}
				self(self, n-1)
			})
			countdown(countdown, 2)
			return nil
		})
		names := frameNames(perr.Stack)
		require.Equal(t, 3, rawCount(perr.Stack, name), "the capture holds the three calls")
		assert.Equal(t, 3, count(names, name), "%v", names)
	})
}

// eqInner holds an interface, so that comparing it may panic; eqOuter holds
// an array of them, which the compiler compares by calling the array's
// equality function from eqOuter's.
type eqInner struct{ v any }

type eqOuter struct{ a [4]eqInner }

//go:noinline
func sameOuter(a, b eqOuter) bool { return a == b }

// The compiler's equality functions (type:.eq.T) have no file of their
// own, as its wrappers have not, but are no wrappers: the stack shows each
// of them, as runtime.Callers and Go's traceback do. Comparing uncomparable values panics in the
// innermost one, called from the outer struct's: Go's traceback shows
// type:.eq.[...]...eqInner, then type:.eq....eqOuter, then sameOuter.
func TestPanicStackKeepsTheCompilersEqualityFunctions(t *testing.T) {
	perr := crashOf(t, func() error {
		var a, b eqOuter
		a.a[2].v, b.a[2].v = []int{1}, []int{1}
		_ = sameOuter(a, b)
		return nil
	})
	_, ok := perr.Value.(runtime.Error)
	require.True(t, ok, "comparing uncomparable values is a runtime error: %v", perr.Value)
	names := frameNames(perr.Stack)
	require.GreaterOrEqual(t, len(names), 3, "%v", names)
	assert.Equal(t, []string{"type:.eq." + pkgPrefix + "eqOuter", pkgPrefix + "sameOuter"}, names[1:3],
		"the outer struct's equality function, below the array's, as Go's traceback shows it: %v", names)
}

// attemptOf reads the attempt of a backoff state that the caller forgot to
// make: a nil *strategy.BackoffState.
//
//go:noinline
func attemptOf(s *strategy.BackoffState) int { return s.Attempt() }

// advance moves a fake clock that the caller forgot to make: a nil
// *clock.Fake.
//
//go:noinline
func advance(c *clock.Fake) { c.Advance(time.Second) }

// A Receive that calls one of Arbor's own functions wrongly (on a nil
// pointer) faults in Arbor's code, which calls nothing of the user's: the
// stack shows it as Go's traceback does, from where it faulted down to the
// user's Receive, without the runtime's panic machinery on top or Arbor's
// dispatch frames below, and without losing the user's frames that called
// it.
func TestPanicStackOfAFaultInArborCodeTheUserCalled(t *testing.T) {
	for _, tt := range []struct {
		name, caller string
		fire         func()
	}{
		{"strategy", "attemptOf", func() { attemptOf(nil) }},
		{"clock", "advance", func() { advance(nil) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			perr := crashOf(t, func() error { tt.fire(); return nil })
			names := frameNames(perr.Stack)
			require.NotEmpty(t, names)
			var odd []string
			for _, n := range names {
				if strings.HasPrefix(n, "runtime.") || strings.HasPrefix(n, "github.com/arbor-go/arbor/actor.(*Ref).") {
					odd = append(odd, n)
				}
			}
			assert.Empty(t, odd, "the runtime's or the dispatch loop's frames kept: %v", names)
			assert.NotEqual(t, -1, indexOf(names, "."+tt.caller), "the user's function that called Arbor is lost: %v", names)
			assert.Equal(t, "github.com/arbor-go/arbor/actor.Func.Receive", names[len(names)-1],
				"not down to the user's Receive: %v", names)
		})
	}
}

// allowOf records a restart in a window that the caller forgot to make: a
// nil *strategy.Window.
//
//go:noinline
func allowOf(w *strategy.Window) bool { return w.Allow(time.Time{}) }

// A Receive that calls one of Arbor's functions wrongly (allowOf: a nil
// *strategy.Window) and panics again from a deferred function, with
// the value it recovered or with one of its own, crashes with a stack whose
// interrupted panic shows below its runtime.gopanic as Go's traceback shows
// it: from Arbor's frame that faulted down to the user's Receive. That
// frame is the interrupted panic's top, to be kept as Arbor's code at the
// reported panic's top is, not taken for Arbor's code that called the
// deferred function above it.
func TestPanicStackOfANestedPanicOverAFaultInArborCodeTheUserCalled(t *testing.T) {
	for _, tt := range []struct {
		name    string
		cleanup func()
	}{
		{"a re-panic", func() {
			if v := recover(); v != nil {
				panic(v)
			}
		}},
		{"a cleanup that fails", func() { panic("cleanup failed") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			perr := crashOf(t, func() error {
				defer tt.cleanup()
				allowOf(nil)
				return nil
			})
			names := frameNames(perr.Stack)
			gp := indexOf(names, "runtime.gopanic")
			require.NotEqual(t, -1, gp, "the interrupted panic is not shown: %v", names)
			assert.Greater(t, indexOf(names, "strategy.(*Window).Allow"), gp,
				"Arbor's frame where the interrupted panic was raised is lost: %v", names)
			assert.Greater(t, indexOf(names, ".allowOf"), gp,
				"the user's function that called Arbor is lost: %v", names)
			assert.Equal(t, "github.com/arbor-go/arbor/actor.Func.Receive", names[len(names)-1],
				"not down to the user's Receive: %v", names)
		})
	}
}

// dropPanicOf spawns an actor with a mailbox of one and onDrop, which fills
// and overflows its own mailbox, and returns the *PanicError that onDrop's
// panic crashed it with.
func dropPanicOf(t *testing.T, onDrop func(any)) *actor.PanicError {
	t.Helper()
	return panicOf(t, actor.Func(func(c *actor.Context, msg any) error {
		if msg == "go" {
			_ = c.Self().Send("queued")  // fills the mailbox
			_ = c.Self().Send("dropped") // overflows it: OnDrop panics
		}
		return nil
	}), actor.WithMailbox(mailbox.Options{Capacity: 1, Policy: mailbox.DropNewest, OnDrop: onDrop}))
}

// A mailbox's own OnDrop, given WithMailbox, is a hook of the user's that
// Arbor runs at once from the Send that overflowed the mailbox: a panic in
// it crashes the sender with a stack that shows down to the hook only, as
// for an end hook run at once (TestPanicStackOfAnEndHookRunAtOnce), without
// the closure of Arbor's that wraps the hook for the dead-letter count.
func TestPanicStackOfAMailboxOnDropHook(t *testing.T) {
	hook := make(chan string, 1)
	perr := dropPanicOf(t, func(any) {
		hook <- funcName()
		explodeNotInlined("drop")
	})
	names := frameNames(perr.Stack)
	for _, n := range names {
		assert.False(t, strings.HasPrefix(n, "github.com/arbor-go/arbor/actor.") && !strings.HasPrefix(n, "github.com/arbor-go/arbor/actor.Func."),
			"Arbor's frame %s kept: %v", n, names)
	}
	assert.Equal(t, []string{pkgPrefix + "explodeNotInlined", next(t, hook)}, names)
}

// A mailbox's OnDrop hook that is a function of the standard library's (a
// method value: remember the last dropped message in an atomic.Value) panics
// when a dropped message has another type than the one stored before. The
// hook is the user's code that Arbor calls, as in TestPanicStackOfAMailboxOnDropHook:
// its stack ends at the hook, without Arbor's closure that wraps it, the
// mailbox or Send below it.
func TestPanicStackOfAStandardLibraryFunctionGivenAsAnOnDropHook(t *testing.T) {
	var last atomic.Value
	last.Store(0) // an int: the dropped string has another type
	perr := dropPanicOf(t, last.Store)
	assert.Equal(t, []string{"sync/atomic.(*Value).Store"}, frameNames(perr.Stack),
		"Arbor's frames below the hook kept")
}
