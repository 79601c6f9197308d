package actor

import (
	"context"
	"errors"
	"runtime"
)

// batchSize is how many messages an actor handles per wake-up before it gives
// the processor back, so that a flooded actor cannot starve the others.
const batchSize = 128

const idleSpins = 4

const (
	batchEmpty     = iota // the mailbox ran dry
	batchMore             // the batch is used up; messages remain
	batchExit             // the incarnation ended
	batchRestarted        // the incarnation ended and the next one runs on this goroutine
)

// start runs a's Init, if any, as a new incarnation. The caller owns the
// consumer side.
func (r *Ref) start(a Actor) (err error) {
	r.behavior = a
	init, ok := a.(Initializer)
	if !ok {
		return nil
	}
	defer func() {
		if v := recover(); v != nil {
			err = newPanicError(v, nil)
		}
		if err != nil {
			r.closeIncarnation(err, r.parent != nil)
		}
	}()
	return init.Init(&r.c)
}

// stopAfterInit makes a Stop that Init called the exit request of
// incarnation inc, which then ends once started, before any message, as
// after the message that called it. It comes after the linked exits carried
// to the incarnation (see reincarnate): the first exit asked of it wins.
func (r *Ref) stopAfterInit(inc uint64) {
	if st := r.c.stop; st != nil {
		r.c.stop = nil
		r.post(&exitRequest{reason: st.reason, inc: inc})
	}
}

// launch hands a started incarnation over to its goroutine: a task's own, or
// the dispatch loop when a message arrives.
func (r *Ref) launch() {
	if _, ok := r.behavior.(*task); ok {
		go r.runTask()
		return
	}
	if r.release() {
		r.dispatch()
	}
}

// release gives up the consumer side. It reports whether the caller must take
// it back at once: a message or an exit request arrived meanwhile, and no
// sender took the consumer side itself, so that no wake-up is lost.
func (r *Ref) release() bool {
	r.state.Store(stateIdle)
	if r.pending.Load() == nil && !r.mb.Pending() {
		return false
	}
	return r.state.CompareAndSwap(stateIdle, stateRunning)
}

// dispatch starts the dispatch loop on a goroutine of its own. Only the
// goroutine that won the state's move to running may call it. The loop's func
// value is made once, at the first message, rather than at every wake-up (a
// go statement with a method call allocates) or at Spawn (an actor that is
// never sent anything need not pay for it).
func (r *Ref) dispatch() {
	if r.run == nil {
		r.run = r.loop
	}
	go r.run()
}

// loop is the dispatch goroutine of a message-driven actor. It exists only
// while there is work: it handles batches until the mailbox is empty, then
// returns.
func (r *Ref) loop() {
	for {
		switch r.batch() {
		case batchExit:
			return
		case batchRestarted:
			continue
		case batchMore:
			runtime.Gosched()
			continue
		}
		// Yield once before going idle: on a busy sender's heels, the next
		// message is often about to arrive, and catching it here saves a
		// goroutine start.
		for i := 0; i < idleSpins && !r.mb.Pending(); i++ {
			runtime.Gosched()
		}
		if r.pending.Load() == nil && r.mb.Empty() && !r.release() {
			return
		}
	}
}

// batch handles up to batchSize messages. Panic recovery is set up once per
// batch rather than once per message.
func (r *Ref) batch() (res int) {
	top := framePointer() // where the walk of a panic's stack ends (see newPanicError)
	defer func() {
		if v := recover(); v != nil {
			res = batchExit
			if r.endIncarnation(newPanicError(v, top), false) {
				res = batchRestarted
			}
		}
	}()
	for i := 0; i < batchSize; i++ {
		if r.pending.Load() != nil && r.onExitRequest() {
			return batchExit
		}
		msg, ok := r.mb.Pop()
		if !ok {
			return batchEmpty
		}
		// Receive is called here, not in a helper: a panic costs some 50 ns
		// for each frame between it and the recover above.
		c := &r.c
		if q, ok := msg.(*request); ok {
			c.begin(q)
			msg = q.msg
		}
		if r.handled(r.behavior.Receive(c, msg)) {
			return batchExit
		}
	}
	return batchMore
}

// onExitRequest carries out a pending exit request and reports whether the
// incarnation ended. A stale request, made for an earlier incarnation and not
// final, is discarded.
func (r *Ref) onExitRequest() bool {
	p := r.pending.Load()
	if p == nil {
		return false
	}
	if p.kill {
		r.finish(ErrKilled)
		return true
	}
	if !p.final && p.inc != r.inc.Load() {
		r.pending.CompareAndSwap(p, nil)
		return false
	}
	return !r.endIncarnation(p.reason, p.final)
}

// handled finishes a message that Receive returned err for and reports
// whether the incarnation ended.
func (r *Ref) handled(err error) bool {
	c := &r.c
	if p := r.pending.Load(); p != nil && p.kill {
		r.finish(ErrKilled)
		return true
	}
	final := false
	switch {
	case err == nil && c.stop != nil:
		err = c.stop.reason
	case err == nil:
		c.settle()
		return false
	default:
		// Receive may have given up because its context was cancelled: if
		// a stop cancelled it, the stop says why the actor ends. (The stop
		// is checked first: it is cheaper than unwrapping err.)
		if p := r.requested(); p != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			err, final = p.reason, p.final
		}
	}
	return !r.endIncarnation(err, final)
}

// requested reports the exit asked of the running incarnation from outside:
// a pending request, or the end of the spawn context whose request may not
// have been made yet.
func (r *Ref) requested() *exitRequest {
	if p := r.pending.Load(); p != nil && (p.final || p.inc == r.inc.Load()) {
		return p
	}
	if r.spawn.Err() != nil {
		return spawnEnded
	}
	return nil
}

var spawnEnded = &exitRequest{reason: ErrShutdown, final: true}

// runTask is the goroutine of a Task incarnation, and of the next ones when
// they restart in place.
func (r *Ref) runTask() {
	for r.runTaskOnce() {
	}
}

// runTaskOnce runs one Task incarnation and reports whether the next one
// restarted in place, on this goroutine.
func (r *Ref) runTaskOnce() bool {
	t := r.behavior.(*task)
	reason := r.callTask(t)
	if p := r.pending.Load(); p != nil && p.kill {
		r.finish(ErrKilled)
		return false
	}
	final := false
	if p := r.requested(); p != nil {
		// Asked to stop: the task's return is how it obeyed, and the
		// request says why it ended.
		reason, final = p.reason, p.final
	}
	if reason == nil && r.c.stop != nil {
		reason = r.c.stop.reason
	}
	return r.endIncarnation(reason, final)
}

func (r *Ref) callTask(t *task) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = newPanicError(v, nil)
		}
	}()
	return t.fn(r.c.Context(), &r.c)
}

// endIncarnation ends the current incarnation with reason: the call being
// handled gets the reason, Terminate runs, the incarnation's context is
// cancelled. A supervised actor is then suspended and its parent told; any
// other actor, or a final end, stops for good. A pending Kill overrides all
// of it: the actor stops with ErrKilled and runs no Terminate. It reports
// true if the actor restarted in place at once (see Restarter): the caller
// keeps the consumer side and goes on with the next incarnation.
func (r *Ref) endIncarnation(reason error, final bool) bool {
	if p := r.pending.Load(); p != nil && p.final {
		if p.kill {
			// Killed while the incarnation was running: Kill promises no
			// Terminate, whichever way the goroutine came here (a panic
			// of the Receive that Kill abandoned, an error it returned).
			r.finish(ErrKilled)
			return false
		}
		final = true
	}
	supervised := r.parent != nil && !final
	// The calls the incarnation owes (the one in hand, those it took a
	// Replier for) fail once the end is made known, not before Terminate:
	// whoever is told of the end must find the actor ended and what it held
	// (names, groups) released, as in OTP, where the caller learns of it
	// from the 'DOWN'. Terminate cannot answer the one in hand. An end for
	// good fails them through Done, closed once it is made known, on
	// whichever goroutine makes it; an end that the actor outlives fails
	// them here, once it is known that the actor outlives it.
	calls := owed{call: r.c.detach()}
	if t, ok := r.behavior.(Terminator); ok {
		reason = r.terminate(t, reason)
	}
	calls.deferred = r.closeIncarnation(reason, supervised) // exits that come from now on are for the next incarnation
	if supervised {
		inc := r.inc.Load()
		p := r.pending.Load()
		requested := p != nil && p.suspend && p.inc == inc
		if rs := r.set.restarter; rs != nil && !requested && (p == nil || !p.final) {
			if decided, running := r.restartInPlace(rs, reason, calls); decided {
				return running
			}
		}
		r.state.Store(stateSuspended)
		r.wakeSuspendWaiters()
		if p := r.pending.Load(); p != nil && p.final {
			// Stopped while we were suspending: nobody else saw us suspended.
			if r.state.CompareAndSwap(stateSuspended, stateRunning) {
				r.finish(p.reason)
			}
			return false
		}
		if r.parent.mb.PushSystem(ChildExit{Child: r, Reason: reason, Incarnation: inc, Requested: requested}) == nil {
			r.parent.schedule()
			calls.fail(r, reason)
			return false
		}
		// The parent is gone: nobody will restart us.
		if !r.state.CompareAndSwap(stateSuspended, stateRunning) {
			// Taken from suspended meanwhile: by a stop, whose end fails
			// the calls through Done, or by a Restart made by another,
			// and the actor outlives the end.
			if p := r.pending.Load(); p == nil || !p.final {
				calls.fail(r, reason)
			}
			return false
		}
	}
	// Released here, once Terminate has run (the spawn context's end must
	// still cancel the incarnation's while it runs), rather than in
	// announce, where it would be: context's stop of the watch, at
	// announce's depth, grows the stack of every actor that ends (a copy
	// that costs more than the rest of the end).
	r.releaseSpawnWatch()
	r.finish(reason)
	return false
}

func (r *Ref) terminate(t Terminator, reason error) (out error) {
	out = reason
	defer func() {
		if v := recover(); v != nil {
			perr := newPanicError(v, nil)
			r.logPanic(perr, "panic in Terminate")
			if !IsCrash(reason) {
				out = perr // a clean exit that could not clean up is not clean
			}
		}
	}()
	t.Terminate(&r.c, reason)
	return reason
}

// cancelIncarnation cancels the context of the incarnation that is ending and
// forgets it, so that the next incarnation gets a fresh one, and runs the
// incarnation's end hooks (OnIncarnationEnd): what it held is released
// before its end is made known.
func (r *Ref) cancelIncarnation(reason error) {
	r.mu.Lock()
	r.cancelIncarnationLocked(reason)
	ends := r.takeIncarnationHooks()
	r.mu.Unlock()
	r.runIncarnationHooks(ends, reason)
}

func (r *Ref) cancelIncarnationLocked(reason error) {
	if r.x != nil && r.x.ctx != nil {
		r.x.ctx.cancel(causeOf(reason))
		r.x.ctx = nil
	}
}

// closeIncarnation ends the incarnation that is ending as far as others can
// tell: its context is cancelled, the trap flag goes back to the spawn's (the
// ended incarnation's flag is its own), and if a next incarnation may follow,
// the actor is marked between incarnations, so that the exit of a linked
// actor that comes meanwhile is kept for the next one rather than asked of
// one that has ended (see linkExit). It is all done under r.mu, under which
// linkExit reads the flag and the mark: an exit is for the incarnation that
// ran, or for the next, never for neither. Then the incarnation's end hooks
// run, as in cancelIncarnation.
//
// If a next incarnation may follow, it returns the calls the ending one took
// a Replier for, for the caller to fail once the end's outcome is known (an
// end for good fails them through Done).
func (r *Ref) closeIncarnation(reason error, next bool) (deferred []inHand) {
	r.mu.Lock()
	r.cancelIncarnationLocked(reason)
	r.resetTrap()
	if next {
		r.more().between = true
		deferred = r.takeDeferred()
	}
	ends := r.takeIncarnationHooks()
	r.mu.Unlock()
	r.runIncarnationHooks(ends, reason)
	return deferred
}

// logPanic logs perr, a panic recovered in the user's code where it cannot
// end the actor (Terminate, a hook or callback run as the actor ends, a
// Restarter), with its stack.
func (r *Ref) logPanic(perr *PanicError, msg string) {
	r.set.log().Error().Str("actor", r.String()).AnErr("reason", perr).
		Str("stack", perr.Stack.String()).Msg(msg)
}

// releaseSpawnWatch stops the watch of the spawn context, which the actor
// no longer needs once it ends for good.
func (r *Ref) releaseSpawnWatch() {
	r.mu.Lock()
	var unreg func() bool
	if r.x != nil {
		unreg, r.x.unregCtx = r.x.unregCtx, nil
	}
	r.mu.Unlock()
	if unreg != nil {
		unreg()
	}
}

func causeOf(reason error) error {
	if reason == nil {
		return context.Canceled
	}
	return reason
}

// finish stops the actor for good. The caller owns the consumer side, which
// finish keeps: the actor is dead and nobody will consume again.
func (r *Ref) finish(reason error) {
	r.announce(reason)
	r.cancelIncarnation(reason)
	r.state.Store(stateDead)
	r.mb.Drain(r.discard)
}

// discard disposes of a message that a stopped actor will never handle: a
// call fails with the exit reason, anything else is a dead letter.
func (r *Ref) discard(msg any) {
	if q, ok := msg.(*request); ok {
		_ = q.reply(q.generation(), nil, &ExitError{Actor: r, Reason: r.Err(), Stopped: true})
		return
	}
	r.deadLetter(msg, ErrStopped)
}

// announce makes the actor's end known, once: Err, Done, the closed mailbox
// (so that sends fail from now on), links, monitors and the parent, once
// its end hooks (OnIncarnationEnd, OnStop) have released what it held.
func (r *Ref) announce(reason error) {
	r.mu.Lock()
	if r.ended() {
		r.mu.Unlock()
		return
	}
	end := r.more() // the allocation an ending record would cost anyway
	end.ended, end.reason = true, reason
	r.mb.Close()
	var unreg func() bool
	var monitors map[uint64]*Ref
	unreg, end.unregCtx = end.unregCtx, nil
	monitors, end.monitors = end.monitors, nil
	inc, life := r.takeEndHooks()
	hooked := end.ends != nil // made once; without end hooks there is nothing to wait for
	r.mu.Unlock()

	if unreg != nil {
		unreg()
	}
	// What the actor held is released before anyone hears of its end.
	runEndHooks(inc, r, reason)
	runEndHooks(life, r, reason)
	if hooked {
		r.mu.Lock()
		if h := end.ends; h.running > 0 {
			// The hooks of an incarnation that ended a moment ago still
			// run (this is a Kill): the last of them makes the end known.
			h.then = func() { r.announced(reason, monitors) }
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
	}
	r.announced(reason, monitors)
}

// announced is the end of announce, once what the actor held is released:
// its monitors on others go, Done closes, and the parent, the monitors and
// the links hear of the end. The watchers are taken only now, as the actor
// is marked gone: a monitor, link or AfterStop made while the end hooks ran
// is told with the others, after them, not at once (see addWatch).
func (r *Ref) announced(reason error, monitors map[uint64]*Ref) {
	end := r.x
	for id, target := range monitors {
		target.removeWatch(id) // outside r.mu: two actors that watch each other may end together
	}
	// Done closes once the monitors are gone, whenever it was made.
	r.mu.Lock()
	end.gone = true
	w := end.watch
	end.watch = watchers{}
	if end.done != nil {
		close(end.done)
	}
	r.mu.Unlock()
	if r.parent != nil {
		if r.parent.mb.PushSystem(ChildExit{Child: r, Reason: reason, Incarnation: r.inc.Load(), Final: true}) == nil {
			r.parent.schedule()
		}
	} else if IsCrash(reason) && !errors.Is(reason, ErrKilled) {
		ev := r.set.log().Error().Str("actor", r.String()).AnErr("reason", reason)
		var perr *PanicError
		if errors.As(reason, &perr) {
			ev = ev.Str("stack", perr.Stack.String())
		}
		ev.Msg("actor crashed")
	}
	w.notify(r, reason)
}
