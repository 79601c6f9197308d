package bridge

import (
	"context"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/lrstanley/girc"

	"github.com/arbor-go/arbor/actor"
)

// toIRC is a message for an IRC channel, from a portal to the sender.
type toIRC struct {
	Channel string
	Head    string   // who speaks, written before each line: "<alice> ", or "alice " for a /me
	Lines   []string // one IRC message each (cut by the sender if too long): IRC has no multi-line message
	Action  bool     // a /me
}

// maxQueued bounds the messages the sender queues for one channel, which
// grow while it cannot send to it (the bridge is not in the channel); beyond
// it the oldest are dropped, with a warning each.
const maxQueued = 1000

// ircLink joins conn and the sender across their incarnations: the client
// that conn registered, the channels it is in, and the messages the sender
// took from its mailbox but has not sent. It outlives the incarnations;
// each conn incarnation brings its own client up and takes it down.
type ircLink struct {
	mu      sync.Mutex
	client  *girc.Client    // registered; nil while there is none
	joined  map[string]bool // by fold(channel): the channels client is in
	changed context.Context // ends, and is replaced, when client or joined change
	change  context.CancelFunc
	// queue holds, in order, what the sender took from its mailbox and has
	// not sent: the messages for channels it is not in, and what is left of
	// a message when the connection dropped or the sender was stopped. A
	// message leaves it with its last line.
	queue []*toIRC
	// handOver, while a connection that ended waits for the sender to take
	// its mailbox over, is closed by the sender once it has.
	handOver chan struct{}
}

func newIRCLink() *ircLink {
	l := &ircLink{}
	l.changed, l.change = context.WithCancel(context.Background())
	return l
}

// signal ends changed, waking the sender. l.mu is held.
func (l *ircLink) signal() {
	l.change()
	l.changed, l.change = context.WithCancel(context.Background())
}

// set makes c, just registered, the current client, in no channel yet.
func (l *ircLink) set(c *girc.Client) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.client, l.joined = c, map[string]bool{}
	l.signal()
}

// clear forgets c, if it is the current client.
func (l *ircLink) clear(c *girc.Client) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.client == c && c != nil {
		l.client, l.joined = nil, nil
		l.signal()
	}
}

// end clears c, whose connection ended, registered or not, and asks the
// sender to take over what its mailbox holds: the returned channel is
// closed once it has (see Bridge.handOver).
func (l *ircLink) end(c *girc.Client) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.client == c {
		l.client, l.joined = nil, nil
	}
	if l.handOver == nil {
		l.handOver = make(chan struct{})
	}
	l.signal()
	return l.handOver
}

// askedToHandOver returns, and forgets, the hand-over asked for, if any:
// the sender closes it once it has taken its mailbox over.
func (l *ircLink) askedToHandOver() chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.handOver
	l.handOver = nil
	return h
}

// setJoined notes that c, if it is the current client, is in channel or not.
func (l *ircLink) setJoined(c *girc.Client, channel string, in bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.client == c && c != nil {
		l.joined[fold(channel)] = in
		l.signal()
	}
}

// in reports whether c, the current client, is in channel.
func (l *ircLink) in(c *girc.Client, channel string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.client == c && l.joined[fold(channel)]
}

// state returns the current client, nil if there is none or its connection
// dropped (conn is about to clear it), and a context that ends at the next
// change.
func (l *ircLink) state() (*girc.Client, context.Context) {
	l.mu.Lock()
	c, changed := l.client, l.changed
	l.mu.Unlock()
	if c != nil && !c.IsConnected() {
		c = nil
	}
	return c, changed
}

// ready reports whether a line for channel may be written on c: c is the
// current client, connected, and in the channel.
func (l *ircLink) ready(c *girc.Client, channel string) bool {
	l.mu.Lock()
	ok := l.client == c && l.joined[fold(channel)]
	l.mu.Unlock()
	return ok && c.IsConnected()
}

// push queues m behind what was queued before it. If its channel has
// maxQueued messages queued already, the oldest of them is dropped, and
// returned.
func (l *ircLink) push(m toIRC) (dropped *toIRC) {
	l.mu.Lock()
	defer l.mu.Unlock()
	first, n := -1, 0
	for i, q := range l.queue {
		if fold(q.Channel) == fold(m.Channel) {
			if first < 0 {
				first = i
			}
			n++
		}
	}
	if n >= maxQueued {
		dropped = l.queue[first]
		l.queue = append(l.queue[:first], l.queue[first+1:]...)
	}
	l.queue = append(l.queue, &m)
	return dropped
}

// next returns the oldest queued message for a channel that c, the current
// client, is in, or nil.
func (l *ircLink) next(c *girc.Client) *toIRC {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.client != c || c == nil {
		return nil
	}
	for _, m := range l.queue {
		if l.joined[fold(m.Channel)] {
			return m
		}
	}
	return nil
}

// sent notes that the first line of m went out. Only the sender calls it,
// and reads m.Lines.
func (l *ircLink) sent(m *toIRC) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m.Lines = m.Lines[1:]
	if len(m.Lines) > 0 {
		return
	}
	for i, q := range l.queue {
		if q == m {
			l.queue = append(l.queue[:i], l.queue[i+1:]...)
			return
		}
	}
}

// runSender is the sender task: it takes the messages for IRC from its
// mailbox, one at a time, and writes them, a line at a time, to their
// channels. It sends to the channels the bridge is in, and queues the
// messages for the others (see ircLink) until conn joins them. What is left
// of a message when the connection drops, or the incarnation ends, stays
// queued and goes first on the next connection. While IRC is down, it takes
// nothing, so that messages wait in the mailbox, but when a connection
// ends, it moves them all into the link's queue, which outlives the IRC
// subtree (Bridge.handOver).
func (b *Bridge) runSender(ctx context.Context, c *actor.Context) error {
	var (
		pace  pacer
		paced *girc.Client // the connection pace is for
	)
	for {
		client, changed := b.link.state()
		if client == nil {
			if done := b.link.askedToHandOver(); done != nil {
				b.takeAll(c)
				close(done)
			}
			select {
			case <-changed.Done():
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if client != paced {
			pace, paced = pacer{}, client // the server counts per connection
		}
		// Whatever changes (the connection drops, a channel is joined or
		// left) interrupts the step, and the loop looks again.
		step, cancel := context.WithCancel(ctx)
		stop := context.AfterFunc(changed, cancel)
		err := b.sendStep(step, c, client, &pace)
		stop()
		cancel()
		if err != nil && (ctx.Err() != nil || changed.Err() == nil) {
			return err
		}
	}
}

// sendStep sends the next message that can be sent on client, or, if there
// is none, takes the next message from the mailbox.
func (b *Bridge) sendStep(ctx context.Context, c *actor.Context, client *girc.Client, pace *pacer) error {
	if m := b.link.next(client); m != nil {
		return b.send(ctx, client, pace, m)
	}
	msg, err := c.Recv(ctx)
	if err != nil {
		return err
	}
	b.take(msg)
	return nil
}

// noWait is a context that has ended: c.Recv(noWait) takes a message
// without waiting.
var noWait = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// takeAll takes what the mailbox holds, without waiting.
func (b *Bridge) takeAll(c *actor.Context) {
	for {
		msg, err := c.Recv(noWait)
		if err != nil {
			return
		}
		b.take(msg)
	}
}

// take puts a message from the mailbox into the link's queue.
func (b *Bridge) take(msg any) {
	out, ok := msg.(toIRC)
	if !ok {
		b.log.Warn().Type("message", msg).Msg("irc sender: unexpected message")
		return
	}
	if d := b.link.push(out); d != nil {
		b.log.Warn().Str("channel", d.Channel).Int("queued", maxQueued).
			Msg("irc sender: the channel is still not joined: its oldest queued message is dropped")
	}
}

// send writes the lines of m, queued, to its channel, each when pace lets it
// go, while client is connected and in the channel. girc drops a line given
// to a client that has lost its connection, and tells nobody, so the check
// comes before every line, not once a message. The lines not sent stay
// queued.
func (b *Bridge) send(ctx context.Context, client *girc.Client, pace *pacer, m *toIRC) error {
	for len(m.Lines) > 0 {
		fit(m, client.MaxEventLength())
		line := m.Lines[0]
		if err := pace.wait(ctx, wireLen(m, line)); err != nil {
			return err
		}
		if !b.link.ready(client, m.Channel) {
			return nil
		}
		if m.Action {
			client.Cmd.Action(m.Channel, m.Head+line)
		} else {
			client.Cmd.Message(m.Channel, m.Head+line)
		}
		b.link.sent(m)
	}
	return nil
}

// fit cuts the first line of m, if it is too long for a client whose events
// are shorter than limit (girc's Client.MaxEventLength), into lines that fit,
// each written after m's Head, so that each piece names its speaker. girc
// would cut it itself, in Send, but then its pieces would go out back to
// back, unpaced, and only the first would name its speaker. The pieces
// replace the line in m, so that each is paced, and checked for, as a line
// of its own, and those not sent stay queued. Only the sender calls it.
func fit(m *toIRC, limit int) {
	line := m.Lines[0]
	room := limit - 1 - wireLen(m, "") // girc cuts an event of limit bytes or more
	if len(line) <= room || room < utf8.UTFMax {
		return // it fits, or the channel's name and the head leave no room: girc's affair
	}
	pieces := cut(line, room)
	m.Lines = append(pieces, m.Lines[1:]...)
}

// cut splits s into pieces of at most n bytes (n >= utf8.UTFMax), on rune
// boundaries: at the last space that fits, which the line break stands in
// for, or, in a word longer than n (a URL), at the last rune that fits. What
// is left after the last cut goes as a piece only if it says something: a
// line that ended in spaces makes no piece of a bare head.
func cut(s string, n int) []string {
	var pieces []string
	for len(s) > n {
		i := n // s[:i] is whole runes, once s[i] starts one
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		if j := strings.LastIndexByte(s[:i+1], ' '); j > 0 {
			pieces, s = append(pieces, s[:j]), s[j+1:]
		} else {
			pieces, s = append(pieces, s[:i]), s[i:]
		}
	}
	if len(pieces) > 0 && strings.TrimSpace(s) == "" {
		return pieces
	}
	return append(pieces, s)
}

// wireLen is the length of a line of m as sent: the command, the target,
// the head, and the CTCP framing of a /me.
func wireLen(m *toIRC, line string) int {
	n := len("PRIVMSG ") + len(m.Channel) + len(" :") + len(m.Head) + len(line)
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
