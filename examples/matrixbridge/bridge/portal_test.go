package bridge

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
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

// homeserver is a fake one: it answers what a portal asks of it, refuses to
// let anyone join until joinable is set, and reports the body of every
// message sent in a room. While unavailable is positive, it answers each
// message sent with a 503 instead, and counts it down. profiles and members
// are the users' profile names and the room's members (user: display name);
// they are set before the portal starts, as is broken, a message body on
// which the homeserver fails (500) every time, counting its failures.
type homeserver struct {
	joinable    atomic.Bool
	unavailable atomic.Int32
	broken      string
	failures    atomic.Int32
	joins       chan struct{} // a join attempt
	sent        chan string
	profiles    map[string]string
	members     map[string]string
}

func (h *homeserver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	path := r.URL.Path
	switch {
	case strings.HasSuffix(path, "/join"):
		select {
		case h.joins <- struct{}{}:
		default:
		}
		if !h.joinable.Load() {
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"errcode":"M_FORBIDDEN","error":"not invited"}`))
			return
		}
		_, _ = w.Write([]byte(`{"room_id":"!abc:example.org"}`))
	case strings.HasSuffix(path, "/register"):
		_, _ = w.Write([]byte(`{"user_id":"@irc_bob:example.org"}`))
	case strings.HasSuffix(path, "/joined_members"):
		joined := map[string]any{}
		for user, name := range h.members {
			joined[user] = map[string]string{"display_name": name}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"joined": joined})
	case strings.HasPrefix(path, "/_matrix/client/v3/profile/") && r.Method == http.MethodGet:
		user := strings.TrimSuffix(strings.TrimPrefix(path, "/_matrix/client/v3/profile/"), "/displayname")
		_ = json.NewEncoder(w).Encode(map[string]string{"displayname": h.profiles[user]})
	case strings.Contains(path, "/send/"):
		if h.unavailable.Add(-1) >= 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"errcode":"M_UNKNOWN","error":"overloaded"}`))
			return
		}
		var content struct{ Body string }
		_ = json.NewDecoder(r.Body).Decode(&content)
		if h.broken != "" && content.Body == h.broken {
			h.failures.Add(1)
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"errcode":"M_UNKNOWN","error":"internal error"}`))
			return
		}
		h.sent <- content.Body
		_, _ = w.Write([]byte(`{"event_id":"$1"}`))
	default:
		_, _ = w.Write([]byte(`{}`))
	}
}

// expectPosted waits for each of wants to be posted, in order, until ctx
// ends.
func (h *homeserver) expectPosted(t *testing.T, ctx context.Context, wants ...string) {
	t.Helper()
	for _, want := range wants {
		select {
		case got := <-h.sent:
			assert.Equal(t, want, got)
		case <-ctx.Done():
			t.Fatalf("%q was never posted", want)
		}
	}
}

// spawnPortal spawns a portal alone, against hs, retrying every millisecond;
// it finds the actors it sends to in reg.
func spawnPortal(t *testing.T, ctx context.Context, hs *homeserver) (p *actor.Ref, reg *registry.Registry) {
	t.Helper()
	srv := httptest.NewServer(hs)
	t.Cleanup(srv.Close)
	as, err := appservice.CreateFull(appservice.CreateOpts{
		Registration: &appservice.Registration{AppToken: "as-secret", ServerToken: "hs-secret",
			SenderLocalpart: "bot"},
		HomeserverDomain: "example.org",
		HomeserverURL:    srv.URL,
	})
	require.NoError(t, err)
	as.DefaultHTTPRetries = 0 // the portal's own retries, not the client's
	cfg := validConfig()
	b := &Bridge{cfg: cfg, as: as, log: zerolog.Nop(),
		joinBackoff: strategy.Constant(time.Millisecond)}
	reg = registry.New()
	p, err = actor.Spawn(ctx, newPortal(b, cfg.Rooms[0]), actor.WithDirectory(reg))
	require.NoError(t, err, "a room that cannot be joined fails no start")
	t.Cleanup(func() { _ = p.Stop(context.Background()) })
	return p, reg
}

// A room the bot cannot join does not fail the portal's start, nor crash
// it: the portal tries again with backoff, holds the room's messages, and
// posts them, in order, once the bot is in.
func TestPortalWaitsForItsRoom(t *testing.T) {
	hs := &homeserver{joins: make(chan struct{}, 1), sent: make(chan string, 16)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, _ := spawnPortal(t, ctx, hs)
	require.NoError(t, p.Send(fromIRC{Nick: "bob", Text: "first"}))
	require.NoError(t, p.Send(fromIRC{Nick: "bob", Text: "second"}))
	for range 3 { // the portal keeps trying, and is not dead
		select {
		case <-hs.joins:
		case <-p.Done():
			t.Fatalf("the portal stopped: %v", p.Err())
		case <-ctx.Done():
			t.Fatal("the portal stopped trying to join")
		}
	}
	select {
	case body := <-hs.sent:
		t.Fatalf("%q was sent before the bot was in the room", body)
	default:
	}

	hs.joinable.Store(true)
	hs.expectPosted(t, ctx, "first", "second")
	assert.True(t, p.Alive())
	assert.Equal(t, uint64(1), p.Incarnation(), "no crash on the way")
}

// A message that cannot be posted because the homeserver cannot be reached
// is held, with those that come after it, and posted again: nothing is lost,
// the order is kept, and the portal does not crash.
func TestPortalHoldsWhatItCannotPostInOrder(t *testing.T) {
	hs := &homeserver{joins: make(chan struct{}, 1), sent: make(chan string, 16)}
	hs.joinable.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, _ := spawnPortal(t, ctx, hs)

	require.NoError(t, p.Send(fromIRC{Nick: "bob", Text: "m1"}))
	select {
	case got := <-hs.sent:
		require.Equal(t, "m1", got)
	case <-ctx.Done():
		t.Fatal("m1 was never posted")
	}
	hs.unavailable.Store(3) // m2 fails three times
	for _, text := range []string{"m2", "m3", "m4"} {
		require.NoError(t, p.Send(fromIRC{Nick: "bob", Text: text}))
	}
	hs.expectPosted(t, ctx, "m2", "m3", "m4")
	assert.Equal(t, uint64(1), p.Incarnation(), "no crash on the way")
}

// A message the homeserver fails on (500) is tried again in its place, the
// messages after it waiting behind it; one it fails on at every try is
// dropped after maxFailures tries, and the others go on, in order.
func TestPortalDropsAMessageTheHomeserverAlwaysFailsOn(t *testing.T) {
	hs := &homeserver{joins: make(chan struct{}, 1), sent: make(chan string, 16), broken: "m2"}
	hs.joinable.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, _ := spawnPortal(t, ctx, hs)
	for _, text := range []string{"m1", "m2", "m3"} {
		require.NoError(t, p.Send(fromIRC{Nick: "bob", Text: text}))
	}
	hs.expectPosted(t, ctx, "m1", "m3")
	assert.Equal(t, int32(maxFailures), hs.failures.Load(), "m2 was tried maxFailures times")
	assert.Equal(t, uint64(1), p.Incarnation(), "no crash on the way")
}

// The name before a Matrix user's lines on IRC is their name in the room:
// from the list of its members when the bot joins, then from the room's
// m.room.member events. A user the portal has no name for is looked up in
// their profile, each time.
func TestPortalNamesMatrixUsersAsTheRoomDoes(t *testing.T) {
	hs := &homeserver{joins: make(chan struct{}, 1), sent: make(chan string, 16),
		profiles: map[string]string{"@alice:example.org": "Alice", "@bob:example.org": "Bob"},
		members:  map[string]string{"@bob:example.org": "Bob in Arbor"}}
	hs.joinable.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, reg := spawnPortal(t, ctx, hs)
	lines := make(chan string, 16)
	sender, err := actor.Spawn(ctx, actor.Func(func(_ *actor.Context, msg any) error {
		m := msg.(toIRC)
		lines <- m.Head + m.Lines[0]
		return nil
	}))
	require.NoError(t, err)
	defer sender.Stop(ctx)
	require.NoError(t, reg.Register(nameSender, sender))

	for _, step := range []struct {
		news any    // for the portal first, if not nil
		from string // then a message from this user
		want string // heads its line on IRC
	}{
		{from: "@bob:example.org", want: "<Bob in Arbor>"},
		{from: "@alice:example.org", want: "<Alice>"},
		{news: membership{User: "@alice:example.org", Name: "Alice in Arbor"}, from: "@alice:example.org", want: "<Alice in Arbor>"},
		{news: membership{User: "@bob:example.org"}, from: "@bob:example.org", want: "<Bob>"},
	} {
		if step.news != nil {
			require.NoError(t, p.Send(step.news))
		}
		require.NoError(t, p.Send(fromMatrix{Sender: id.UserID(step.from), Body: "hi"}))
		select {
		case got := <-lines:
			assert.Equal(t, step.want+" hi", got)
		case <-ctx.Done():
			t.Fatalf("nothing reached IRC for %s", step.want)
		}
	}
}
