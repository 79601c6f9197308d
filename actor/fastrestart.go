package actor

// The fast path of a supervised restart (see Restarter): the actor whose
// incarnation ended asks its Restarter on its own goroutine, and restarts in
// place at once, instead of suspending and waiting for its parent.

// restartInPlace offers the end of the current incarnation to rs. decided is
// false if rs leaves it to the parent. Otherwise running tells whether the
// next incarnation runs, in which case the caller keeps the consumer side and
// goes on dispatching on its goroutine; if not, the actor is suspended
// without a ChildExit and the caller gives the consumer side up.
//
// calls are the calls the ending incarnation owes: once the restart is
// decided, they fail at once, not after the next incarnation's Init, unless
// a stop for good came meanwhile (they then fail through Done).
func (r *Ref) restartInPlace(rs Restarter, reason error, calls owed) (decided, running bool) {
	// A Restarter is code of the user's, run on the actor's goroutine as
	// its incarnation ends: a panic of it is logged, rather than let reach
	// the dispatch loop, which would end the incarnation a second time. A
	// panic in RestartNow is taken for a decline, so that the parent
	// decides; one in Restarted leaves the outcome as it was set before.
	asked := false
	defer func() {
		if v := recover(); v != nil {
			r.logPanic(newPanicError(v, nil), "panic in a Restarter")
			if !asked {
				decided, running = false, false
			}
		}
	}()
	next, decided := rs.RestartNow(r, reason)
	asked = true
	if !decided {
		return false, false
	}
	if p := r.pending.Load(); p == nil || !p.final {
		calls.fail(r, reason)
	}
	err := ErrNilActor
	if next != nil {
		err = r.reincarnate(next)
	}
	if err == nil {
		decided, running = true, true // the caller goes on dispatching
		rs.Restarted(r, nil)
		return decided, running
	}
	// As a failed Restart: suspended, waiting for the parent, whom the
	// Restarter tells; or, if a stop for good came meanwhile, stopped before
	// the Restarter hears of it, so that it tells that end (no longer
	// Alive) from an Init whose error wraps ErrStopped (still Suspended).
	r.state.Store(stateSuspended)
	r.wakeSuspendWaiters()
	if p := r.pending.Load(); p != nil && p.final && r.state.CompareAndSwap(stateSuspended, stateRunning) {
		r.finish(p.reason)
	}
	decided, running = true, false
	rs.Restarted(r, err)
	return decided, running
}

// reincarnate starts a as the next incarnation, for Restart and for the fast
// path; the caller owns the consumer side. On failure the count of
// incarnations is left as it was, and ErrStopped means that a final exit
// request waits: the caller suspends the actor and finishes it. On success,
// the linked exits that came while no incarnation ran, or while Init ran,
// are the new incarnation's: trapped as it has chosen, or the first
// abnormal one ends it as soon as it has started.
func (r *Ref) reincarnate(a Actor) error {
	if t, ok := a.(*task); ok && (t == nil || t.fn == nil) {
		return ErrNilActor
	}
	if p := r.pending.Load(); p != nil {
		if p.final {
			return ErrStopped
		}
		// Asked of the incarnation that ended, which it ended with, or
		// which came as it was ending anyway.
		r.pending.CompareAndSwap(p, nil)
	}
	if _, isTask := a.(*task); isTask != (r.wake != nil) {
		return ErrInvalidOption
	}
	// The actor stays between incarnations while Init runs: the linked
	// exits that come meanwhile are carried, and the new incarnation traps
	// them, or not, as it has chosen once Init has run. (linkExit reads the
	// count only once the mark is cleared, below, after it has moved.)
	inc := r.inc.Add(1)
	r.c.reset()
	if err := r.start(a); err != nil {
		// The incarnation that failed to start never was: the carried
		// exits wait for the next that does start.
		r.inc.Add(^uint64(0))
		return err
	}
	// The carried exits are delivered under r.mu, in the same hold as the
	// mark is cleared: a linked exit that comes next, which linkExit
	// delivers at once, comes after them, and so does a Stop that Init
	// called (deferred first, it runs once r.mu is released).
	defer r.stopAfterInit(inc)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.x == nil {
		return nil
	}
	r.wakeEndedWaiters(inc)
	r.x.between = false
	var carried []Exit
	if l := r.x.later; l != nil {
		carried, l.carry = l.carry, nil
	}
	trap := r.trap.Load()&trapNow != 0
	for _, e := range carried {
		switch {
		case trap:
			// In the order they came; the caller owns the consumer side
			// and dispatches next.
			_ = r.mb.PushSystem(e)
		case e.Reason != nil:
			// The first abnormal one ends it, as it ended the incarnation
			// it came to.
			if r.post(&exitRequest{reason: e.Reason, inc: inc}) && r.x.ctx != nil {
				r.x.ctx.cancel(e.Reason)
			}
			return nil
		}
	}
	return nil
}
