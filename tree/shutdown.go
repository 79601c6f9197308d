package tree

import (
	"context"
	"errors"
	"time"

	"github.com/arbor-go/arbor/actor"
)

// StopReport is what a Stop had to do beyond asking politely.
type StopReport struct {
	// Killed names (by path) the children killed because they did not stop
	// within their shutdown timeout.
	Killed []string
	// Abandoned names every child whose goroutine Arbor stopped waiting for
	// (the killed and the stuck): Go cannot end a goroutine, so their code
	// may still be running, cut off from the tree.
	Abandoned []string
	// Stuck names the children still running when the whole stop's time
	// (the Stop context, or the sum of shutdown timeouts plus ShutdownGrace)
	// ran out; they were killed then.
	Stuck []string
	// Err is the context's error if the stop did not finish in time, or nil.
	Err error
}

// shutdown stops one child, as OTP's shutdown: brutal kill at once, or ask it
// to stop and wait for its timeout (or without limit), then kill. bound, if
// not nil, caps the wait for the whole stop; a child that outlives it is
// stuck.
func (s *supervisor) shutdown(ch *child, bound context.Context) {
	s.shutdownWith(ch, bound, ch.r, &s.timer)
}

// shutdownWith is shutdown with the shutdown setting r to stop ch with (see
// stopBudget.plan) and the timer to wait with: *timer, made on first use and kept
// for the next stops, or, if timer is nil (children stopped in parallel),
// one of its own.
func (s *supervisor) shutdownWith(ch *child, bound context.Context, r resolved, timer **time.Timer) {
	if ev, ok := s.stopChild(ch, bound, r, timer); ok {
		s.env.emit(ev, ch.r.restart.String())
	}
}

// stopChild is shutdownWith without the event, which it returns, and false
// if ch had no live actor to stop.
func (s *supervisor) stopChild(ch *child, bound context.Context, r resolved, timer **time.Timer) (Event, bool) {
	s.claim(ch)
	ref := ch.ref
	ch.ref = nil
	if ref == nil || !ref.Alive() {
		return Event{}, false
	}
	if bound == nil {
		bound = context.Background()
	}
	ev := Event{Kind: ChildTerminated, Supervisor: s.path, Child: ch.id, Ref: ref, Reason: actor.ErrShutdown}
	switch {
	case ref.Suspended():
		_ = ref.Stop(context.Background()) // ends at once
	case r.mode == shutdownBrutal:
		ref.Kill()
		ev.Reason = actor.ErrKilled
	default:
		start := time.Now()
		if !stopWithin(ref, r, bound, timer) {
			// Stuck if the whole stop ran out first (see stopBudget),
			// killed if the child's own timeout did.
			stuck := bound.Err() != nil && (r.mode != shutdownTimeout || time.Since(start) < r.timeout)
			if ch.sub != nil {
				// A child supervisor killed now stops nothing below it:
				// what still runs there is ended, and named as it is,
				// first.
				ch.sub.abandon(stuck)
			}
			ref.Kill()
			ev.Reason = actor.ErrKilled
			name := s.path + "/" + ch.id
			if stuck {
				ev.Kind = Stuck
				s.env.noteStuck(name)
			} else {
				ev.Kind = ChildKilled
				s.env.noteKilled(name)
			}
		}
	}
	return ev, true
}

// expired is a context that has ended: Stop(expired) asks an actor to stop
// and returns without waiting.
var expired = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// stopWithin asks ref to stop for good and waits until it has (true), or
// until its shutdown timeout or bound runs out (false). It makes no context
// of its own, and reuses *timer if timer is not nil: a supervisor of many
// children stops them one after another.
func stopWithin(ref *actor.Ref, r resolved, bound context.Context, timer **time.Timer) bool {
	_ = ref.Stop(expired)
	done := ref.Done()
	select {
	case <-done:
		return true
	default:
	}
	var timeout <-chan time.Time
	if r.mode == shutdownTimeout {
		var t *time.Timer
		switch {
		case timer == nil:
			t = time.NewTimer(r.timeout)
		case *timer == nil:
			t = time.NewTimer(r.timeout)
			*timer = t
		default:
			t = *timer
			t.Reset(r.timeout)
		}
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-done:
		return true
	case <-timeout:
	case <-bound.Done():
	}
	select { // the end may have come with the deadline
	case <-done:
		return true
	default:
		return false
	}
}

// suspend ends the current incarnation of ch, a collateral child of a
// OneForAll or RestForOne restart, without ending ch: it runs Terminate and
// waits, Ref and mailbox intact, for its restart in place (see
// actor.Ref.Suspend). The wait is bounded as a shutdown: a brutal kill kills
// at once, and a child that outlives its shutdown timeout is killed and
// reported; a killed child starts afresh, with a new Ref. A child already
// suspended (its own exit waits for a restart) is left as it is.
func (s *supervisor) suspend(ch *child) {
	s.claim(ch)
	ref := ch.ref
	if ref == nil || ref.Suspended() {
		return
	}
	if !ref.Alive() {
		ch.ref = nil
		return
	}
	ev := Event{Kind: ChildTerminated, Supervisor: s.path, Child: ch.id, Ref: ref, Reason: actor.ErrShutdown}
	if ch.r.mode == shutdownBrutal {
		ref.Kill()
		ch.ref = nil
		ev.Reason = actor.ErrKilled
		s.env.emit(ev, ch.r.restart.String())
		return
	}
	ctx, cancel := context.Background(), context.CancelFunc(func() {})
	if ch.r.mode == shutdownTimeout {
		ctx, cancel = context.WithTimeout(ctx, ch.r.timeout)
	}
	err := ref.Suspend(ctx, actor.ErrShutdown)
	cancel()
	switch {
	case err == nil:
	case errors.Is(err, actor.ErrStopped):
		ch.ref = nil // it stopped for good meanwhile: its restart spawns anew
		ev.Reason = ref.Err()
	default: // its shutdown timeout ran out
		ref.Kill()
		ch.ref = nil
		ev.Kind, ev.Reason = ChildKilled, actor.ErrKilled
		s.env.noteKilled(s.path + "/" + ch.id)
	}
	s.env.emit(ev, ch.r.restart.String())
}

// stopAll stops every child in reverse start order and cancels pending
// restarts. Temporary children are dropped, as OTP does on a shutdown. b
// bounds the whole stop (see stopBudget).
func (s *supervisor) stopAll(b *stopBudget) {
	for token, g := range s.pending {
		if g.timer != nil {
			g.timer.Stop()
		}
		delete(s.pending, token)
	}
	if s.dyn != nil {
		s.stopParallel(b)
		s.releaseAll()
		s.clearChildren()
		return
	}
	for ch := range s.children.backward() {
		bound, r, cancel := b.plan(ch)
		start := time.Now()
		s.shutdownWith(ch, bound, r, &s.timer)
		cancel()
		b.spend(r, time.Since(start))
		if ch.state == Running || ch.state == Restarting {
			s.setState(ch, Restarting)
		}
	}
}

// stopBudget bounds a whole stop of a supervisor twice: by outer, at the
// root the context of the Stop call (below it, none: the parent cuts a stop
// that outlives its share), and by the budget (see budget), which only the
// waits for the children spend, each child's at most its own timeout: the
// stop's own work between them (a kill, an event) is no child's, and must
// not cut the last child's timeout short. A child whose timeout fits in what
// is left of the budget waits for it in full; one whose timeout does not
// fit, or that has none, waits for what is left, and is stuck if it
// outlives that.
type stopBudget struct {
	outer   context.Context
	left    time.Duration
	bounded bool
}

// stopBudget returns the bounds of a whole stop of s, from now.
func (s *supervisor) stopBudget() *stopBudget {
	b := &stopBudget{outer: context.Background()}
	if s.root != nil {
		if c := s.root.stopContext(); c != nil {
			b.outer = c
		}
	}
	b.left, b.bounded = s.budget()
	return b
}

// unbounded is the budget of a stop bounded by nothing (a start that
// failed stops what it started as OTP does, without limit).
func unbounded() *stopBudget { return &stopBudget{outer: context.Background()} }

// stopMargin is the time a child supervisor is given, beyond its budget, to
// take its parent's request to stop and begin its own.
const stopMargin = time.Second

// plan returns what bounds the stop of ch, and the shutdown setting to stop
// it with: its own, but for a child supervisor without a timeout of its own
// whose own stop is bounded. That one bounds itself, with the budget its
// parent counted for it, and kills and reports what outlives it; it is
// given that budget plus stopMargin as a shutdown timeout: a supervisor busy
// in a message when asked to stop (a child's Init that blocks) cannot hold
// the stop up for longer. cancel releases the bound.
func (b *stopBudget) plan(ch *child) (bound context.Context, r resolved, cancel context.CancelFunc) {
	r = ch.r
	if r.mode == shutdownInfinity && ch.sub != nil {
		if d, ok := ch.share(); ok {
			r.mode, r.timeout = shutdownTimeout, d
		}
	}
	if !b.bounded || r.mode == shutdownBrutal || r.mode == shutdownTimeout && r.timeout <= b.left {
		return b.outer, r, func() {}
	}
	bound, cancel = context.WithTimeout(b.outer, b.left)
	return bound, r, cancel
}

// spend counts in the budget the wait for a child stopped with r, which
// lasted took: at most the child's own timeout.
func (b *stopBudget) spend(r resolved, took time.Duration) {
	if r.mode == shutdownTimeout {
		took = min(took, r.timeout)
	}
	b.left = max(b.left-took, 0)
}

// budget is the longest a stop of this supervisor takes when its children
// honour their shutdown settings, counted on the children it has now (those
// added by StartChild included): the sum of their shares, or, for a dynamic
// supervisor, whose children stop in parallel, the longest share; plus
// ShutdownGrace. A child's share is its shutdown timeout, nothing for a
// brutal kill, and, for a child supervisor without a timeout of its own, that
// supervisor's budget, counted the same way on its own children, plus the
// margin it is given to begin its stop (see stopBudget.plan). A child without any
// limit (ShutdownInfinity, or a supervisor whose budget has none) counts for
// nothing when there is a grace, which then covers it; without a grace it
// makes the budget unbounded (ok false), as OTP's infinity.
//
// It may be called from the parent's goroutine: the children list and each
// child's sub are read under mu, taken from the parent down, never up.
func (s *supervisor) budget() (d time.Duration, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var total time.Duration
	bounded := true
	for ch := range s.children.all() {
		share, limited := ch.share()
		if s.dyn != nil {
			total = max(total, share)
		} else {
			total += share
		}
		bounded = bounded && limited
	}
	grace := s.spec.ShutdownGrace
	return total + grace, bounded || grace > 0
}

// share is ch's part of its supervisor's budget (see budget). The
// supervisor's mu must be held, unless the caller is its goroutine.
func (ch *child) share() (time.Duration, bool) {
	switch {
	case ch.r.mode == shutdownTimeout:
		return ch.r.timeout, true
	case ch.r.mode == shutdownBrutal:
		return 0, true
	case ch.r.spec.kind == kindSupervisor || ch.r.spec.kind == kindDynamic:
		if ch.sub == nil {
			return 0, true // never started: nothing to stop
		}
		d, ok := ch.sub.budget()
		return d + stopMargin, ok // the margin it is given (see stopBudget.plan)
	}
	return 0, false
}

// abandon ends what still runs below s, a supervisor about to be killed,
// which will stop none of it: every child, leaves first, is killed and
// named stuck, if s outlived the whole stop's time, or else killed, as s is
// (a suspended one just ends); so is the child whose start held s busy, if
// its actor is not known yet (its factory or Init still runs, on s's
// goroutine). It runs on the goroutine of the stop, not s's: it reads only
// what is written under the supervisors' mu.
func (s *supervisor) abandon(stuck bool) {
	note := s.env.noteKilled
	if stuck {
		note = s.env.noteStuck
	}
	type kid struct {
		id  string
		ref *actor.Ref
		sub *supervisor
	}
	s.mu.Lock()
	var kids []kid
	for ch := range s.children.backward() {
		kids = append(kids, kid{ch.id, ch.spawned, ch.sub})
	}
	if ch := s.starting; ch != nil && (ch.spawned == nil || !ch.spawned.Alive()) {
		note(s.path + "/" + ch.id)
	}
	s.mu.Unlock()
	for _, k := range kids {
		if k.sub != nil {
			k.sub.abandon(stuck)
		}
		switch {
		case k.ref == nil || !k.ref.Alive():
		case k.ref.Suspended():
			_ = k.ref.Stop(expired)
		default:
			k.ref.Kill()
			note(s.path + "/" + k.id)
		}
	}
}
