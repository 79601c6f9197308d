package actor_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCallReplies(t *testing.T) {
	errRefused := errors.New("refused")
	tests := []struct {
		name    string
		handle  func(c *actor.Context) error
		want    any
		wantErr error
	}{
		{
			name:   "a Reply is what Call returns",
			handle: func(c *actor.Context) error { return c.Reply(42) },
			want:   42,
		},
		{
			name:   "a nil Reply is a nil value without error",
			handle: func(c *actor.Context) error { return c.Reply(nil) },
			want:   nil,
		},
		{
			name:    "a ReplyError is the error Call returns",
			handle:  func(c *actor.Context) error { return c.ReplyError(errRefused) },
			wantErr: errRefused,
		},
		{
			name: "a Replier answers from another goroutine after Receive returned",
			handle: func(c *actor.Context) error {
				r, err := c.Replier()
				if err != nil {
					return err
				}
				go func() { _ = r.Reply("later") }()
				return nil
			},
			want: "later",
		},
		{
			name: "a Replier can answer with an error",
			handle: func(c *actor.Context) error {
				r, err := c.Replier()
				if err != nil {
					return err
				}
				go func() { _ = r.ReplyError(errRefused) }()
				return nil
			},
			wantErr: errRefused,
		},
		{
			name:    "a call handled without a reply or a Replier fails with ErrNoReply",
			handle:  func(*actor.Context) error { return nil },
			wantErr: actor.ErrNoReply,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := mustSpawn(t, puppet(make(chan any, 1)), actor.WithCallTimeout(time.Hour))
			start := time.Now()
			got, err := ref.Call(context.Background(), doFn(tt.handle))
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				assert.Nil(t, got)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
			}
			assert.Less(t, time.Since(start), patience, "the answer came without waiting for a timeout")
		})
	}
}

func TestCallAs(t *testing.T) {
	ref := mustSpawn(t, actor.Func(func(c *actor.Context, msg any) error {
		switch msg {
		case "int":
			return c.Reply(7)
		case "string":
			return c.Reply("seven")
		default:
			return c.Reply(nil)
		}
	}))

	t.Run("a reply of the asked type is returned typed", func(t *testing.T) {
		n, err := actor.CallAs[int](callCtx(t), ref, "int")
		require.NoError(t, err)
		assert.Equal(t, 7, n)
	})

	t.Run("a reply of another type is a ReplyTypeError", func(t *testing.T) {
		n, err := actor.CallAs[int](callCtx(t), ref, "string")
		var rerr *actor.ReplyTypeError
		require.ErrorAs(t, err, &rerr)
		assert.Equal(t, "int", rerr.Want)
		assert.Equal(t, "seven", rerr.Got)
		assert.Contains(t, rerr.Error(), "string")
		assert.Zero(t, n)
	})

	t.Run("a nil reply is the zero value", func(t *testing.T) {
		p, err := actor.CallAs[*int](callCtx(t), ref, "nil")
		require.NoError(t, err)
		assert.Nil(t, p)
	})
}

func TestReplyMisuse(t *testing.T) {
	t.Run("Reply and Replier outside a call fail with ErrNoCall", func(t *testing.T) {
		errs := make(chan error, 3)
		ref := mustSpawn(t, puppet(make(chan any, 1)))
		require.NoError(t, ref.Send(doFn(func(c *actor.Context) error {
			errs <- c.Reply(1)
			errs <- c.ReplyError(errBoom)
			_, err := c.Replier()
			errs <- err
			return nil
		})))
		for range 3 {
			assert.ErrorIs(t, next(t, errs), actor.ErrNoCall)
		}
		assert.True(t, ref.Alive(), "a misused Reply does not crash the actor")
	})

	t.Run("a second reply fails with ErrAlreadyReplied and the caller gets the first", func(t *testing.T) {
		errs := make(chan error, 3)
		ref := mustSpawn(t, puppet(make(chan any, 1)))
		got, err := ref.Call(callCtx(t), doFn(func(c *actor.Context) error {
			if err := c.Reply("first"); err != nil {
				return err
			}
			errs <- c.Reply("second")
			errs <- c.ReplyError(errBoom)
			_, err := c.Replier()
			errs <- err
			return nil
		}))
		require.NoError(t, err)
		assert.Equal(t, "first", got)
		for range 3 {
			assert.ErrorIs(t, next(t, errs), actor.ErrAlreadyReplied)
		}
	})

	t.Run("a Replier answers once", func(t *testing.T) {
		repliers := make(chan actor.Replier, 1)
		ref := mustSpawn(t, puppet(make(chan any, 1)))
		result := make(chan any, 1)
		go func() {
			v, _ := ref.Call(context.Background(), doFn(func(c *actor.Context) error {
				r, err := c.Replier()
				repliers <- r
				return err
			}))
			result <- v
		}()
		r := next(t, repliers)
		require.NoError(t, r.Reply("first"))
		assert.ErrorIs(t, r.Reply("second"), actor.ErrAlreadyReplied)
		assert.Equal(t, "first", next(t, result))
	})
}

func TestCallSelf(t *testing.T) {
	tests := []struct {
		name string
		ctx  func(c *actor.Context) (context.Context, context.CancelFunc)
	}{
		{
			name: "a call to oneself with the actor's context fails with ErrCallSelf",
			ctx: func(c *actor.Context) (context.Context, context.CancelFunc) {
				return c.Context(), func() {}
			},
		},
		{
			name: "a call to oneself with a context derived from it fails with ErrCallSelf",
			ctx: func(c *actor.Context) (context.Context, context.CancelFunc) {
				return context.WithTimeout(c.Context(), time.Minute)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := make(chan error, 1)
			ref := mustSpawn(t, puppet(make(chan any, 1)))
			require.NoError(t, ref.Send(doFn(func(c *actor.Context) error {
				ctx, cancel := tt.ctx(c)
				defer cancel()
				_, err := c.Self().Call(ctx, "anything")
				errs <- err
				return nil
			})))
			assert.ErrorIs(t, next(t, errs), actor.ErrCallSelf)
		})
	}

	t.Run("a call to another actor with the actor's context is allowed", func(t *testing.T) {
		other := mustSpawn(t, actor.Func(func(c *actor.Context, _ any) error { return c.Reply("pong") }))
		ref := mustSpawn(t, puppet(make(chan any, 1)))
		var got any
		var err error
		exec(t, ref, func(c *actor.Context) { got, err = other.Call(c.Context(), "ping") })
		require.NoError(t, err)
		assert.Equal(t, "pong", got)
	})
}

// holdCall is a puppet instruction: take a Replier for the call and hand it to
// the test instead of replying.
func holdCall(repliers chan<- actor.Replier) doFn {
	return func(c *actor.Context) error {
		r, err := c.Replier()
		if err != nil {
			return err
		}
		repliers <- r
		return nil
	}
}

func TestCallGivesUp(t *testing.T) {
	t.Run("a call whose context deadline passes fails with context.DeadlineExceeded", func(t *testing.T) {
		repliers := make(chan actor.Replier, 1)
		ref := mustSpawn(t, puppet(make(chan any, 1)))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		_, err := ref.Call(ctx, holdCall(repliers))
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.NotErrorIs(t, err, actor.ErrCallTimeout, "the caller's own deadline is not the default bound")
		assert.ErrorIs(t, next(t, repliers).Reply("too late"), actor.ErrCallerGone)
	})

	t.Run("a call whose context is cancelled fails with its cause", func(t *testing.T) {
		repliers := make(chan actor.Replier, 1)
		ref := mustSpawn(t, puppet(make(chan any, 1)))
		ctx, cancel := context.WithCancelCause(context.Background())
		result := make(chan error, 1)
		go func() { _, err := ref.Call(ctx, holdCall(repliers)); result <- err }()
		r := next(t, repliers)
		cancel(errBoom)
		assert.ErrorIs(t, next(t, result), errBoom)
		assert.ErrorIs(t, r.Reply("too late"), actor.ErrCallerGone)
	})

	t.Run("a call whose context has already ended is not made", func(t *testing.T) {
		out := make(chan any, 1)
		ref := mustSpawn(t, puppet(out))
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(errBoom)
		for range 100 { // made, it would reach the actor now and then
			_, err := ref.Call(ctx, "never")
			assert.ErrorIs(t, err, errBoom)
		}
		exec(t, ref, func(*actor.Context) {}) // the actor has handled what it was sent
		select {
		case m := <-out:
			t.Fatalf("the actor saw %v", m)
		default:
		}
	})

	t.Run("a call without a deadline is bounded by the actor's call timeout", func(t *testing.T) {
		repliers := make(chan actor.Replier, 1)
		ref := mustSpawn(t, puppet(make(chan any, 1)), actor.WithCallTimeout(50*time.Millisecond))
		_, err := ref.Call(context.Background(), holdCall(repliers))
		assert.ErrorIs(t, err, actor.ErrCallTimeout)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.ErrorIs(t, next(t, repliers).Reply("too late"), actor.ErrCallerGone)
	})

	t.Run("a call with a deadline is not cut short by the call timeout", func(t *testing.T) {
		repliers := make(chan actor.Replier, 2)
		ref := mustSpawn(t, puppet(make(chan any, 1)), actor.WithCallTimeout(time.Millisecond))
		result := make(chan any, 1)
		ctx := callCtx(t)
		go func() {
			v, err := ref.Call(ctx, holdCall(repliers))
			if err != nil {
				v = err
			}
			result <- v
		}()
		held := next(t, repliers)
		// A call without a deadline, made after the first, timing out shows
		// that the call timeout has passed for the first one too.
		_, err := ref.Call(context.Background(), holdCall(repliers))
		require.ErrorIs(t, err, actor.ErrCallTimeout)
		require.NoError(t, held.Reply("patient"))
		assert.Equal(t, "patient", next(t, result))
	})
}

func TestLateRepliesNeverReachALaterCall(t *testing.T) {
	t.Run("a reply after the caller gave up is dropped and the next call gets its own answer", func(t *testing.T) {
		repliers := make(chan actor.Replier, 2)
		ref := mustSpawn(t, puppet(make(chan any, 1)))
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		_, err := ref.Call(ctx, holdCall(repliers))
		require.ErrorIs(t, err, context.DeadlineExceeded)
		stale := next(t, repliers)

		second := make(chan any, 1)
		go func() {
			v, err := ref.Call(context.Background(), holdCall(repliers))
			if err != nil {
				v = err
			}
			second <- v
		}()
		fresh := next(t, repliers)
		// The second call is in flight: the stale reply must not land in it.
		assert.ErrorIs(t, stale.Reply("stale"), actor.ErrCallerGone)
		require.NoError(t, fresh.Reply("fresh"))
		assert.Equal(t, "fresh", next(t, second))

		got, err := ref.Call(callCtx(t), doFn(func(c *actor.Context) error { return c.Reply("third") }))
		require.NoError(t, err)
		assert.Equal(t, "third", got)
	})

	t.Run("a Replier kept past its answered call cannot answer the next one", func(t *testing.T) {
		repliers := make(chan actor.Replier, 2)
		ref := mustSpawn(t, puppet(make(chan any, 1)))
		first := make(chan any, 1)
		go func() { v, _ := ref.Call(context.Background(), holdCall(repliers)); first <- v }()
		old := next(t, repliers)
		require.NoError(t, old.Reply("one"))
		require.Equal(t, "one", next(t, first))

		second := make(chan any, 1)
		go func() { v, _ := ref.Call(context.Background(), holdCall(repliers)); second <- v }()
		current := next(t, repliers)
		assert.Error(t, old.Reply("stale"), "a used Replier cannot answer again, whatever call its request now serves")
		require.NoError(t, current.Reply("two"))
		assert.Equal(t, "two", next(t, second))
	})
}

func TestCallToAnActorThatExits(t *testing.T) {
	tests := []struct {
		name   string
		handle doFn
		check  func(t *testing.T, err error)
	}{
		{
			name:   "an actor that crashes handling the call returns its reason at once",
			handle: func(*actor.Context) error { return errBoom },
			check:  func(t *testing.T, err error) { assert.ErrorIs(t, err, errBoom) },
		},
		{
			name:   "an actor that panics handling the call returns the PanicError at once",
			handle: func(*actor.Context) error { panic("mid-call") },
			check: func(t *testing.T, err error) {
				var perr *actor.PanicError
				require.ErrorAs(t, err, &perr)
				assert.Equal(t, "mid-call", perr.Value)
			},
		},
		{
			name: "an actor that stops itself without replying returns its normal exit at once",
			handle: func(c *actor.Context) error {
				c.Stop(nil)
				return nil
			},
			check: func(t *testing.T, err error) {
				var eerr *actor.ExitError
				require.ErrorAs(t, err, &eerr)
				assert.NoError(t, eerr.Reason)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := mustSpawn(t, puppet(make(chan any, 1)), actor.WithCallTimeout(time.Hour))
			start := time.Now()
			_, err := ref.Call(context.Background(), tt.handle)
			assert.Less(t, time.Since(start), patience, "the call did not wait for a timeout")
			var eerr *actor.ExitError
			require.ErrorAs(t, err, &eerr)
			assert.Same(t, ref, eerr.Actor)
			assert.True(t, eerr.Stopped)
			assert.ErrorIs(t, err, actor.ErrStopped)
			tt.check(t, err)
			waitDone(t, ref)
		})
	}

	t.Run("a call to a stopped actor fails at once with ErrStopped and its reason", func(t *testing.T) {
		ref := mustSpawn(t, puppet(make(chan any, 1)), actor.WithCallTimeout(time.Hour))
		require.NoError(t, ref.Stop(callCtx(t)))
		_, err := ref.Call(context.Background(), "hello?")
		assert.ErrorIs(t, err, actor.ErrStopped)
		assert.ErrorIs(t, err, actor.ErrShutdown)
		var eerr *actor.ExitError
		require.ErrorAs(t, err, &eerr)
		assert.True(t, eerr.Stopped)
	})

	t.Run("a call still queued when the actor stops fails with ErrStopped", func(t *testing.T) {
		ref := mustSpawn(t, puppet(make(chan any, 1)), actor.WithCallTimeout(time.Hour))
		holdUntilStopped(t, ref)
		result := make(chan error, 1)
		go func() { _, err := ref.Call(context.Background(), "queued"); result <- err }()
		eventually(t, func() bool { return ref.MailboxLen() == 1 }, "the call is queued")

		require.NoError(t, ref.Stop(callCtx(t)))
		err := next(t, result)
		var eerr *actor.ExitError
		require.ErrorAs(t, err, &eerr)
		assert.True(t, eerr.Stopped)
		assert.ErrorIs(t, err, actor.ErrStopped)
		assert.ErrorIs(t, err, actor.ErrShutdown)
	})

	t.Run("a call in flight when the actor is killed fails at once", func(t *testing.T) {
		repliers := make(chan actor.Replier, 1)
		ref := mustSpawn(t, puppet(make(chan any, 1)), actor.WithCallTimeout(time.Hour))
		result := make(chan error, 1)
		go func() { _, err := ref.Call(context.Background(), holdCall(repliers)); result <- err }()
		r := next(t, repliers)
		ref.Kill()
		err := next(t, result)
		assert.ErrorIs(t, err, actor.ErrStopped)
		assert.ErrorIs(t, err, actor.ErrKilled)
		assert.ErrorIs(t, r.Reply("too late"), actor.ErrCallerGone)
	})
}

func TestExitErrorIs(t *testing.T) {
	tests := []struct {
		name        string
		err         *actor.ExitError
		wantStopped bool
	}{
		{"an actor gone for good is ErrStopped", &actor.ExitError{Reason: errBoom, Stopped: true}, true},
		{"a suspended actor is not ErrStopped", &actor.ExitError{Reason: errBoom, Stopped: false}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.wantStopped, errors.Is(tt.err, actor.ErrStopped))
			assert.ErrorIs(t, tt.err, errBoom, "it unwraps to the exit reason")
			assert.Contains(t, tt.err.Error(), "boom")
		})
	}
	t.Run("a normal exit says so", func(t *testing.T) {
		err := &actor.ExitError{Stopped: true}
		assert.Contains(t, err.Error(), "normally")
	})
}

// A supervised actor whose parent has gone stops for good when an
// incarnation ends (nobody will restart it). A call it crashed handling
// gets an *ExitError with Stopped false, decided before the actor found its
// parent gone: errors.Is(err, ErrStopped) is false although the actor is
// gone for good (Done is closed, the next call gets ErrStopped).
func TestCallCrashingOrphanedChildReportsStopped(t *testing.T) {
	parent := mustSpawn(t, puppet(make(chan any, 4)))
	child := mustSpawn(t, actor.Func(func(c *actor.Context, msg any) error { return errBoom }),
		actor.WithParent(parent))
	parent.Kill()
	<-parent.Done()

	_, err := child.Call(callCtx(t), "crash")
	var xe *actor.ExitError
	require.ErrorAs(t, err, &xe)
	require.ErrorIs(t, err, errBoom)
	waitDone(t, child) // it has stopped for good
	assert.True(t, xe.Stopped, "the actor is gone for good, yet the call's ExitError says Stopped=false")
	assert.ErrorIs(t, err, actor.ErrStopped)
}

// A call whose Replier the incarnation took, to answer later, fails as soon
// as that incarnation ends and the actor restarts in place, as an OTP caller
// hears of the crash from its monitor, rather than waiting for its timeout.
func TestCallDeferredByACrashedIncarnationFailsAtOnce(t *testing.T) {
	var held actor.Replier
	deferred := make(chan struct{})
	f := spawnFamily(t)
	f.crash(t)
	require.NoError(t, f.child.Restart(&lifecycle{receive: func(c *actor.Context, msg any) error {
		switch msg {
		case "later":
			var err error
			held, err = c.Replier()
			close(deferred)
			return err
		case "crash":
			return errBoom
		}
		return nil
	}}), "restarted with a behaviour that defers its replies")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := f.child.Call(ctx, "later")
		errc <- err
	}()
	next(t, deferred)
	require.NoError(t, f.child.Send("crash"))
	select {
	case err := <-errc:
		var exit *actor.ExitError
		require.ErrorAs(t, err, &exit)
		assert.ErrorIs(t, err, errBoom)
		assert.False(t, exit.Stopped, "the actor lives on")
	case <-time.After(2 * time.Second):
		t.Fatal("the call still waits after the incarnation that took its Replier ended")
	}
	assert.ErrorIs(t, held.Reply("too late"), actor.ErrAlreadyReplied, "the call was answered by the end")
}
