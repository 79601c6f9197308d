package tree

import (
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/strategy"
)

// The fast path of a crash. A child that qualifies (an actor worker of a
// OneForOne or dynamic supervisor, without backoff) is spawned with an
// actor.Restarter: when an incarnation of it ends by itself, its own
// goroutine takes the supervisor's decision, under s.mu, with the same pure
// rules as onExit (restart type, intensity window, backoff attempt), emits
// the same events (ChildExited, ChildRestarting, ChildRestarted), and
// restarts the child in place. The supervisor's goroutine is not involved:
// no ChildExit, no restart from its Receive, no goroutine hand-off. Whatever
// does not qualify at that moment (a restart type that says no, intensity
// exceeded, a supervisor that is stopping) is declined and goes through
// onExit exactly as before; so does every exit of the other children.
//
// s.mu guards, besides the decision, what both goroutines touch: the window,
// the children's backoff states, and the fast-path fields below. A child is
// open to the fast path while fastRef names its actor; the supervisor takes
// that away (claim) before it acts on a child in any other way, and waits
// for a restart in progress to finish, so that a child's events keep their
// order: no ChildTerminated, say, between its ChildRestarting and its
// ChildRestarted.

// fastHook is a child's actor.Restarter.
type fastHook struct {
	s  *supervisor
	ch *child
	// Set by RestartNow for Restarted, both on the child's goroutine while
	// the restart is in flight.
	attempt int
	decided time.Time // when RestartNow decided
	err     error     // the factory's failure
	ignored bool      // the factory returned Ignore
}

// fastFailed tells the supervisor that a restart decided on the fast path
// did not give a running child: the factory or Init failed, or the factory
// said Ignore. The child is suspended; the supervisor goes on as start and
// runRestart would have.
type fastFailed struct {
	ch      *child
	ref     *actor.Ref
	err     error
	ignored bool
}

// withoutFastPath makes every exit of the tree go through its supervisor's
// Receive, so that tests can check that the fast path changes nothing that
// can be observed.
func withoutFastPath() Option { return func(o *options) { o.slow = true } }

// fastEligible reports whether ch's restarts may take the fast path, as far
// as its spec tells: an actor worker, restarted alone and at once.
func (s *supervisor) fastEligible(ch *child) bool {
	return !s.env.slow && ch.r.spec.kind == kindWorker && s.spec.Strategy == strategy.OneForOne && ch.r.backoff.Max <= 0
}

// fastOption returns the actor option that installs ch's Restarter, made
// once per child.
func (s *supervisor) fastOption(ch *child) actor.Option {
	if ch.fastOpt == nil {
		ch.hook = fastHook{s: s, ch: ch}
		ch.fastOpt = actor.WithRestarter(&ch.hook)
	}
	return ch.fastOpt
}

// RestartNow decides, on the child's goroutine, what onExit would: a restart
// at once, or (declined) anything else.
func (h *fastHook) RestartNow(ref *actor.Ref, reason error) (actor.Actor, bool) {
	s, ch := h.s, h.ch
	s.mu.Lock()
	if ch.fastRef != ref {
		s.mu.Unlock()
		return nil, false
	}
	ch.fastRef = nil // decided or not, the next start opens it again
	// A permanent child restarts whatever its reason: classifying the
	// reason (an errors.Is) is needed only for the others.
	if !s.open || s.env.halting.Load() || s.ctx.Err() != nil ||
		ch.r.restart != strategy.Permanent && !ch.r.restart.ShouldRestart(classify(reason)) {
		s.mu.Unlock()
		return nil, false
	}
	now := s.env.clock.Now()
	if !s.window.TryAllow(now) {
		s.mu.Unlock()
		return nil, false // onExit records it and gives up
	}
	_, attempt := ch.bo.Next(ch.r.backoff, now, s.env.rnd) // no backoff: no delay
	heard := !s.env.unheard(s.path, 2)
	restarts := 0
	if heard {
		restarts = s.window.Restarts(now) // for the event only
	}
	ch.inflight = true
	s.inflight++
	s.mu.Unlock()

	h.attempt, h.decided, h.err, h.ignored = attempt, now, nil, false
	if heard {
		evs := [2]Event{
			{Kind: ChildExited, Supervisor: s.path, Child: ch.id, Ref: ref, Reason: reason, Stack: stackOf(reason)},
			{Kind: ChildRestarting, Supervisor: s.path, Child: ch.id, Ref: ref, Attempt: attempt, Restarts: restarts},
		}
		s.env.publishAt(evs[:], ch.r.restart.String(), now)
	}
	a, err := s.makeActor(ch) // a running child has a registry if it has a name
	switch {
	case err != nil:
		h.err = err
		return nil, true
	case a == Ignore:
		h.ignored = true
		return nil, true
	}
	return a, true
}

// Restarted ends a restart in flight: as start does, it reports the new
// incarnation, or the failure, which the supervisor then handles.
func (h *fastHook) Restarted(ref *actor.Ref, err error) {
	s, ch := h.s, h.ch
	restart := ch.r.restart.String()
	if err == nil {
		// The clock is read only if the time serves: for the event, or
		// for a backoff's ResetAfter. Without one (the fast path has no
		// backoff delay), any start resets the attempts, and the
		// decision's time marks the start as well as a new reading.
		now := h.decided
		if !s.env.unheard(s.path, 1) {
			now = s.env.clock.Now()
			s.env.emitAt(Event{Kind: ChildRestarted, Supervisor: s.path, Child: ch.id, Ref: ref,
				Attempt: h.attempt}, restart, now)
		} else if ch.r.backoff.ResetAfter > 0 {
			now = s.env.clock.Now()
		}
		s.mu.Lock()
		ch.bo.Started(now)
		ch.fastRef = ref
		s.land(ch)
		s.mu.Unlock()
		return
	}
	if h.err != nil {
		err = h.err
	}
	// Stopped for good meanwhile, rather than an Init whose error wraps
	// ErrStopped (a dependency that stopped): the actor has ended.
	stopped := !h.ignored && !ref.Alive()
	if !h.ignored && !stopped {
		s.env.emit(Event{Kind: StartFailed, Supervisor: s.path, Child: ch.id, Reason: err,
			Stack: stackOf(err), Attempt: h.attempt}, restart)
	}
	s.mu.Lock()
	s.land(ch)
	s.mu.Unlock()
	if stopped {
		return // stopped for good meanwhile: its final ChildExit tells the supervisor
	}
	_ = s.self.Send(fastFailed{ch: ch, ref: ref, err: err, ignored: h.ignored})
}

// land marks ch's restart in flight as finished. s.mu must be held.
func (s *supervisor) land(ch *child) {
	ch.inflight = false
	s.inflight--
	s.flight.Broadcast()
}

// claim takes ch off the fast path, once any restart of it in flight has
// finished: from now on only the supervisor acts on it.
func (s *supervisor) claim(ch *child) {
	s.mu.Lock()
	for ch.inflight {
		s.flight.Wait()
	}
	ch.fastRef = nil
	s.mu.Unlock()
}

// openFast lets eligible children restart on the fast path, from the end of
// the supervisor's Init on.
func (s *supervisor) openFast() {
	s.mu.Lock()
	s.open = true
	s.mu.Unlock()
}

// closeFast ends the fast path for good, once the restarts in flight have
// finished: the supervisor stops.
func (s *supervisor) closeFast() {
	s.mu.Lock()
	s.open = false
	for s.inflight > 0 {
		s.flight.Wait()
	}
	s.mu.Unlock()
}

// onFastFailed carries on a fast restart that gave no running child, as
// start and runRestart do after a failed start (or a factory's Ignore),
// unless the supervisor has dealt with the child meanwhile.
func (s *supervisor) onFastFailed(c *actor.Context, m fastFailed) {
	ch := m.ch
	if ch.ref != m.ref || ch.state != Running || !ch.listed {
		return
	}
	if m.ignored {
		s.retire(ch)
		return
	}
	s.claim(ch)
	s.setState(ch, Restarting)
	now := s.env.clock.Now()
	if !s.allow(now) {
		s.giveUp(c, ErrIntensityExceeded, ch.id, m.err)
		return
	}
	delay, attempt := s.nextAttempt(ch, now)
	g := &group{attempt: attempt}
	g.one[0] = ch
	g.children = g.one[:]
	s.schedule(c, g, ch, delay, true)
}
