package bridge

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/arbor-go/arbor/actor"
)

// transaction is a batch of events the homeserver pushed, for the router.
type transaction struct {
	ID     string
	Events []*event.Event
}

// fromMatrix is a message from a Matrix user, for a portal.
type fromMatrix struct {
	Sender id.UserID
	Body   string
	Emote  bool
}

// membership is a change of a Matrix user's membership of a room, for its
// portal.
type membership struct {
	User id.UserID
	Name string // the user's display name in the room; "" once they left it
}

// maxTransaction bounds the body of a pushed transaction.
const maxTransaction = 16 << 20

// serveAppservice is the application service's HTTP listener: the endpoint
// the homeserver pushes transactions to. It runs until its context ends.
func (b *Bridge) serveAppservice(ctx context.Context, c *actor.Context) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", b.cfg.Appservice.Listen)
	if err != nil {
		return fmt.Errorf("appservice: %w", err)
	}
	srv := &http.Server{
		Handler:           b.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          nil,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	b.log.Info().Str("address", ln.Addr().String()).Msg("appservice: listening")
	select {
	case err := <-served:
		return fmt.Errorf("appservice: %w", err)
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
		<-served
		return ctx.Err()
	}
}

// handler serves the application service API (v1) for the homeserver, and
// nobody else: every request must carry the homeserver's token.
func (b *Bridge) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /_matrix/app/v1/transactions/{txnID}", b.putTransaction)
	mux.HandleFunc("GET /_matrix/app/v1/users/{userID}", b.queryUser)
	mux.HandleFunc("GET /_matrix/app/v1/rooms/{alias}", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "M_NOT_FOUND", "no such room alias")
	})
	mux.HandleFunc("POST /_matrix/app/v1/ping", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, struct{}{})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !b.authorized(w, r) {
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// authorized checks the homeserver's token: a request without one gets 401,
// one with a wrong token 403 (the spec's M_MISSING_TOKEN and M_FORBIDDEN).
func (b *Bridge) authorized(w http.ResponseWriter, r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		// Older homeservers send it as a query parameter.
		token = r.URL.Query().Get("access_token")
	}
	switch {
	case token == "":
		writeError(w, http.StatusUnauthorized, "M_MISSING_TOKEN", "missing homeserver token")
		return false
	case subtle.ConstantTimeCompare([]byte(token), []byte(b.as.Registration.ServerToken)) != 1:
		writeError(w, http.StatusForbidden, "M_FORBIDDEN", "bad homeserver token")
		return false
	}
	return true
}

// putTransaction hands a transaction to the router and answers once the
// router has taken it: an error makes the homeserver send it again later,
// so that a restarting router loses nothing.
func (b *Bridge) putTransaction(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxTransaction))
	if err != nil {
		writeError(w, http.StatusBadRequest, "M_NOT_JSON", "unreadable body")
		return
	}
	var txn struct {
		Events []*event.Event `json:"events"`
	}
	if err := json.Unmarshal(body, &txn); err != nil {
		writeError(w, http.StatusBadRequest, "M_NOT_JSON", "bad transaction: "+err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	if _, err := b.reg.Call(ctx, nameRouter, transaction{ID: r.PathValue("txnID"), Events: txn.Events}); err != nil {
		b.log.Warn().Err(err).Str("txn", r.PathValue("txnID")).Msg("appservice: transaction not taken; the homeserver will retry")
		writeError(w, http.StatusServiceUnavailable, "M_UNKNOWN", "bridge busy")
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// queryUser tells the homeserver whether a ghost exists: none is made on
// demand, so the answer is always no.
func (b *Bridge) queryUser(w http.ResponseWriter, _ *http.Request) {
	writeError(w, http.StatusNotFound, "M_NOT_FOUND", "no such user")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"errcode": code, "error": msg})
}

// router takes the homeserver's transactions and passes each message in a
// mapped room to that room's portal. A message whose portal is not running
// (it restarts) fails the whole transaction, which the homeserver then sends
// again. The router remembers the transactions it took whole and the events
// it passed on, so that a repeated transaction delivers each event once.
type router struct {
	b      *Bridge
	txns   recent[string]     // transactions taken whole
	events recent[id.EventID] // events passed on to a portal
}

// How many transaction and event IDs the router remembers. Only the events
// it passed on count: those it skips (reactions, receipts, its own users')
// would push the ones that matter out of its memory, and skipping them
// again on a repeat is harmless.
const (
	seenTransactions = 256
	seenEvents       = 1024
)

func newRouter(b *Bridge) *router { return &router{b: b} }

// Receive implements actor.Actor.
func (rt *router) Receive(c *actor.Context, msg any) error {
	txn, ok := msg.(transaction)
	if !ok {
		return fmt.Errorf("router: unexpected %T", msg)
	}
	err := rt.take(c, txn)
	var rerr error
	if err != nil {
		rerr = c.ReplyError(err)
	} else {
		rerr = c.Reply(true)
	}
	if errors.Is(rerr, actor.ErrCallerGone) {
		// The homeserver stopped waiting (its request timed out): it will
		// send the transaction again, and the router, which remembers what
		// it passed on, answers it without passing anything on twice. Not
		// the router's failure: crashing would make it forget.
		rt.b.log.Debug().Str("txn", txn.ID).Msg("router: the homeserver stopped waiting for the transaction")
		return nil
	}
	return rerr
}

// take passes on the events of txn not passed on yet.
func (rt *router) take(c *actor.Context, txn transaction) error {
	if rt.txns.has(txn.ID) {
		return nil
	}
	for _, evt := range txn.Events {
		if rt.events.has(evt.ID) {
			continue
		}
		passed, err := rt.route(c, evt)
		if err != nil {
			return err
		}
		if passed {
			rt.events.add(evt.ID, seenEvents)
		}
	}
	rt.txns.add(txn.ID, seenTransactions)
	return nil
}

// recent is a set of the last keys added to it.
type recent[K comparable] struct {
	keys  map[K]bool
	order []K // oldest first
}

func (r *recent[K]) has(k K) bool { return r.keys[k] }

// add adds k, forgetting the oldest key if the set holds limit already.
func (r *recent[K]) add(k K, limit int) {
	if r.keys[k] {
		return
	}
	if r.keys == nil {
		r.keys = map[K]bool{}
	}
	if len(r.order) == limit {
		delete(r.keys, r.order[0])
		r.order = r.order[1:]
	}
	r.keys[k] = true
	r.order = append(r.order, k)
}

// route passes evt to its room's portal if it is news for it, and reports
// whether it did.
func (rt *router) route(c *actor.Context, evt *event.Event) (bool, error) {
	m, ok := rt.b.rooms[evt.RoomID]
	if !ok {
		return false, nil
	}
	var msg any
	switch evt.Type {
	case event.EventMessage:
		msg = rt.b.message(evt)
	case event.StateMember:
		rt.b.remember(c.Context(), evt)
		msg = rt.b.membership(evt)
	}
	if msg == nil {
		return false, nil
	}
	if err := c.SendName(portalName(m.Channel), msg); err != nil {
		return false, fmt.Errorf("router: portal for %s: %w", m.Channel, err)
	}
	return true, nil
}

// message is the fromMatrix for a message event to relay, or nil.
func (b *Bridge) message(evt *event.Event) any {
	if b.ours(evt.Sender) || !parsed(evt) {
		return nil
	}
	content := evt.Content.AsMessage()
	switch content.MsgType {
	case event.MsgText, event.MsgNotice:
		return fromMatrix{Sender: evt.Sender, Body: content.Body}
	case event.MsgEmote:
		return fromMatrix{Sender: evt.Sender, Body: content.Body, Emote: true}
	case event.MsgImage, event.MsgFile, event.MsgAudio, event.MsgVideo:
		// Files stay on Matrix; IRC learns that one was sent.
		return fromMatrix{Sender: evt.Sender, Body: fmt.Sprintf("sent a file: %s", content.Body)}
	}
	return nil
}

// membership is the portal's news of an m.room.member event: a user joined
// or changed their display name in the room, or left it. The homeserver
// sends one on every change, a change of the user's profile included: it is
// how the portal keeps the names it puts before Matrix messages current.
func (b *Bridge) membership(evt *event.Event) any {
	if evt.StateKey == nil || !parsed(evt) {
		return nil
	}
	user := id.UserID(*evt.StateKey)
	if b.ours(user) {
		return nil
	}
	content := evt.Content.AsMember()
	switch content.Membership {
	case event.MembershipJoin:
		name := content.Displayname
		if name == "" {
			name = user.Localpart() // what the portal shows for a user without one
		}
		return membership{User: user, Name: name}
	case event.MembershipLeave, event.MembershipBan:
		return membership{User: user}
	}
	return nil
}

// remember records an m.room.member event in mautrix's state store, the
// bridge's own users' included: mautrix joins the bot and the ghosts to a
// room only if the store does not have them in it, so a kick (or a leave)
// must reach the store, or the next message would be sent without a join,
// and refused.
func (b *Bridge) remember(ctx context.Context, evt *event.Event) {
	if parsed(evt) {
		mautrix.UpdateStateStore(ctx, b.as.StateStore, evt)
	}
}

// parsed parses evt's content, and reports whether it could.
func parsed(evt *event.Event) bool {
	err := evt.Content.ParseRaw(evt.Type)
	return err == nil || errors.Is(err, event.ErrContentAlreadyParsed)
}

// ours reports whether a user is the bridge's bot or one of its ghosts:
// their messages came from IRC and must not go back. (The bot's ID is made
// from the registration, not asked of mautrix, whose BotMXID reads a client
// that the portals' goroutines make.)
func (b *Bridge) ours(user id.UserID) bool {
	local, server, err := user.Parse()
	if err != nil || server != b.cfg.Homeserver.Domain {
		return false
	}
	return local == b.as.Registration.SenderLocalpart || strings.HasPrefix(local, b.cfg.Appservice.GhostPrefix)
}
