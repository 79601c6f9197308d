package bridge

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/tree"
)

// fromIRC is a message from an IRC user, for a portal.
type fromIRC struct {
	Nick   string
	Text   string
	Action bool // a /me
}

// notice is a word from the bridge itself, for the room's users.
type notice struct{ Text string }

// homeserverTimeout bounds each exchange of a portal with the homeserver.
const homeserverTimeout = 30 * time.Second

// joinTimeout bounds each attempt of the bot to join a portal's room: shorter
// than an exchange, since the portal's mailbox waits meanwhile.
const joinTimeout = 10 * time.Second

// maxHeld bounds the messages a portal holds for its room while it cannot
// post them; beyond it the oldest are dropped, with a warning each.
const maxHeld = 256

// again is a portal's message to itself: time to try the room again.
type again struct{}

// portalSpec is the dynamic portals supervisor's template: one portal per
// mapping, registered under its channel's name.
func (b *Bridge) portalSpec(arg any) tree.ChildSpec {
	m, ok := arg.(Mapping)
	if !ok {
		return tree.Worker("portal", nil) // refused by StartChild: nil factory
	}
	return tree.Worker("portal", func() actor.Actor { return newPortal(b, m) }, tree.Name(portalName(m.Channel)))
}

// portal is one bridged room and channel. Matrix messages leave through
// the IRC sender; IRC messages arrive in the room through a ghost user per
// IRC nick, whose display name is the nick.
type portal struct {
	b      *Bridge
	m      Mapping
	names  map[id.UserID]string // the room's members' display names
	ghosts map[id.UserID]bool   // ghosts registered and named

	joined  bool        // the bot is in the room
	attempt int         // failed attempts in a row to join the room or post in it
	retry   *time.Timer // the next attempt, while messages wait
	held    []*pending  // messages for the room, oldest first, until they can be posted
}

// pending is a message held for the room: a fromIRC or a notice, and the
// transaction ID it is sent under, the same at each try. A homeserver
// treats a message sent again under the same ID as the same message (the
// spec's idempotency of /send), so a try whose answer was lost (a proxy's
// 504, a timeout) after the homeserver stored the message does not post it
// twice when the portal tries again.
type pending struct {
	msg      any
	txn      string
	failures int // the homeserver's errors (500) on it so far
}

// txnSeq numbers the transaction IDs the bridge makes.
var txnSeq atomic.Uint64

// newTxnID returns a transaction ID that no other message of the bridge
// has, in this run or any other: the homeserver scopes the IDs to the
// application service's token, which outlives a run.
func newTxnID() string {
	return fmt.Sprintf("arbor-matrixbridge_%d_%d", time.Now().UnixNano(), txnSeq.Add(1))
}

func newPortal(b *Bridge, m Mapping) *portal {
	return &portal{b: b, m: m, names: map[id.UserID]string{}, ghosts: map[id.UserID]bool{}}
}

// Init queues the portal's first attempt to get the bridge's bot into the
// room (so that the homeserver sends the room's events to the bridge) as its
// first message, rather than making it: a start that waited on the
// homeserver would hold up the provisioner, which starts the portals one
// after the other, and the IRC subtree started after them, by a bounded join
// per room while the homeserver is down. A room that cannot be joined (the
// bot was not invited, the homeserver is down) is no reason to crash either:
// that would take the other rooms down with it, through the portals' restart
// intensity. The portal keeps trying, with backoff, and holds the messages
// for the room meanwhile.
func (p *portal) Init(c *actor.Context) error {
	return c.Self().Send(again{})
}

// Terminate cancels a pending attempt.
func (p *portal) Terminate(*actor.Context, error) {
	if p.retry != nil {
		p.retry.Stop()
	}
}

// Receive implements actor.Actor.
func (p *portal) Receive(c *actor.Context, msg any) error {
	switch msg := msg.(type) {
	case again:
		p.retry = nil
		p.flush(c)
		return nil
	case fromMatrix:
		ctx, cancel := context.WithTimeout(c.Context(), homeserverTimeout)
		defer cancel()
		p.toIRC(ctx, c, msg)
		return nil
	case membership:
		if msg.Name == "" {
			delete(p.names, msg.User)
		} else {
			p.names[msg.User] = msg.Name
		}
		return nil
	case fromIRC, notice:
		// Behind the messages already held, if any: the room gets them in
		// the order IRC said them.
		p.hold(msg)
		if p.retry == nil {
			p.flush(c)
		}
		return nil
	default:
		return fmt.Errorf("portal: unexpected %T", msg)
	}
}

// post posts a held message in the room. A refusal of the message itself
// (the nick's ghost is banned from the room, the message is too large) is
// logged and the message dropped: asking again would get the same answer,
// and crashing would restart the portal to no avail, each refused message
// one restart closer to the portals' restart intensity, whose end stops
// every room. So is a message the homeserver failed on (a 500) maxFailures
// times: a failure that does not pass is the message's, and it must not
// hold up the room's other messages for good. A failure to reach the
// homeserver, or one of its failures before that, is returned: the message
// is worth posting again, under the same transaction ID, so that a message
// the homeserver stored despite its error is not posted twice.
func (p *portal) post(c *actor.Context, msg *pending) error {
	err := p.toRoom(c, msg)
	switch {
	case err == nil:
		return nil
	case failed(err):
		if msg.failures++; msg.failures < maxFailures {
			return err
		}
	case !refused(err):
		return err
	}
	log := p.b.log.Error().Err(err).Str("room", p.m.Room.String()).Str("channel", p.m.Channel)
	if m, ok := msg.msg.(fromIRC); ok {
		log = log.Str("nick", m.Nick)
	}
	if msg.failures > 0 {
		log.Int("tries", msg.failures).Msg("portal: the homeserver failed on the message at each try; dropped")
	} else {
		log.Msg("portal: the homeserver refused the message; dropped")
	}
	return nil
}

// maxFailures bounds the tries of a message the homeserver fails on.
const maxFailures = 3

// status is the HTTP status of the homeserver's answer in err, or 0 if err
// is not an answer (the homeserver could not be reached).
func status(err error) int {
	var herr mautrix.HTTPError
	if !errors.As(err, &herr) || herr.Response == nil {
		return 0
	}
	return herr.Response.StatusCode
}

// refused reports whether err is the homeserver's refusal of a request (a
// client error: forbidden, too large), which asking again would get again.
// A 429 asks the client to come back later: mautrix has retried it already,
// and it counts as unreachable, as 502, 503 and 504 do.
func refused(err error) bool {
	code := status(err)
	return code >= 400 && code < 500 && code != http.StatusTooManyRequests
}

// failed reports whether err is an error of the homeserver's own on a
// request (a 500): worth asking again, a few times, since the homeserver
// recognises a message sent again under its transaction ID. The gateway's
// errors (502, 503, 504) say the homeserver cannot be reached.
func failed(err error) bool {
	switch code := status(err); code {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return false
	default:
		return code >= 500
	}
}

// toRoom posts a held message in the room.
func (p *portal) toRoom(c *actor.Context, msg *pending) error {
	ctx, cancel := context.WithTimeout(c.Context(), homeserverTimeout)
	defer cancel()
	if n, ok := msg.msg.(notice); ok {
		content := &event.MessageEventContent{MsgType: event.MsgNotice, Body: n.Text}
		return p.send(ctx, p.b.as.BotIntent(), content, msg.txn)
	}
	return p.toMatrix(ctx, msg.msg.(fromIRC), msg.txn)
}

// flush gets the bot into the room if it is not in it, then posts the held
// messages, oldest first. If the homeserver cannot be reached (or fails on
// a message), the messages not posted stay held, ahead of any that come
// meanwhile, and the next attempt is scheduled: a failure costs no message
// and changes no order, where a crash would lose the message and the
// portal's state. The portal keeps handling Matrix's messages meanwhile.
// Each success ends a run of failures: the backoff starts over after it.
func (p *portal) flush(c *actor.Context) {
	if !p.joined {
		if err := p.join(c); err != nil {
			p.later(c, err)
			return
		}
		p.attempt = 0
	}
	for len(p.held) > 0 {
		if err := p.post(c, p.held[0]); err != nil {
			p.later(c, err)
			return
		}
		p.held[0] = nil
		p.held = p.held[1:]
		p.attempt = 0
	}
}

// join makes one attempt to get the bot into the room, and then learns the
// names of the room's members.
func (p *portal) join(c *actor.Context) error {
	ctx, cancel := context.WithTimeout(c.Context(), joinTimeout)
	defer cancel()
	bot := p.b.as.BotIntent()
	if err := bot.EnsureJoined(ctx, p.m.Room); err != nil {
		return err
	}
	p.joined = true
	members, err := bot.JoinedMembers(ctx, p.m.Room)
	if err != nil {
		// Their names are looked up, message by message, instead.
		p.b.log.Warn().Err(err).Str("room", p.m.Room.String()).Msg("portal: the room's members are unknown")
		return nil
	}
	for user, m := range members.Joined {
		if !p.b.ours(user) {
			p.names[user] = cmp.Or(m.DisplayName, user.Localpart())
		}
	}
	return nil
}

// later schedules the next attempt to join the room and post the held
// messages, with backoff, after err.
func (p *portal) later(c *actor.Context, err error) {
	if c.Context().Err() != nil {
		return // the portal is stopping
	}
	p.attempt++
	delay := p.b.joinBackoff.Delay(p.attempt, nil)
	log := p.b.log.Error().Err(err).Str("room", p.m.Room.String()).Str("channel", p.m.Channel).
		Int("attempt", p.attempt).Dur("retry_in", delay).Int("held", len(p.held))
	switch {
	case !p.joined:
		log.Msg("portal: the bot cannot join its room; its messages are held until it can")
	case failed(err):
		log.Msg("portal: the homeserver failed on a message; it and those after it are held, to be tried again")
	default:
		log.Msg("portal: the homeserver cannot be reached; the room's messages are held until it can")
	}
	self := c.Self()
	p.retry = time.AfterFunc(delay, func() { _ = self.Send(again{}) })
}

// hold keeps msg, a fromIRC or a notice, until it can be posted, under a
// transaction ID of its own.
func (p *portal) hold(msg any) {
	if len(p.held) == maxHeld {
		p.b.log.Warn().Str("channel", p.m.Channel).Int("held", maxHeld).
			Msg("portal: the room still cannot be reached: its oldest held message is dropped")
		p.held[0] = nil
		p.held = p.held[1:]
	}
	p.held = append(p.held, &pending{msg: msg, txn: newTxnID()})
}

// toIRC sends a Matrix message to the channel, each line headed by the
// sender's display name in the room: the portal learns the members' names
// when the bot joins, and keeps them current from the room's m.room.member
// events, which the homeserver sends on every change.
func (p *portal) toIRC(ctx context.Context, c *actor.Context, msg fromMatrix) {
	name := p.displayName(ctx, msg.Sender)
	var lines []string
	for line := range strings.SplitSeq(msg.Body, "\n") {
		lines = append(lines, strings.TrimRight(line, "\r"))
	}
	head := "<" + name + "> "
	if msg.Emote {
		head = name + " "
	}
	out := toIRC{Channel: p.m.Channel, Head: head, Lines: lines, Action: msg.Emote}
	if err := c.SendName(nameSender, out); err != nil {
		// The IRC subtree has given up (the bridge told the room) and its
		// sender's mailbox is gone with it.
		p.b.log.Warn().Err(err).Str("channel", p.m.Channel).Msg("portal: IRC is down; message not relayed")
	}
}

// displayName is the name that heads user's lines on IRC.
func (p *portal) displayName(ctx context.Context, user id.UserID) string {
	if n, ok := p.names[user]; ok {
		return n
	}
	// Not a member the portal knows of (the list of members failed to
	// load): the user's profile has a name, looked up again for each
	// message, since no m.room.member event may come to correct a name kept
	// from it. A failed lookup gives the localpart, for this message only.
	if resp, err := p.b.as.BotClient().GetDisplayName(ctx, user); err == nil && resp.DisplayName != "" {
		return resp.DisplayName
	}
	return user.Localpart()
}

// toMatrix posts an IRC message in the room as the nick's ghost, under the
// transaction ID txn.
func (p *portal) toMatrix(ctx context.Context, msg fromIRC, txn string) error {
	ghost, err := p.ghost(ctx, msg.Nick)
	if err != nil {
		return err
	}
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: msg.Text}
	if msg.Action {
		content.MsgType = event.MsgEmote
	}
	if err := p.send(ctx, ghost, content, txn); err != nil {
		return fmt.Errorf("ghost %s: %w", msg.Nick, err)
	}
	return nil
}

// send posts content in the room as intent's user (the bot or a ghost),
// under the transaction ID txn, joining the room first if mautrix's state
// store does not have the user in it. A refusal (403) most often means that the user is not in the room any
// more, although the store says it is: a moderator kicked it, and the
// homeserver pushed no kick the router saw (or not yet). send then forgets
// the user's membership, joins again, and tries once more: a kick is not a
// ban, and the user's messages must go on reaching the room. A user that
// cannot join again (banned) gets the join's refusal, and the message is
// dropped. The second try keeps txn: the homeserver stored nothing under it
// (it refused the first), and a refusal is not cached (Synapse and Dendrite
// keep only the answers of the requests that succeed).
func (p *portal) send(ctx context.Context, intent *appservice.IntentAPI, content *event.MessageEventContent, txn string) error {
	req := mautrix.ReqSendEvent{TransactionID: txn}
	_, err := intent.SendMessageEvent(ctx, p.m.Room, event.EventMessage, content, req)
	if !errors.Is(err, mautrix.MForbidden) {
		return err
	}
	p.b.log.Warn().Err(err).Str("room", p.m.Room.String()).Str("user", intent.UserID.String()).
		Msg("portal: the homeserver refused a message: joining the room again, in case the user was kicked")
	if err := p.b.as.StateStore.SetMembership(ctx, p.m.Room, intent.UserID, event.MembershipLeave); err != nil {
		return err
	}
	if err := intent.EnsureJoined(ctx, p.m.Room); err != nil {
		return err
	}
	_, err = intent.SendMessageEvent(ctx, p.m.Room, event.EventMessage, content, req)
	return err
}

// GhostID is the Matrix user that stands for an IRC nick.
func (b *Bridge) GhostID(nick string) id.UserID {
	return id.NewUserID(b.cfg.Appservice.GhostPrefix+id.EncodeUserLocalpart(nick), b.cfg.Homeserver.Domain)
}

// ghost returns the nick's ghost, registered, named after the nick and in
// the room. Ghosts are remembered by their ID, not by the folded nick: the ID
// keeps the nick's case ("Bob" and "bob" are two ghosts), and each must be
// named. Whether a ghost is in the room is mautrix's state store's to say,
// not the portal's: the router keeps it current from the room's
// m.room.member events, and send corrects it when the homeserver says
// otherwise, so that a ghost kicked from the room joins it again.
func (p *portal) ghost(ctx context.Context, nick string) (*appservice.IntentAPI, error) {
	user := p.b.GhostID(nick)
	intent := p.b.as.Intent(user)
	if !p.ghosts[user] {
		if err := intent.EnsureRegistered(ctx); err != nil {
			return nil, fmt.Errorf("ghost %s: %w", nick, err)
		}
		if err := intent.SetDisplayName(ctx, nick); err != nil {
			return nil, fmt.Errorf("ghost %s: display name: %w", nick, err)
		}
		p.ghosts[user] = true
	}
	if err := intent.EnsureJoined(ctx, p.m.Room); err != nil {
		return nil, fmt.Errorf("ghost %s: %w", nick, err)
	}
	return intent, nil
}

// provisioner starts a portal for every mapping in the dynamic portals
// supervisor, its older sibling: if portals restarts, empty, rest-for-one
// restarts the provisioner too, which starts the portals again.
type provisioner struct{ b *Bridge }

// Init starts the portals that are not running.
func (p *provisioner) Init(c *actor.Context) error {
	ref, ok := p.b.reg.Lookup(namePortals)
	if !ok {
		return fmt.Errorf("provisioner: %s is not registered", namePortals)
	}
	// The portals share the bot's intent, each from its own goroutine, and
	// mautrix makes it on first use and checks that it is registered
	// without a lock: make it here, before them. The homeserver registers
	// an application service's own user itself (Synapse and Dendrite, at
	// their start), so marking it registered spares that check.
	if bot := p.b.as.BotIntent(); !bot.Registered {
		bot.Registered = true
	}
	portals := tree.DynamicAt(ref)
	for _, m := range p.b.cfg.Rooms {
		if _, running := p.b.reg.Lookup(portalName(m.Channel)); running {
			continue
		}
		ctx, cancel := context.WithTimeout(c.Context(), homeserverTimeout)
		_, err := portals.StartChild(ctx, m)
		cancel()
		if err != nil {
			return fmt.Errorf("provisioner: portal for %s: %w", m.Channel, err)
		}
	}
	return nil
}

// Receive implements actor.Actor; the provisioner expects no messages.
func (p *provisioner) Receive(_ *actor.Context, msg any) error {
	return fmt.Errorf("provisioner: unexpected %T", msg)
}
