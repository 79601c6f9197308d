package bridge_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lrstanley/girc"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/arbor-go/arbor/examples/matrixbridge/bridge"
	"github.com/arbor-go/arbor/examples/matrixbridge/lab"
	"github.com/arbor-go/arbor/examples/matrixbridge/lab/labtest"
	"github.com/arbor-go/arbor/tree"
)

// deadline bounds each wait of an end-to-end test: ngIRCd throttles new
// clients, so that a first message to IRC takes 2-6 s here.
const deadline = 30 * time.Second

// channel is the IRC channel every test bridges.
const channel = "#arbor"

// world is a homeserver, an IRC server, a bridge between them, a Matrix user
// (alice, in the bridged room) and an IRC user (bob, in the channel).
type world struct {
	t      *testing.T
	hs     *lab.Dendrite
	ircd   *lab.IRCd
	gate   *gate
	cfg    bridge.Config
	bridge *bridge.Bridge
	events *recorder
	log    *syncBuffer
	alice  *mautrix.Client
	room   id.RoomID
	bob    *lab.IRCClient
}

// newWorld starts everything; tune adjusts the bridge's configuration
// before it starts.
func newWorld(t *testing.T, tune func(*bridge.Config)) *world {
	t.Helper()
	w := &world{t: t, log: &syncBuffer{}}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()

	w.ircd = labtest.IRCd(t)
	w.gate = newGate(t, w.ircd.Addr)

	port, err := lab.FreePort()
	require.NoError(t, err)
	dir := t.TempDir()
	w.cfg = bridge.Config{
		Appservice: bridge.Appservice{
			Listen:       net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			Registration: filepath.Join(dir, "registration.yaml"),
		},
		Homeserver: bridge.Homeserver{Domain: "localhost"},
		IRC: bridge.IRC{
			Server:    w.gate.Addr(),
			Backoff:   bridge.BackoffConfig{Min: 100 * time.Millisecond, Max: time.Second},
			Intensity: bridge.IntensityConfig{MaxRestarts: 20, Period: time.Minute},
		},
	}
	require.NoError(t, bridge.NewRegistration(w.cfg, "ircbridge").Save(w.cfg.Appservice.Registration))

	// Until the bridge listens, a stand-in answers the homeserver's pushes:
	// refused, it would back off for seconds, and delay the test's messages.
	standIn, err := lab.StandIn(w.cfg.Appservice.Listen)
	require.NoError(t, err)
	t.Cleanup(standIn)
	w.hs = labtest.Dendrite(t, w.cfg.Appservice.Registration)
	w.cfg.Homeserver.URL = w.hs.URL
	w.alice, err = w.hs.Register(ctx, "alice", "correct horse battery")
	require.NoError(t, err)
	created, err := w.alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat", Name: "Arbor"})
	require.NoError(t, err)
	w.room = created.RoomID
	w.cfg.Rooms = []bridge.Mapping{{Room: w.room, Channel: channel}}
	if tune != nil {
		tune(&w.cfg)
	}

	w.bob = connectIRC(t, w.ircd.Addr, "bob")
	log := zerolog.New(io.MultiWriter(w.log, zerolog.ConsoleWriter{Out: &testWriter{t: t}, NoColor: true})).
		With().Timestamp().Logger()
	standIn()
	w.bridge, err = bridge.Start(context.Background(), w.cfg, log) // it lives as long as its context
	require.NoError(t, err)
	w.events = record(w.bridge.Subscribe(4096))
	t.Cleanup(func() {
		stop, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		rep := w.bridge.Stop(stop)
		require.Empty(t, rep.Killed, "every part of the bridge stops in time")
		w.events.wait()
		if t.Failed() {
			t.Logf("events:\n%s\nlog:\n%s", w.events, w.log)
		}
	})
	waitJoin(t, w.bob, bridge.DefaultNick)
	return w
}

// say sends a text message to the room as alice.
func (w *world) say(text string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	_, err := w.alice.SendText(ctx, w.room, text)
	require.NoError(w.t, err)
}

// waitRoomMessage waits until the room holds a message that match accepts,
// reading the room's history from alice's side.
func (w *world) waitRoomMessage(what string, match func(*event.Event) bool) *event.Event {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	evt, err := lab.WaitRoomMessage(ctx, w.alice, w.room, match)
	require.NoError(w.t, err, "waiting for %s", what)
	return evt
}

// connectIRC connects nick to the IRC server and joins the channel; the
// client is closed at the test's end.
func connectIRC(t *testing.T, addr, nick string) *lab.IRCClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	u, err := lab.ConnectIRC(ctx, addr, nick, channel)
	require.NoError(t, err)
	t.Cleanup(u.Close)
	return u
}

// waitJoin waits until nick joins the channel, as u sees it.
func waitJoin(t *testing.T, u *lab.IRCClient, nick string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	require.NoError(t, u.WaitJoin(ctx, nick))
}

// waitMessage waits until u reads text in the channel.
func waitMessage(t *testing.T, u *lab.IRCClient, text string) girc.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	e, err := u.WaitMessage(ctx, text)
	require.NoError(t, err)
	return e
}

// gate stands between the bridge and the IRC server: open, it forwards
// connections; closed, it hangs up on them at once. A test closes it to
// decide that its own IRC user reconnects before the bridge does.
type gate struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	open   bool
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func newGate(t *testing.T, target string) *gate {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	g := &gate{ln: ln, target: target, open: true, conns: map[net.Conn]bool{}}
	g.wg.Add(1)
	go g.serve()
	t.Cleanup(g.shut)
	return g
}

func (g *gate) Addr() string { return g.ln.Addr().String() }

func (g *gate) setOpen(open bool) {
	g.mu.Lock()
	g.open = open
	g.mu.Unlock()
}

func (g *gate) serve() {
	defer g.wg.Done()
	for {
		in, err := g.ln.Accept()
		if err != nil {
			return
		}
		g.mu.Lock()
		open := g.open
		g.mu.Unlock()
		if !open {
			in.Close()
			continue
		}
		out, err := net.DialTimeout("tcp", g.target, 5*time.Second)
		if err != nil {
			in.Close()
			continue
		}
		g.track(in, out)
		g.wg.Add(2)
		go g.pipe(in, out)
		go g.pipe(out, in)
	}
}

func (g *gate) track(conns ...net.Conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range conns {
		g.conns[c] = true
	}
}

func (g *gate) pipe(dst, src net.Conn) {
	defer g.wg.Done()
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}

func (g *gate) shut() {
	g.ln.Close()
	g.mu.Lock()
	for c := range g.conns {
		c.Close()
	}
	g.mu.Unlock()
	g.wg.Wait()
}

// recorder keeps every event of a subscription, for a test to wait on.
type recorder struct {
	mu     sync.Mutex
	events []tree.Event
	added  chan struct{} // closed and replaced at each event
	done   chan struct{}
}

func record(sub *tree.Subscription) *recorder {
	r := &recorder{added: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for e := range sub.Events() {
			r.mu.Lock()
			r.events = append(r.events, e)
			close(r.added)
			r.added = make(chan struct{})
			r.mu.Unlock()
		}
	}()
	return r
}

// wait waits for the subscription's end (the bridge stopped).
func (r *recorder) wait() { <-r.done }

// waitFor returns the first event at or after index from that match
// accepts, and its index, waiting for it until the deadline.
func (r *recorder) waitFor(t *testing.T, from int, what string, match func(tree.Event) bool) (tree.Event, int) {
	t.Helper()
	timeout := time.After(deadline)
	for i := from; ; {
		r.mu.Lock()
		for ; i < len(r.events); i++ {
			if match(r.events[i]) {
				e := r.events[i]
				r.mu.Unlock()
				return e, i
			}
		}
		added := r.added
		r.mu.Unlock()
		select {
		case <-added:
		case <-timeout:
			t.Fatalf("no event: %s; events:\n%s", what, r)
		}
	}
}

// since returns the events from index from on.
func (r *recorder) since(from int) []tree.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]tree.Event(nil), r.events[from:]...)
}

// len is how many events arrived so far.
func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, e := range r.events {
		fmt.Fprintln(&b, e)
	}
	return b.String()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testWriter sends log lines to the test's log when ARBOR_E2E_VERBOSE is set.
type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	if os.Getenv("ARBOR_E2E_VERBOSE") != "" {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}
