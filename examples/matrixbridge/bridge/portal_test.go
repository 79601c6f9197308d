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

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/strategy"
)

// homeserver is a fake one: it answers what a portal asks of it, refuses to
// let anyone join until joinable is set, and reports the body of every
// message sent in a room.
type homeserver struct {
	joinable atomic.Bool
	joins    chan struct{} // a join attempt
	sent     chan string
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
	case strings.Contains(path, "/send/"):
		var content struct{ Body string }
		_ = json.NewDecoder(r.Body).Decode(&content)
		h.sent <- content.Body
		_, _ = w.Write([]byte(`{"event_id":"$1"}`))
	default:
		_, _ = w.Write([]byte(`{}`))
	}
}

// A room the bot cannot join does not fail the portal's start, nor crash
// it: the portal tries again with backoff, holds the room's messages, and
// posts them, in order, once the bot is in.
func TestPortalWaitsForItsRoom(t *testing.T) {
	hs := &homeserver{joins: make(chan struct{}, 1), sent: make(chan string, 16)}
	srv := httptest.NewServer(hs)
	defer srv.Close()
	as, err := appservice.CreateFull(appservice.CreateOpts{
		Registration: &appservice.Registration{AppToken: "as-secret", ServerToken: "hs-secret",
			SenderLocalpart: "bot"},
		HomeserverDomain: "example.org",
		HomeserverURL:    srv.URL,
	})
	require.NoError(t, err)
	cfg := validConfig()
	b := &Bridge{cfg: cfg, as: as, log: zerolog.Nop(),
		joinBackoff: strategy.Constant(time.Millisecond)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	p, err := actor.Spawn(ctx, newPortal(b, cfg.Rooms[0]))
	require.NoError(t, err, "a room that cannot be joined fails no start")
	defer p.Stop(ctx)
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
	for _, want := range []string{"first", "second"} {
		select {
		case got := <-hs.sent:
			assert.Equal(t, want, got)
		case <-ctx.Done():
			t.Fatalf("%q was never posted", want)
		}
	}
	assert.True(t, p.Alive())
	assert.Equal(t, uint64(1), p.Incarnation(), "no crash on the way")
}
