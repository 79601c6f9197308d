package actor

// Restart resumes a suspended supervised actor (see WithParent) with a fresh
// behaviour, as its next incarnation: same Ref, same mailbox and the messages
// queued in it, a new Context. Init, if any, runs on the calling goroutine,
// and its error fails the restart and leaves the actor suspended. Restart
// fails with ErrNotSuspended if the actor is not waiting for a restart and
// ErrStopped if it has stopped for good.
func (r *Ref) Restart(a Actor) error {
	if a == nil {
		return ErrNilActor
	}
	if t, ok := a.(*task); ok && (t == nil || t.fn == nil) {
		return ErrNilActor
	}
	if !r.state.CompareAndSwap(stateSuspended, stateRunning) {
		if r.state.Load() == stateDead || !r.Alive() {
			return ErrStopped
		}
		return ErrNotSuspended
	}
	if p := r.pending.Load(); p != nil {
		if p.final {
			r.finish(p.reason)
			return ErrStopped
		}
		r.pending.CompareAndSwap(p, nil) // aimed at the incarnation that ended
	}
	_, isTask := a.(*task)
	if isTask != (r.wake != nil) {
		r.state.Store(stateSuspended)
		return ErrInvalidOption
	}
	r.inc.Add(1)
	r.c.reset()
	if err := r.start(a); err != nil {
		r.inc.Add(^uint64(0)) // the incarnation that failed to start never was
		r.state.Store(stateSuspended)
		if p := r.pending.Load(); p != nil && p.final && r.state.CompareAndSwap(stateSuspended, stateRunning) {
			r.finish(p.reason)
		}
		return err
	}
	r.launch()
	return nil
}

// Suspended reports whether the actor waits for its supervisor to restart it.
func (r *Ref) Suspended() bool { return r.state.Load() == stateSuspended }
