package bridge

import (
	"context"
	"fmt"
	"strings"
	"time"

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
	names  map[id.UserID]string // Matrix users' display names
	ghosts map[string]bool      // nicks whose ghost is registered, named and joined
}

func newPortal(b *Bridge, m Mapping) *portal {
	return &portal{b: b, m: m, names: map[id.UserID]string{}, ghosts: map[string]bool{}}
}

// Init makes sure the bridge's bot is in the room, so that the homeserver
// sends the room's events to the bridge.
func (p *portal) Init(c *actor.Context) error {
	ctx, cancel := context.WithTimeout(c.Context(), homeserverTimeout)
	defer cancel()
	if err := p.b.as.BotIntent().EnsureJoined(ctx, p.m.Room); err != nil {
		return fmt.Errorf("portal %s: bot cannot join %s: %w", p.m.Channel, p.m.Room, err)
	}
	return nil
}

// Receive implements actor.Actor.
func (p *portal) Receive(c *actor.Context, msg any) error {
	ctx, cancel := context.WithTimeout(c.Context(), homeserverTimeout)
	defer cancel()
	switch msg := msg.(type) {
	case fromMatrix:
		p.toIRC(ctx, c, msg)
		return nil
	case fromIRC:
		return p.toMatrix(ctx, msg)
	case notice:
		_, err := p.b.as.BotIntent().SendNotice(ctx, p.m.Room, msg.Text)
		return err
	default:
		return fmt.Errorf("portal: unexpected %T", msg)
	}
}

// toIRC sends a Matrix message to the channel, each line headed by the
// sender's display name.
func (p *portal) toIRC(ctx context.Context, c *actor.Context, msg fromMatrix) {
	name := p.displayName(ctx, msg.Sender)
	var lines []string
	for line := range strings.SplitSeq(msg.Body, "\n") {
		line = strings.TrimRight(line, "\r")
		if msg.Emote {
			lines = append(lines, name+" "+line)
		} else {
			lines = append(lines, "<"+name+"> "+line)
		}
	}
	out := toIRC{Channel: p.m.Channel, Lines: lines, Action: msg.Emote}
	if err := c.SendName(nameSender, out); err != nil {
		// The IRC subtree has given up (the bridge told the room) and its
		// sender's mailbox is gone with it.
		p.b.log.Warn().Err(err).Str("channel", p.m.Channel).Msg("portal: IRC is down; message not relayed")
	}
}

func (p *portal) displayName(ctx context.Context, user id.UserID) string {
	if n, ok := p.names[user]; ok {
		return n
	}
	name := user.Localpart()
	if resp, err := p.b.as.BotClient().GetDisplayName(ctx, user); err == nil && resp.DisplayName != "" {
		name = resp.DisplayName
	}
	p.names[user] = name
	return name
}

// toMatrix posts an IRC message in the room as the nick's ghost. An error
// crashes the portal: its supervisor restarts it, and the message is lost
// (the homeserver was unreachable for the client's retries).
func (p *portal) toMatrix(ctx context.Context, msg fromIRC) error {
	ghost, err := p.ghost(ctx, msg.Nick)
	if err != nil {
		return err
	}
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: msg.Text}
	if msg.Action {
		content.MsgType = event.MsgEmote
	}
	_, err = ghost.SendMessageEvent(ctx, p.m.Room, event.EventMessage, content)
	return err
}

// GhostID is the Matrix user that stands for an IRC nick.
func (b *Bridge) GhostID(nick string) id.UserID {
	return id.NewUserID(b.cfg.Appservice.GhostPrefix+id.EncodeUserLocalpart(nick), b.cfg.Homeserver.Domain)
}

// ghost returns the nick's ghost, registered, named after the nick and in
// the room.
func (p *portal) ghost(ctx context.Context, nick string) (*appservice.IntentAPI, error) {
	intent := p.b.as.Intent(p.b.GhostID(nick))
	if p.ghosts[fold(nick)] {
		return intent, nil
	}
	if err := intent.EnsureRegistered(ctx); err != nil {
		return nil, fmt.Errorf("ghost %s: %w", nick, err)
	}
	if err := intent.SetDisplayName(ctx, nick); err != nil {
		return nil, fmt.Errorf("ghost %s: display name: %w", nick, err)
	}
	if err := intent.EnsureJoined(ctx, p.m.Room); err != nil {
		return nil, fmt.Errorf("ghost %s: %w", nick, err)
	}
	p.ghosts[fold(nick)] = true
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
