package actor

// End hooks release, as part of an end, what an actor holds in the name of
// one incarnation (OnIncarnationEnd) or of its whole life (OnStop): they run
// on the goroutine that ends it, before anyone can learn of that end (its
// parent, its Restarter, Done, monitors, links), so that whoever does sees
// it released. AfterStop, by contrast, is how others learn of the end, and
// runs after it.

// endHooks are an actor's end hooks, by id. They are guarded by Ref.mu and
// taken out (set to nil) by the end that runs them.
type endHooks struct {
	inc  map[uint64]func(*Ref, error) // end with the running incarnation
	life map[uint64]func(*Ref, error) // end with the actor
	// running counts the incarnation ends whose hooks run, outside Ref.mu;
	// an end for good that comes meanwhile (a Kill) leaves the rest of its
	// announcement in then, for the last of them to make once they have
	// run: waiting for them could be waiting for itself (a hook that kills
	// an actor whose end kills this one). Both under Ref.mu.
	running int
	then    func()
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
// end. It must be quick, must not block, and must neither wait for the
// actor nor stop it: its end for good waits for hooks that are running. A
// panic in f is logged with its stack, and the end goes on; a nil f is
// ignored. Made between two incarnations (a supervised actor waiting for its
// restart), it is for the next one. On an actor that has stopped for good,
// f runs at once, on the caller's goroutine, with the exit reason; on a nil
// Ref, with ErrNilActor. The returned function cancels f and reports
// whether it did so before f ran.
func (r *Ref) OnIncarnationEnd(f func(ref *Ref, reason error)) (cancel func() bool) {
	return r.onEnd(false, f)
}

// OnStop arranges for f to run once, with the exit reason, when the actor
// stops for good (not when a supervised actor restarts): as part of that
// end, on the goroutine that ends it, after the running incarnation's
// OnIncarnationEnd hooks and before Done closes and the parent, monitors,
// links and AfterStop learn of it. It is how a registry releases a name:
// whoever learns of the end finds the name free. The rules of
// OnIncarnationEnd apply otherwise: f must be quick and must not block; on an
// actor that has stopped, it runs at once; cancel reports whether it
// cancelled f before it ran.
func (r *Ref) OnStop(f func(ref *Ref, reason error)) (cancel func() bool) {
	return r.onEnd(true, f)
}

func (r *Ref) onEnd(life bool, f func(*Ref, error)) (cancel func() bool) {
	if f == nil {
		return noCancel
	}
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
	m := &x.ends.inc
	if life {
		m = &x.ends.life
	}
	if *m == nil {
		*m = make(map[uint64]func(*Ref, error))
	}
	(*m)[id] = f
	r.mu.Unlock()
	// Two closures rather than one that captures life: a closure of r and
	// id fits 24 bytes, one more field takes it to 32 (the registry makes
	// one per name and per group membership).
	if life {
		return func() bool { return r.dropEndHook(id, true) }
	}
	return func() bool { return r.dropEndHook(id, false) }
}

func noCancel() bool { return false }

// dropEndHook removes the end hook id, made by OnStop if life, else by
// OnIncarnationEnd, and reports whether it was there.
func (r *Ref) dropEndHook(id uint64, life bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.x == nil || r.x.ends == nil {
		return false
	}
	m := r.x.ends.inc
	if life {
		m = r.x.ends.life
	}
	_, ok := m[id]
	delete(m, id)
	return ok
}

// takeIncarnationHooks returns the end hooks of the running incarnation and
// forgets them: hooks made from now on are for the next incarnation. The
// caller runs them with runIncarnationHooks. r.mu must be held.
func (r *Ref) takeIncarnationHooks() map[uint64]func(*Ref, error) {
	if r.x == nil || r.x.ends == nil || len(r.x.ends.inc) == 0 {
		return nil
	}
	fs := r.x.ends.inc
	r.x.ends.inc = nil
	r.x.ends.running++
	return fs
}

// runIncarnationHooks runs the hooks that takeIncarnationHooks took, without
// locks held, then the rest of an end for good that came meanwhile, if
// these were the last to run.
func (r *Ref) runIncarnationHooks(fs map[uint64]func(*Ref, error), reason error) {
	if fs == nil {
		return
	}
	runEndHooks(fs, r, reason)
	r.mu.Lock()
	h := r.x.ends // x and ends, once made, stay
	h.running--
	var then func()
	if h.running == 0 {
		then, h.then = h.then, nil
	}
	r.mu.Unlock()
	if then != nil {
		then()
	}
}

// takeEndHooks returns every end hook left, for the actor's end for good:
// those of the running incarnation (a Kill ends it without endIncarnation;
// a suspended actor's are for a restart that will not come), then those of
// its life. r.mu must be held.
func (r *Ref) takeEndHooks() (inc, life map[uint64]func(*Ref, error)) {
	if r.x == nil || r.x.ends == nil {
		return nil, nil
	}
	h := r.x.ends
	inc, life = h.inc, h.life
	h.inc, h.life = nil, nil
	return inc, life
}

// runEndHooks runs the end hooks fs of r, ended with reason, without locks
// held.
func runEndHooks(fs map[uint64]func(*Ref, error), r *Ref, reason error) {
	for _, f := range fs {
		r.runGuarded(f, reason, "panic in end hook")
	}
}

// runGuarded runs f, a function the user gave to be told of r's end, and
// logs a panic of it (with msg) rather than let it cut the end short: its
// bug must not keep the other functions from running, nor the parent, Done
// and the rest from learning of the end, nor reach the dispatch loop, which
// would take it for a crash of an incarnation that has ended.
func (r *Ref) runGuarded(f func(*Ref, error), reason error, msg string) {
	defer func() {
		if v := recover(); v != nil {
			r.logPanic(newPanicError(v, nil), msg)
		}
	}()
	f(r, reason)
}
