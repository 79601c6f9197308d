package actor_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"

	"github.com/arbor-go/arbor/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExitReasons(t *testing.T) {
	tests := []struct {
		name  string
		end   func(c *actor.Context) error
		check func(t *testing.T, reason error)
	}{
		{
			name:  "a Receive that returns an error exits with that error",
			end:   func(*actor.Context) error { return errBoom },
			check: func(t *testing.T, reason error) { assert.Equal(t, errBoom, reason) },
		},
		{
			name: "a Receive that panics with an error exits with a PanicError that wraps it",
			end:  func(*actor.Context) error { panic(errBoom) },
			check: func(t *testing.T, reason error) {
				var perr *actor.PanicError
				require.ErrorAs(t, reason, &perr)
				assert.ErrorIs(t, reason, errBoom)
				assert.Equal(t, errBoom, perr.Value)
			},
		},
		{
			name: "a Receive that panics with a non-error exits with a PanicError of that value",
			end:  func(*actor.Context) error { panic(42) },
			check: func(t *testing.T, reason error) {
				var perr *actor.PanicError
				require.ErrorAs(t, reason, &perr)
				assert.Equal(t, 42, perr.Value)
				assert.NoError(t, perr.Unwrap())
				assert.Equal(t, "panic: 42", perr.Error())
			},
		},
		{
			name: "Stop(nil) from inside is a normal exit",
			end: func(c *actor.Context) error {
				c.Stop(nil)
				return nil
			},
			check: func(t *testing.T, reason error) {
				assert.NoError(t, reason)
				assert.True(t, actor.IsNormal(reason))
			},
		},
		{
			name: "Stop with a shutdown detail from inside is a shutdown",
			end: func(c *actor.Context) error {
				c.Stop(actor.Shutdown("done here"))
				return nil
			},
			check: func(t *testing.T, reason error) {
				assert.True(t, actor.IsShutdown(reason))
				assert.False(t, actor.IsCrash(reason))
				var serr *actor.ShutdownError
				require.ErrorAs(t, reason, &serr)
				assert.Equal(t, "done here", serr.Detail)
			},
		},
		{
			name: "a returned error wins over an earlier Stop",
			end: func(c *actor.Context) error {
				c.Stop(nil)
				return errBoom
			},
			check: func(t *testing.T, reason error) { assert.Equal(t, errBoom, reason) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := mustSpawn(t, puppet(make(chan any, 1)))
			require.NoError(t, ref.Send(doFn(tt.end)))
			reason := waitDone(t, ref)
			assert.False(t, ref.Alive())
			assert.Equal(t, reason, ref.Err(), "Err is stable once Done is closed")
			tt.check(t, reason)
		})
	}
}

func TestPanicErrorStack(t *testing.T) {
	where := make(chan string, 1)
	ref := mustSpawn(t, puppet(make(chan any, 1)))
	require.NoError(t, ref.Send(doFn(func(*actor.Context) error {
		pc, _, _, _ := runtime.Caller(0)
		where <- runtime.FuncForPC(pc).Name()
		panic("kaboom")
	})))
	var perr *actor.PanicError
	require.ErrorAs(t, waitDone(t, ref), &perr)
	panicker := next(t, where)

	assert.Equal(t, "kaboom", perr.Value)
	names := frameNames(perr.Stack)
	require.NotEmpty(t, names)
	assert.Equal(t, panicker, names[0], "the first frame is the function that panicked")
	text := perr.Stack.String()
	assert.Contains(t, text, "TestPanicErrorStack")
	assert.NotContains(t, text, "runtime.gopanic")
	assert.NotContains(t, text, "runtime.goexit")
}

func TestExitReasonClasses(t *testing.T) {
	tests := []struct {
		reason                  error
		normal, shutdown, crash bool
	}{
		{nil, true, false, false},
		{actor.ErrShutdown, false, true, false},
		{actor.Shutdown("maintenance"), false, true, false},
		{fmt.Errorf("wrapped: %w", actor.ErrShutdown), false, true, false},
		{fmt.Errorf("wrapped: %w", actor.Shutdown("x")), false, true, false},
		{actor.ErrKilled, false, false, true},
		{actor.ErrNoProc, false, false, true},
		{errBoom, false, false, true},
		{&actor.PanicError{Value: "x"}, false, false, true},
		{context.Canceled, false, false, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v is normal=%v shutdown=%v crash=%v", tt.reason, tt.normal, tt.shutdown, tt.crash), func(t *testing.T) {
			assert.Equal(t, tt.normal, actor.IsNormal(tt.reason), "IsNormal")
			assert.Equal(t, tt.shutdown, actor.IsShutdown(tt.reason), "IsShutdown")
			assert.Equal(t, tt.crash, actor.IsCrash(tt.reason), "IsCrash")
		})
	}
}

func TestShutdownError(t *testing.T) {
	err := actor.Shutdown("maintenance")
	t.Run("a shutdown with a detail is ErrShutdown", func(t *testing.T) {
		assert.ErrorIs(t, err, actor.ErrShutdown)
		assert.True(t, actor.IsShutdown(err))
	})
	t.Run("a shutdown with a detail carries and prints it", func(t *testing.T) {
		var serr *actor.ShutdownError
		require.ErrorAs(t, err, &serr)
		assert.Equal(t, "maintenance", serr.Detail)
		assert.Equal(t, "shutdown: maintenance", err.Error())
	})
	t.Run("a shutdown is not any other reason", func(t *testing.T) {
		assert.NotErrorIs(t, err, actor.ErrKilled)
		assert.NotErrorIs(t, err, errBoom)
	})
}

// recordTerminate returns a lifecycle actor that runs the puppet's doFn
// messages and reports each Terminate's reason on terminated.
func recordTerminate(terminated chan<- error) *lifecycle {
	p := puppet(make(chan any, 8))
	return &lifecycle{
		receive:   p,
		terminate: func(_ *actor.Context, reason error) { terminated <- reason },
	}
}

func TestTerminate(t *testing.T) {
	tests := []struct {
		name string
		end  func(t *testing.T, ref *actor.Ref)
		want func(t *testing.T, reason error)
	}{
		{
			name: "Terminate runs once with the error Receive returned",
			end: func(t *testing.T, ref *actor.Ref) {
				require.NoError(t, ref.Send(doFn(func(*actor.Context) error { return errBoom })))
			},
			want: func(t *testing.T, reason error) { assert.Equal(t, errBoom, reason) },
		},
		{
			name: "Terminate runs once with the PanicError of a panic",
			end: func(t *testing.T, ref *actor.Ref) {
				require.NoError(t, ref.Send(doFn(func(*actor.Context) error { panic("oops") })))
			},
			want: func(t *testing.T, reason error) {
				var perr *actor.PanicError
				assert.ErrorAs(t, reason, &perr)
			},
		},
		{
			name: "Terminate runs once with nil for a normal exit",
			end: func(t *testing.T, ref *actor.Ref) {
				require.NoError(t, ref.Send(doFn(func(c *actor.Context) error { c.Stop(nil); return nil })))
			},
			want: func(t *testing.T, reason error) { assert.NoError(t, reason) },
		},
		{
			name: "Terminate runs once with ErrShutdown when the actor is stopped",
			end:  func(t *testing.T, ref *actor.Ref) { require.NoError(t, ref.Stop(callCtx(t))) },
			want: func(t *testing.T, reason error) { assert.ErrorIs(t, reason, actor.ErrShutdown) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			terminated := make(chan error, 4)
			ref := mustSpawn(t, recordTerminate(terminated))
			tt.end(t, ref)
			reason := waitDone(t, ref)
			// Terminate runs before the actor is declared stopped, so by now
			// every call to it has been made.
			require.Len(t, terminated, 1, "Terminate ran exactly once")
			got := <-terminated
			tt.want(t, got)
			assert.Equal(t, reason, got, "Terminate saw the exit reason")
		})
	}

	t.Run("Terminate does not run when the actor is killed", func(t *testing.T) {
		terminated := make(chan error, 4)
		dead := make(chan actor.DeadLetter, 4)
		ref := mustSpawn(t, recordTerminate(terminated), actor.WithDeadLetters(func(d actor.DeadLetter) { dead <- d }))
		g := newGate()
		defer g.open()
		entered := make(chan uint64, 1)
		require.NoError(t, ref.Send(doFn(func(*actor.Context) error {
			entered <- goroutineID()
			<-g.ch
			return nil
		})))
		gid := next(t, entered)
		require.NoError(t, ref.Send("left behind"))
		ref.Kill()
		assert.Empty(t, terminated, "not on Kill's goroutine")
		g.open()
		// Once the goroutine that ran the Receive is gone, anything it would
		// have done after it has been done.
		waitGoroutineGone(t, gid)
		assert.Empty(t, terminated, "not after the killed Receive returned")
		assert.Equal(t, "left behind", next(t, dead).Msg, "what was queued is a dead letter")
		assert.ErrorIs(t, ref.Err(), actor.ErrKilled)
	})

	t.Run("Terminate does not run when the killed Receive then panics", func(t *testing.T) {
		// A Receive cut short by Kill (its context cancelled) may well
		// panic on its way out; the panic is not a crash of its own.
		terminated := make(chan error, 4)
		ref := mustSpawn(t, recordTerminate(terminated))
		g := newGate()
		defer g.open()
		entered := make(chan uint64, 1)
		require.NoError(t, ref.Send(doFn(func(*actor.Context) error {
			entered <- goroutineID()
			<-g.ch
			panic("after the kill")
		})))
		gid := next(t, entered)
		ref.Kill()
		g.open()
		waitGoroutineGone(t, gid)
		assert.Empty(t, terminated, "no Terminate after the killed Receive panicked")
		assert.ErrorIs(t, ref.Err(), actor.ErrKilled)
	})
}

func TestPanickingTerminate(t *testing.T) {
	tests := []struct {
		name  string
		end   func(t *testing.T, ref *actor.Ref)
		check func(t *testing.T, reason error)
	}{
		{
			name: "a Terminate that panics after a clean stop turns the exit into a PanicError",
			end:  func(t *testing.T, ref *actor.Ref) { require.NoError(t, ref.Stop(callCtx(t))) },
			check: func(t *testing.T, reason error) {
				var perr *actor.PanicError
				require.ErrorAs(t, reason, &perr)
				assert.Equal(t, "cleanup failed", perr.Value)
			},
		},
		{
			name: "a Terminate that panics after a crash keeps the crash as the reason",
			end: func(t *testing.T, ref *actor.Ref) {
				require.NoError(t, ref.Send(doFn(func(*actor.Context) error { return errBoom })))
			},
			check: func(t *testing.T, reason error) { assert.Equal(t, errBoom, reason) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := newLogSink()
			ref := mustSpawn(t, &lifecycle{
				receive:   puppet(make(chan any, 1)),
				terminate: func(*actor.Context, error) { panic("cleanup failed") },
			}, actor.WithLogger(sink.logger()))
			tt.end(t, ref)
			tt.check(t, waitDone(t, ref))
			line := sink.lineWith(t, "panic in Terminate")
			assert.Equal(t, "error", line["level"])
			assert.Contains(t, line["reason"], "cleanup failed")
			assert.Contains(t, line["stack"], "TestPanickingTerminate")
		})
	}
}

func TestStop(t *testing.T) {
	t.Run("Stop cancels the context a blocked Receive waits on and returns once stopped", func(t *testing.T) {
		causes := make(chan error, 1)
		ref := mustSpawn(t, puppet(make(chan any, 1)))
		entered := make(chan struct{})
		require.NoError(t, ref.Send(doFn(func(c *actor.Context) error {
			close(entered)
			<-c.Context().Done()
			causes <- context.Cause(c.Context())
			return nil
		})))
		next(t, entered)
		require.NoError(t, ref.Stop(callCtx(t)))
		assert.True(t, isDone(ref), "Stop returns only once the actor has stopped")
		assert.ErrorIs(t, next(t, causes), actor.ErrShutdown, "the context's cause says why")
		assert.ErrorIs(t, ref.Err(), actor.ErrShutdown)
	})

	t.Run("a Receive that returns its context's error after a stop ends with ErrShutdown", func(t *testing.T) {
		// Returning ctx.Err() is how blocking work obeys a cancelled
		// context; the stop, not context.Canceled, is why the actor ended.
		terminated := make(chan error, 1)
		ref := mustSpawn(t, recordTerminate(terminated))
		entered := make(chan struct{})
		require.NoError(t, ref.Send(doFn(func(c *actor.Context) error {
			close(entered)
			<-c.Context().Done()
			return c.Context().Err()
		})))
		next(t, entered)
		require.NoError(t, ref.Stop(callCtx(t)))
		assert.ErrorIs(t, ref.Err(), actor.ErrShutdown)
		assert.False(t, actor.IsCrash(ref.Err()), "a stopped actor did not crash: %v", ref.Err())
		assert.ErrorIs(t, next(t, terminated), actor.ErrShutdown)
	})

	t.Run("Stop with a context that ends first returns its error and the actor still stops", func(t *testing.T) {
		ref := mustSpawn(t, puppet(make(chan any, 1)))
		g := newGate()
		defer g.open()
		entered := make(chan struct{})
		require.NoError(t, ref.Send(doFn(func(*actor.Context) error {
			close(entered)
			<-g.ch // deaf to its context: Stop cannot hurry it
			return nil
		})))
		next(t, entered)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		assert.ErrorIs(t, ref.Stop(ctx), context.Canceled)
		assert.True(t, ref.Alive())
		g.open()
		assert.ErrorIs(t, waitDone(t, ref), actor.ErrShutdown)
	})

	t.Run("stopping a stopped actor returns nil and changes nothing", func(t *testing.T) {
		ref := mustSpawn(t, puppet(make(chan any, 1)))
		require.NoError(t, ref.Send(doFn(func(*actor.Context) error { return errBoom })))
		waitDone(t, ref)
		assert.NoError(t, ref.Stop(callCtx(t)))
		assert.NoError(t, ref.Stop(callCtx(t)))
		assert.Equal(t, errBoom, ref.Err(), "the first exit reason stays")
	})

	t.Run("stopping an idle actor needs no message", func(t *testing.T) {
		ref := mustSpawn(t, puppet(make(chan any, 1)))
		require.NoError(t, ref.Stop(callCtx(t)))
		assert.ErrorIs(t, ref.Err(), actor.ErrShutdown)
	})

	t.Run("Done is the same closed channel for every caller after the stop", func(t *testing.T) {
		ref := mustSpawn(t, puppet(make(chan any, 1)))
		before := ref.Done()
		require.NoError(t, ref.Stop(callCtx(t)))
		assert.True(t, isDone(ref))
		select {
		case <-before:
		default:
			t.Fatal("a Done channel taken before the stop was not closed")
		}
	})
}

func TestKill(t *testing.T) {
	t.Run("Kill while Receive is blocked ends the actor at once", func(t *testing.T) {
		terminated := make(chan error, 1)
		ref := mustSpawn(t, recordTerminate(terminated))
		g := newGate()
		defer g.open()
		entered := make(chan struct{})
		var incCtx context.Context
		require.NoError(t, ref.Send(doFn(func(c *actor.Context) error {
			incCtx = c.Context()
			close(entered)
			<-g.ch // deaf to its context: only Kill can end it now
			return nil
		})))
		next(t, entered)

		ref.Kill()
		assert.True(t, isDone(ref), "Done is closed when Kill returns")
		assert.Equal(t, actor.ErrKilled, ref.Err())
		assert.False(t, ref.Alive())
		assert.ErrorIs(t, ref.Send("anyone?"), actor.ErrStopped)
		assert.ErrorIs(t, incCtx.Err(), context.Canceled)
		assert.ErrorIs(t, context.Cause(incCtx), actor.ErrKilled)

		g.open()
		assert.Empty(t, terminated)
	})

	t.Run("Kill of an idle actor stops it with ErrKilled", func(t *testing.T) {
		ref := mustSpawn(t, puppet(make(chan any, 1)))
		ref.Kill()
		assert.Equal(t, actor.ErrKilled, waitDone(t, ref))
	})

	t.Run("Kill after a stop changes nothing", func(t *testing.T) {
		ref := mustSpawn(t, puppet(make(chan any, 1)))
		require.NoError(t, ref.Stop(callCtx(t)))
		ref.Kill()
		assert.ErrorIs(t, ref.Err(), actor.ErrShutdown)
	})

	t.Run("a killed actor's exit reason is ErrKilled, which is a crash", func(t *testing.T) {
		assert.True(t, actor.IsCrash(actor.ErrKilled))
		assert.False(t, errors.Is(actor.ErrKilled, actor.ErrShutdown))
	})
}
