package actor_test

import (
	"testing"

	"github.com/arbor-go/arbor/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stopWith is a puppet instruction: end this actor with reason (nil is a
// normal exit).
func stopWith(reason error) doFn {
	return func(c *actor.Context) error {
		c.Stop(reason)
		return nil
	}
}

// linkedPair spawns two puppets and links the first to the second. The first
// also monitors the second: its Down arrives only after any exit signal the
// link carried, so it tells the test that the link has had its say.
func linkedPair(t *testing.T, opts ...actor.Option) (a, b *actor.Ref, aOut chan any) {
	t.Helper()
	aOut = make(chan any, 16)
	a = mustSpawn(t, puppet(aOut), opts...)
	b = mustSpawn(t, puppet(make(chan any, 16)))
	exec(t, a, func(c *actor.Context) {
		assert.NoError(t, c.Link(b))
		_, err := c.Monitor(b)
		assert.NoError(t, err)
	})
	return a, b, aOut
}

func TestLinkPropagatesExits(t *testing.T) {
	tests := []struct {
		name      string
		end       func(t *testing.T, b *actor.Ref)
		reason    error
		propagate bool
	}{
		{
			name: "a crash of one linked actor stops the other with the same reason",
			end: func(t *testing.T, b *actor.Ref) {
				require.NoError(t, b.Send(doFn(func(*actor.Context) error { return errBoom })))
			},
			reason: errBoom, propagate: true,
		},
		{
			name:   "a shutdown with a detail of one linked actor stops the other with it",
			end:    func(t *testing.T, b *actor.Ref) { require.NoError(t, b.Send(stopWith(actor.Shutdown("closing")))) },
			reason: actor.Shutdown("closing"), propagate: true,
		},
		{
			name:   "a stop of one linked actor stops the other with ErrShutdown",
			end:    func(t *testing.T, b *actor.Ref) { require.NoError(t, b.Stop(callCtx(t))) },
			reason: actor.ErrShutdown, propagate: true,
		},
		{
			name:   "a kill of one linked actor stops the other with ErrKilled",
			end:    func(_ *testing.T, b *actor.Ref) { b.Kill() },
			reason: actor.ErrKilled, propagate: true,
		},
		{
			name:   "a normal exit of one linked actor leaves the other running",
			end:    func(t *testing.T, b *actor.Ref) { require.NoError(t, b.Send(stopWith(nil))) },
			reason: nil, propagate: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b, aOut := linkedPair(t)
			tt.end(t, b)
			assert.Equal(t, tt.reason, waitDone(t, b))
			if tt.propagate {
				assert.Equal(t, tt.reason, waitDone(t, a))
				return
			}
			down := nextOf[actor.Down](t, aOut)
			assert.Same(t, b, down.Ref)
			assert.True(t, a.Alive(), "the linked actor handled the Down, so no exit stopped it first")
			exec(t, a, func(*actor.Context) {})
		})
	}

	t.Run("a link works both ways", func(t *testing.T) {
		a, b, _ := linkedPair(t)
		require.NoError(t, a.Send(doFn(func(*actor.Context) error { return errBoom })))
		assert.Equal(t, errBoom, waitDone(t, a))
		assert.Equal(t, errBoom, waitDone(t, b))
	})

	t.Run("an exit travels along a chain of links", func(t *testing.T) {
		refs := make([]*actor.Ref, 4)
		for i := range refs {
			refs[i] = mustSpawn(t, puppet(make(chan any, 4)))
			if i > 0 {
				prev := refs[i-1]
				exec(t, refs[i], func(c *actor.Context) { assert.NoError(t, c.Link(prev)) })
			}
		}
		require.NoError(t, refs[0].Send(doFn(func(*actor.Context) error { return errBoom })))
		for _, ref := range refs {
			assert.Equal(t, errBoom, waitDone(t, ref))
		}
	})
}

func TestTrapExits(t *testing.T) {
	tests := []struct {
		name string
		trap func(t *testing.T, a *actor.Ref)
	}{
		{"an actor trapping exits with TrapExits(true) receives an Exit message", func(t *testing.T, a *actor.Ref) {
			exec(t, a, func(c *actor.Context) { c.TrapExits(true) })
		}},
		{"an actor spawned WithTrapExits receives an Exit message", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []actor.Option
			if tt.trap == nil {
				opts = append(opts, actor.WithTrapExits())
			}
			a, b, aOut := linkedPair(t, opts...)
			if tt.trap != nil {
				tt.trap(t, a)
			}
			require.NoError(t, b.Send(doFn(func(*actor.Context) error { return errBoom })))
			exit := nextOf[actor.Exit](t, aOut)
			assert.Equal(t, actor.Exit{From: b, Reason: errBoom}, exit)
			assert.True(t, a.Alive())
			exec(t, a, func(*actor.Context) {})
		})
	}

	t.Run("a trapping actor is told of a normal exit too", func(t *testing.T) {
		_, b, aOut := linkedPair(t, actor.WithTrapExits())
		require.NoError(t, b.Send(stopWith(nil)))
		assert.Equal(t, actor.Exit{From: b, Reason: nil}, nextOf[actor.Exit](t, aOut))
	})

	t.Run("an actor that stops trapping is stopped by the next linked crash", func(t *testing.T) {
		a, b, _ := linkedPair(t, actor.WithTrapExits())
		exec(t, a, func(c *actor.Context) { c.TrapExits(false) })
		require.NoError(t, b.Send(doFn(func(*actor.Context) error { return errBoom })))
		assert.Equal(t, errBoom, waitDone(t, a))
	})

	t.Run("a trapping actor that is killed still dies", func(t *testing.T) {
		a := mustSpawn(t, puppet(make(chan any, 4)), actor.WithTrapExits())
		a.Kill()
		assert.Equal(t, actor.ErrKilled, waitDone(t, a))
	})
}

func TestUnlink(t *testing.T) {
	t.Run("after Unlink a crash of the other no longer stops the actor", func(t *testing.T) {
		a, b, aOut := linkedPair(t)
		exec(t, a, func(c *actor.Context) { c.Unlink(b) })
		require.NoError(t, b.Send(doFn(func(*actor.Context) error { return errBoom })))
		down := nextOf[actor.Down](t, aOut)
		assert.Equal(t, errBoom, down.Reason)
		assert.True(t, a.Alive())
	})

	t.Run("Unlink removes the link in both directions", func(t *testing.T) {
		a, b, _ := linkedPair(t)
		bOut := make(chan any, 4)
		watcher := mustSpawn(t, puppet(bOut))
		exec(t, watcher, func(c *actor.Context) {
			_, err := c.Monitor(a)
			assert.NoError(t, err)
		})
		exec(t, b, func(c *actor.Context) { c.Unlink(a) })
		require.NoError(t, a.Send(doFn(func(*actor.Context) error { return errBoom })))
		assert.Equal(t, errBoom, nextOf[actor.Down](t, bOut).Reason)
		// a's exit signals went out before its Down, so an exit aimed at b
		// would be handled before this call.
		exec(t, b, func(*actor.Context) {})
		assert.True(t, b.Alive())
	})

	t.Run("unlinking an actor that is not linked is harmless", func(t *testing.T) {
		a := mustSpawn(t, puppet(make(chan any, 4)))
		b := mustSpawn(t, puppet(make(chan any, 4)))
		exec(t, a, func(c *actor.Context) { c.Unlink(b) })
		assert.True(t, a.Alive())
		assert.True(t, b.Alive())
	})

	t.Run("linking twice is one link that a single Unlink removes", func(t *testing.T) {
		a, b, aOut := linkedPair(t)
		exec(t, a, func(c *actor.Context) {
			assert.NoError(t, c.Link(b))
			c.Unlink(b)
		})
		require.NoError(t, b.Send(doFn(func(*actor.Context) error { return errBoom })))
		nextOf[actor.Down](t, aOut)
		assert.True(t, a.Alive())
	})
}

func TestLinkToADeadActor(t *testing.T) {
	t.Run("linking to a stopped actor stops the linker with ErrNoProc", func(t *testing.T) {
		a := mustSpawn(t, puppet(make(chan any, 4)))
		b := mustSpawn(t, puppet(make(chan any, 4)))
		require.NoError(t, b.Stop(callCtx(t)))
		var linkErr error
		exec(t, a, func(c *actor.Context) { linkErr = c.Link(b) })
		assert.NoError(t, linkErr, "the failure arrives as an exit, as in Erlang")
		assert.Equal(t, actor.ErrNoProc, waitDone(t, a))
	})

	t.Run("a trapping actor linking to a stopped actor receives an Exit with ErrNoProc", func(t *testing.T) {
		aOut := make(chan any, 4)
		a := mustSpawn(t, puppet(aOut), actor.WithTrapExits())
		b := mustSpawn(t, puppet(make(chan any, 4)))
		require.NoError(t, b.Stop(callCtx(t)))
		exec(t, a, func(c *actor.Context) { assert.NoError(t, c.Link(b)) })
		assert.Equal(t, actor.Exit{From: b, Reason: actor.ErrNoProc}, nextOf[actor.Exit](t, aOut))
		assert.True(t, a.Alive())
	})
}

func TestLinkToSelf(t *testing.T) {
	t.Run("linking to oneself is a no-op", func(t *testing.T) {
		out := make(chan any, 4)
		a := mustSpawn(t, puppet(out))
		var err error
		exec(t, a, func(c *actor.Context) { err = c.Link(c.Self()) })
		assert.NoError(t, err)
		assert.True(t, a.Alive())
		require.NoError(t, a.Send("still here"))
		assert.Equal(t, "still here", next(t, out))
	})
}
