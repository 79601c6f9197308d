package actor_test

import (
	"testing"

	"github.com/arbor-go/arbor/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// monitor makes the puppet watcher monitor target and returns the monitor.
func monitor(t *testing.T, watcher, target *actor.Ref) actor.MonitorRef {
	t.Helper()
	var m actor.MonitorRef
	var err error
	exec(t, watcher, func(c *actor.Context) { m, err = c.Monitor(target) })
	require.NoError(t, err)
	return m
}

func TestMonitor(t *testing.T) {
	tests := []struct {
		name   string
		end    func(t *testing.T, target *actor.Ref)
		reason error
	}{
		{
			name: "a crash of the target sends a Down with the crash",
			end: func(t *testing.T, r *actor.Ref) {
				require.NoError(t, r.Send(doFn(func(*actor.Context) error { return errBoom })))
			},
			reason: errBoom,
		},
		{
			name:   "a stop of the target sends a Down with ErrShutdown",
			end:    func(t *testing.T, r *actor.Ref) { require.NoError(t, r.Stop(callCtx(t))) },
			reason: actor.ErrShutdown,
		},
		{
			name:   "a normal exit of the target sends a Down with a nil reason",
			end:    func(t *testing.T, r *actor.Ref) { require.NoError(t, r.Send(stopWith(nil))) },
			reason: nil,
		},
		{
			name:   "a kill of the target sends a Down with ErrKilled",
			end:    func(_ *testing.T, r *actor.Ref) { r.Kill() },
			reason: actor.ErrKilled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := make(chan any, 4)
			watcher := mustSpawn(t, puppet(out))
			target := mustSpawn(t, puppet(make(chan any, 4)))
			m := monitor(t, watcher, target)
			assert.Same(t, target, m.Target())

			tt.end(t, target)
			assert.Equal(t, actor.Down{Ref: target, Reason: tt.reason, Monitor: m}, nextOf[actor.Down](t, out))
			assert.True(t, watcher.Alive(), "a monitor, unlike a link, never stops the watcher")
		})
	}

	t.Run("monitoring a stopped actor sends its Down at once", func(t *testing.T) {
		out := make(chan any, 4)
		watcher := mustSpawn(t, puppet(out))
		target := mustSpawn(t, puppet(make(chan any, 4)))
		require.NoError(t, target.Send(doFn(func(*actor.Context) error { return errBoom })))
		waitDone(t, target)

		var m actor.MonitorRef
		var queued int
		exec(t, watcher, func(c *actor.Context) {
			var err error
			m, err = c.Monitor(target)
			assert.NoError(t, err)
			queued = c.Self().MailboxLen()
		})
		assert.Equal(t, 1, queued, "the Down was queued before Monitor returned")
		assert.Equal(t, actor.Down{Ref: target, Reason: errBoom, Monitor: m}, nextOf[actor.Down](t, out))
	})

	t.Run("two monitors of one target give two Downs", func(t *testing.T) {
		out := make(chan any, 4)
		watcher := mustSpawn(t, puppet(out))
		target := mustSpawn(t, puppet(make(chan any, 4)))
		m1 := monitor(t, watcher, target)
		m2 := monitor(t, watcher, target)
		assert.NotEqual(t, m1, m2)

		require.NoError(t, target.Stop(callCtx(t)))
		got := []actor.MonitorRef{nextOf[actor.Down](t, out).Monitor, nextOf[actor.Down](t, out).Monitor}
		assert.ElementsMatch(t, []actor.MonitorRef{m1, m2}, got)
	})

	t.Run("a Down is served before user messages queued ahead of it", func(t *testing.T) {
		out := make(chan any, 8)
		watcher := mustSpawn(t, puppet(out))
		target := mustSpawn(t, puppet(make(chan any, 4)))
		monitor(t, watcher, target)
		g := newGate()
		defer g.open()
		entered := make(chan struct{})
		require.NoError(t, watcher.Send(doFn(func(*actor.Context) error {
			close(entered)
			<-g.ch
			return nil
		})))
		next(t, entered)
		require.NoError(t, watcher.Send("user message"))
		require.NoError(t, target.Stop(callCtx(t)))
		eventually(t, func() bool { return watcher.MailboxLen() == 2 }, "the Down is queued behind the user message")
		g.open()
		_, isDown := next(t, out).(actor.Down)
		assert.True(t, isDown, "the Down came first")
		assert.Equal(t, "user message", next(t, out))
	})
}

func TestDemonitor(t *testing.T) {
	t.Run("after Demonitor the target's exit sends no Down", func(t *testing.T) {
		out := make(chan any, 4)
		watcher := mustSpawn(t, puppet(out))
		target := mustSpawn(t, puppet(make(chan any, 4)))
		m := monitor(t, watcher, target)
		var removed, again bool
		exec(t, watcher, func(c *actor.Context) {
			removed = c.Demonitor(m)
			again = c.Demonitor(m)
		})
		assert.True(t, removed, "the monitor was active")
		assert.False(t, again, "a monitor is removed once")

		gid := holdUntilStopped(t, target)
		require.NoError(t, target.Stop(callCtx(t)))
		// The goroutine that stopped the target is the one that would have
		// queued the Down; once it is gone, a Down would be in the mailbox
		// ahead of (system lane) the sentinel.
		waitGoroutineGone(t, gid)
		require.NoError(t, watcher.Send("sentinel"))
		assert.Equal(t, "sentinel", next(t, out), "no Down came before the sentinel")
	})

	t.Run("Demonitor after the target stopped reports no monitor", func(t *testing.T) {
		out := make(chan any, 4)
		watcher := mustSpawn(t, puppet(out))
		target := mustSpawn(t, puppet(make(chan any, 4)))
		m := monitor(t, watcher, target)
		require.NoError(t, target.Stop(callCtx(t)))
		nextOf[actor.Down](t, out)
		var removed bool
		exec(t, watcher, func(c *actor.Context) { removed = c.Demonitor(m) })
		assert.False(t, removed)
	})

	t.Run("Demonitor removes only its own monitor", func(t *testing.T) {
		out := make(chan any, 4)
		watcher := mustSpawn(t, puppet(out))
		target := mustSpawn(t, puppet(make(chan any, 4)))
		m1 := monitor(t, watcher, target)
		m2 := monitor(t, watcher, target)
		exec(t, watcher, func(c *actor.Context) { assert.True(t, c.Demonitor(m1)) })
		require.NoError(t, target.Stop(callCtx(t)))
		assert.Equal(t, m2, nextOf[actor.Down](t, out).Monitor)
	})
}

func TestAfterStop(t *testing.T) {
	type stopped struct {
		ref    *actor.Ref
		reason error
	}

	t.Run("AfterStop runs with the exit reason when the actor stops", func(t *testing.T) {
		got := make(chan stopped, 2)
		ref := mustSpawn(t, puppet(make(chan any, 4)))
		ref.AfterStop(func(r *actor.Ref, reason error) { got <- stopped{r, reason} })
		require.NoError(t, ref.Send(doFn(func(*actor.Context) error { return errBoom })))
		assert.Equal(t, stopped{ref, errBoom}, next(t, got))
	})

	t.Run("AfterStop on a stopped actor runs at once on the caller's goroutine", func(t *testing.T) {
		ref := mustSpawn(t, puppet(make(chan any, 4)))
		require.NoError(t, ref.Stop(callCtx(t)))
		var got *stopped // unsynchronised: the race detector checks the goroutine
		cancel := ref.AfterStop(func(r *actor.Ref, reason error) { got = &stopped{r, reason} })
		require.NotNil(t, got)
		assert.Same(t, ref, got.ref)
		assert.ErrorIs(t, got.reason, actor.ErrShutdown)
		assert.False(t, cancel(), "nothing is left to cancel")
	})

	t.Run("the returned function cancels AfterStop before the stop", func(t *testing.T) {
		ran := make(chan struct{}, 1)
		ref := mustSpawn(t, puppet(make(chan any, 4)))
		cancel := ref.AfterStop(func(*actor.Ref, error) { ran <- struct{}{} })
		assert.True(t, cancel(), "it was cancelled before it ran")
		assert.False(t, cancel(), "cancelling twice does nothing more")

		gid := holdUntilStopped(t, ref)
		require.NoError(t, ref.Stop(callCtx(t)))
		waitGoroutineGone(t, gid)
		assert.Empty(t, ran)
	})

	t.Run("the returned function reports false once AfterStop has run", func(t *testing.T) {
		ran := make(chan struct{}, 1)
		ref := mustSpawn(t, puppet(make(chan any, 4)))
		cancel := ref.AfterStop(func(*actor.Ref, error) { ran <- struct{}{} })
		require.NoError(t, ref.Stop(callCtx(t)))
		next(t, ran)
		assert.False(t, cancel())
	})

	t.Run("every AfterStop runs once", func(t *testing.T) {
		got := make(chan int, 8)
		ref := mustSpawn(t, puppet(make(chan any, 4)))
		for i := range 3 {
			ref.AfterStop(func(*actor.Ref, error) { got <- i })
		}
		gid := holdUntilStopped(t, ref)
		require.NoError(t, ref.Stop(callCtx(t)))
		waitGoroutineGone(t, gid)
		require.Len(t, got, 3)
		assert.ElementsMatch(t, []int{0, 1, 2}, []int{<-got, <-got, <-got})
	})
}

func TestOnStop(t *testing.T) {
	t.Run("it runs when the actor stops for good, before Done closes and AfterStop runs", func(t *testing.T) {
		ref := mustSpawn(t, puppet(make(chan any, 4)))
		order := make(chan string, 4)
		ref.AfterStop(func(*actor.Ref, error) { order <- "AfterStop" })
		ref.OnStop(func(r *actor.Ref, reason error) {
			if isDone(r) {
				order <- "OnStop after Done"
				return
			}
			order <- "OnStop"
		})
		ref.OnIncarnationEnd(func(*actor.Ref, error) { order <- "OnIncarnationEnd" })
		require.NoError(t, ref.Stop(callCtx(t)))
		assert.Equal(t, "OnIncarnationEnd", next(t, order))
		assert.Equal(t, "OnStop", next(t, order))
		assert.Equal(t, "AfterStop", next(t, order))
	})

	t.Run("a restart is no stop; the final end runs it before the parent hears of it", func(t *testing.T) {
		f := spawnFamily(t)
		hook, ran := endHook()
		f.child.OnStop(hook)
		f.crash(t)
		assert.Empty(t, ran)
		require.NoError(t, f.child.Restart(worker(f.childOut)))
		require.NoError(t, f.child.Stop(callCtx(t)))
		x := nextOf[actor.ChildExit](t, f.parentOut)
		require.True(t, x.Final)
		assert.Equal(t, ended{f.child, actor.ErrShutdown}, ready(t, ran, "the hook"))
	})

	t.Run("it runs when the actor is killed, before Kill returns", func(t *testing.T) {
		ref := mustSpawn(t, puppet(make(chan any, 4)))
		hook, ran := endHook()
		ref.OnStop(hook)
		ref.Kill()
		assert.Equal(t, ended{ref, actor.ErrKilled}, ready(t, ran, "the hook"))
	})

	t.Run("on a stopped actor it runs at once; a cancelled one never runs", func(t *testing.T) {
		ref := mustSpawn(t, puppet(make(chan any, 4)))
		hook, ran := endHook()
		cancel := ref.OnStop(hook)
		assert.True(t, cancel())
		assert.False(t, cancel())
		require.NoError(t, ref.Stop(callCtx(t)))
		assert.Empty(t, ran, "the cancelled hook did not run")
		cancel = ref.OnStop(hook)
		assert.Equal(t, ended{ref, actor.ErrShutdown}, ready(t, ran, "the hook"))
		assert.False(t, cancel())
	})
}
