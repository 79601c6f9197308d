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
			b.ircDown = down
			b.mu.Unlock()
			b.log.Error().Err(e.Reason).Int("restarts", e.Restarts).
				Dur("period", b.cfg.IRC.Intensity.Period).Dur("retry_in", b.cfg.IRC.Cooldown).
				Msg("bridge: IRC unreachable: gave up reconnecting until the cooldown ends")
			b.tellRooms(fmt.Sprintf("IRC is unreachable (%v): gave up after %d failures within %v; next try in %v. "+
				"Messages sent meanwhile are not relayed.", e.Reason, e.Restarts, b.cfg.IRC.Intensity.Period,
				b.cfg.IRC.Cooldown.Round(time.Second)))
		case e.Kind == tree.ChildRestarted && e.Supervisor == PathRoot && e.Child == "irc":
			b.mu.Lock()
			was := b.ircDown
			b.ircDown = nil
			b.mu.Unlock()
			if was != nil {
				b.log.Info().Msg("bridge: cooldown over: reconnecting to IRC")
				b.tellRooms("Cooldown over: reconnecting to IRC.")
			}
		}
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
