package actor

import (
	"context"
	"slices"
	"time"

	"github.com/rs/zerolog"
)

// Context is what an actor sees of itself while it handles a message: its Ref,
// its context, its logger, the call it may reply to, and the means to spawn,
// link and monitor. It belongs to the actor's goroutine: do not keep it or
// use it from elsewhere (take a Replier to answer a call later).
type Context struct {
	ref  *Ref
	req  *request // the call being handled; answered once replied to
	gen  uint64
	stop *exitRequest // set by Stop: the reason to end with after this message
}

// answered stands in Context.req for a call that has had its reply, so that a
// second reply can be told from a reply outside any call.
var answered = new(request)

// selfKey marks an actor's own context, so that a call can tell that it is
// made by the actor it calls.
type selfKey struct{}

// actorCtx is the context of one incarnation. It holds the values of the
// spawn context but not its cancellation: that context's end stops the actor
// with ErrShutdown, which cancels this one with ErrShutdown as its cause,
// where a context derived the usual way would already have been cancelled,
// by the spawn context's end, with that context's cause.
type actorCtx struct {
	context.Context // a cancel context of context.WithoutCancel(spawn)
	self            *Ref
	cancel          context.CancelCauseFunc
}

// Deadline is the spawn context's, whose end ends this one too.
func (c *actorCtx) Deadline() (time.Time, bool) { return c.self.spawn.Deadline() }

func (c *actorCtx) Value(key any) any {
	if _, ok := key.(selfKey); ok {
		return c.self
	}
	return c.Context.Value(key)
}

// Self returns the actor's own Ref.
func (c *Context) Self() *Ref { return c.ref }

// Incarnation returns the number of the running incarnation (see
// Ref.Incarnation).
func (c *Context) Incarnation() uint64 { return c.ref.inc.Load() }

// Context returns the context of the running incarnation. It is cancelled,
// with the exit reason as its cause, when the incarnation ends or the actor is
// asked to stop. It has the values and the deadline of the context given to
// Spawn, whose end stops the actor with ErrShutdown and so cancels this one,
// with ErrShutdown as its cause. Pass it to blocking work so that a stop does
// not wait for it. A call made with it to the actor itself fails with
// ErrCallSelf.
func (c *Context) Context() context.Context {
	r := c.ref
	r.mu.Lock()
	defer r.mu.Unlock()
	x := r.more()
	if x.ctx == nil {
		ctx, cancel := context.WithCancelCause(context.WithoutCancel(r.spawn))
		x.ctx = &actorCtx{Context: ctx, self: r, cancel: cancel}
		if p := r.pending.Load(); p != nil && (p.final || p.inc == r.inc.Load()) {
			cancel(causeOf(p.reason))
		}
		// The end of the spawn context needs no check here: the stop it
		// asks for cancels this context, whenever it is made.
		if x.ended {
			cancel(causeOf(x.reason))
		}
	}
	return x.ctx
}

// Logger returns the actor's logger, with the actor's name as a field.
func (c *Context) Logger() *zerolog.Logger {
	r := c.ref
	r.mu.Lock()
	if x := r.x; x != nil && x.logger != nil {
		r.mu.Unlock()
		return x.logger
	}
	r.mu.Unlock()
	// String may take r.mu (for the ID of an unnamed actor): build the
	// logger without it, and keep the first one made.
	l := r.set.log().With().Str("actor", r.String()).Logger()
	r.mu.Lock()
	defer r.mu.Unlock()
	x := r.more()
	if x.logger == nil {
		x.logger = &l
	}
	return x.logger
}

// Spawn starts an actor whose life is bound to this incarnation's: it stops
// with ErrShutdown when this incarnation ends. It inherits the logger, the
// dead-letter hook, the call timeout and the directory unless opts set them.
func (c *Context) Spawn(a Actor, opts ...Option) (*Ref, error) {
	return spawn(c.Context(), a, c.ref.set, opts)
}

// Reply answers the call being handled. It returns ErrNoCall if the message
// is not a call, ErrAlreadyReplied for a second reply, and ErrCallerGone if
// the caller stopped waiting (the reply is dropped).
func (c *Context) Reply(v any) error { return c.respond(v, nil) }

// ReplyError answers the call being handled with an error, which the caller's
// Call returns.
func (c *Context) ReplyError(err error) error { return c.respond(nil, err) }

func (c *Context) respond(v any, err error) error {
	q := c.req
	switch q {
	case nil:
		return ErrNoCall
	case answered:
		return ErrAlreadyReplied
	}
	c.req = answered
	return q.reply(c.gen, v, err)
}

// Replier hands over the duty to answer the call being handled, to be done
// later from any goroutine; the actor goes on with its next message. A call
// whose actor neither replies nor takes a Replier fails with ErrNoReply. A
// call still unanswered when the incarnation that took its Replier ends
// fails then with an *ExitError, as an OTP caller hears of a crash from its
// monitor: at once if the actor restarts, when it stops for good otherwise;
// a Reply after that returns an error (ErrAlreadyReplied, or ErrCallerGone
// if the caller learnt of a stop for good itself).
func (c *Context) Replier() (Replier, error) {
	q := c.req
	switch q {
	case nil:
		return Replier{}, ErrNoCall
	case answered:
		return Replier{}, ErrAlreadyReplied
	}
	c.req = answered
	c.ref.holdReplier(inHand{q: q, gen: c.gen})
	return Replier{q: q, gen: c.gen}, nil
}

// Stop ends the actor after the message being handled, with reason (nil for a
// normal exit); called in Init, once Init has returned, before any message.
// Under a supervisor this ends the incarnation, and the restart type decides
// what follows, as for any exit.
func (c *Context) Stop(reason error) {
	c.stop = &exitRequest{reason: reason}
}

// TrapExits sets whether exits of linked actors arrive as Exit messages
// (true) instead of stopping this actor with the same reason (false, the
// default). It holds for the running incarnation: the next one, after a
// restart, starts as the actor was spawned (see WithTrapExits).
func (c *Context) TrapExits(on bool) {
	if on {
		c.ref.trap.Or(trapNow)
	} else {
		c.ref.trap.And(^uint32(trapNow))
	}
}

// resetTrap sets the flag back to what the actor was spawned with, as an
// incarnation ends.
func (r *Ref) resetTrap() {
	switch v := r.trap.Load(); v {
	case 0, trapNow | trapAtSpawn: // as spawned: the common case writes nothing
	case trapAtSpawn:
		r.trap.Or(trapNow)
	default:
		r.trap.And(^uint32(trapNow))
	}
}

// The bits of Ref.trap: whether the running incarnation traps exits, and
// whether the actor was spawned WithTrapExits, which each new incarnation
// starts from (a flag set at run time is the incarnation's, as trap_exit is
// the process's in OTP).
const (
	trapNow = 1 << iota
	trapAtSpawn
)

// Recv waits for the next message of a Task. It returns the message, or an
// error when ctx ends or the task is asked to exit. A call received this way
// is answered with Reply or Replier before the next Recv; otherwise the
// caller gets ErrNoReply. Outside a task it returns ErrNotTask; with a nil
// ctx, ErrNilContext.
func (c *Context) Recv(ctx context.Context) (any, error) {
	r := c.ref
	if r.wake == nil {
		return nil, ErrNotTask
	}
	if ctx == nil {
		return nil, ErrNilContext
	}
	c.settle()
	own := c.Context()
	for {
		if p := r.pending.Load(); p != nil && (p.final || p.inc == r.inc.Load()) {
			return nil, causeOf(p.reason)
		}
		if msg, ok := r.mb.Pop(); ok {
			if q, isCall := msg.(*request); isCall {
				c.begin(q)
				return q.msg, nil
			}
			return msg, nil
		}
		select {
		case <-r.wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-own.Done():
		}
	}
}

// begin makes q the call being handled.
func (c *Context) begin(q *request) {
	c.req, c.gen = q, q.generation()
}

// settle closes the handling of the current call: a call left without a reply
// or a Replier fails with ErrNoReply rather than waiting for its timeout.
func (c *Context) settle() { c.abort(ErrNoReply) }

// abort fails the call being handled with err, as its actor exits.
func (c *Context) abort(err error) {
	if c.req == nil {
		return // the common case writes nothing
	}
	if c.req != answered {
		_ = c.req.reply(c.gen, nil, err)
	}
	c.req = nil
}

// inHand is a call taken from the Context to be answered later.
type inHand struct {
	q   *request
	gen uint64
}

// detach takes the call being handled, if it awaits a reply, off the
// Context: nothing can answer it through the Context any more.
func (c *Context) detach() inHand {
	q := c.req
	c.req = nil
	if q == nil || q == answered {
		return inHand{}
	}
	return inHand{q: q, gen: c.gen}
}

// fail answers the call, if any, with err.
func (h inHand) fail(err error) {
	if h.q != nil {
		_ = h.q.reply(h.gen, nil, err)
	}
}

// owed are the calls an ending incarnation leaves unanswered: the one in
// hand, and those it took a Replier for.
type owed struct {
	call     inHand
	deferred []inHand
}

// fail answers them all with an *ExitError of r's, made only if there are
// any: the common end owes none, and must not pay for the error.
func (o owed) fail(r *Ref, reason error) {
	if o.call.q == nil && len(o.deferred) == 0 {
		return
	}
	err := &ExitError{Actor: r, Reason: reason}
	o.call.fail(err)
	for _, h := range o.deferred {
		h.fail(err)
	}
}

// waiting reports whether the call still waits for its answer.
func (h inHand) waiting() bool {
	w := h.q.word.Load()
	return w>>rqStateBits == h.gen && (w&rqStateMask == rqWaiting || w&rqStateMask == rqParked)
}

// holdReplier records a call the running incarnation took a Replier for:
// if the incarnation ends and the actor restarts in place, the call fails
// then, as its caller would hear of a crash in OTP, rather than wait for a
// reply that may never come. Answered calls are swept out as the record
// doubles, so that it stays as long as the calls still open.
func (r *Ref) holdReplier(h inHand) {
	r.mu.Lock()
	l := r.more().wait()
	if len(l.deferred) >= 2*l.open+8 {
		l.deferred = slices.DeleteFunc(l.deferred, func(h inHand) bool { return !h.waiting() })
		l.open = len(l.deferred)
	}
	l.deferred = append(l.deferred, h)
	r.mu.Unlock()
}

// takeDeferred returns the calls the ending incarnation took a Replier for
// and forgets them. r.mu must be held.
func (r *Ref) takeDeferred() []inHand {
	if r.x == nil || r.x.later == nil {
		return nil
	}
	l := r.x.later
	d := l.deferred
	l.deferred, l.open = nil, 0
	return d
}

// reset prepares the Context for a new incarnation.
func (c *Context) reset() {
	c.req, c.stop = nil, nil
}
