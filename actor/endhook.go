package actor

// End hooks release, as part of an end, what an actor holds in the name of
// one incarnation (OnIncarnationEnd): they run on the goroutine that ends it,
// before anyone can learn of that end (its parent, its Restarter, Done,
// monitors, links), so that whoever does sees it released. AfterStop, by
// contrast, is how others learn of the end, and runs after it.

// endHooks are an actor's end hooks, by id. They are guarded by Ref.mu and
// taken out (set to nil) by the end that runs them.
type endHooks struct {
	inc map[uint64]func(*Ref, error) // end with the running incarnation
}

// OnIncarnationEnd arranges for f to run once, with the reason, when the
// actor's running incarnation ends, whatever ends it: a crash or a return
// that suspends a supervised actor, Suspend, an Init that fails, a restart
// in place, or the actor's end for good (Kill included). It is what makes a
// registry's group membership end with the incarnation that joined: a
// restart keeps the Ref, but, as a restart in OTP makes a new process, the
// new incarnation starts with none of the old one's memberships.
//
// f runs on the goroutine that ends the incarnation, after Terminate and
// before the parent, the Restarter, Done, monitors and links learn of the
// end. It must be quick, must not block, and must not wait for the actor.
// Made between two incarnations (a supervised actor waiting for its
// restart), it is for the next one. On an actor that has stopped for good,
// f runs at once, on the caller's goroutine, with the exit reason; on a nil
// Ref, with ErrNilActor. The returned function cancels f and reports
// whether it did so before f ran.
func (r *Ref) OnIncarnationEnd(f func(ref *Ref, reason error)) (cancel func() bool) {
	if r.invalid() {
		f(r, ErrNilActor)
		return noCancel
	}
	id := watchSeq.Add(1)
	r.mu.Lock()
	if r.ended() {
		reason := r.x.reason
		r.mu.Unlock()
		f(r, reason)
		return noCancel
	}
	x := r.more()
	if x.ends == nil {
		x.ends = new(endHooks)
	}
	if x.ends.inc == nil {
		x.ends.inc = make(map[uint64]func(*Ref, error))
	}
	x.ends.inc[id] = f
	r.mu.Unlock()
	return func() bool { return r.dropEndHook(id) }
}

func noCancel() bool { return false }

// dropEndHook removes the end hook id, and reports whether it was there.
func (r *Ref) dropEndHook(id uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.x == nil || r.x.ends == nil {
		return false
	}
	_, ok := r.x.ends.inc[id]
	delete(r.x.ends.inc, id)
	return ok
}

// takeIncarnationHooks returns the end hooks of the running incarnation and
// forgets them: hooks made from now on are for the next incarnation. r.mu
// must be held.
func (r *Ref) takeIncarnationHooks() map[uint64]func(*Ref, error) {
	if r.x == nil || r.x.ends == nil {
		return nil
	}
	fs := r.x.ends.inc
	r.x.ends.inc = nil
	return fs
}

// runEndHooks runs the end hooks fs of r, ended with reason, without locks
// held.
func runEndHooks(fs map[uint64]func(*Ref, error), r *Ref, reason error) {
	for _, f := range fs {
		f(r, reason)
	}
}
