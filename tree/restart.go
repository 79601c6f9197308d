package tree

import (
	"errors"
	"slices"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/strategy"
)

// classify maps an exit reason to the kind restart decisions depend on.
func classify(reason error) strategy.Exit {
	switch {
	case reason == nil:
		return strategy.ExitNormal
	case errors.Is(reason, actor.ErrShutdown):
		return strategy.ExitShutdown
	}
	return strategy.ExitAbnormal
}

// onExit handles the end of a child's incarnation (Final false: the child
// is suspended, waiting for a decision) or of the child itself when someone
// else stopped it for good.
func (s *supervisor) onExit(c *actor.Context, m actor.ChildExit) {
	ch := s.findRef(m.Child)
	if ch == nil {
		return // an actor the supervisor already stopped or replaced
	}
	if m.Requested && !m.Final {
		s.onSuspended(ch, m)
		return
	}
	if ch.state != Running {
		return // stopped or restarting already
	}
	if !m.Final && (m.Incarnation != m.Child.Incarnation() || !m.Child.Suspended()) {
		return // stale
	}
	s.claim(ch)
	if m.Final {
		ch.ref = nil // gone for good: a restart spawns a new actor
	}
	restart := ch.r.restart.String()
	s.env.emit(Event{Kind: ChildExited, Supervisor: s.path, Child: ch.id, Ref: m.Child,
		Reason: m.Reason, Stack: stackOf(m.Reason)}, restart)
	if !ch.r.restart.ShouldRestart(classify(m.Reason)) {
		s.retire(ch)
		if ch.r.isSignif && s.spec.AutoShutdown.Triggered(true, s.significantActive()) {
			s.giveUp(c, ErrAutoShutdown, ch.id, m.Reason)
		}
		return
	}
	now := s.env.clock.Now()
	if !s.allow(now) {
		s.giveUp(c, ErrIntensityExceeded, ch.id, m.Reason)
		return
	}
	if s.spec.Strategy == strategy.OneForOne {
		// The common case, kept cheap: no plan, no siblings, and for a
		// restart at once no group kept beyond this call.
		s.setState(ch, Restarting)
		delay, attempt := s.nextAttempt(ch, now)
		if delay > 0 {
			g := &group{attempt: attempt}
			g.one[0] = ch
			g.children = g.one[:]
			s.schedule(c, g, ch, delay, false)
			return
		}
		one := [1]*child{ch}
		s.restartNow(c, &group{children: one[:], attempt: attempt}, ch)
		return
	}
	g := s.collateral(ch)
	delay, attempt := s.nextAttempt(ch, now)
	g.attempt = attempt
	s.schedule(c, g, ch, delay, false)
}

// collateral carries out what OneForAll and RestForOne do to the siblings of
// ch, which exited and is to be restarted, and returns the group to restart,
// in start order. The siblings are stopped in reverse start order: the
// temporary ones end for good and their specs are dropped, as in OTP; the
// others are suspended (see suspend), to be restarted in place with their
// Refs and queued messages. A child waiting for a slot under MaxRunning
// (a temporary one too) has not started: it keeps its place in the queue.
func (s *supervisor) collateral(ch *child) *group {
	affected := s.children.slice()
	kinds := make([]strategy.Restart, len(affected))
	for i, x := range affected {
		kinds[i] = x.r.restart
	}
	at := slices.Index(affected, ch)
	plan, err := s.spec.Strategy.Plan(kinds, at)
	if err != nil { // cannot happen for a validated spec
		plan = strategy.Plan{Start: []int{at}}
	}
	temporary := make(map[int]bool, len(plan.Remove))
	for _, i := range plan.Remove {
		temporary[i] = true
	}
	for _, i := range plan.Stop {
		x := affected[i]
		switch {
		case x.state == Waiting:
		case temporary[i]:
			s.shutdown(x, nil)
		default:
			s.suspend(x)
		}
	}
	for _, i := range plan.Remove {
		if x := affected[i]; x.state != Waiting {
			s.remove(x)
		}
	}
	g := &group{children: make([]*child, 0, len(plan.Start))}
	for _, i := range plan.Start {
		x := affected[i]
		switch {
		case x == ch || x.state == Running || x.state == Restarting:
		case x.state == Waiting:
			continue
		case s.mustWait(x):
			// A stopped child that OTP would start again, but no slot is
			// free, or one is and goes to a child queued before (see admit).
			s.queue(x)
			continue
		}
		s.setState(x, Restarting)
		g.children = append(g.children, x)
	}
	return g
}

// onSuspended handles the ChildExit of an incarnation ended through Suspend.
// It is no crash: no restart decision, no intensity, no crash report. When
// the supervisor suspended the child itself (a collateral stop), the child
// has been restarted since, or waits for its restart: nothing is left to do.
// A running child that someone else suspended, bypassing its supervisor, is
// treated as if terminated by TerminateChild: it ends for good and stays
// stopped (a temporary one, or any child of a dynamic supervisor, is
// dropped).
func (s *supervisor) onSuspended(ch *child, m actor.ChildExit) {
	if ch.state != Running || m.Incarnation != m.Child.Incarnation() || !m.Child.Suspended() {
		return
	}
	s.retire(ch)
	s.env.emit(Event{Kind: ChildTerminated, Supervisor: s.path, Child: ch.id, Ref: m.Child,
		Reason: m.Reason}, ch.r.restart.String())
}

// schedule restarts g after delay: at once, within this Receive, for the
// first attempt without backoff; otherwise
// through a restartDue message, so that API calls and other exits are
// handled between attempts (OTP's try_again_restart).
func (s *supervisor) schedule(c *actor.Context, g *group, ch *child, delay time.Duration, retry bool) {
	if delay <= 0 && !retry {
		s.restartNow(c, g, ch)
		return
	}
	ev := s.restarting(g, ch, delay)
	token, self := restartTokens.Add(1), s.self
	s.pending[token] = g
	g.token = token
	for _, x := range g.children {
		x.due = token // a child waits in one group: the last it joined
	}
	// The timer is set before the event goes out, so that a test that sees
	// the event can move a fake clock past it.
	g.timer = s.env.clock.AfterFunc(delay, func() { _ = self.Send(restartDue{token: token}) })
	s.env.emit(ev, ch.r.restart.String())
}

// restarting returns the ChildRestarting event of g, restarted for ch after
// delay.
func (s *supervisor) restarting(g *group, ch *child, delay time.Duration) Event {
	s.mu.Lock()
	restarts := s.window.Restarts(s.env.clock.Now())
	s.mu.Unlock()
	return Event{Kind: ChildRestarting, Supervisor: s.path, Child: ch.id, Ref: ch.ref,
		Delay: delay, Attempt: g.attempt, Restarts: restarts}
}

// restartNow reports and carries out the restart of g, for ch, at once. g is
// not kept: it may live on the caller's stack.
func (s *supervisor) restartNow(c *actor.Context, g *group, ch *child) {
	for _, x := range g.children {
		x.due = 0
	}
	s.env.emit(s.restarting(g, ch, 0), ch.r.restart.String())
	s.runRestart(c, g)
}

// runRestart starts g's children in order. A child that fails to start
// counts as one more restart against the intensity and is retried after its
// backoff, as OTP does: with the children after it, and, under OneForAll,
// with the ones started before it too, stopped again (in reverse order) so
// that the whole group starts together, in order, and the ones whose
// factories said Ignore asked again, as OTP calls every start function again.
func (s *supervisor) runRestart(c *actor.Context, g *group) {
	var ignored []*child // their factories said Ignore on this attempt
	for i, ch := range g.children {
		if ch.state != Restarting || !ch.listed || ch.due != g.token {
			// Terminated or deleted meanwhile, or restarted by another
			// group since: one that it joined later (a sibling's group
			// restart), or one of a later crash, after TerminateChild and
			// RestartChild.
			continue
		}
		err := s.start(ch, g.attempt)
		if err == nil {
			if ch.state == Stopped && ch.listed {
				ignored = append(ignored, ch)
			}
			continue
		}
		now := s.env.clock.Now()
		if !s.allow(now) {
			s.giveUp(c, ErrIntensityExceeded, ch.id, err)
			return
		}
		delay, attempt := s.nextAttempt(ch, now)
		retry := g.children[i:]
		if s.spec.Strategy == strategy.OneForAll {
			for j := i - 1; j >= 0; j-- {
				if x := g.children[j]; x.due == g.token && x.state == Running {
					s.suspend(x)
					s.setState(x, Restarting)
				}
			}
			retry = g.children
		}
		rest := &group{attempt: attempt}
		for _, x := range retry {
			switch {
			case x.due == g.token && x.state == Restarting: // still this group's to restart
			case slices.Contains(ignored, x) && x.state == Stopped:
				// OTP's retry calls every start function of the group
				// again, one that said ignore too. The attempt is void,
				// so the child takes back the place it gave up in this
				// message, ahead of the queue, if it is still free.
				if s.full() || !s.take(x) {
					s.queue(x)
					continue
				}
				s.setState(x, Restarting)
			default:
				continue
			}
			rest.children = append(rest.children, x)
		}
		s.schedule(c, rest, ch, delay, true)
		return
	}
}

// allow records a restart in the intensity window and reports whether it
// stays within the intensity.
func (s *supervisor) allow(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.window.Allow(now)
}

// nextAttempt counts a restart attempt of ch and returns its backoff delay.
func (s *supervisor) nextAttempt(ch *child, now time.Time) (time.Duration, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ch.bo.Next(ch.r.backoff, now, s.env.rnd)
}

// significantActive counts the significant children still running, about to
// restart, or waiting for a slot under MaxRunning, which they will have.
func (s *supervisor) significantActive() int {
	n := 0
	for ch := range s.children.all() {
		if ch.r.isSignif && (ch.state.holds() || ch.state == Waiting) {
			n++
		}
	}
	return n
}

// giveUp stops every child in reverse order and ends the supervisor's
// incarnation with a shutdown, which its parent handles as any child exit:
// that is how failure escalates up the tree.
func (s *supervisor) giveUp(c *actor.Context, cause error, childID string, last error) {
	s.closeFast() // the window is the supervisor's alone from now on
	if cause == ErrIntensityExceeded {
		s.env.emit(Event{Kind: IntensityExceeded, Supervisor: s.path, Child: childID, Ref: s.self,
			Reason: last, Restarts: s.window.Restarts(s.env.clock.Now())}, "")
	}
	s.env.noteStopping(s)
	s.stopAll(s.stopBudget())
	s.ending = true
	c.Stop(&ExitReason{Supervisor: s.path, Child: childID, Cause: cause, Last: last})
}
