package bridge_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"maunium.net/go/mautrix/event"

	"github.com/arbor-go/arbor/examples/matrixbridge/bridge"
	"github.com/arbor-go/arbor/tree"
)

// These tests run the bridge against a real Dendrite homeserver and a real
// ngIRCd server (package lab). Without them installed they skip, loudly;
// with ARBOR_E2E_REQUIRED set, as in CI, they fail instead.

func TestMain(m *testing.M) {
	zerolog.TimeFieldFormat = time.RFC3339Nano
	goleak.VerifyTestMain(m)
}

func TestRelaysBothWays(t *testing.T) {
	w := newWorld(t, nil)

	w.say("hello from matrix")
	got := waitMessage(t, w.bob, "<alice> hello from matrix")
	assert.Equal(t, bridge.DefaultNick, got.Source.Name, "the relay's nick speaks for alice")

	w.bob.Say("hi from irc")
	ghost := w.bridge.GhostID("bob")
	evt := w.waitRoomMessage("bob's message from his ghost", func(evt *event.Event) bool {
		return evt.Sender == ghost && evt.Content.AsMessage().Body == "hi from irc"
	})
	assert.Equal(t, "@irc_bob:localhost", evt.Sender.String())

	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	name, err := w.alice.GetDisplayName(ctx, ghost)
	require.NoError(t, err)
	assert.Equal(t, "bob", name.DisplayName, "the ghost is named after the nick")

	// Nothing echoes: had the ghost's message gone back to IRC, it would
	// arrive before alice's next one, which the homeserver pushes after it.
	w.say("second from matrix")
	next, err := w.bob.Next(ctx)
	require.NoError(t, err)
	assert.Equal(t, "<alice> second from matrix", next.Last(), "the next thing on IRC is alice's, not an echo")
}

func TestIRCServerRestartLosesNothing(t *testing.T) {
	w := newWorld(t, nil)
	w.say("before the outage")
	waitMessage(t, w.bob, "<alice> before the outage")
	router, ok := w.bridge.Registry().Lookup("matrix/router")
	require.True(t, ok)
	routerInc := router.Incarnation()

	mark := w.events.len()
	w.gate.setOpen(false) // bob, not the bridge, is first back in the channel
	w.ircd.Kill()
	_, i := w.events.waitFor(t, mark, "the IRC connection crashes", func(e tree.Event) bool {
		return e.Kind == tree.ChildExited && e.Supervisor == bridge.PathIRC && e.Child == "conn"
	})
	restarting, _ := w.events.waitFor(t, i, "a restart with backoff is scheduled", func(e tree.Event) bool {
		return e.Kind == tree.ChildRestarting && e.Supervisor == bridge.PathIRC
	})
	assert.Positive(t, restarting.Delay, "restarts wait a backoff")

	const outage = 3
	for n := range outage {
		w.say(fmt.Sprintf("during the outage %d", n))
	}

	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	require.NoError(t, w.ircd.Start(ctx))
	w.bob.Close()
	w.bob = connectIRC(t, w.ircd.Addr, "bob")
	w.gate.setOpen(true)
	waitJoin(t, w.bob, bridge.DefaultNick)
	for n := range outage {
		waitMessage(t, w.bob, fmt.Sprintf("<alice> during the outage %d", n))
	}
	w.events.waitFor(t, i, "the IRC subtree runs again", func(e tree.Event) bool {
		return e.Kind == tree.ChildRestarted && e.Supervisor == bridge.PathIRC && e.Child == "conn"
	})

	for _, e := range w.events.since(mark) {
		assert.NotEqual(t, bridge.PathMatrix, e.Supervisor, "the Matrix side is untouched: %v", e)
		if e.Supervisor == bridge.PathRoot {
			assert.NotEqual(t, "matrix", e.Child, "the Matrix side is untouched: %v", e)
		}
	}
	assert.Equal(t, routerInc, router.Incarnation(), "the router never restarted")
	assert.Nil(t, w.bridge.IRCDown(), "the IRC subtree recovered within its intensity")
}

func TestIRCServerStaysDownEscalates(t *testing.T) {
	const cooldown = time.Hour
	w := newWorld(t, func(c *bridge.Config) {
		c.IRC.Backoff = bridge.BackoffConfig{Min: 20 * time.Millisecond, Max: 100 * time.Millisecond}
		c.IRC.Intensity = bridge.IntensityConfig{MaxRestarts: 3, Period: time.Minute}
		c.IRC.Cooldown = cooldown
	})
	mark := w.events.len()
	w.ircd.Kill()

	gaveUp, i := w.events.waitFor(t, mark, "the IRC subtree reaches its intensity", func(e tree.Event) bool {
		return e.Kind == tree.IntensityExceeded && e.Supervisor == bridge.PathIRC
	})
	assert.Equal(t, 4, gaveUp.Restarts, "it gave up at the fourth failure within the period")
	escalated, _ := w.events.waitFor(t, i, "the root sees the IRC subtree end", func(e tree.Event) bool {
		return e.Kind == tree.ChildExited && e.Supervisor == bridge.PathRoot && e.Child == "irc"
	})
	assert.True(t, errors.Is(escalated.Reason, tree.ErrIntensityExceeded), "reason: %v", escalated.Reason)
	next, _ := w.events.waitFor(t, i, "the root schedules the next try", func(e tree.Event) bool {
		return e.Kind == tree.ChildRestarting && e.Supervisor == bridge.PathRoot && e.Child == "irc"
	})
	assert.Equal(t, cooldown, next.Delay, "the next try waits the cooldown: no reconnect storm")

	down := w.bridge.IRCDown()
	require.NotNil(t, down, "the bridge reports the IRC subtree as down")
	assert.Equal(t, 4, down.Restarts)

	w.waitRoomMessage("the bot's notice", func(evt *event.Event) bool {
		c := evt.Content.AsMessage()
		return c.MsgType == event.MsgNotice && strings.Contains(c.Body, "IRC is unreachable")
	})
	log := w.log.String()
	assert.Contains(t, log, "reached max restart intensity", "the escalation is in the log")
	assert.Contains(t, log, "gave up reconnecting", "the bridge's own report is in the log")

	// The restarts stopped: after the root's decision, the IRC subtree's
	// children see no more restarts.
	for _, e := range w.events.since(i) {
		if e.Supervisor == bridge.PathIRC {
			assert.NotEqual(t, tree.ChildRestarted, e.Kind, "no restart after giving up: %v", e)
		}
	}
}
