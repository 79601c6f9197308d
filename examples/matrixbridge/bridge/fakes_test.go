package bridge

// A whole bridge against fakes: a homeserver (httptest) that keeps track of
// who joined which room, and an IRC server (a TCP listener speaking just
// enough IRC for girc). No external program is needed.

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"maunium.net/go/mautrix/id"

	"github.com/arbor-go/arbor/tree"
)

// wait bounds every wait of these tests.
const wait = 10 * time.Second

// ---- fake homeserver ----

type posted struct {
	Room    id.RoomID
	Sender  id.UserID
	Body    string
	MsgType string
}

type fakeHS struct {
	srv *httptest.Server

	mu       sync.Mutex
	joined   map[string]bool // room|user
	banned   map[string]bool // room|user
	names    map[id.UserID]string
	failSend atomic.Int32 // HTTP status for every /send, 0: accept
	failBody string       // a message body whose next /send fails (500), once
	// botJoin, if set, decides each join of the bridge's bot; it may block.
	botJoin atomic.Pointer[func() bool]
	sent    chan posted
}

func newFakeHS(t *testing.T) *fakeHS {
	h := &fakeHS{joined: map[string]bool{}, banned: map[string]bool{}, names: map[id.UserID]string{},
		sent: make(chan posted, 4096)}
	h.srv = httptest.NewServer(h)
	t.Cleanup(h.srv.Close)
	return h
}

func (h *fakeHS) ban(room id.RoomID, user id.UserID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.banned[string(room)+"|"+string(user)] = true
	delete(h.joined, string(room)+"|"+string(user))
}

func (h *fakeHS) setName(user id.UserID, name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.names[user] = name
}

func forbidden(w http.ResponseWriter, msg string) {
	w.WriteHeader(http.StatusForbidden)
	_, _ = fmt.Fprintf(w, `{"errcode":"M_FORBIDDEN","error":%q}`, msg)
}

func (h *fakeHS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	user := id.UserID(r.URL.Query().Get("user_id"))
	parts := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/_matrix/client/v3/"), "/")
	for i, p := range parts {
		parts[i], _ = url.PathUnescape(p)
	}
	if hook := h.botJoin.Load(); hook != nil && user == "@bot:example.org" &&
		len(parts) == 3 && parts[0] == "rooms" && parts[2] == "join" && !(*hook)() {
		forbidden(w, "not invited")
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case len(parts) == 3 && parts[0] == "rooms" && parts[2] == "join":
		key := parts[1] + "|" + string(user)
		if h.banned[key] {
			forbidden(w, "banned")
			return
		}
		h.joined[key] = true
		_, _ = fmt.Fprintf(w, `{"room_id":%q}`, parts[1])
	case len(parts) == 1 && parts[0] == "register":
		_, _ = w.Write([]byte(`{}`))
	case len(parts) == 3 && parts[0] == "profile" && parts[2] == "displayname":
		if r.Method == http.MethodPut {
			var body struct {
				Displayname string `json:"displayname"`
			}
			_ = json.NewDecoder(r.Body).Decode(&body)
			h.names[id.UserID(parts[1])] = body.Displayname
			_, _ = w.Write([]byte(`{}`))
			return
		}
		_, _ = fmt.Fprintf(w, `{"displayname":%q}`, h.names[id.UserID(parts[1])])
	case len(parts) >= 4 && parts[0] == "rooms" && parts[2] == "send":
		if code := h.failSend.Load(); code != 0 {
			w.WriteHeader(int(code))
			_, _ = w.Write([]byte(`{"errcode":"M_UNKNOWN","error":"failing"}`))
			return
		}
		if !h.joined[parts[1]+"|"+string(user)] {
			forbidden(w, string(user)+" is not in the room")
			return
		}
		var content struct {
			Body    string `json:"body"`
			MsgType string `json:"msgtype"`
		}
		_ = json.NewDecoder(r.Body).Decode(&content)
		if h.failBody != "" && content.Body == h.failBody {
			h.failBody = ""
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"errcode":"M_UNKNOWN","error":"internal error"}`))
			return
		}
		h.sent <- posted{Room: id.RoomID(parts[1]), Sender: user, Body: content.Body, MsgType: content.MsgType}
		_, _ = fmt.Fprintf(w, `{"event_id":"$%d"}`, time.Now().UnixNano())
	default:
		_, _ = w.Write([]byte(`{}`))
	}
}

// next returns the next message posted in any room.
func (h *fakeHS) next(t *testing.T, what string) posted {
	t.Helper()
	select {
	case p := <-h.sent:
		return p
	case <-time.After(wait):
		t.Fatalf("nothing posted on Matrix: %s", what)
		return posted{}
	}
}

// ---- fake IRC server ----

type ircLine struct {
	Conn int    // the connection's number, from 1
	Line string // as received, without CRLF
}

type fakeIRC struct {
	ln net.Listener

	mu     sync.Mutex
	conns  map[int]net.Conn
	nicks  map[int]string
	n      int
	refuse map[string]string // channels that refuse to be joined, with the numeric ("473")
	taken  map[string]bool   // nicks in use by others (433)
	closed bool
	mute   atomic.Bool // accept clients but never welcome them
	hangup atomic.Bool // hang up on every new client at once

	lines chan ircLine // every line every client sent
	wg    sync.WaitGroup
}

func newFakeIRC(t *testing.T) *fakeIRC {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &fakeIRC{ln: ln, conns: map[int]net.Conn{}, nicks: map[int]string{}, refuse: map[string]string{},
		taken: map[string]bool{}, lines: make(chan ircLine, 1<<16)}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.shut)
	return s
}

func (s *fakeIRC) Addr() string { return s.ln.Addr().String() }

func (s *fakeIRC) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		if s.hangup.Load() {
			s.mu.Unlock()
			c.Close()
			continue
		}
		s.n++
		n := s.n
		s.conns[n] = c
		s.mu.Unlock()
		s.wg.Add(1)
		go s.handle(n, c)
	}
}

func (s *fakeIRC) write(n int, line string) {
	s.mu.Lock()
	c := s.conns[n]
	s.mu.Unlock()
	if c != nil {
		_, _ = io.WriteString(c, line+"\r\n")
	}
}

func (s *fakeIRC) handle(n int, c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, n)
		s.mu.Unlock()
		c.Close()
	}()
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	nick, user := "", false
	welcomed := false
	for sc.Scan() {
		line := sc.Text()
		s.lines <- ircLine{Conn: n, Line: line}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "NICK":
			s.mu.Lock()
			taken := len(fields) > 1 && s.taken[strings.ToLower(fields[1])]
			s.mu.Unlock()
			if taken {
				s.write(n, fmt.Sprintf(":irc.test 433 * %s :Nickname is already in use", fields[1]))
				continue
			}
			if len(fields) > 1 {
				nick = fields[1]
				s.mu.Lock()
				s.nicks[n] = nick
				s.mu.Unlock()
			}
		case "USER":
			user = true
		case "PING":
			s.write(n, "PONG "+strings.Join(fields[1:], " "))
		case "JOIN":
			if len(fields) < 2 {
				continue
			}
			for _, ch := range strings.Split(fields[1], ",") {
				s.mu.Lock()
				code := s.refuse[strings.ToLower(ch)]
				s.mu.Unlock()
				if code != "" {
					s.write(n, refusal(code, nick, ch))
					continue
				}
				s.write(n, fmt.Sprintf(":%s!bridge@test JOIN %s", nick, ch))
			}
		case "QUIT":
			return
		}
		if nick != "" && user && !welcomed && !s.mute.Load() {
			welcomed = true
			s.write(n, fmt.Sprintf(":irc.test 001 %s :Welcome", nick))
			s.write(n, fmt.Sprintf(":irc.test 376 %s :End of MOTD", nick))
		}
	}
}

// connected returns the numbers of the connections open now.
func (s *fakeIRC) connected() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Collect(maps.Keys(s.conns))
}

// say makes an IRC user speak in a channel, to every client connected.
func (s *fakeIRC) say(from, channel, text string) {
	for _, n := range s.connected() {
		s.write(n, fmt.Sprintf(":%s!u@h PRIVMSG %s :%s", from, channel, text))
	}
}

// dropAll hangs up on every client.
func (s *fakeIRC) dropAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}

func (s *fakeIRC) shut() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.ln.Close()
	s.dropAll()
	s.wg.Wait()
}

// nextPrivmsg returns the next PRIVMSG a client sent, with its connection.
func (s *fakeIRC) nextPrivmsg(t *testing.T, what string) ircLine {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case l := <-s.lines:
			if strings.HasPrefix(l.Line, "PRIVMSG ") {
				return l
			}
		case <-timeout:
			t.Fatalf("no PRIVMSG on IRC: %s", what)
			return ircLine{}
		}
	}
}

// nextLine returns the next line any client sent that match accepts.
func (s *fakeIRC) nextLine(t *testing.T, what string, match func(ircLine) bool) ircLine {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case l := <-s.lines:
			if match(l) {
				return l
			}
		case <-timeout:
			t.Fatalf("no such line on IRC: %s", what)
			return ircLine{}
		}
	}
}

// refusal is the line with which a server refuses nick a JOIN of ch, as
// servers word each numeric. 470 names the channel it forwards to.
func refusal(code, nick, ch string) string {
	text := map[string]string{
		"437": ":Nick/channel is temporarily unavailable",
		"470": "##overflow :Forwarding to another channel",
		"473": ":Cannot join channel (+i)",
		"479": ":Illegal channel name",
	}[code]
	return fmt.Sprintf(":irc.test %s %s %s %s", code, nick, ch, cmp.Or(text, ":Cannot join channel"))
}

// privmsgText is the text of "PRIVMSG #chan :text".
func privmsgText(line string) string {
	_, text, _ := strings.Cut(line, " :")
	return text
}

// ---- the bridge between them ----

type rig struct {
	t      *testing.T
	hs     *fakeHS
	irc    *fakeIRC
	cfg    Config
	hsTok  string
	b      *Bridge
	events *recorder
	log    *syncBuf
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newRig starts a bridge between the fakes; tune adjusts its configuration
// (rooms: "!abc:example.org" ↔ "#arbor" unless tune changes them). It does
// not wait for IRC.
func newRig(t *testing.T, tune func(*Config, *fakeHS, *fakeIRC)) *rig {
	t.Helper()
	r := &rig{t: t, hs: newFakeHS(t), irc: newFakeIRC(t), log: &syncBuf{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	listen := ln.Addr().String()
	ln.Close()
	r.cfg = Config{
		Homeserver: Homeserver{URL: r.hs.srv.URL, Domain: "example.org"},
		Appservice: Appservice{Listen: listen, Registration: filepath.Join(t.TempDir(), "registration.yaml")},
		IRC: IRC{
			Server:    r.irc.Addr(),
			Backoff:   BackoffConfig{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond},
			Intensity: IntensityConfig{MaxRestarts: 50, Period: time.Minute},
		},
		Rooms: []Mapping{{Room: "!abc:example.org", Channel: "#arbor"}},
	}
	if tune != nil {
		tune(&r.cfg, r.hs, r.irc)
	}
	reg := NewRegistration(r.cfg, "bot")
	require.NoError(t, reg.Save(r.cfg.Appservice.Registration))
	r.hsTok = reg.ServerToken
	log := zerolog.New(r.log).With().Timestamp().Logger()
	r.b, err = Start(context.Background(), r.cfg, log)
	require.NoError(t, err)
	r.events = record(r.b.Subscribe(1 << 14))
	t.Cleanup(func() {
		r.stop(30 * time.Second)
		if t.Failed() {
			t.Logf("events:\n%s\nlog:\n%s", r.events, r.log)
		}
	})
	return r
}

var stopped sync.Map // *rig → tree.StopReport

// stop stops the bridge (once) and returns its report.
func (r *rig) stop(timeout time.Duration) tree.StopReport {
	if rep, ok := stopped.Load(r); ok {
		return rep.(tree.StopReport)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	rep := r.b.Stop(ctx)
	r.events.wait()
	stopped.Store(r, rep)
	return rep
}

// push sends a transaction to the bridge as the homeserver does.
func (r *rig) push(txn string, events ...map[string]any) int {
	r.t.Helper()
	body, err := json.Marshal(map[string]any{"events": events})
	require.NoError(r.t, err)
	req, err := http.NewRequest(http.MethodPut, "http://"+r.cfg.Appservice.Listen+"/_matrix/app/v1/transactions/"+txn,
		bytes.NewReader(body))
	require.NoError(r.t, err)
	req.Header.Set("Authorization", "Bearer "+r.hsTok)
	deadline := time.Now().Add(wait)
	for {
		resp, err := http.DefaultClient.Do(req.Clone(context.Background()))
		if err == nil {
			resp.Body.Close()
			return resp.StatusCode
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("push %s: %v", txn, err)
		}
		// The listener is not up yet: the homeserver retries too.
		req.Body = io.NopCloser(bytes.NewReader(body))
		<-time.After(20 * time.Millisecond)
	}
}

// waitIRCUp waits until the bridge relays to IRC: it sends a probe from
// Matrix and waits for it on IRC.
func (r *rig) waitIRCUp(room id.RoomID, probe string) {
	r.t.Helper()
	require.Equal(r.t, http.StatusOK, r.push("probe-"+probe, textEvent("$probe-"+probe, room, "@alice:example.org", probe)))
	r.irc.nextLine(r.t, "the probe "+probe, func(l ircLine) bool {
		return strings.HasPrefix(l.Line, "PRIVMSG ") && strings.HasSuffix(privmsgText(l.Line), probe)
	})
}

func textEvent(eventID string, room id.RoomID, sender, body string) map[string]any {
	return map[string]any{
		"type": "m.room.message", "event_id": eventID, "room_id": string(room), "sender": sender,
		"origin_server_ts": 1, "content": map[string]any{"msgtype": "m.text", "body": body},
	}
}

// ---- tree events ----

type recorder struct {
	mu     sync.Mutex
	events []tree.Event
	added  chan struct{}
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

func (r *recorder) wait() { <-r.done }

// waitFor waits for an event that match accepts, up to timeout; it reports
// whether one came.
func (r *recorder) waitFor(timeout time.Duration, match func(tree.Event) bool) (tree.Event, bool) {
	return r.waitForOr(nil, timeout, match)
}

// waitForOr is waitFor that also gives up when stop is closed.
func (r *recorder) waitForOr(stop <-chan struct{}, timeout time.Duration, match func(tree.Event) bool) (tree.Event, bool) {
	expire := time.After(timeout)
	for i := 0; ; {
		r.mu.Lock()
		for ; i < len(r.events); i++ {
			if match(r.events[i]) {
				e := r.events[i]
				r.mu.Unlock()
				return e, true
			}
		}
		added := r.added
		r.mu.Unlock()
		select {
		case <-added:
		case <-stop:
			return tree.Event{}, false
		case <-expire:
			return tree.Event{}, false
		}
	}
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

// waitUntil polls cond (every millisecond) until it holds, up to wait.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	timeout := time.After(wait)
	for !cond() {
		select {
		case <-tick.C:
		case <-timeout:
			t.Fatalf("never: %s", what)
		}
	}
}

var syncs atomic.Int64

// sync makes sure the bridge has handled every line the server sent it so
// far: girc handles a server's lines one after the other, so its answer to a
// PING comes after the handlers of every earlier line have returned.
func (s *fakeIRC) sync(t *testing.T) {
	t.Helper()
	token := fmt.Sprintf("sync-%d", syncs.Add(1))
	for _, n := range s.connected() {
		s.write(n, "PING :"+token)
	}
	s.nextLine(t, "the answer to "+token, func(l ircLine) bool {
		return strings.HasPrefix(l.Line, "PONG") && strings.Contains(l.Line, token)
	})
}
