package actor_test

import (
	"testing"

	"github.com/arbor-go/arbor/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCrashLog(t *testing.T) {
	t.Run("an unsupervised panic is logged at error level with reason and stack", func(t *testing.T) {
		sink := newLogSink()
		ref := mustSpawn(t, puppet(make(chan any, 1)), actor.WithName("crasher"), actor.WithLogger(sink.logger()))
		require.NoError(t, ref.Send(doFn(func(*actor.Context) error { panic("logged panic") })))
		line := sink.lineWith(t, "actor crashed")
		assert.Equal(t, "error", line["level"])
		assert.Equal(t, "crasher", line["actor"])
		assert.Contains(t, line["reason"], "logged panic")
		assert.Contains(t, line["stack"], "TestCrashLog", "the stack names the test's function")
		assert.NotContains(t, line["stack"], "runtime.gopanic")
	})

	t.Run("an unsupervised error exit is logged at error level with its reason", func(t *testing.T) {
		sink := newLogSink()
		ref := mustSpawn(t, puppet(make(chan any, 1)), actor.WithName("crasher"), actor.WithLogger(sink.logger()))
		require.NoError(t, ref.Send(doFn(func(*actor.Context) error { return errBoom })))
		line := sink.lineWith(t, "actor crashed")
		assert.Equal(t, "error", line["level"])
		assert.Equal(t, "crasher", line["actor"])
		assert.Equal(t, "boom", line["reason"])
	})

	silentExits := []struct {
		name string
		end  doFn
	}{
		{"a normal exit is not logged", stopWith(nil)},
		{"a shutdown is not logged", stopWith(actor.Shutdown("bye"))},
	}
	for _, tt := range silentExits {
		t.Run(tt.name, func(t *testing.T) {
			sink := newLogSink()
			ref := mustSpawn(t, puppet(make(chan any, 1)), actor.WithLogger(sink.logger()))
			gids := make(chan uint64, 1)
			require.NoError(t, ref.Send(doFn(func(c *actor.Context) error {
				gids <- goroutineID()
				return tt.end(c)
			})))
			// The goroutine that ends the actor is the one that would log.
			waitGoroutineGone(t, next(t, gids))
			waitDone(t, ref)
			assert.Empty(t, sink.lines)
		})
	}
}

func TestContextLogger(t *testing.T) {
	t.Run("the actor's logger names the actor", func(t *testing.T) {
		sink := newLogSink()
		ref := mustSpawn(t, puppet(make(chan any, 1)), actor.WithName("talker"), actor.WithLogger(sink.logger()))
		exec(t, ref, func(c *actor.Context) { c.Logger().Info().Int("n", 7).Msg("hello") })
		line := sink.lineWith(t, "hello")
		assert.Equal(t, "talker", line["actor"])
		assert.Equal(t, "info", line["level"])
		assert.EqualValues(t, 7, line["n"])
	})

	t.Run("an unnamed actor's logger gives its ID", func(t *testing.T) {
		sink := newLogSink()
		ref := mustSpawn(t, puppet(make(chan any, 1)), actor.WithLogger(sink.logger()))
		exec(t, ref, func(c *actor.Context) { c.Logger().Info().Msg("hello") })
		assert.Equal(t, ref.ID().String(), sink.lineWith(t, "hello")["actor"])
	})

	t.Run("a child spawned from an actor inherits its logger", func(t *testing.T) {
		sink := newLogSink()
		ref := mustSpawn(t, puppet(make(chan any, 1)), actor.WithLogger(sink.logger()))
		var child *actor.Ref
		exec(t, ref, func(c *actor.Context) {
			var err error
			child, err = c.Spawn(puppet(make(chan any, 1)), actor.WithName("kid"))
			assert.NoError(t, err)
		})
		exec(t, child, func(c *actor.Context) { c.Logger().Info().Msg("from the child") })
		assert.Equal(t, "kid", sink.lineWith(t, "from the child")["actor"])
	})
}

func TestDeadLetterLog(t *testing.T) {
	t.Run("without a dead-letter hook a dead letter is a warning naming the actor, the type and the reason", func(t *testing.T) {
		sink := newLogSink()
		ref := mustSpawn(t, puppet(make(chan any, 1)), actor.WithName("gone"), actor.WithLogger(sink.logger()))
		require.NoError(t, ref.Stop(callCtx(t)))
		require.ErrorIs(t, ref.Send("lost"), actor.ErrStopped)
		line := sink.lineWith(t, "dead letter")
		assert.Equal(t, "warn", line["level"])
		assert.Equal(t, "gone", line["actor"])
		assert.Equal(t, actor.ErrStopped.Error(), line["reason"])
		typeShown := false
		for k, v := range line {
			if k != "message" && v == "string" {
				typeShown = true
			}
		}
		assert.True(t, typeShown, "some field gives the message's type: %v", line)
	})
}
