package actor

import (
	"context"
	"fmt"
	"github.com/arbor-go/arbor/mailbox"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// A request carries a call through the callee's mailbox and its reply back.
// Requests are pooled: a call allocates nothing. Its word packs a generation
// (bumped at every reuse) with a state, so that a late reply, a second reply
// or a reply kept by a Replier past its call can never land in a later call.
type request struct {
	msg   any
	word  atomic.Uint64
	val   any
	err   error
	ch    chan struct{} // holds the wake-up of a parked caller
	timer *time.Timer   // the default bound, made the first time it is needed
}

// Request states, in the low bits of word.
const (
	rqWaiting   = iota + 1 // sent; the caller has not parked
	rqParked               // the caller waits on ch
	rqWriting              // a reply is being written
	rqDone                 // the reply is there
	rqAbandoned            // the caller gave up; the request is never reused
	rqStateBits = 3
	rqStateMask = 1<<rqStateBits - 1
)

var requestPool = sync.Pool{New: func() any {
	q := &request{ch: make(chan struct{}, 1)}
	q.word.Store(rqWaiting)
	return q
}}

func (q *request) generation() uint64 { return q.word.Load() >> rqStateBits }

// reply delivers v, err to the caller of generation gen. It returns nil, or
// why the reply could not be delivered.
func (q *request) reply(gen uint64, v any, err error) error {
	parked := false
	if !q.word.CompareAndSwap(gen<<rqStateBits|rqWaiting, gen<<rqStateBits|rqWriting) {
		if !q.word.CompareAndSwap(gen<<rqStateBits|rqParked, gen<<rqStateBits|rqWriting) {
			w := q.word.Load()
			if w>>rqStateBits == gen && w&rqStateMask == rqAbandoned {
				return ErrCallerGone
			}
			return ErrAlreadyReplied
		}
		parked = true
	}
	q.val, q.err = v, err
	q.word.Store(gen<<rqStateBits | rqDone)
	if parked {
		q.ch <- struct{}{}
	}
	return nil
}

// take returns the reply and recycles the request.
func (q *request) take(gen uint64) (any, error) {
	v, err := q.val, q.err
	q.msg, q.val, q.err = nil, nil, nil
	q.word.Store((gen+1)<<rqStateBits | rqWaiting)
	requestPool.Put(q)
	return v, err
}

// Call sends msg to the actor and waits for its reply (an ask). The actor
// replies with Context.Reply, or later through a Replier.
//
// ctx bounds the wait; if it has no deadline, the callee's call timeout
// (DefaultCallTimeout unless set WithCallTimeout) does, and Call returns
// ErrCallTimeout. A ctx that has already ended makes no call: Call returns
// its cause, and the actor never sees the message. If the actor crashes
// handling the call, or stops before replying, Call returns an *ExitError
// with its exit reason, once the end is made known (see Context.Replier for
// a call deferred). A reply that comes after Call returned is dropped. An actor calling itself with its
// Context's context (or one derived from it) gets ErrCallSelf; with an
// unrelated context, Go gives no way to tell that the caller is the callee's
// own goroutine, and the call waits for its bound.
func (r *Ref) Call(ctx context.Context, msg any) (any, error) {
	if r.invalid() {
		return nil, ErrNilActor
	}
	if ctx == nil {
		return nil, ErrNilContext
	}
	if msg == nil {
		return nil, ErrNilMessage
	}
	if self, _ := ctx.Value(selfKey{}).(*Ref); self == r {
		return nil, ErrCallSelf
	}
	if ctx.Err() != nil {
		// Not made: a call that fails must not have had an effect its
		// caller cannot tell (one that ends while in flight may, as a
		// gen_server call that times out).
		return nil, context.Cause(ctx)
	}
	if _, ok := ctx.Deadline(); !ok && r.mb.Capacity() > 0 && r.mb.Policy() == mailbox.Block {
		// Waiting for room in the mailbox is part of the call: the default
		// bound must cover it too.
		bounded, cancel := context.WithTimeoutCause(ctx, r.set.callTimeout, ErrCallTimeout)
		defer cancel()
		ctx = bounded
	}
	q := requestPool.Get().(*request)
	gen := q.generation()
	q.msg = msg
	if err := r.mb.PushContext(ctx, q); err != nil {
		if ctx.Err() != nil {
			err = context.Cause(ctx)
		}
		q.msg = nil
		requestPool.Put(q)
		if err = r.sendFailed(msg, err); err == ErrStopped {
			return nil, &ExitError{Actor: r, Reason: r.Err(), Stopped: true}
		}
		return nil, err
	}
	r.schedule()
	// The reply often comes while the caller still holds its processor:
	// look once more before paying for a park.
	if q.word.Load() != gen<<rqStateBits|rqDone {
		runtime.Gosched()
	}
	if q.word.Load() == gen<<rqStateBits|rqDone {
		return q.take(gen)
	}
	return r.await(ctx, q, gen)
}

func (r *Ref) await(ctx context.Context, q *request, gen uint64) (any, error) {
	if !q.word.CompareAndSwap(gen<<rqStateBits|rqWaiting, gen<<rqStateBits|rqParked) {
		// The reply is being written: it is a matter of instructions.
		for q.word.Load() != gen<<rqStateBits|rqDone {
			runtime.Gosched()
		}
		return q.take(gen)
	}
	var expired <-chan time.Time
	if _, ok := ctx.Deadline(); !ok {
		if q.timer == nil {
			q.timer = time.NewTimer(r.set.callTimeout)
		} else {
			q.timer.Reset(r.set.callTimeout)
		}
		expired = q.timer.C
	}
	var err error
	select {
	case <-q.ch:
		if expired != nil {
			q.timer.Stop()
		}
		return q.take(gen)
	case <-ctx.Done():
		err = context.Cause(ctx)
	case <-expired:
		err = ErrCallTimeout
	case <-r.Done():
		err = &ExitError{Actor: r, Reason: r.Err(), Stopped: true}
	}
	if expired != nil {
		q.timer.Stop()
	}
	if q.word.CompareAndSwap(gen<<rqStateBits|rqParked, gen<<rqStateBits|rqAbandoned) {
		// The request may still sit in the mailbox: it is left to the
		// collector, never reused.
		return nil, err
	}
	<-q.ch // the reply won the race
	return q.take(gen)
}

// CallAs calls the actor and asserts the reply's type. A nil reply gives T's
// zero value; a reply of another type gives a *ReplyTypeError.
func CallAs[T any](ctx context.Context, r *Ref, msg any) (T, error) {
	var zero T
	v, err := r.Call(ctx, msg)
	if err != nil || v == nil {
		return zero, err
	}
	t, ok := v.(T)
	if !ok {
		return zero, &ReplyTypeError{Want: fmt.Sprintf("%T", zero), Got: v}
	}
	return t, nil
}

// ReplyTypeError is returned by CallAs when the reply is not of the type asked.
type ReplyTypeError struct {
	Want string
	Got  any
}

// Error implements error.
func (e *ReplyTypeError) Error() string {
	return fmt.Sprintf("actor: reply is %T, want %s", e.Got, e.Want)
}

// Replier answers one call, from any goroutine, after the actor has moved on
// to other messages. Get it with Context.Replier. Its zero value answers
// nothing (ErrNoCall).
type Replier struct {
	q   *request
	gen uint64
}

// Reply answers the call with v. It returns ErrAlreadyReplied for a second
// reply and ErrCallerGone if the caller stopped waiting; the reply is dropped.
func (p Replier) Reply(v any) error { return p.send(v, nil) }

// ReplyError answers the call with an error, which Call returns.
func (p Replier) ReplyError(err error) error { return p.send(nil, err) }

func (p Replier) send(v any, err error) error {
	if p.q == nil {
		return ErrNoCall
	}
	return p.q.reply(p.gen, v, err)
}
