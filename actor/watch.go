package actor

import "sync/atomic"

// watchers are the actors and functions told when an actor stops for good.
type watchers struct {
	links map[*Ref]struct{}
	fns   map[uint64]func(*Ref, error)
}

var watchSeq atomic.Uint64

// notify tells every watcher that r stopped with reason. It runs once, after r
// is marked stopped, without locks held.
func (w *watchers) notify(r *Ref, reason error) {
	// An empty map is not ranged over: starting the range would cost the
	// common actor, which has no watchers, a frame that can grow its stack.
	if len(w.links) > 0 {
		for l := range w.links {
			l.linkExit(r, reason)
		}
	}
	if len(w.fns) > 0 {
		for _, f := range w.fns {
			r.runGuarded(f, reason, "panic in AfterStop")
		}
	}
}

// addWatch registers f to run when r stops for good. If r's end has been
// made known it returns false and registers nothing; while the end is under
// way (its end hooks run), f is told with the others, once they have run.
func (r *Ref) addWatch(id uint64, f func(*Ref, error)) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.told() {
		return false
	}
	w := &r.more().watch
	if w.fns == nil {
		w.fns = make(map[uint64]func(*Ref, error))
	}
	w.fns[id] = f
	return true
}

func (r *Ref) removeWatch(id uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.x == nil {
		return false
	}
	_, ok := r.x.watch.fns[id]
	delete(r.x.watch.fns, id)
	return ok
}

// AfterStop arranges for f to run, on a goroutine of Arbor's, when the actor
// stops for good, with its exit reason; at once, on the caller's goroutine, if
// it already has. The returned stop function cancels it and reports whether it
// did so before f ran. f must not block: it is how registries and supervisors
// learn of deaths without a goroutine per watched actor. On a nil Ref, f runs
// at once with ErrNilActor. A nil f is ignored.
func (r *Ref) AfterStop(f func(ref *Ref, reason error)) (stop func() bool) {
	if f == nil {
		return noCancel
	}
	if r.invalid() {
		f(r, ErrNilActor) // no actor: as one that has stopped
		return func() bool { return false }
	}
	id := watchSeq.Add(1)
	if !r.addWatch(id, f) {
		f(r, r.Err())
		return func() bool { return false }
	}
	return func() bool { return r.removeWatch(id) }
}

// MonitorRef identifies one monitor, for Demonitor and in the Down message.
type MonitorRef struct {
	target *Ref
	id     uint64
}

// Target returns the monitored actor.
func (m MonitorRef) Target() *Ref { return m.target }

// Monitor asks for a Down message when target stops for good. If target has
// already stopped, the Down comes at once, with its exit reason. Monitors do
// not fire on a supervised restart: the Ref lives on. Monitoring twice gives
// two monitors and two Down messages.
func (c *Context) Monitor(target *Ref) (MonitorRef, error) {
	if target.invalid() {
		return MonitorRef{}, ErrNilActor
	}
	self := c.ref
	m := MonitorRef{target: target, id: watchSeq.Add(1)}
	down := func(ref *Ref, reason error) {
		// Queued under self.mu, and only if the record is still there, so
		// that no Down comes once Demonitor, which drops it under the same
		// lock, has returned.
		self.mu.Lock()
		held := self.x != nil && self.x.monitors[m.id] != nil
		if held {
			delete(self.x.monitors, m.id)
			held = self.mb.PushSystem(Down{Ref: ref, Reason: reason, Monitor: m}) == nil
		}
		self.mu.Unlock()
		if held {
			self.schedule()
		}
	}
	// Recorded first, so that a target ending at once (its Down forgets the
	// record) leaves no record behind.
	if !self.holdMonitor(m.id, target) {
		return m, nil // killed meanwhile: its monitors went with it
	}
	if !target.addWatch(m.id, down) {
		down(target, target.Err())
		return m, nil
	}
	if !self.Alive() {
		// Killed meanwhile: its end may have removed its monitors before
		// this one was added.
		target.removeWatch(m.id)
	}
	return m, nil
}

// holdMonitor records a monitor r holds on target, so that r's end removes
// it, as a process's monitors die with it in OTP: a target outliving many
// short-lived watchers must not keep them all. It reports false if r has
// stopped.
func (r *Ref) holdMonitor(id uint64, target *Ref) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended() {
		return false
	}
	x := r.more()
	if x.monitors == nil {
		x.monitors = make(map[uint64]*Ref)
	}
	x.monitors[id] = target
	return true
}

// forgetMonitor drops r's record of a monitor that fired or was removed.
func (r *Ref) forgetMonitor(id uint64) {
	r.mu.Lock()
	if r.x != nil {
		delete(r.x.monitors, id)
	}
	r.mu.Unlock()
}

// Demonitor removes a monitor. It reports whether the monitor was active; a
// Down already queued is not withdrawn, and none is queued once Demonitor
// has returned.
func (c *Context) Demonitor(m MonitorRef) bool {
	if m.target == nil {
		return false
	}
	c.ref.forgetMonitor(m.id)
	return m.target.removeWatch(m.id)
}

// Link links the actor to target, both ways: when either stops for good with
// an abnormal reason (anything but a normal exit), the other is stopped with
// the same reason, or, if it traps exits, receives an Exit message. Linking to
// a stopped actor delivers an exit with ErrNoProc. Linking twice is one link.
//
// Under a supervisor (see WithParent) the stop is of the running incarnation,
// and the link, which belongs to the Ref, outlives it. The exits that come
// while no incarnation runs (the actor waiting for its restart) or while a
// restart's Init runs are for the next incarnation that starts: once its
// Init has run, the first abnormal one ends it, with the same reason, or,
// if it traps exits by then, they are the Exit messages it finds first, in
// the order they came. An exit that comes while an incarnation is ending
// for another reason (its Terminate runs) ends with it, unless that
// incarnation trapped exits: the Exit message it was sent waits in the
// mailbox, and the next incarnation receives it.
func (c *Context) Link(target *Ref) error {
	if target.invalid() {
		return ErrNilActor
	}
	self := c.ref
	if target == self {
		return nil
	}
	// Each side is added before the other can be told of its end through
	// it: self's first, then target's (an end of target from then on finds
	// self linked), and a link to a self that ended meanwhile is undone.
	added, existed := self.addLink(target)
	if !added {
		return nil // killed meanwhile: its links went with it
	}
	if ok, _ := target.addLink(self); !ok {
		// Target's end has been made known. A link that was there already
		// carries its exit, which that end is telling; a new one never
		// was, and gets the exit of an actor that is gone.
		if !existed {
			self.dropLink(target)
			self.deliverExit(target, ErrNoProc)
		}
		return nil
	}
	if self.isTold() && target.dropLink(self) {
		// Self's end was made known before target held the link: nobody
		// told target of it.
		target.deliverExit(self, self.Err())
	}
	return nil
}

// Unlink removes the link to target, both ways.
func (c *Context) Unlink(target *Ref) {
	if target.invalid() {
		return
	}
	target.dropLink(c.ref)
	c.ref.dropLink(target)
}

// addLink adds r's side of a link to other, unless r's end has been made
// known (see addWatch); existed tells whether it was there already.
func (r *Ref) addLink(other *Ref) (added, existed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.told() {
		return false, false
	}
	w := &r.more().watch
	if w.links == nil {
		w.links = make(map[*Ref]struct{})
	}
	_, existed = w.links[other]
	w.links[other] = struct{}{}
	return true, existed
}

// dropLink removes r's side of the link to other and reports whether it was
// there.
func (r *Ref) dropLink(other *Ref) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.x == nil {
		return false
	}
	_, ok := r.x.watch.links[other]
	delete(r.x.watch.links, other)
	return ok
}

// linkExit delivers the exit of the linked actor from to r: to the
// incarnation that runs, or, if none does (a supervised actor between two
// incarnations, or a restart's Init running), to the next one, which traps
// it or not as it has chosen once its Init has run (see reincarnate). The
// flag that decides whether it is trapped, the incarnation it is for and
// whether one runs are read together under r.mu (see closeIncarnation).
//
// Only a link that r still holds carries the exit: once Unlink has returned,
// an end of from that was under way has no effect on r, as in OTP.
func (r *Ref) linkExit(from *Ref, reason error) {
	r.mu.Lock()
	if r.x == nil {
		r.mu.Unlock()
		return // never linked
	}
	if _, ok := r.x.watch.links[from]; !ok {
		r.mu.Unlock()
		return // unlinked meanwhile
	}
	delete(r.x.watch.links, from)
	r.deliverExitLocked(from, reason)
}

// deliverExit delivers the exit of from to r as linkExit does, without a
// link to carry it: the ErrNoProc of a link to an actor that has stopped.
func (r *Ref) deliverExit(from *Ref, reason error) {
	r.mu.Lock()
	r.deliverExitLocked(from, reason)
}

// deliverExitLocked is deliverExit with r.mu held, which it releases.
func (r *Ref) deliverExitLocked(from *Ref, reason error) {
	if r.x != nil {
		if r.x.between {
			l := r.x.wait()
			l.carry = append(l.carry, Exit{From: from, Reason: reason})
			r.mu.Unlock()
			return
		}
	}
	trap := r.trap.Load()&trapNow != 0
	inc := r.inc.Load()
	r.mu.Unlock()
	if trap {
		if r.mb.PushSystem(Exit{From: from, Reason: reason}) == nil {
			r.schedule()
		}
		return
	}
	if reason != nil {
		r.request(&exitRequest{reason: reason, inc: inc})
	}
}
