package bridge

import (
	"fmt"
	"time"

	"github.com/arbor-go/arbor/tree"
)

// watch follows the bridge's events for what its users must hear about:
// the IRC subtree giving up, and trying again after the cooldown. The tree's
// own reports (crashes, restarts, escalation) go to the log already.
func (b *Bridge) watch() {
	defer close(b.statusDone)
	for e := range b.status.Events() {
		switch {
		case e.Kind == tree.IntensityExceeded && e.Supervisor == PathIRC:
			down := &IRCDown{Since: e.Time, Restarts: e.Restarts, Reason: e.Reason,
				Retry: e.Time.Add(b.cfg.IRC.Cooldown)}
			b.mu.Lock()
			if b.ircDown != nil {
				down.Since = b.ircDown.Since // the same outage, tried again
			}
			if !b.ircUpAt.After(e.Time) { // else this event comes late: IRC is back since
				b.ircDown = down
			}
			b.mu.Unlock()
			b.log.Error().Err(e.Reason).Int("restarts", e.Restarts).
				Dur("period", b.cfg.IRC.Intensity.Period).Dur("retry_in", b.cfg.IRC.Cooldown).
				Msg("bridge: IRC unreachable: gave up reconnecting until the cooldown ends")
			b.tellRooms(fmt.Sprintf("IRC is unreachable (%v): gave up after %d failures within %v; next try in %v. "+
				"Messages sent meanwhile are not relayed.", e.Reason, e.Restarts, b.cfg.IRC.Intensity.Period,
				b.cfg.IRC.Cooldown.Round(time.Second)))
		case e.Kind == tree.ChildRestarted && e.Supervisor == PathRoot && e.Child == "irc":
			// IRC stays down, for IRCDown, until the connection is made:
			// ircUp.
			b.log.Info().Msg("bridge: cooldown over: reconnecting to IRC")
			b.tellRooms("Cooldown over: reconnecting to IRC.")
		}
	}
}

// ircUp notes that the IRC connection is made (registered): an outage that
// IRCDown reported is over.
func (b *Bridge) ircUp() {
	b.mu.Lock()
	was := b.ircDown
	b.ircDown, b.ircUpAt = nil, time.Now()
	b.mu.Unlock()
	if was != nil {
		b.log.Info().Time("down_since", was.Since).Msg("bridge: IRC is back")
	}
}

// tellRooms posts a notice from the bridge's bot in every mapped room.
func (b *Bridge) tellRooms(text string) {
	for _, m := range b.cfg.Rooms {
		if err := b.reg.Send(portalName(m.Channel), notice{Text: text}); err != nil {
			b.log.Warn().Err(err).Str("room", m.Room.String()).Msg("bridge: notice not sent")
		}
	}
}
