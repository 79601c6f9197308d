package actor

import (
	"context"
	"errors"
	"slices"
)

// Restart resumes a suspended supervised actor (see WithParent) with a fresh
// behaviour, as its next incarnation: same Ref, same mailbox and the messages
// queued in it, a new Context. Init, if any, runs on the calling goroutine,
// and its error fails the restart and leaves the actor suspended. If a linked
// actor stopped while this one was suspended, or while Init ran, the new
// incarnation ends of that exit, with its reason, as soon as Init has run,
// or, trapping exits by then, finds it first in its mailbox (see
// Context.Link).
// Restart fails with ErrNotSuspended if the actor is not waiting for a
// restart and ErrStopped if it has stopped for good (then it is no longer
// Suspended, which tells it from an Init error that wraps ErrStopped).
func (r *Ref) Restart(a Actor) error {
	if a == nil || r.invalid() {
		return ErrNilActor
	}
	if t, ok := a.(*task); ok && (t == nil || t.fn == nil) {
		return ErrNilActor
	}
	if !r.state.CompareAndSwap(stateSuspended, stateRunning) {
		if r.state.Load() == stateDead || !r.Alive() {
			return ErrStopped
		}
		if p := r.pending.Load(); p != nil && p.final {
			// A Stop or Kill took the actor from suspended a moment ago
			// and is ending it: it is stopping, not running.
			return ErrStopped
		}
		return ErrNotSuspended
	}
	if err := r.reincarnate(a); err != nil {
		r.state.Store(stateSuspended)
		r.wakeSuspendWaiters() // a Suspend made meanwhile: the actor is suspended again
		if p := r.pending.Load(); p != nil && p.final && r.state.CompareAndSwap(stateSuspended, stateRunning) {
			r.finish(p.reason) // stopped for good meanwhile
		}
		return err
	}
	r.launch()
	return nil
}

// Suspended reports whether the actor waits for its supervisor to restart it
// (false for a nil Ref).
func (r *Ref) Suspended() bool { return r != nil && r.state.Load() == stateSuspended }

// ErrNotSupervised is returned by Suspend for an actor spawned without
// WithParent: only a supervisor can resume it afterwards.
var ErrNotSupervised = errors.New("actor: not supervised")

// Suspend ends the current incarnation of a supervised actor (see WithParent)
// without ending the actor, as a supervisor does to the siblings of a crashed
// child before restarting them (OTP's one_for_all and rest_for_one): the
// actor finishes the message in hand, Terminate runs with reason, the
// incarnation's context is cancelled at once, and the actor waits, Ref and
// mailbox intact, for Restart or Stop. Its parent receives a ChildExit with
// Requested set. Suspend waits until the actor is suspended, or until ctx
// ends (then it returns ctx.Err(): the caller may Kill it). Suspending a
// suspended actor returns nil; a stopped one, ErrStopped. If the incarnation
// ends by itself first, Suspend returns nil once it has: when the actor is
// suspended for its parent, or, with a Restarter, once the next incarnation
// has started in place (see Restarter).
func (r *Ref) Suspend(ctx context.Context, reason error) error {
	if r.invalid() {
		return ErrNilActor
	}
	if ctx == nil {
		return ErrNilContext
	}
	if r.parent == nil {
		return ErrNotSupervised
	}
	wait, inc := r.suspendWaiter() // before the state is read: a suspension after it must wake us
	switch r.state.Load() {
	case stateSuspended:
		r.dropSuspendWaiter(wait)
		return nil
	case stateDead:
		r.dropSuspendWaiter(wait)
		return ErrStopped
	}
	r.request(&exitRequest{reason: reason, inc: inc, suspend: true})
	select {
	case <-wait:
		return nil
	case <-r.Done():
		select {
		case <-wait:
			return nil // it did suspend, and its supervisor then stopped it
		default:
		}
		r.dropSuspendWaiter(wait)
		return ErrStopped
	case <-ctx.Done():
		r.dropSuspendWaiter(wait)
		return ctx.Err()
	}
}

// suspendWaiter returns a channel closed when the actor next suspends, or
// once the incarnation it returns has ended and the next runs (a restart in
// place: see wakeEndedWaiters). The incarnation is read under r.mu, under
// which that wake-up comes: the waiter is woken by the restart that makes a
// request for it stale.
func (r *Ref) suspendWaiter() (chan struct{}, uint64) {
	ch := make(chan struct{})
	r.mu.Lock()
	inc := r.inc.Load()
	l := r.more().wait()
	l.paused = append(l.paused, pauseWaiter{ch: ch, inc: inc})
	r.mu.Unlock()
	return ch, inc
}

// dropSuspendWaiter removes a waiter that will not wait: an actor suspended
// or stopped already would keep it until its next suspension, or for ever.
func (r *Ref) dropSuspendWaiter(ch chan struct{}) {
	r.mu.Lock()
	if r.x != nil && r.x.later != nil {
		l := r.x.later
		l.paused = slices.DeleteFunc(l.paused, func(w pauseWaiter) bool { return w.ch == ch })
	}
	r.mu.Unlock()
}

func (r *Ref) wakeSuspendWaiters() {
	r.mu.Lock()
	if r.x != nil && r.x.later != nil {
		for _, w := range r.x.later.paused {
			close(w.ch)
		}
		r.x.later.paused = nil
	}
	r.mu.Unlock()
}

// wakeEndedWaiters wakes the Suspends made of incarnations before inc, which
// has started in place of the one that ended: the restart overtook their
// requests, which are discarded as stale, and what they asked for (the end
// of the incarnation they saw) has come, as when a crash suspends the actor
// before them. r.mu must be held.
func (r *Ref) wakeEndedWaiters(inc uint64) {
	l := r.x.later
	if l == nil {
		return
	}
	l.paused = slices.DeleteFunc(l.paused, func(w pauseWaiter) bool {
		if w.inc < inc {
			close(w.ch)
			return true
		}
		return false
	})
}

// Restarter is the fast path of a supervisor (see WithRestarter): it decides,
// on the goroutine of a supervised actor whose incarnation has just ended by
// itself (not through Suspend, Stop or Kill), whether that actor is restarted
// at once, and it tells the supervisor's observers what happened. The actor
// then restarts itself in place, as Restart would, without the round trip
// through its parent's mailbox. Both methods run on the actor's goroutine,
// one after the other, and must not wait for the actor itself.
//
// A Suspend that comes while RestartNow decides is overtaken by the restart
// (it was made of the incarnation that ended): it returns nil once the next
// incarnation has started, as it does when a crash suspends the actor before
// it. A supervisor that must suspend the child takes it off its Restarter's
// path first, and waits for a restart under way to finish, as package tree
// does.
type Restarter interface {
	// RestartNow is asked once Terminate has run and the ended
	// incarnation's context is cancelled. decided false leaves the exit to
	// the parent: the actor suspends and the parent receives a ChildExit,
	// as without a Restarter. decided true means the restart has been
	// decided: next is the behaviour of the next incarnation, whose Init
	// runs now, on the actor's goroutine; a nil next suspends the actor
	// without a ChildExit, the Restarter having taken the matter in hand.
	RestartNow(child *Ref, reason error) (next Actor, decided bool)
	// Restarted follows a decided RestartNow. err is nil when the new
	// incarnation runs (it handles no message before Restarted returns).
	// Otherwise the actor is suspended, as after a failed Restart, and err
	// says why: Init's error, ErrNilActor for a nil next; or the actor was
	// stopped for good meanwhile, err is ErrStopped and the actor has
	// already stopped (Alive is false, which tells it from an Init error
	// that wraps ErrStopped; its parent receives a final ChildExit as
	// usual). No ChildExit is sent for the failure itself.
	Restarted(child *Ref, err error)
}
