package bridge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lrstanley/girc"

	"github.com/arbor-go/arbor/actor"
)

// toIRC is a message for an IRC channel, from a portal to the sender.
type toIRC struct {
	Channel string
	Lines   []string // one IRC message each: IRC has no multi-line message
	Action  bool     // a /me
}

// ircLink is how the sender finds the connection that conn made: the
// current client once it is registered and has joined the channels, nil
// while there is none. It outlives incarnations; each conn incarnation
// brings its own client up and takes it down.
type ircLink struct {
	mu      sync.Mutex
	client  *girc.Client
	changed chan struct{} // closed, and replaced, when client changes
	// held is the message, or what is left of it, that a sender had taken
	// from its mailbox when its incarnation ended or its connection dropped
	// before the message was sent: it goes first on the next connection, so
	// that neither a restart nor a drop loses it.
	held *toIRC
}

func newIRCLink() *ircLink { return &ircLink{changed: make(chan struct{})} }

// set makes c the current client.
func (l *ircLink) set(c *girc.Client) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.client = c
	close(l.changed)
	l.changed = make(chan struct{})
}

// clear forgets c, if it is the current client.
func (l *ircLink) clear(c *girc.Client) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.client == c && c != nil {
		l.client = nil
		close(l.changed)
		l.changed = make(chan struct{})
	}
}

// wait returns the current client, waiting for a connected one until ctx
// ends.
func (l *ircLink) wait(ctx context.Context) (*girc.Client, error) {
	for {
		l.mu.Lock()
		c, changed := l.client, l.changed
		l.mu.Unlock()
		if c != nil && c.IsConnected() {
			return c, nil
		}
		// None, or one whose connection dropped: conn is about to end and
		// clear it.
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// current reports whether c is the current client, and connected.
func (l *ircLink) current(c *girc.Client) bool {
	l.mu.Lock()
	cur := l.client
	l.mu.Unlock()
	return cur == c && c.IsConnected()
}

func (l *ircLink) hold(m *toIRC) {
	l.mu.Lock()
	l.held = m
	l.mu.Unlock()
}

func (l *ircLink) take() *toIRC {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.held
	l.held = nil
	return m
}

// runConn is the IRC connection task: it connects, joins the mapped
// channels, hands the client to the sender through the link and passes what
// is said in the channels to their portals. It returns when the connection
// ends, so that the IRC subtree restarts, after a backoff.
func (b *Bridge) runConn(ctx context.Context, c *actor.Context) error {
	host, port, _ := net.SplitHostPort(b.cfg.IRC.Server)
	portN, err := strconv.Atoi(port)
	if err != nil {
		return fmt.Errorf("irc: port %q: %w", port, err)
	}
	client := girc.New(girc.Config{
		Server:     host,
		Port:       portN,
		SSL:        b.cfg.IRC.TLS,
		ServerPass: b.cfg.IRC.Password,
		Nick:       b.cfg.IRC.Nick,
		User:       "arbor",
		Name:       "Arbor Matrix bridge",
		PingDelay:  30 * time.Second,
		// An unanswered ping means a dead connection: end it, and let the
		// supervisor reconnect.
		PingTimeout: 60 * time.Second,
		// The sender paces its lines itself, within its context (pacer):
		// girc's flood control sleeps in Send, deaf to any.
		AllowFlood: true,
	})
	// failed ends the connection from a handler, for a reason of the
	// bridge's own; hangUp does it.
	failed := make(chan error, 1)
	fail := func(err error) {
		select {
		case failed <- err:
		default:
		}
	}
	client.Config.HandleNickCollide = b.nickCollide(fail)
	client.Handlers.Add(girc.ERR_ERRONEUSNICKNAME, func(_ *girc.Client, e girc.Event) {
		fail(fmt.Errorf("%w: %s", errNickRefused, e.Last()))
	})
	registered := make(chan struct{})
	var welcome sync.Once
	client.Handlers.Add(girc.RPL_WELCOME, func(*girc.Client, girc.Event) {
		welcome.Do(func() { close(registered) })
	})
	joined := map[string]bool{}
	client.Handlers.Add(girc.CONNECTED, func(cl *girc.Client, _ girc.Event) {
		chans := make([]string, 0, len(b.channels))
		for _, m := range b.channels {
			chans = append(chans, m.Channel)
		}
		cl.Cmd.Join(chans...)
	})
	client.Handlers.Add(girc.JOIN, func(cl *girc.Client, e girc.Event) {
		if e.Source == nil || !strings.EqualFold(e.Source.Name, cl.GetNick()) || len(e.Params) == 0 {
			return
		}
		joined[fold(e.Params[0])] = true
		b.log.Debug().Str("channel", e.Params[0]).Int("joined", len(joined)).Msg("irc: joined")
		if len(joined) >= len(b.channels) {
			b.log.Info().Str("server", b.cfg.IRC.Server).Str("nick", cl.GetNick()).Msg("irc: connected and joined")
			b.link.set(cl)
			b.ircUp()
		}
	})
	client.Handlers.Add(girc.PRIVMSG, func(cl *girc.Client, e girc.Event) { b.fromIRC(cl, e) })
	defer b.link.clear(client)

	// The connection lives no longer than this incarnation of conn.
	connCtx, hangUp := context.WithCancel(ctx)
	defer hangUp()
	connected := make(chan error, 1)
	go func() {
		connected <- client.DialerConnect(&dialer{ctx: connCtx, Dialer: net.Dialer{Timeout: dialTimeout}})
	}()
	// A server may keep a connection that never registers (it refuses
	// every nick tried, or just never welcomes the client): end it, so that
	// the supervisor tries again.
	unregistered := time.NewTimer(registerTimeout)
	defer unregistered.Stop()
	for {
		select {
		case err := <-connected:
			if err == nil {
				err = errIRCDisconnected
			}
			return fmt.Errorf("irc: %s: %w", b.cfg.IRC.Server, err)
		case <-registered:
			registered = nil
			unregistered.Stop()
		case <-unregistered.C:
			fail(fmt.Errorf("%w within %v", errNotRegistered, registerTimeout))
		case err := <-failed:
			hangUp()
			<-connected
			return fmt.Errorf("irc: %s: %w", b.cfg.IRC.Server, err)
		case <-ctx.Done():
			// The dialer gives up its dial, or closes the connection it
			// made: Connect returns. client.Close is not called: it races
			// with a Connect under way (girc sets its stop function after
			// the dial, outside its lock), and does nothing until the dial
			// is over.
			<-connected
			return ctx.Err()
		}
	}
}

// registerTimeout bounds the time a connection takes to register (be
// welcomed by the server).
const registerTimeout = time.Minute

// maxNickTries bounds the nicks a connection tries: the configured one,
// then as many alternatives.
const maxNickTries = 5

// Why the bridge ends a connection that does not register.
var (
	errNickRefused   = errors.New("irc: nick refused by the server")
	errNicksInUse    = errors.New("irc: every nick tried is in use")
	errNotRegistered = errors.New("irc: not registered by the server")
)

// nickCollide is girc's HandleNickCollide for one connection: it answers
// each collision with the next alternative to the configured nick (nick_,
// nick_2, nick_3, ...). girc passes it the nick it has, which stays the
// configured one until the server welcomes the client, so that answering
// nick+"_" to it asked for the same taken alternative forever. Past
// maxNickTries it ends the connection through fail, so that the supervisor
// tries again later, when the sessions holding the nicks (often the
// bridge's own, from connections that just dropped) may have gone.
func (b *Bridge) nickCollide(fail func(error)) func(string) string {
	var tries atomic.Int32
	return func(string) string {
		n := int(tries.Add(1))
		switch {
		case n > maxNickTries:
			fail(fmt.Errorf("%w (%d tried)", errNicksInUse, maxNickTries+1))
			return "" // girc sends nothing
		case n == 1:
			return b.cfg.IRC.Nick + "_"
		default:
			return b.cfg.IRC.Nick + "_" + strconv.Itoa(n)
		}
	}
}

// dialTimeout bounds a dial to the IRC server.
const dialTimeout = 10 * time.Second

// dialer dials the IRC server for girc within ctx, which girc's own dial
// ignores (a plain net.Dialer waits out its timeout, and Client.Close does
// nothing until the dial is over): when ctx ends, a dial under way returns at
// once, and a connection made is closed, which ends whatever girc is doing on
// it (a TLS handshake, a write to a server that reads nothing), so that
// Connect returns and conn stops within its shutdown timeout.
type dialer struct {
	ctx context.Context
	net.Dialer
}

// Dial implements girc.Dialer.
func (d *dialer) Dial(network, addr string) (net.Conn, error) {
	conn, err := d.DialContext(d.ctx, network, addr)
	if err != nil {
		return nil, err
	}
	context.AfterFunc(d.ctx, func() { _ = conn.Close() })
	return conn, nil
}

// fromIRC passes a channel message to its portal.
func (b *Bridge) fromIRC(cl *girc.Client, e girc.Event) {
	if e.Source == nil || !e.IsFromChannel() || len(e.Params) == 0 {
		return
	}
	if strings.EqualFold(e.Source.Name, cl.GetNick()) {
		return // our own echo
	}
	m, ok := b.channels[fold(e.Params[0])]
	if !ok {
		return
	}
	msg := fromIRC{Nick: e.Source.Name, Text: e.Last()}
	if e.IsAction() {
		msg.Text, msg.Action = e.StripAction(), true
	} else if ok, _ := e.IsCTCP(); ok {
		return
	}
	if err := b.reg.Send(portalName(m.Channel), msg); err != nil {
		b.log.Warn().Err(err).Str("channel", m.Channel).Str("nick", msg.Nick).
			Msg("irc: message not relayed: no portal")
	}
}

// runSender is the sender task: it takes the messages for IRC from its
// mailbox, one at a time, once there is a connection to send them on. It
// waits for a connection before it takes the next message, so that messages
// sent while IRC is down stay in the mailbox; what is left of a message when
// the connection drops, or the incarnation ends, is held for the next
// connection.
func (b *Bridge) runSender(ctx context.Context, c *actor.Context) error {
	var (
		pace  pacer
		paced *girc.Client // the connection pace is for
	)
	for {
		m := b.link.take()
		if m == nil {
			if _, err := b.link.wait(ctx); err != nil {
				return err
			}
			msg, err := c.Recv(ctx)
			if err != nil {
				return err
			}
			out, ok := msg.(toIRC)
			if !ok {
				b.log.Warn().Type("message", msg).Msg("irc sender: unexpected message")
				continue
			}
			m = &out
		}
		client, err := b.link.wait(ctx)
		if err != nil {
			b.link.hold(m)
			return err
		}
		if client != paced {
			pace, paced = pacer{}, client // the server counts per connection
		}
		rest, err := b.send(ctx, client, &pace, m)
		if rest != nil {
			b.link.hold(rest)
		}
		if err != nil {
			return err
		}
	}
}

// send writes m to the channel, each line when pace lets it go, while client
// is connected. It returns what is left of m, if ctx ended (with its error)
// or the connection dropped (nil error) before every line went: the caller
// holds it for the next connection. girc drops a line given to a client that
// has lost its connection, and tells nobody, so the check comes before every
// line, not once a message.
func (b *Bridge) send(ctx context.Context, client *girc.Client, pace *pacer, m *toIRC) (*toIRC, error) {
	for i, line := range m.Lines {
		err := pace.wait(ctx, wireLen(m, line))
		if err != nil || !b.link.current(client) {
			rest := *m
			rest.Lines = m.Lines[i:]
			return &rest, err
		}
		if m.Action {
			client.Cmd.Action(m.Channel, line)
		} else {
			client.Cmd.Message(m.Channel, line)
		}
	}
	return nil, nil
}

// wireLen is the length of a line of m as sent: the command, the target, and
// the CTCP framing of a /me.
func wireLen(m *toIRC, line string) int {
	n := len("PRIVMSG ") + len(m.Channel) + len(" :") + len(line)
	if m.Action {
		n += len("\x01ACTION \x01")
	}
	return n
}

// Flood control, as girc's own: a line costs a second plus 10 ms a byte, and
// up to floodBurst of cost may be outstanding, paid off as time passes.
const (
	floodLine  = time.Second
	floodByte  = 10 * time.Millisecond
	floodBurst = 8 * time.Second
)

// pacer spaces the lines the sender writes to one connection, so that the
// server does not throttle or disconnect the bridge for flooding. It stands
// in for girc's flood control, which the client's AllowFlood turns off: that
// sleeps inside Client.Send, seconds a line in a paste, without a context,
// so that a sender stopped during a paste overran its shutdown timeout.
type pacer struct {
	debt time.Duration // cost not paid off yet
	at   time.Time     // when debt was reckoned
}

// wait waits until a line of n bytes may go, or ctx ends.
func (p *pacer) wait(ctx context.Context, n int) error {
	now := time.Now()
	p.debt = max(0, p.debt-now.Sub(p.at))
	p.at = now
	if over := p.debt - floodBurst; over > 0 {
		t := time.NewTimer(over)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		p.debt, p.at = floodBurst, time.Now()
	}
	p.debt += floodLine + time.Duration(n)*floodByte
	return nil
}
