package lab

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lrstanley/girc"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// IRCClient is a plain IRC user in one channel, as a person on the IRC side
// of the bridge: it says things and reads what is said.
type IRCClient struct {
	Nick    string
	Channel string
	c       *girc.Client
	msgs    chan girc.Event // PRIVMSGs in the channel
	joins   chan string     // nicks that joined it
	done    chan error
	once    sync.Once
}

// ConnectIRC connects nick to the server at addr and returns once it has
// joined channel.
func ConnectIRC(ctx context.Context, addr, nick, channel string) (*IRCClient, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, err
	}
	u := &IRCClient{Nick: nick, Channel: channel, msgs: make(chan girc.Event, 256),
		joins: make(chan string, 64), done: make(chan error, 1)}
	u.c = girc.New(girc.Config{Server: host, Port: p, Nick: nick, User: nick, Name: nick})
	u.c.Handlers.Add(girc.CONNECTED, func(c *girc.Client, _ girc.Event) { c.Cmd.Join(channel) })
	u.c.Handlers.Add(girc.JOIN, func(_ *girc.Client, e girc.Event) {
		if e.Source != nil {
			u.joins <- e.Source.Name
		}
	})
	u.c.Handlers.Add(girc.PRIVMSG, func(_ *girc.Client, e girc.Event) {
		if e.IsFromChannel() {
			u.msgs <- e
		}
	})
	go func() { u.done <- u.c.Connect() }()
	if err := u.WaitJoin(ctx, nick); err != nil {
		u.Close()
		return nil, err
	}
	return u, nil
}

// Close disconnects, once, and waits for the client to end.
func (u *IRCClient) Close() {
	u.once.Do(func() {
		u.c.Close()
		<-u.done
	})
}

// WaitJoin waits until nick (or nick followed by underscores, after a nick
// collision) joins the channel.
func (u *IRCClient) WaitJoin(ctx context.Context, nick string) error {
	for {
		select {
		case who := <-u.joins:
			if strings.EqualFold(strings.TrimRight(who, "_"), nick) {
				return nil
			}
		case err := <-u.done:
			u.done <- err // for Close
			return fmt.Errorf("lab: %s disconnected while waiting for %s to join: %v", u.Nick, nick, err)
		case <-ctx.Done():
			return fmt.Errorf("lab: %s never saw %s join %s: %w", u.Nick, nick, u.Channel, ctx.Err())
		}
	}
}

// WaitMessage waits for a channel message with exactly the given text.
func (u *IRCClient) WaitMessage(ctx context.Context, text string) (girc.Event, error) {
	for {
		select {
		case e := <-u.msgs:
			if e.Last() == text {
				return e, nil
			}
		case <-ctx.Done():
			return girc.Event{}, fmt.Errorf("lab: %s never received %q: %w", u.Nick, text, ctx.Err())
		}
	}
}

// Next returns the next channel message, whatever it says.
func (u *IRCClient) Next(ctx context.Context) (girc.Event, error) {
	select {
	case e := <-u.msgs:
		return e, nil
	case <-ctx.Done():
		return girc.Event{}, fmt.Errorf("lab: %s received nothing: %w", u.Nick, ctx.Err())
	}
}

// Say sends text to the channel.
func (u *IRCClient) Say(text string) { u.c.Cmd.Message(u.Channel, text) }

// WaitRoomMessage polls a room's recent history, as client sees it, until
// it holds a message that match accepts, and returns that message.
func WaitRoomMessage(ctx context.Context, client *mautrix.Client, room id.RoomID, match func(*event.Event) bool) (*event.Event, error) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Messages(ctx, room, "", "", mautrix.DirectionBackward, nil, 50)
		if err == nil {
			for _, evt := range resp.Chunk {
				if evt.Type != event.EventMessage {
					continue
				}
				_ = evt.Content.ParseRaw(evt.Type)
				if match(evt) {
					return evt, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("lab: no such message in %s (last error: %v): %w", room, err, ctx.Err())
		case <-tick.C:
		}
	}
}
