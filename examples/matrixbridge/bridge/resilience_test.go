package bridge

// The bridge's resilience, each test a bug a review found (named after what
// now holds): the whole bridge runs against the fakes of fakes_test.go.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/arbor-go/arbor/tree"
)

func TestRigRelaysBothWays(t *testing.T) {
	r := newRig(t, nil)
	r.waitIRCUp("!abc:example.org", "hello")
	r.irc.say("bob", "#arbor", "hi from irc")
	p := r.hs.next(t, "bob's message")
	assert.Equal(t, "hi from irc", p.Body)
	assert.Equal(t, r.b.GhostID("bob"), p.Sender)
	require.Equal(t, http.StatusOK, r.push("t2", textEvent("$2", "!abc:example.org", "@alice:example.org", "x")))
	l := r.irc.nextPrivmsg(t, "x")
	assert.True(t, strings.HasSuffix(l.Line, "<alice> x"), l.Line)
}

// One mapped channel that cannot be joined (invite-only, banned, needs a key)
// does not stop the relay to the others: the sender writes to the channels
// joined, and the refused one is retried.
func TestOneUnjoinableChannelDoesNotBlockTheOthers(t *testing.T) {
	r := newRig(t, func(c *Config, _ *fakeHS, irc *fakeIRC) {
		c.Rooms = []Mapping{
			{Room: "!abc:example.org", Channel: "#arbor"},
			{Room: "!private:example.org", Channel: "#private"},
		}
		irc.refuse["#private"] = "473"
	})
	// The bridge did get into #arbor.
	r.irc.nextLine(t, "the bridge joins", func(l ircLine) bool { return strings.HasPrefix(l.Line, "JOIN ") })
	require.Equal(t, http.StatusOK, r.push("t1", textEvent("$1", "!abc:example.org", "@alice:example.org", "hello #arbor")))
	l := r.irc.nextPrivmsg(t, "alice's message to #arbor, a channel the bridge is in")
	assert.Equal(t, "PRIVMSG #arbor :<alice> hello #arbor", l.Line)
}

// Every numeric with which servers refuse a JOIN is an answer: the next
// channels are asked for at once, rather than after joinAnswerTimeout. A
// first batch of joinWindow channels holds the refused one; the channel
// after it is asked for only once all of them are answered.
func TestEachJoinRefusalIsAnAnswer(t *testing.T) {
	for _, code := range []string{"403", "405", "471", "473", "474", "475", "476", "437", "470", "477", "479"} {
		t.Run(code, func(t *testing.T) {
			t.Parallel()
			next := fmt.Sprintf("#c%d", joinWindow)
			r := newRig(t, func(c *Config, _ *fakeHS, irc *fakeIRC) {
				c.Rooms = []Mapping{{Room: "!refused:example.org", Channel: "#refused"}}
				for i := 1; i <= joinWindow; i++ {
					c.Rooms = append(c.Rooms, Mapping{Room: id.RoomID(fmt.Sprintf("!c%d:example.org", i)), Channel: fmt.Sprintf("#c%d", i)})
				}
				irc.refuse["#refused"] = code
			})
			r.irc.nextLine(t, "the JOIN of "+next+", after the refusal of #refused", func(l ircLine) bool {
				return strings.HasPrefix(l.Line, "JOIN ") && strings.Contains(l.Line, next)
			})
		})
	}
}

// A 437 that refuses a JOIN (a channel held after a netsplit) is about the
// channel, not the bridge's nick: the bridge keeps its nick. girc's own
// handler of 437 takes every 437 for a nick collision.
func TestHeldChannelRefusalDoesNotRenameTheBridge(t *testing.T) {
	nicks := heldChannels(t, 1)
	assert.Empty(t, nicks, "the bridge changed its nick after a JOIN's 437")
}

// Channels held after a netsplit cost the bridge neither its nick nor its
// connection: more 437 refusals than maxNickTries, each taken for a nick
// collision, would end the connection for "every nick tried is in use",
// and every channel would be joined again.
func TestHeldChannelsDoNotEndTheConnection(t *testing.T) {
	nicks := heldChannels(t, maxNickTries+1)
	assert.Empty(t, nicks, "the bridge changed its nick after a JOIN's 437")
}

// heldChannels runs a bridge whose first held mapped channels the server
// refuses with 437, followed by joinWindow channels it lets the bridge in.
// The JOIN of the last of those goes out only once every refusal before it
// has been handled; a PING sent then, on the same connection, is answered
// once every handler of those refusals has returned. heldChannels returns
// the NICKs the bridge sent meanwhile, after its registration's, and fails
// the test if the bridge connected again.
func heldChannels(t *testing.T, held int) (nicks []string) {
	t.Helper()
	last := fmt.Sprintf("#c%d", joinWindow)
	r := newRig(t, func(c *Config, _ *fakeHS, irc *fakeIRC) {
		c.Rooms = nil
		for i := 1; i <= held; i++ {
			ch := fmt.Sprintf("#held%d", i)
			c.Rooms = append(c.Rooms, Mapping{Room: id.RoomID(fmt.Sprintf("!held%d:example.org", i)), Channel: ch})
			irc.refuse[ch] = "437"
		}
		for i := 1; i <= joinWindow; i++ {
			c.Rooms = append(c.Rooms, Mapping{Room: id.RoomID(fmt.Sprintf("!c%d:example.org", i)), Channel: fmt.Sprintf("#c%d", i)})
		}
	})
	first := r.irc.nextLine(t, "the first JOIN", func(l ircLine) bool { return strings.HasPrefix(l.Line, "JOIN ") })
	watch := func(l ircLine) {
		if l.Conn != first.Conn {
			t.Fatalf("the bridge connected again (connection %d after %d): %s", l.Conn, first.Conn, l.Line)
		}
		if strings.HasPrefix(l.Line, "NICK ") {
			nicks = append(nicks, l.Line)
		}
	}
	r.irc.nextLine(t, "the JOIN of "+last, func(l ircLine) bool {
		watch(l)
		return strings.HasPrefix(l.Line, "JOIN ") && strings.Contains(l.Line, last)
	})
	r.irc.write(first.Conn, "PING :barrier")
	r.irc.nextLine(t, "the answer to the PING", func(l ircLine) bool {
		watch(l)
		return strings.HasPrefix(l.Line, "PONG") && strings.HasSuffix(l.Line, "barrier")
	})
	return nicks
}

// A stop while a multi-line Matrix message goes out, line by line under the
// flood rule, ends the sender within its shutdown timeout: the pacing
// listens to the sender's context, so Ctrl-C does not wait for the paste.
func TestStopDuringMultiLinePasteIsPrompt(t *testing.T) {
	r := newRig(t, nil)
	r.waitIRCUp("!abc:example.org", "warm-up")
	lines := make([]string, 12)
	for i := range lines {
		lines[i] = fmt.Sprintf("line %02d %s", i, strings.Repeat("x", 200))
	}
	require.Equal(t, http.StatusOK, r.push("paste", textEvent("$paste", "!abc:example.org", "@alice:example.org",
		strings.Join(lines, "\n"))))
	r.irc.nextLine(t, "the paste's first line", func(l ircLine) bool { return strings.Contains(l.Line, "line 00") })

	rep := r.stop(30 * time.Second)
	assert.Empty(t, rep.Killed, "every part of the bridge stops within its shutdown timeout")
	assert.Empty(t, rep.Abandoned, "no goroutine is left behind")
}

// When the connection drops in the middle of a multi-line message, the lines
// not yet sent wait for the next connection, which sends them: only what the
// client had written when the drop came may be lost, as docs/matrix-bridge.md
// admits ("the time the client takes to notice").
func TestConnectionDropMidMultiLineMessageHoldsTheRest(t *testing.T) {
	r := newRig(t, nil)
	r.waitIRCUp("!abc:example.org", "warm-up")
	lines := make([]string, 12)
	for i := range lines {
		lines[i] = fmt.Sprintf("line %02d", i)
	}
	require.Equal(t, http.StatusOK, r.push("paste", textEvent("$paste", "!abc:example.org", "@alice:example.org",
		strings.Join(lines, "\n"))))
	first := r.irc.nextLine(t, "the paste's first line", func(l ircLine) bool { return strings.Contains(l.Line, "line 00") })
	r.irc.dropAll()
	// girc spaces these lines by 1.2 s each: the last one is due seconds
	// after the drop, when the bridge has long reconnected.
	got := r.irc.nextLine(t, "the paste's last line, after the reconnect", func(l ircLine) bool {
		return strings.Contains(l.Line, "line 11")
	})
	assert.NotEqual(t, first.Conn, got.Conn)
}

// abandoning is a context that is live when a call is made and has ended by
// the time the call waits for its answer: a homeserver that gives up on a
// transaction it has sent, while the router handles it.
type abandoning struct {
	context.Context
	checks atomic.Int32
	done   chan struct{}
}

func newAbandoning() *abandoning {
	a := &abandoning{Context: context.Background(), done: make(chan struct{})}
	close(a.done)
	return a
}

func (a *abandoning) Done() <-chan struct{} { return a.done }

func (a *abandoning) Err() error {
	if a.checks.Add(1) == 1 {
		return nil // the call is made
	}
	return context.Canceled
}

// A homeserver that stops waiting for a transaction (its request timed out)
// makes the router's reply fail with actor.ErrCallerGone: that is no crash of
// the router, which remembers what it passed on, so that the transaction,
// sent again as the spec says it must be, relays nothing twice.
func TestAbandonedTransactionIsRelayedOnce(t *testing.T) {
	r := newRig(t, nil)
	r.waitIRCUp("!abc:example.org", "warm-up")

	// A transaction that takes the router a while: one message, and many
	// events it does not relay (reactions).
	var msg event.Event
	raw, err := json.Marshal(textEvent("$once", "!abc:example.org", "@alice:example.org", "only once"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &msg))
	evs := []*event.Event{&msg}
	for i := range 300000 {
		evs = append(evs, &event.Event{ID: id.EventID(fmt.Sprintf("$r%d", i)), RoomID: "!abc:example.org",
			Type: event.EventReaction, Sender: "@alice:example.org"})
	}
	txn := transaction{ID: "big", Events: evs}

	// The homeserver gives up waiting on it...
	router, ok := r.b.reg.Lookup(nameRouter)
	require.True(t, ok)
	_, err = router.Call(newAbandoning(), txn)
	require.ErrorIs(t, err, context.Canceled, "the homeserver gave up on the transaction")
	first := r.irc.nextPrivmsg(t, "alice's message")
	require.Equal(t, "PRIVMSG #arbor :<alice> only once", first.Line)

	// ...and sends it again, as the spec says it must.
	long, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, err = r.b.reg.Call(long, nameRouter, txn)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.push("t2", textEvent("$next", "!abc:example.org", "@alice:example.org", "next")))
	next := r.irc.nextPrivmsg(t, "alice's next message")
	assert.Equal(t, "PRIVMSG #arbor :<alice> next", next.Line, "the repeated transaction relays nothing twice")
	_, crashed := r.events.waitFor(0, func(e tree.Event) bool {
		return e.Kind == tree.ChildExited && e.Child == "router"
	})
	assert.False(t, crashed, "the router crashed")
}

// docs/matrix-bridge.md: what Matrix users say while IRC is down waits for
// it. When the IRC subtree reaches its intensity and the root restarts it
// after the cooldown, as a new subtree, the messages the homeserver was told
// had been taken are not lost with the old sender's mailbox: they go out
// first once IRC is back.
func TestMessagesQueuedBeforeIRCGivesUpSurvive(t *testing.T) {
	r := newRig(t, func(c *Config, _ *fakeHS, irc *fakeIRC) {
		c.IRC.Intensity = IntensityConfig{MaxRestarts: 2, Period: time.Minute}
		c.IRC.Cooldown = 500 * time.Millisecond
		irc.mute.Store(true) // the server takes connections but never registers the bridge
	})
	require.Equal(t, http.StatusOK, r.push("t1", textEvent("$1", "!abc:example.org", "@alice:example.org", "said during the outage")))
	// The message reached the sender's mailbox (the portal sent it there).
	waitUntil(t, "the message is in the sender's mailbox", func() bool {
		ref, ok := r.b.reg.Lookup(nameSender)
		return ok && ref.MailboxLen() == 1
	})

	// Each connection fails, until the IRC subtree gives up.
	gaveUp := make(chan struct{})
	go func() {
		defer close(gaveUp)
		r.events.waitFor(wait, func(e tree.Event) bool {
			return e.Kind == tree.IntensityExceeded && e.Supervisor == PathIRC
		})
	}()
	for done := false; !done; {
		select {
		case l := <-r.irc.lines:
			if strings.HasPrefix(l.Line, "USER ") {
				r.irc.dropAll()
			}
		case <-gaveUp:
			done = true
		case <-time.After(wait):
			t.Fatal("the IRC subtree never gave up")
		}
	}
	// IRC is back; the root restarts the IRC subtree after the cooldown.
	r.irc.mute.Store(false)
	r.irc.nextLine(t, "the bridge joins again, after the cooldown", func(l ircLine) bool { return strings.HasPrefix(l.Line, "JOIN ") })
	require.Equal(t, http.StatusOK, r.push("t2", textEvent("$2", "!abc:example.org", "@alice:example.org", "said after")))
	l := r.irc.nextPrivmsg(t, "the first message on IRC")
	assert.Equal(t, "PRIVMSG #arbor :<alice> said during the outage", l.Line)
}

// docs/matrix-bridge.md: when IRC stays down, the root restarts the IRC
// subtree after the cooldown, and "The Matrix side is never touched by any of
// this", whatever cooldown the user set: the root's intensity allows for it,
// so that an IRC outage never makes the root give up.
func TestIRCOutageWithShortCooldownLeavesTheMatrixSide(t *testing.T) {
	r := newRig(t, func(c *Config, _ *fakeHS, irc *fakeIRC) {
		c.IRC.Intensity = IntensityConfig{MaxRestarts: 1, Period: time.Minute}
		c.IRC.Cooldown = 100 * time.Millisecond
		irc.hangup.Store(true)
	})
	require.NoError(t, r.b.cfg.Validate(), "the configuration is valid")
	n := 0
	_, retried := r.events.waitForOr(r.b.Done(), wait, func(e tree.Event) bool {
		if e.Kind == tree.ChildRestarted && e.Supervisor == PathRoot && e.Child == "irc" {
			n++
		}
		return n == 5
	})
	require.NoError(t, r.b.Err(), "an IRC outage stopped the whole bridge, Matrix side included")
	require.True(t, retried, "the bridge keeps retrying IRC after each cooldown")
	assert.NotNil(t, r.b.IRCDown())
}

// A Matrix moderator bans an IRC user's ghost from the room: each message
// that IRC user sends is refused (403), logged and dropped, without a crash
// of the portal; lines from a banned user cannot exhaust the portals'
// supervisor and stop every room's portal (here #other's too).
func TestBannedGhostDoesNotCrashThePortals(t *testing.T) {
	r := newRig(t, func(c *Config, hs *fakeHS, _ *fakeIRC) {
		c.Rooms = []Mapping{
			{Room: "!abc:example.org", Channel: "#arbor"},
			{Room: "!other:example.org", Channel: "#other"},
		}
		hs.ban("!abc:example.org", "@irc_spammer:example.org")
	})
	r.waitIRCUp("!abc:example.org", "warm-up")
	for i := range 20 {
		r.irc.say("spammer", "#arbor", fmt.Sprintf("spam %d", i))
	}
	_, gaveUp := r.events.waitForOr(r.b.Done(), 3*time.Second, func(e tree.Event) bool {
		return e.Kind == tree.IntensityExceeded
	})
	assert.False(t, gaveUp, "one banned IRC user makes a supervisor give up")
	select {
	case <-r.b.Done():
		t.Fatalf("the bridge stopped: %v", r.b.Err())
	default:
	}
}

// A kick of a ghost that the homeserver pushes reaches mautrix's state store
// through the router: the ghost joins the room again before its next
// message, which the homeserver thus never refuses.
func TestPushedKickMakesTheGhostJoinBeforeItsNextMessage(t *testing.T) {
	const room = "!abc:example.org"
	r := newRig(t, nil)
	r.waitIRCUp(room, "warm-up")
	r.irc.say("bob", "#arbor", "before the kick")
	require.Equal(t, "before the kick", r.hs.next(t, "bob's first message").Body)

	ghost := r.b.GhostID("bob")
	r.hs.mu.Lock()
	delete(r.hs.joined, room+"|"+string(ghost))
	r.hs.mu.Unlock()
	require.Equal(t, http.StatusOK, r.push("kick", map[string]any{
		"type": "m.room.member", "event_id": "$kick", "room_id": room, "sender": "@alice:example.org",
		"state_key": string(ghost), "origin_server_ts": 1, "content": map[string]any{"membership": "leave"},
	}))
	r.irc.say("bob", "#arbor", "after the kick")
	p := r.hs.next(t, "bob's message after his ghost was kicked")
	assert.Equal(t, "after the kick", p.Body)
	assert.Equal(t, ghost, p.Sender)
	assert.False(t, strings.Contains(r.log.String(), "homeserver refused"), "the ghost joined before it spoke")
}

// docs/matrix-bridge.md: "every field that cannot be used is named". An
// irc.server whose port is not a number (a service name, a typo, none) is a
// configuration error, not a bridge that reconnects in a loop until it gives
// up.
func TestConfigRejectsAnIRCServerWhosePortIsNotANumber(t *testing.T) {
	rejects(t, "irc.server", func(c *Config, v string) { c.IRC.Server = v },
		"irc.example.org:ircs", "irc.example.org:66x7", "irc.example.org:")
}

// Ghost IDs keep the nick's case ("Bob" is @irc__bob, "bob" @irc_bob): once
// "bob" has spoken, "Bob" (the same person after /nick Bob, or the next
// holder of the nick) still gets a ghost set up with its display name.
func TestGhostOfANickInOtherCaseGetsItsDisplayName(t *testing.T) {
	r := newRig(t, nil)
	r.waitIRCUp("!abc:example.org", "warm-up")
	r.irc.say("bob", "#arbor", "from bob")
	first := r.hs.next(t, "bob's message")
	require.Equal(t, r.b.GhostID("bob"), first.Sender)
	r.irc.say("Bob", "#arbor", "from Bob")
	second := r.hs.next(t, "Bob's message")
	require.Equal(t, r.b.GhostID("Bob"), second.Sender)
	r.hs.mu.Lock()
	name := r.hs.names[second.Sender]
	r.hs.mu.Unlock()
	assert.Equal(t, "Bob", name, "the ghost of Bob is named after the nick")
}

// When alice renames herself, IRC sees her new name, and a lookup that
// failed once (the homeserver slow or down) does not pin her localpart.
func TestMatrixDisplayNameChangeReachesIRC(t *testing.T) {
	r := newRig(t, func(_ *Config, hs *fakeHS, _ *fakeIRC) {
		hs.setName("@alice:example.org", "Alice")
	})
	r.waitIRCUp("!abc:example.org", "warm-up")
	r.hs.setName("@alice:example.org", "Alicia")
	require.Equal(t, http.StatusOK, r.push("t2", textEvent("$2", "!abc:example.org", "@alice:example.org", "renamed")))
	l := r.irc.nextPrivmsg(t, "alice's message after her rename")
	assert.Equal(t, "PRIVMSG #arbor :<Alicia> renamed", l.Line)
}

// docs/matrix-bridge.md: a portal whose bot is not in its room yet holds what
// IRC says "and posts it, in order, once the bot is in", also when one of
// the held messages fails to post: the homeserver's error (a 500) passes,
// the message is posted again in its place, and those after it stay behind
// it and ahead of whatever arrived meanwhile.
func TestHeldMessagesKeepTheirOrderWhenOneFailsToPost(t *testing.T) {
	const (
		refuse = iota
		block
		allow
	)
	var mode atomic.Int32
	asks := make(chan chan bool)
	done := make(chan struct{})
	hook := func() bool {
		switch mode.Load() {
		case refuse:
			return false
		case allow:
			return true
		}
		answer := make(chan bool)
		select {
		case asks <- answer:
		case <-done:
			return false
		}
		select {
		case ok := <-answer:
			return ok
		case <-done:
			return false
		}
	}
	r := newRig(t, func(_ *Config, hs *fakeHS, _ *fakeIRC) { hs.botJoin.Store(&hook) })
	t.Cleanup(func() { close(done) })
	r.waitIRCUp("!abc:example.org", "warm-up")

	// The bot cannot join: the portal holds m1..m3.
	for _, m := range []string{"m1", "m2", "m3"} {
		r.irc.say("bob", "#arbor", m)
	}
	r.irc.sync(t)
	r.waitIRCUp("!abc:example.org", "after-m3") // the portal has handled m1..m3: they are held

	// The portal's next attempt to join hangs, on the homeserver, while
	// m4 arrives in its mailbox.
	mode.Store(block)
	var answer chan bool
	select {
	case answer = <-asks:
	case <-time.After(3 * wait):
		t.Fatal("the portal never tried to join again")
	}
	r.irc.say("bob", "#arbor", "m4")
	r.irc.sync(t)
	r.hs.mu.Lock()
	r.hs.failBody = "m2" // a homeserver hiccup on one message
	r.hs.mu.Unlock()
	mode.Store(allow)
	answer <- true

	var got []string
	for range 4 {
		got = append(got, r.hs.next(t, "the held messages").Body)
	}
	assert.Equal(t, []string{"m1", "m2", "m3", "m4"}, got, "IRC's messages reach the room in the order they were said")
}

// With the IRC server unreachable (packets dropped), stopping the bridge
// (Ctrl-C) while conn dials ends the dial: conn stops within its shutdown
// timeout, rather than being killed and its goroutine abandoned.
func TestStopWhileDialingAnUnreachableIRCServerIsPrompt(t *testing.T) {
	addr, _ := blackhole(t)
	r := newRig(t, func(c *Config, _ *fakeHS, _ *fakeIRC) { c.IRC.Server = addr })
	// conn started with the bridge, and dials.
	rep := r.stop(30 * time.Second)
	assert.Empty(t, rep.Killed, "every part of the bridge stops within its shutdown timeout")
}

// When both "matrixbridge" and "matrixbridge_" are in use (the server still
// holds the sessions of two connections that just dropped, a common sight
// after a flap), the bridge tries further nicks and registers, joins and
// relays, rather than asking for "matrixbridge_" again and again.
func TestNickCollisionOnTwoNicksStillRegisters(t *testing.T) {
	r := newRig(t, func(_ *Config, _ *fakeHS, irc *fakeIRC) {
		irc.taken["matrixbridge"] = true
		irc.taken["matrixbridge_"] = true
	})
	nicks := 0
	l := r.irc.nextLine(t, "the bridge registers under a free nick and joins", func(l ircLine) bool {
		if strings.HasPrefix(l.Line, "NICK ") {
			nicks++
		}
		return strings.HasPrefix(l.Line, "JOIN ")
	})
	assert.Equal(t, "JOIN #arbor", l.Line)
	t.Logf("NICK commands sent: %d", nicks)
}

// With the homeserver down at start, the portals do not wait for their
// rooms' joins (bounded by 10 s each) before the next starts: Start returns
// promptly, and the IRC subtree begins to connect at once.
func TestHomeserverDownAtStartDoesNotDelayStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := "http://" + ln.Addr().String()
	ln.Close() // connection refused: the homeserver is down
	start := time.Now()
	r := newRig(t, func(c *Config, _ *fakeHS, _ *fakeIRC) {
		c.Homeserver.URL = down
		c.Rooms = []Mapping{
			{Room: "!abc:example.org", Channel: "#arbor"},
			{Room: "!two:example.org", Channel: "#two"},
		}
	})
	took := time.Since(start)
	// (Let IRC come up before the test's end stops the bridge.)
	r.irc.nextLine(t, "the bridge joins its channels", func(l ircLine) bool { return strings.HasPrefix(l.Line, "JOIN ") })
	assert.Less(t, took, joinTimeout+3*time.Second, "Start is held up by one bounded join, not one per room")
}

// When the IRC subtree stops (Stop, or a one-for-all restart) while girc is
// still connecting, conn ends the dial through its context and waits for
// Connect to return, rather than calling girc's Close concurrently with it
// (a data race inside girc, which -race reports).
func TestStopWhileIRCConnectIsInFlightIsRaceFree(t *testing.T) {
	if os.Getenv("BRIDGE_RACE_CHILD") != "" {
		stopWhileIRCConnectIsInFlight(t)
		return
	}
	if !raceEnabled {
		t.Skip("a data race: run with -race")
	}
	// The race detector reports a race once per process: the scenario runs
	// in a process of its own, so that every run of this test sees it.
	cmd := exec.Command(os.Args[0], "-test.run=^TestStopWhileIRCConnectIsInFlightIsRaceFree$", "-test.count=1")
	cmd.Env = append(os.Environ(), "BRIDGE_RACE_CHILD=1")
	out, _ := cmd.CombinedOutput()
	if i := bytes.Index(out, []byte("WARNING: DATA RACE")); i >= 0 {
		t.Fatalf("stopping the bridge while it connects to IRC is a data race:\n%s", out[i:min(len(out), i+1500)])
	}
}

func stopWhileIRCConnectIsInFlight(t *testing.T) {
	addr, free := blackhole(t)
	r := newRig(t, func(c *Config, _ *fakeHS, _ *fakeIRC) { c.IRC.Server = addr })
	stopped := make(chan tree.StopReport, 1)
	go func() { stopped <- r.stop(30 * time.Second) }()
	_, ok := r.events.waitFor(wait, func(e tree.Event) bool {
		return e.Kind == tree.ChildTerminated && e.Supervisor == PathIRC && e.Child == "sender"
	})
	require.True(t, ok, "the IRC subtree is stopping")
	free() // the dial, under way, now completes: while runConn closes the client
	select {
	case <-stopped:
	case <-time.After(wait):
		t.Fatal("the bridge never stopped")
	}
}
