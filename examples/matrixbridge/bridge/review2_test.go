package bridge

// The bridge's resilience, continued: bugs a second review found, each test
// named after what now holds.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/id"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/registry"
	"github.com/arbor-go/arbor/strategy"
)

// kick puts user out of room, as a Matrix moderator's kick does (not a ban:
// the user may join again).
func (h *fakeHS) kick(room id.RoomID, user id.UserID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.joined, string(room)+"|"+string(user))
}

// docs/matrix-bridge.md: "the sender spaces the lines as girc would (a second
// plus 10 ms a byte each, after a burst of about 8 seconds' worth)". A
// Matrix message of one long line (a paragraph) is longer than an IRC line:
// it is cut into several PRIVMSGs, each paced as girc's own flood control
// would, rather than sent back to back: a flood.
func TestLongLineSplitIntoSeveralIRCLinesIsPaced(t *testing.T) {
	r := newRig(t, nil)
	r.waitIRCUp("!abc:example.org", "warm-up")
	var words []string
	for i := range 230 {
		words = append(words, "w"+strings.Repeat("x", 3)+string(rune('a'+i%26)))
	}
	body := strings.Join(words, " ") + " END" // about 1,400 bytes: 4 IRC lines or more
	require.Equal(t, http.StatusOK, r.push("long", textEvent("$long", "!abc:example.org", "@alice:example.org", body)))

	var at []time.Time
	timeout := time.After(time.Minute) // paced as documented, the pieces take about 8 s
	for done := false; !done; {
		select {
		case l := <-r.irc.lines:
			if !strings.HasPrefix(l.Line, "PRIVMSG ") {
				continue
			}
			at = append(at, time.Now())
			done = strings.HasSuffix(l.Line, "END")
		case <-timeout:
			t.Fatalf("the long line never arrived whole (%d pieces so far)", len(at))
		}
	}
	require.Greater(t, len(at), 3, "the line was cut")
	// Each piece costs over 4 s (1 s + 10 ms a byte); past the 8 s burst,
	// the pieces after the first two or three are spaced by that much.
	span := at[len(at)-1].Sub(at[0])
	assert.Greater(t, span, time.Duration(len(at)-3)*4*time.Second,
		"%d IRC lines of about 450 bytes each went out within %v: the server sees a flood", len(at), span)
}

// A Matrix moderator kicks an IRC user's ghost from the room (a kick, not a
// ban: a warning, or a mistake). The next message of that IRC user must
// still reach the room: the bridge joins the ghost again. It remembers the
// ghost as joined for good, and the homeserver refuses every later message
// of that nick (403, not in the room), which the portal drops.
func TestKickedGhostJoinsAgainOnItsNextMessage(t *testing.T) {
	r := newRig(t, nil)
	r.waitIRCUp("!abc:example.org", "warm-up")
	r.irc.say("bob", "#arbor", "before the kick")
	p := r.hs.next(t, "bob's first message")
	require.Equal(t, "before the kick", p.Body)

	r.hs.kick("!abc:example.org", r.b.GhostID("bob"))
	r.irc.say("bob", "#arbor", "after the kick")
	p = r.hs.next(t, "bob's message after his ghost was kicked")
	assert.Equal(t, "after the kick", p.Body)
	assert.Equal(t, r.b.GhostID("bob"), p.Sender)
}

// scriptedIRC is a minimal IRC server for the cases fakeIRC does not cover:
// it welcomes every client, answers PING, and, as real servers do, ignores a
// JOIN to a channel the client is in already. autoJoin, if set, is a
// channel the server puts every client in as it welcomes it (UnrealIRCd's
// set::auto-join, InspIRCd's conn_join, a bouncer replaying its channels).
type scriptedIRC struct {
	ln       net.Listener
	autoJoin string
	lines    chan string
	wg       sync.WaitGroup
}

func newScriptedIRC(t *testing.T, autoJoin string) *scriptedIRC {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &scriptedIRC{ln: ln, autoJoin: autoJoin, lines: make(chan string, 1<<12)}
	conns := make(chan net.Conn, 16)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
			s.wg.Add(1)
			go s.handle(c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for {
			select {
			case c := <-conns:
				c.Close()
				continue
			default:
			}
			break
		}
		s.wg.Wait()
	})
	return s
}

func (s *scriptedIRC) handle(c net.Conn) {
	defer s.wg.Done()
	defer c.Close()
	sc := bufio.NewScanner(c)
	nick, user, welcomed := "", false, false
	in := map[string]bool{}
	write := func(line string) { _, _ = io.WriteString(c, line+"\r\n") }
	for sc.Scan() {
		line := sc.Text()
		s.lines <- line
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "NICK":
			nick = f[1]
		case "USER":
			user = true
		case "PING":
			write("PONG " + strings.Join(f[1:], " "))
		case "JOIN":
			for _, ch := range strings.Split(f[1], ",") {
				if !in[strings.ToLower(ch)] { // a JOIN to a channel the client is in: no answer
					in[strings.ToLower(ch)] = true
					write(fmt.Sprintf(":%s!bridge@test JOIN %s", nick, ch))
				}
			}
		}
		if nick != "" && user && !welcomed {
			welcomed = true
			write(fmt.Sprintf(":irc.test 001 %s :Welcome", nick))
			if s.autoJoin != "" {
				in[strings.ToLower(s.autoJoin)] = true
				write(fmt.Sprintf(":%s!bridge@test JOIN %s", nick, s.autoJoin))
			}
			write(fmt.Sprintf(":irc.test 376 %s :End of MOTD", nick))
		}
	}
}

// A server that puts the bridge into its mapped channel as it welcomes it
// (auto-join, or a bouncer) answers the bridge's own JOIN with nothing, as
// the bridge is in already. The bridge must still relay to that channel. It
// takes the server's JOIN for no channel of its own (girc tells the bridge it
// is connected only 2 s after the welcome, and until then the link ignores
// every JOIN), and Matrix's messages for the channel wait for a JOIN that
// never comes.
func TestChannelTheServerJoinsOnWelcomeIsRelayedTo(t *testing.T) {
	srv := newScriptedIRC(t, "#arbor")
	r := newRig(t, func(c *Config, _ *fakeHS, _ *fakeIRC) { c.IRC.Server = srv.ln.Addr().String() })
	require.Equal(t, http.StatusOK, r.push("t1", textEvent("$1", "!abc:example.org", "@alice:example.org", "hello")))
	timeout := time.After(wait)
	for {
		select {
		case l := <-srv.lines:
			if strings.HasPrefix(l, "PRIVMSG ") {
				assert.Equal(t, "PRIVMSG #arbor :<alice> hello", l)
				return
			}
		case <-timeout:
			t.Fatal("alice's message never reached #arbor, a channel the bridge is in")
		}
	}
}

// With many mapped channels, the bridge's JOIN of them all is longer than an
// IRC line, and girc's Commands.Join, which splits it, leaves out the channel
// at each split: the bridge never asks to join it, never hears a refusal,
// so never tries again, and what Matrix says in that room stays queued for
// good (then dropped, past 1000 messages).
func TestEveryMappedChannelIsJoinedWithManyRooms(t *testing.T) {
	want := map[string]bool{}
	r := newRig(t, func(c *Config, _ *fakeHS, _ *fakeIRC) {
		c.Rooms = nil
		for i := range 40 {
			ch := fmt.Sprintf("#a-rather-long-channel-%02d", i)
			want[ch] = true
			c.Rooms = append(c.Rooms, Mapping{Room: id.RoomID(fmt.Sprintf("!room%02d:example.org", i)), Channel: ch})
		}
	})
	joined := map[string]bool{}
	timeout := time.After(wait)
	for len(joined) < len(want) {
		select {
		case l := <-r.irc.lines:
			if rest, ok := strings.CutPrefix(l.Line, "JOIN "); ok {
				for _, ch := range strings.Split(rest, ",") {
					joined[ch] = true
				}
			}
		case <-timeout:
			var missing []string
			for ch := range want {
				if !joined[ch] {
					missing = append(missing, ch)
				}
			}
			t.Fatalf("the bridge never asked to join %v (of %d channels)", missing, len(want))
		}
	}
}

// docs/matrix-bridge.md: "every field that cannot be used is named". An IRC
// nick cannot start with a digit or a '-' (RFC 2812; every server refuses it
// with 432): such an irc.nick passes Validate, and the bridge reconnects,
// refused each time, until the IRC subtree gives up, then again after every
// cooldown, for ever.
func TestConfigRejectsANickNoServerAccepts(t *testing.T) {
	rejects(t, "irc.nick", func(c *Config, v string) { c.IRC.Nick = v }, "1bridge", "-bridge")
}

// txnHS is a homeserver that, as the spec has it, treats a message sent
// again under the same transaction ID as the same message. Its first answer
// to a message is lost on the way back (a reverse proxy's 504 after the
// homeserver has stored the event, or a timeout): the client, unsure, sends
// it again.
type txnHS struct {
	mu     sync.Mutex
	txns   map[string]bool
	stored []string
	lose   int // answers to lose, as 504s, after storing the message
}

func (h *txnHS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	path := r.URL.Path
	switch {
	case strings.HasSuffix(path, "/join"):
		_, _ = w.Write([]byte(`{"room_id":"!abc:example.org"}`))
	case strings.HasSuffix(path, "/joined_members"):
		_, _ = w.Write([]byte(`{"joined":{}}`))
	case strings.Contains(path, "/send/"):
		var content struct{ Body string }
		_ = json.NewDecoder(r.Body).Decode(&content)
		txn := path[strings.LastIndex(path, "/")+1:]
		h.mu.Lock()
		if !h.txns[txn] {
			h.txns[txn] = true
			h.stored = append(h.stored, content.Body)
		}
		lose := h.lose > 0
		if lose {
			h.lose--
		}
		h.mu.Unlock()
		if lose {
			w.WriteHeader(http.StatusGatewayTimeout)
			_, _ = w.Write([]byte(`{"errcode":"M_UNKNOWN","error":"upstream timed out"}`))
			return
		}
		_, _ = w.Write([]byte(`{"event_id":"$1"}`))
	default:
		_, _ = w.Write([]byte(`{}`))
	}
}

func (h *txnHS) messages() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.stored...)
}

// docs/matrix-bridge.md: a message the portal could not post "waits, ... and
// the portal tries again". When the homeserver did store the message but its
// answer was lost (a 504 from the proxy in front of it, a timeout), the
// portal's next try must be the same request, under the same transaction
// ID, which the homeserver recognises. The portal sends the message anew,
// under a fresh transaction ID, each try: the room gets it twice.
func TestPortalRetryAfterALostAnswerDoesNotPostTwice(t *testing.T) {
	hs := &txnHS{txns: map[string]bool{}, lose: 1}
	srv := httptest.NewServer(hs)
	t.Cleanup(srv.Close)
	as, err := appservice.CreateFull(appservice.CreateOpts{
		Registration:     &appservice.Registration{AppToken: "as-secret", ServerToken: "hs-secret", SenderLocalpart: "bot"},
		HomeserverDomain: "example.org",
		HomeserverURL:    srv.URL,
	})
	require.NoError(t, err)
	as.DefaultHTTPRetries = 0 // the client gives up at once; the portal tries again
	cfg := validConfig()
	b := &Bridge{cfg: cfg, as: as, log: zerolog.Nop(), joinBackoff: strategy.Constant(time.Millisecond)}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	p, err := actor.Spawn(ctx, newPortal(b, cfg.Rooms[0]), actor.WithDirectory(registry.New()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Stop(context.Background()) })

	require.NoError(t, p.Send(fromIRC{Nick: "bob", Text: "m1"}))
	require.NoError(t, p.Send(fromIRC{Nick: "bob", Text: "m2"}))
	waitUntil(t, "m2 is stored", func() bool {
		got := hs.messages()
		return len(got) > 0 && got[len(got)-1] == "m2"
	})
	assert.Equal(t, []string{"m1", "m2"}, hs.messages(), "each IRC message reaches the room once")
}

// docs/matrix-bridge.md: "every field that cannot be used is named", as the
// review's fix for irc.server's port has it. appservice.listen with a port
// that is not one (out of range, or a service name that does not exist)
// passes Validate: the bridge starts, its listener fails at every restart
// of the Matrix side, and the root gives up, the bridge stopping a couple
// of seconds later with the listener's error rather than a configuration
// error naming the field.
func TestConfigRejectsAListenAddressWithABadPort(t *testing.T) {
	rejects(t, "appservice.listen", func(c *Config, v string) { c.Appservice.Listen = v },
		"127.0.0.1:99999", "127.0.0.1:-1", "127.0.0.1:no-such-service")
}

// The portal heads a Matrix message's line with its sender's name
// ("<alice> ..."), so that IRC knows who speaks. A line longer than IRC
// allows is cut by girc into several PRIVMSGs, and only the first of them is
// headed: the rest read, on IRC, as the bridge's own words (and, spaced as
// IRC's flood rules want, with IRC users' lines between them).
func TestLongLineEveryIRCPieceNamesItsSender(t *testing.T) {
	r := newRig(t, nil)
	r.waitIRCUp("!abc:example.org", "warm-up")
	body := strings.TrimSpace(strings.Repeat("lorem ipsum dolor sit amet ", 40)) + " END" // about 1,100 bytes
	require.Equal(t, http.StatusOK, r.push("long", textEvent("$long", "!abc:example.org", "@alice:example.org", body)))
	var pieces []string
	for {
		l := r.irc.nextPrivmsg(t, "the long line's pieces")
		pieces = append(pieces, privmsgText(l.Line))
		if strings.HasSuffix(l.Line, "END") {
			break
		}
	}
	require.Greater(t, len(pieces), 1, "girc split the line")
	for i, p := range pieces {
		assert.True(t, strings.HasPrefix(p, "<alice> "), "piece %d of %d does not say who speaks: %q", i+1, len(pieces), p)
	}
}

// A line one byte too long for IRC whose last byte is a space is cut at that
// space, which the line break stands in for: nothing is left after it, and
// no empty piece (a bare "<alice> " on IRC) may follow.
func TestFitLeavesNoEmptyPieceWhenTheCutSpaceEndsTheLine(t *testing.T) {
	const limit = 200
	m := &toIRC{Channel: "#arbor", Head: "<alice> "}
	room := limit - 1 - wireLen(m, "")
	m.Lines = []string{strings.Repeat("a", room) + " "}
	fit(m, limit)
	for i, l := range m.Lines {
		assert.NotEmpty(t, l, "piece %d of %d is empty: %q", i+1, len(m.Lines), m.Lines)
	}
}

// The server renames the bridge after its welcome (services' forced rename
// to a guest nick, SANICK): the nick it was welcomed with is no longer the
// bridge's. Another user who then takes that nick and is kicked from the
// bridge's channel does not put the bridge "out" of a channel it is still
// in, where what Matrix says would stay queued.
func TestKickOfAnotherUserWithTheBridgesFormerNickKeepsTheChannelJoined(t *testing.T) {
	r := newRig(t, nil)
	r.waitIRCUp("!abc:example.org", "warm-up")
	r.irc.mu.Lock()
	require.Len(t, r.irc.conns, 1)
	var conn int
	for n := range r.irc.conns {
		conn = n
	}
	r.irc.mu.Unlock()
	r.irc.write(conn, ":matrixbridge!bridge@test NICK Guest42")
	waitUntil(t, "girc follows the rename", func() bool {
		r.b.link.mu.Lock()
		c := r.b.link.client
		r.b.link.mu.Unlock()
		return c != nil && c.GetNick() == "Guest42"
	})
	// Someone else takes the freed nick, joins, and is kicked.
	r.irc.write(conn, ":matrixbridge!owner@elsewhere JOIN #arbor")
	r.irc.write(conn, ":op!op@test KICK #arbor matrixbridge :not you")
	r.irc.sync(t)
	require.Equal(t, http.StatusOK, r.push("after-kick", textEvent("$after-kick", "!abc:example.org", "@alice:example.org", "still here")))
	r.irc.nextLine(t, "alice's message after another user's kick", func(l ircLine) bool {
		return strings.HasPrefix(l.Line, "PRIVMSG #arbor ") && strings.HasSuffix(privmsgText(l.Line), "still here")
	})
}
