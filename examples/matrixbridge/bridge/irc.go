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
	"github.com/arbor-go/arbor/strategy"
)

// runConn is the IRC connection task: it connects, registers, joins the
// mapped channels (joinHandlers), tells the sender through the link which
// client it may write on and to which channels, and passes what is said in
// the channels to their portals. It returns when the connection ends, so
// that the IRC subtree restarts, after a backoff; before that, it has the
// sender take its mailbox over (handOver).
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
	registered := make(chan struct{})
	client.Config.HandleNickCollide = b.nickCollide(fail, registered)
	client.Handlers.Add(girc.ERR_ERRONEUSNICKNAME, func(_ *girc.Client, e girc.Event) {
		fail(fmt.Errorf("%w: %s", errNickRefused, e.Last()))
	})
	var welcome sync.Once
	client.Handlers.Add(girc.RPL_WELCOME, func(*girc.Client, girc.Event) {
		welcome.Do(func() { close(registered) })
	})
	// girc's own handler of the welcome sleeps 2 s in a goroutine, then
	// tells CONNECTED, whatever became of the connection meanwhile: conn
	// waits for it, so that nothing of the connection outlives conn.
	settled := make(chan struct{})
	var settle sync.Once
	client.Handlers.Add(girc.CONNECTED, func(*girc.Client, girc.Event) { settle.Do(func() { close(settled) }) })
	welcomed := registered // the loop below forgets registered
	defer func() {
		select {
		case <-welcomed:
			<-settled
		default:
		}
	}()
	b.joinHandlers(client)
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
			b.handOver(ctx, client)
			return fmt.Errorf("irc: %s: %w", b.cfg.IRC.Server, err)
		case <-registered:
			registered = nil
			unregistered.Stop()
		case <-unregistered.C:
			fail(fmt.Errorf("%w within %v", errNotRegistered, registerTimeout))
		case err := <-failed:
			hangUp()
			<-connected
			b.handOver(ctx, client)
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

// handOverTimeout bounds conn's wait for the sender in handOver.
const handOverTimeout = 5 * time.Second

// handOver ends client's turn in the link, and waits until the sender has
// moved what its mailbox holds into the link's queue, which outlives the IRC
// subtree. If this end of the connection is one too many, the subtree gives
// up and stops the sender for good: what its mailbox held would be dead
// letters, and the root starts a new sender, with a new mailbox, only after
// the cooldown.
func (b *Bridge) handOver(ctx context.Context, client *girc.Client) {
	done := b.link.end(client)
	t := time.NewTimer(handOverTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-ctx.Done():
	case <-t.C:
		b.log.Warn().Dur("waited", handOverTimeout).Msg("irc: the sender did not take its mailbox over: " +
			"if the IRC subtree gives up, the messages in it are lost")
	}
}

// joinErrors are the numerics a server answers a JOIN it refuses with. One
// it answers with another is taken for no answer: the next channels wait
// joinAnswerTimeout for it.
var joinErrors = []string{
	girc.ERR_NOSUCHCHANNEL, girc.ERR_TOOMANYCHANNELS, girc.ERR_CHANNELISFULL, girc.ERR_INVITEONLYCHAN,
	girc.ERR_BANNEDFROMCHAN, girc.ERR_BADCHANNELKEY, girc.ERR_BADCHANMASK,
	girc.ERR_UNAVAILRESOURCE, // the channel is held for a while, after a netsplit
	"470",                    // ERR_LINKCHANNEL: the channel forwards to another (Libera, OFTC)
	"477",                    // ERR_NEEDREGGEDNICK, as most servers use it (girc: ERR_NOCHANMODES)
	"479",                    // ERR_BADCHANNAME: a name the server forbids (Solanum, Hybrid)
}

// joinHandlers joins the mapped channels once client is registered, and
// keeps the link told of the channels it is in: the sender sends to those,
// and queues what is for the others. A channel that cannot be joined
// (invite only, a ban, a key, full) is logged and tried again with backoff,
// and so is a channel the bridge is kicked from; the others are not held
// up.
//
// It all starts at the server's welcome, not at girc's CONNECTED, which
// girc fires 2 s later, from a goroutine of its own: a server that puts the
// bridge in a channel as it welcomes it (auto-join, a bouncer) tells so
// meanwhile, and then answers the bridge's own JOIN with nothing, and a
// CONNECTED that came after the connection's end would set a dead client
// in the link. The welcome is handled in girc's event loop, before the
// next event, and Connect returns only once that loop is over.
func (b *Bridge) joinHandlers(client *girc.Client) {
	again := &rejoiner{backoff: rejoinBackoff}
	joins := &joiner{b: b, again: again}
	// welcomed is the nick the server welcomed: girc's GetNick returns it
	// only once its own handler of the welcome, a goroutine, has run.
	var welcomed atomic.Value
	welcomed.Store("")
	self := func(cl *girc.Client, nick string) bool {
		return strings.EqualFold(nick, cl.GetNick()) || strings.EqualFold(nick, welcomed.Load().(string))
	}
	client.Handlers.Add(girc.RPL_WELCOME, func(cl *girc.Client, e girc.Event) {
		if len(e.Params) > 0 {
			welcomed.Store(e.Params[0])
		}
		b.log.Info().Str("server", b.cfg.IRC.Server).Str("nick", welcomed.Load().(string)).Msg("irc: connected")
		b.link.set(cl)
		b.ircUp()
		joins.start(cl)
	})
	client.Handlers.Add(girc.NICK, func(cl *girc.Client, e girc.Event) {
		// The server renamed the bridge (services, SANICK): the nick it was
		// welcomed with is someone else's to take from now on.
		if e.Source != nil && strings.EqualFold(e.Source.Name, welcomed.Load().(string)) && len(e.Params) > 0 {
			welcomed.Store(e.Last())
		}
	})
	client.Handlers.Add(girc.JOIN, func(cl *girc.Client, e girc.Event) {
		if e.Source == nil || !self(cl, e.Source.Name) || len(e.Params) == 0 {
			return
		}
		again.joined(e.Params[0])
		b.link.setJoined(cl, e.Params[0], true)
		joins.answered(cl, e.Params[0])
		b.log.Info().Str("channel", e.Params[0]).Msg("irc: joined")
	})
	out := func(cl *girc.Client, channel, why string) {
		if _, mapped := b.channels[fold(channel)]; !mapped {
			return
		}
		b.link.setJoined(cl, channel, false)
		delay := again.retry(cl, channel)
		b.log.Error().Str("channel", channel).Str("reason", why).Dur("retry_in", delay).
			Msg("irc: not in the channel: what Matrix says there is queued until the bridge joins it")
	}
	for _, code := range joinErrors {
		client.Handlers.Add(code, func(cl *girc.Client, e girc.Event) {
			if len(e.Params) >= 2 { // nick, channel, text
				joins.answered(cl, e.Params[1])
				out(cl, e.Params[1], "cannot join: "+e.Last())
			}
		})
	}
	client.Handlers.Add(girc.KICK, func(cl *girc.Client, e girc.Event) {
		if len(e.Params) >= 2 && self(cl, e.Params[1]) { // channel, nick, reason
			out(cl, e.Params[0], "kicked: "+e.Last())
		}
	})
	client.Handlers.Add(girc.PART, func(cl *girc.Client, e girc.Event) {
		if e.Source != nil && self(cl, e.Source.Name) && len(e.Params) > 0 {
			out(cl, e.Params[0], "parted")
		}
	})
	client.Handlers.Add(girc.DISCONNECTED, func(*girc.Client, girc.Event) {
		joins.stop()
		again.stop()
	})
}

// joinWindow bounds the channels the bridge has asked to join and not heard
// back about. girc answers each of its own JOINs with two lines (WHO,
// MODE), which wait in a buffer of 25 for girc to write them; when the
// connection ends, girc still handles the events it has read, and a line
// it cannot buffer then holds it up for 30 s: a burst of JOINs answered at
// once would hold up the connection's end, and the bridge's stop, for
// minutes.
const joinWindow = 5

// joinAnswerTimeout bounds the wait for the server's answer to a JOIN. A
// server may answer none: it ignores a JOIN to a channel the bridge is in
// already (put there at the welcome, by the server or a bouncer).
const joinAnswerTimeout = 30 * time.Second

// joiner joins the mapped channels on one connection, joinWindow at a time,
// in the configuration's order. A channel whose JOIN got no answer, and
// that the bridge is not in, is tried again with backoff.
type joiner struct {
	b     *Bridge
	again *rejoiner

	mu      sync.Mutex
	todo    []string          // channels not asked for yet
	asked   map[string]string // by fold(channel): asked for, not answered
	timer   *time.Timer       // bounds the wait for the answers to asked
	stopped bool
}

// start asks for the first channels: cl is just welcomed.
func (j *joiner) start(cl *girc.Client) {
	j.mu.Lock()
	j.todo, j.asked = nil, map[string]string{}
	for _, m := range j.b.cfg.Rooms {
		j.todo = append(j.todo, m.Channel)
	}
	batch := j.next(cl)
	j.mu.Unlock()
	sendJoins(cl, batch)
}

// answered notes the server's answer about channel (joined, or refused),
// and asks for the next channels once every asked one is answered.
func (j *joiner) answered(cl *girc.Client, channel string) {
	j.mu.Lock()
	var batch []string
	if _, ok := j.asked[fold(channel)]; ok {
		delete(j.asked, fold(channel))
		if len(j.asked) == 0 {
			batch = j.next(cl)
		}
	}
	j.mu.Unlock()
	sendJoins(cl, batch)
}

// next returns the next channels to ask for, and times their answers; the
// channels still unanswered are tried again later, unless the bridge is in
// them. j.mu is held.
func (j *joiner) next(cl *girc.Client) []string {
	if j.timer != nil {
		j.timer.Stop()
		j.timer = nil
	}
	if j.stopped {
		return nil
	}
	for key, channel := range j.asked {
		if !j.b.link.in(cl, channel) {
			delay := j.again.retry(cl, channel)
			j.b.log.Warn().Str("channel", channel).Dur("waited", joinAnswerTimeout).Dur("retry_in", delay).
				Msg("irc: the server did not answer the JOIN")
		}
		delete(j.asked, key)
	}
	if len(j.todo) == 0 {
		return nil
	}
	batch := j.todo[:min(joinWindow, len(j.todo))]
	j.todo = j.todo[len(batch):]
	for _, channel := range batch {
		j.asked[fold(channel)] = channel
	}
	var timer *time.Timer
	timer = time.AfterFunc(joinAnswerTimeout, func() {
		j.mu.Lock()
		if j.timer != timer {
			// The answers came as it fired, and the next batch was asked
			// for meanwhile: its own timer bounds it.
			j.mu.Unlock()
			return
		}
		batch := j.next(cl)
		j.mu.Unlock()
		sendJoins(cl, batch)
	})
	j.timer = timer
	return batch
}

// stop ends the joins: the connection is over.
func (j *joiner) stop() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.stopped = true
	if j.timer != nil {
		j.timer.Stop()
	}
}

// sendJoins asks to join channels, in as few JOINs as fit in a line. girc's
// Commands.Join does so too, but leaves out the channel at each cut: the
// bridge never asked for it, heard no refusal, and never tried it again.
func sendJoins(cl *girc.Client, channels []string) {
	limit := cl.MaxEventLength() - len(girc.JOIN+" ")
	var line string // channels, comma-separated
	for _, channel := range channels {
		if line != "" && len(line)+len(","+channel) > limit {
			cl.Send(&girc.Event{Command: girc.JOIN, Params: []string{line}})
			line = ""
		}
		if line != "" {
			line += ","
		}
		line += channel
	}
	if line != "" {
		cl.Send(&girc.Event{Command: girc.JOIN, Params: []string{line}})
	}
}

// rejoinBackoff spaces the attempts to join a channel the bridge cannot
// join, or was put out of.
var rejoinBackoff = strategy.Exponential(30*time.Second, 10*time.Minute).WithJitter(strategy.EqualJitter)

// rejoiner tries again, with backoff, to join the channels one connection
// could not join or was put out of.
type rejoiner struct {
	backoff strategy.Backoff

	mu      sync.Mutex
	tries   map[string]int         // by fold(channel): failed joins in a row
	pending map[string]*time.Timer // by fold(channel): the next try
	stopped bool
}

// retry schedules the next attempt to join channel on cl, unless one is
// scheduled already, and returns its delay.
func (r *rejoiner) retry(cl *girc.Client, channel string) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tries == nil {
		r.tries, r.pending = map[string]int{}, map[string]*time.Timer{}
	}
	key := fold(channel)
	if r.stopped || r.pending[key] != nil {
		return 0
	}
	r.tries[key]++
	delay := r.backoff.Delay(r.tries[key], nil)
	r.pending[key] = time.AfterFunc(delay, func() {
		r.mu.Lock()
		delete(r.pending, key)
		stopped := r.stopped
		r.mu.Unlock()
		if !stopped {
			cl.Cmd.Join(channel)
		}
	})
	return delay
}

// joined resets the backoff of channel.
func (r *rejoiner) joined(channel string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.tries, fold(channel))
}

// stop cancels the pending attempts: the connection is over.
func (r *rejoiner) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	for _, t := range r.pending {
		t.Stop()
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
//
// Once registered is closed (the server welcomed the bridge), a collision
// is none: the bridge sends no NICK after registering, and girc takes every
// 437 for a collision, also the one that refuses a JOIN to a channel held
// after a netsplit. Answering it would rename the bridge, and a few held
// channels would end the connection.
func (b *Bridge) nickCollide(fail func(error), registered <-chan struct{}) func(string) string {
	var tries atomic.Int32
	return func(string) string {
		select {
		case <-registered:
			return "" // girc sends nothing
		default:
		}
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
