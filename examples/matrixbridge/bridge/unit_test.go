package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/id"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/registry"
)

// These tests need no server: they check the configuration, the
// application service endpoint and the router on their own.

func validConfig() Config {
	c := Config{
		Homeserver: Homeserver{URL: "http://127.0.0.1:8008", Domain: "example.org"},
		Appservice: Appservice{Registration: "registration.yaml"},
		IRC:        IRC{Server: "127.0.0.1:6667"},
		Rooms:      []Mapping{{Room: "!abc:example.org", Channel: "#arbor"}},
	}
	c.SetDefaults()
	return c
}

// rejects asserts that Validate refuses a valid configuration changed by
// set to each of values, with a *ConfigError that names field.
func rejects(t *testing.T, field string, set func(*Config, string), values ...string) {
	t.Helper()
	for _, v := range values {
		c := validConfig()
		set(&c, v)
		var ce *ConfigError
		if assert.ErrorAs(t, c.Validate(), &ce, "%s %q cannot be used", field, v) {
			assert.Equal(t, field, ce.Field)
		}
	}
}

func TestConfigDefaultsAndValidation(t *testing.T) {
	c := validConfig()
	require.NoError(t, c.Validate())
	assert.Equal(t, DefaultListen, c.Appservice.Listen, "the listener is on loopback by default")
	assert.Equal(t, DefaultIntensity, c.IRC.Intensity)

	bad := c
	bad.Homeserver.URL = "ftp://x"
	bad.IRC.Server = "no-port"
	bad.Rooms = []Mapping{{Room: "abc", Channel: "arbor"}, {Room: "abc", Channel: "#Arbor"}, {Room: "!x:y", Channel: "#arbor"}}
	bad.IRC.Intensity = IntensityConfig{MaxRestarts: -1, Period: time.Second}
	err := bad.Validate()
	require.ErrorIs(t, err, ErrConfig)
	var fields []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var ce *ConfigError
		require.True(t, errors.As(e, &ce), "every error is a *ConfigError: %v", e)
		fields = append(fields, ce.Field)
	}
	assert.ElementsMatch(t, []string{
		"homeserver.url", "irc.server", "irc.intensity",
		"rooms[0].room", "rooms[0].channel", "rooms[1].room", "rooms[1].room", "rooms[2].channel",
	}, fields)
}

func TestLoadConfigRejectsUnknownFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bridge.yaml")
	require.NoError(t, os.WriteFile(path, []byte("homeserver:\n  url: http://x\n  domian: typo\n"), 0o600))
	_, err := LoadConfig(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "domian")
}

func TestGhostIDsAndPortalNames(t *testing.T) {
	b := &Bridge{cfg: validConfig()}
	assert.Equal(t, id.UserID("@irc_bob:example.org"), b.GhostID("bob"))
	assert.Equal(t, id.UserID("@irc_=5b_bob=5d:example.org"), b.GhostID("[Bob]"), "nicks are escaped into localparts")
	assert.Equal(t, portalName("#Arbor"), portalName("#arbor"), "channel names fold case")

	b, _, _ = endpoint(t)
	assert.True(t, b.ours("@irc_bob:example.org"))
	assert.True(t, b.ours("@bot:example.org"), "the bridge's bot")
	assert.False(t, b.ours("@irc_bob:elsewhere.org"))
	assert.False(t, b.ours("@alice:example.org"))
}

// endpoint is a bridge with only what the application service endpoint and
// the router need, and a fake portal that records what reaches it.
func endpoint(t *testing.T) (*Bridge, *httptest.Server, chan fromMatrix) {
	t.Helper()
	reg := registry.New()
	as := appservice.Create()
	as.Registration = &appservice.Registration{ServerToken: "hs-secret", SenderLocalpart: "bot"}
	as.HomeserverDomain = "example.org"
	cfg := validConfig()
	b := &Bridge{cfg: cfg, as: as, reg: reg, log: zerolog.Nop(),
		rooms: map[id.RoomID]Mapping{cfg.Rooms[0].Room: cfg.Rooms[0]}}
	ctx := context.Background()
	router, err := actor.Spawn(ctx, newRouter(b), actor.WithDirectory(reg))
	require.NoError(t, err)
	require.NoError(t, reg.Register(nameRouter, router))
	got := make(chan fromMatrix, 16)
	portal, err := actor.Spawn(ctx, actor.Func(func(_ *actor.Context, msg any) error {
		got <- msg.(fromMatrix)
		return nil
	}))
	require.NoError(t, err)
	require.NoError(t, reg.Register(portalName("#arbor"), portal))
	srv := httptest.NewServer(b.handler())
	t.Cleanup(func() {
		srv.Close()
		_ = router.Stop(ctx)
		_ = portal.Stop(ctx)
	})
	return b, srv, got
}

func push(t *testing.T, url, token, txn string, events ...map[string]any) *http.Response {
	t.Helper()
	body, err := json.Marshal(map[string]any{"events": events})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPut, url+"/_matrix/app/v1/transactions/"+txn, bytes.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp
}

func message(eventID, sender, body string) map[string]any {
	return map[string]any{
		"type": "m.room.message", "event_id": eventID, "room_id": "!abc:example.org", "sender": sender,
		"origin_server_ts": 1, "content": map[string]any{"msgtype": "m.text", "body": body},
	}
}

func TestAppserviceChecksTheHomeserverToken(t *testing.T) {
	_, srv, got := endpoint(t)
	assert.Equal(t, http.StatusUnauthorized, push(t, srv.URL, "", "t1", message("$1", "@alice:example.org", "x")).StatusCode)
	assert.Equal(t, http.StatusForbidden, push(t, srv.URL, "wrong", "t1", message("$1", "@alice:example.org", "x")).StatusCode)
	resp, err := http.Get(srv.URL + "/_matrix/app/v1/users/@irc_x:example.org")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "every endpoint wants the token")
	select {
	case m := <-got:
		t.Fatalf("an unauthorized push reached the portal: %v", m)
	default:
	}
}

func TestRouterRelaysOnceAndSkipsItsOwnUsers(t *testing.T) {
	_, srv, got := endpoint(t)
	ok := push(t, srv.URL, "hs-secret", "t1",
		message("$1", "@alice:example.org", "hello"),
		message("$2", "@irc_bob:example.org", "from a ghost"),
		message("$3", "@bot:example.org", "from the bot"))
	assert.Equal(t, http.StatusOK, ok.StatusCode)
	// The homeserver repeats a transaction it is not sure we took.
	assert.Equal(t, http.StatusOK, push(t, srv.URL, "hs-secret", "t1", message("$1", "@alice:example.org", "hello")).StatusCode)
	assert.Equal(t, http.StatusOK, push(t, srv.URL, "hs-secret", "t2", message("$4", "@alice:example.org", "again")).StatusCode)

	assert.Equal(t, fromMatrix{Sender: "@alice:example.org", Body: "hello"}, <-got)
	assert.Equal(t, fromMatrix{Sender: "@alice:example.org", Body: "again"}, <-got, "no repeat, no echo of our own users")
}

func TestRouterRefusesATransactionItCannotDeliver(t *testing.T) {
	b, srv, got := endpoint(t)
	require.NoError(t, b.reg.Unregister(portalName("#arbor"))) // the portal restarts
	resp := push(t, srv.URL, "hs-secret", "t1", message("$1", "@alice:example.org", "hello"))
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "the homeserver will send it again")

	portal, err := actor.Spawn(context.Background(), actor.Func(func(_ *actor.Context, msg any) error {
		got <- msg.(fromMatrix)
		return nil
	}))
	require.NoError(t, err)
	defer portal.Stop(context.Background())
	require.NoError(t, b.reg.Register(portalName("#arbor"), portal))
	assert.Equal(t, http.StatusOK, push(t, srv.URL, "hs-secret", "t1", message("$1", "@alice:example.org", "hello")).StatusCode)
	assert.True(t, strings.HasPrefix((<-got).Body, "hello"))
}

func TestRouterTellsPortalsOfMembershipChanges(t *testing.T) {
	b, srv, _ := endpoint(t)
	news := make(chan any, 16)
	portal, err := actor.Spawn(context.Background(), actor.Func(func(_ *actor.Context, msg any) error {
		news <- msg
		return nil
	}))
	require.NoError(t, err)
	defer portal.Stop(context.Background())
	require.NoError(t, b.reg.Unregister(portalName("#arbor")))
	require.NoError(t, b.reg.Register(portalName("#arbor"), portal))

	member := func(eventID, user, membership, name string) map[string]any {
		evt := message(eventID, user, "")
		evt["type"], evt["state_key"] = "m.room.member", user
		evt["content"] = map[string]any{"membership": membership, "displayname": name}
		return evt
	}
	assert.Equal(t, http.StatusOK, push(t, srv.URL, "hs-secret", "t1",
		member("$1", "@alice:example.org", "join", "Alice"),
		member("$2", "@irc_bob:example.org", "join", "bob"), // a ghost: not news
		member("$3", "@carol:example.org", "invite", "Carol"),
		member("$4", "@dave:example.org", "join", ""),
		member("$5", "@alice:example.org", "leave", "")).StatusCode)
	for _, want := range []membership{
		{User: "@alice:example.org", Name: "Alice"},
		{User: "@dave:example.org", Name: "dave"},
		{User: "@alice:example.org"},
	} {
		assert.Equal(t, want, <-news)
	}
}

// A line too long for IRC is cut on rune boundaries, at spaces where it can
// be, into lines that fit with the speaker's head before each.
func TestFitCutsALongLineIntoNamedPieces(t *testing.T) {
	const limit = 200
	words := strings.Repeat("héllo wörld ", 40) + strings.Repeat("é", 300) // a long word too
	m := &toIRC{Channel: "#arbor", Head: "<alice> ", Lines: []string{words, "next"}}
	fit(m, limit)
	require.Greater(t, len(m.Lines), 3)
	assert.Equal(t, "next", m.Lines[len(m.Lines)-1], "the following lines stay as they are")
	for _, l := range m.Lines[:len(m.Lines)-1] {
		assert.Less(t, wireLen(m, l), limit, "with its head")
		assert.True(t, utf8.ValidString(l), "%q is cut inside a rune", l)
	}
	squeeze := func(s string) string { return strings.Join(strings.Fields(s), "") }
	assert.Equal(t, squeeze(words), squeeze(strings.Join(m.Lines[:len(m.Lines)-1], " ")), "no text is lost")

	me := &toIRC{Channel: "#arbor", Head: "alice> with a space ", Action: true, Lines: []string{strings.Repeat("waves ", 60)}}
	fit(me, limit)
	require.Greater(t, len(me.Lines), 1)
	for _, l := range me.Lines {
		assert.Less(t, wireLen(me, l), limit)
	}
}

// Nicks and listen addresses that servers accept pass; port 0 does not (the
// registration tells the homeserver the configured address).
func TestConfigAcceptsUsualNicksAndRejectsListenPortZero(t *testing.T) {
	for _, nick := range []string{"matrixbridge", "[bot]", "_relay-2", "Bridge|away", "a^b{c}`"} {
		c := validConfig()
		c.IRC.Nick = nick
		assert.NoError(t, c.Validate(), "irc.nick %q", nick)
	}
	rejects(t, "appservice.listen", func(c *Config, v string) { c.Appservice.Listen = v }, "127.0.0.1:0")
}
