package actor

// The fast path of a supervised restart (see Restarter): the actor whose
// incarnation ended asks its Restarter on its own goroutine, and restarts in
// place at once, instead of suspending and waiting for its parent.

// restartInPlace offers the end of the current incarnation to rs. It reports
// false if rs leaves it to the parent; true if rs decided, in which case the
// actor runs its next incarnation, or is suspended without a ChildExit, and
// the caller gives up the consumer side.
func (r *Ref) restartInPlace(rs Restarter, reason error) bool {
	next, decided := rs.RestartNow(r, reason)
	if !decided {
		return false
	}
	err := ErrNilActor
	if next != nil {
		err = r.reincarnate(next)
	}
	if err == nil {
		rs.Restarted(r, nil)
		r.launch()
		return true
	}
	// As a failed Restart: suspended, waiting for the parent, whom the
	// Restarter tells.
	r.state.Store(stateSuspended)
	r.wakeSuspendWaiters()
	rs.Restarted(r, err)
	if p := r.pending.Load(); p != nil && p.final && r.state.CompareAndSwap(stateSuspended, stateRunning) {
		r.finish(p.reason)
	}
	return true
}

// reincarnate starts a as the next incarnation, as Restart does, on the
// goroutine that owns the consumer side. On failure the count of
// incarnations is left as it was.
func (r *Ref) reincarnate(a Actor) error {
	if t, ok := a.(*task); ok && (t == nil || t.fn == nil) {
		return ErrNilActor
	}
	if p := r.pending.Load(); p != nil {
		if p.final {
			return ErrStopped
		}
		r.pending.CompareAndSwap(p, nil) // aimed at the incarnation that ended
	}
	if _, isTask := a.(*task); isTask != (r.wake != nil) {
		return ErrInvalidOption
	}
	r.inc.Add(1)
	r.c.reset()
	if err := r.start(a); err != nil {
		r.inc.Add(^uint64(0)) // the incarnation that failed to start never was
		return err
	}
	return nil
}
