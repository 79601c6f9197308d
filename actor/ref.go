package actor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/arbor-go/arbor/mailbox"
	"github.com/google/uuid"
	"github.com/rs/zerolog"
)

// ErrNilContext is returned by Spawn, Call and SendContext when given a nil
// context.
var ErrNilContext = errors.New("actor: nil context")

// The states of an actor's consumer side. Exactly one goroutine owns the
// mailbox's consumer end while the state is running; an idle actor holds no
// goroutine at all.
const (
	stateIdle      uint32 = iota // no goroutine; a send schedules one
	stateRunning                 // a goroutine owns the mailbox
	stateSuspended               // supervised, between incarnations: waiting for its parent
	stateDead                    // stopped for good
)

// Ref is the address of an actor: send to it, call it, stop it, watch it.
// A Ref stays valid for the actor's whole life; under a supervisor that means
// across restarts, which keep the Ref and its mailbox and only replace the
// behaviour (Incarnation tells them apart). Refs are compared by pointer.
type Ref struct {
	// The order of the fields keeps apart, on separate cache lines, what
	// the consumer writes for every message (the mailbox's batch) and what
	// senders write or read for every send (the mailbox's queue, state,
	// wake): sharing a line would make the two cores pass it back and forth
	// on every message. A Ref is 256 bytes, a size class whose objects are
	// aligned to cache lines; TestRefLayout keeps this true.
	pending atomic.Pointer[exitRequest] // an exit asked for from outside
	inc     atomic.Uint64
	mb      mailbox.Mailbox
	state   atomic.Uint32
	trap    atomic.Uint32 // trapNow, trapAtSpawn
	wake    chan struct{} // tasks only: pokes a Recv that waits

	behavior Actor  // owned by the consumer
	run      func() // the dispatch loop: made once, at the first message, so that scheduling does not allocate
	c        Context

	name   string
	parent *Ref
	set    *settings
	spawn  context.Context // the context given to Spawn; incarnation contexts derive from it

	mu sync.Mutex // guards what follows
	x  *extras    // made on first use: most actors never need them
}

// extras hold what only some actors need, behind one pointer so that the
// others do not pay for it. They are guarded by Ref.mu.
type extras struct {
	ended bool // stopped for good
	gone  bool // ended, and its monitors on others removed: done may close
	// between is set from the end of a supervised incarnation until the
	// next one has started (its Init returned): no incarnation runs to
	// receive a linked exit, and later.carry keeps those that come, in
	// order, for the next one (see linkExit and reincarnate).
	between  bool
	reason   error // why, once ended
	id       *uuid.UUID
	done     chan struct{}
	watch    watchers
	monitors map[uint64]*Ref // the monitors this actor holds on others, by id: removed when it stops
	ctx      *actorCtx       // the current incarnation's context
	unregCtx func() bool
	ends     *endHooks // what the actor releases as part of an end (see endhook.go)
	logger   *zerolog.Logger
	dead     uint64 // dead letters counted
	later    *later // made on first use: fewer actors still need it
}

// later is what waits for an actor's next suspension or incarnation, kept
// off extras, which every actor that ends makes, to hold them to 128 bytes.
type later struct {
	paused   []pauseWaiter // the Suspends waiting (see suspendWaiter)
	carry    []Exit        // the linked exits for the next incarnation, in order (see linkExit)
	deferred []inHand      // the calls the running incarnation took a Replier for (see holdReplier)
	open     int           // how many of deferred were open at the last look
}

// pauseWaiter is a Suspend waiting for the end of incarnation inc: ch is
// closed when the actor suspends, or when a restart in place has ended inc.
type pauseWaiter struct {
	ch  chan struct{}
	inc uint64
}

// wait returns x's later, making it if needed. Ref.mu must be held.
func (x *extras) wait() *later {
	if x.later == nil {
		x.later = &later{}
	}
	return x.later
}

// ended reports whether the actor has stopped for good. r.mu must be held.
func (r *Ref) ended() bool { return r.x != nil && r.x.ended }

// told reports whether the actor's end has been made known, its watchers
// taken to be told (see announced): one that comes now must be told at
// once, by whoever adds it. r.mu must be held.
func (r *Ref) told() bool { return r.x != nil && r.x.gone }

// isTold is told, taking r.mu.
func (r *Ref) isTold() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.told()
}

// more returns r's extras, making them if needed. r.mu must be held.
func (r *Ref) more() *extras {
	if r.x == nil {
		r.x = &extras{}
	}
	return r.x
}

// exitRequest asks an actor to end: its current incarnation only (a linked
// crash), or for good (Stop, Kill).
type exitRequest struct {
	reason  error
	inc     uint64
	final   bool
	kill    bool
	suspend bool // asked by the parent through Suspend
}

// noOptions is the configuration of an actor spawned without options. It is
// never written.
var noOptions config

// Spawn starts an actor running a. If a implements Initializer, Init runs on
// the calling goroutine before Spawn returns, and its error fails the spawn.
// The actor stops (with ErrShutdown) when ctx ends; pass context.Background()
// for an actor that lives until it is stopped.
//
// An actor costs no goroutine while its mailbox is empty; a Task owns one.
func Spawn(ctx context.Context, a Actor, opts ...Option) (*Ref, error) {
	return spawn(ctx, a, defaultSettings, opts)
}

func spawn(ctx context.Context, a Actor, inherited *settings, opts []Option) (*Ref, error) {
	if ctx == nil {
		return nil, ErrNilContext
	}
	if a == nil {
		return nil, ErrNilActor
	}
	if t, ok := a.(*task); ok && (t == nil || t.fn == nil) {
		return nil, ErrNilActor
	}
	cfg := &noOptions // options escape to the heap: pay for them only when given
	if len(opts) > 0 {
		cfg = new(config)
		for _, o := range opts {
			if o != nil {
				o(cfg)
			}
		}
	}
	if cfg.err != nil {
		return nil, cfg.err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := &Ref{name: cfg.name, parent: cfg.parent, spawn: ctx, set: cfg.settings(inherited)}
	mbOpts := cfg.mailbox
	if mbOpts.Capacity > 0 && (mbOpts.Policy == mailbox.DropNewest || mbOpts.Policy == mailbox.DropOldest) {
		user := mbOpts.OnDrop
		mbOpts.OnDrop = func(msg any) {
			if q, ok := msg.(*request); ok {
				// A dropped call fails at once rather than at its timeout.
				// Its message is read first: once replied to, the request
				// belongs to its caller again.
				msg = q.msg
				_ = q.reply(q.generation(), nil, mailbox.ErrFull)
			}
			if user != nil {
				user(msg)
			}
			r.deadLetter(msg, mailbox.ErrFull)
		}
	}
	if err := r.mb.Init(mbOpts); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	r.c.ref = r
	if cfg.trapExits {
		r.trap.Store(trapNow | trapAtSpawn)
	}
	if _, ok := a.(*task); ok {
		r.wake = make(chan struct{}, 1)
	}
	r.state.Store(stateRunning) // the spawner owns the actor until Init is done
	r.inc.Store(1)
	if ctx.Done() != nil {
		// Watched from before Init: the stop it asks for cancels the
		// context Init works with, so that a dial in Init gives up too.
		unreg := context.AfterFunc(ctx, func() { r.requestExit(ErrShutdown, true, false) })
		r.mu.Lock()
		r.more().unregCtx = unreg // undone as the actor ends, a failed Init's too
		r.mu.Unlock()
	}
	g := cfg.start
	if g != nil && !g.enter(r) {
		r.parent = nil
		r.finish(ErrShutdown) // its start was given up before Init
		return nil, ErrShutdown
	}
	if err := r.start(a); err != nil {
		if g != nil {
			g.leave(r)
		}
		r.parent = nil // a failed spawn is reported to the caller, not to a parent
		r.finish(err)
		return nil, err
	}
	if g != nil && !g.leave(r) {
		// The start context ended while Init ran: the start fails, and the
		// incarnation that Init began ends as any does.
		r.parent = nil
		r.endIncarnation(ErrShutdown, true)
		return nil, ErrShutdown
	}
	r.stopAfterInit(1)
	r.launch()
	return r, nil
}

// Send delivers msg to the actor's mailbox without waiting for it to be
// handled (a tell). It fails with ErrStopped if the actor has stopped for good
// (the message is then reported as a dead letter), and with mailbox.ErrFull if
// the mailbox is bounded with the Fail policy and full. On a full Block
// mailbox it waits for room; SendContext bounds that wait.
func (r *Ref) Send(msg any) error {
	// Checked here, on r.set, a line only Spawn writes: the implicit nil
	// check at &r.mb would read the line the consumer writes for every
	// message.
	if r.invalid() {
		return ErrNilActor
	}
	if msg == nil {
		return ErrNilMessage
	}
	if err := r.mb.Push(msg); err != nil {
		return r.sendFailed(msg, err)
	}
	r.schedule()
	return nil
}

// SendContext is Send with the wait for room in a full Block mailbox bounded
// by ctx; if ctx ends first, it returns context.Cause(ctx), as Call does,
// and the message is not queued.
func (r *Ref) SendContext(ctx context.Context, msg any) error {
	if r.invalid() {
		return ErrNilActor
	}
	if ctx == nil {
		return ErrNilContext
	}
	if msg == nil {
		return ErrNilMessage
	}
	if err := r.mb.PushContext(ctx, msg); err != nil {
		if ctx.Err() != nil && err == ctx.Err() {
			err = context.Cause(ctx)
		}
		return r.sendFailed(msg, err)
	}
	r.schedule()
	return nil
}

// invalid reports whether r is no actor's: nil, or a Ref that Spawn did not
// make, such as a zero Ref declared by mistake, whose use must fail at the
// call rather than on a goroutine of Arbor's.
func (r *Ref) invalid() bool { return r == nil || r.set == nil }

// closed is the Done channel of an invalid Ref.
var closed = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

func (r *Ref) sendFailed(msg any, err error) error {
	if errors.Is(err, mailbox.ErrClosed) {
		r.deadLetter(msg, ErrStopped)
		return ErrStopped
	}
	return err
}

// schedule makes sure a goroutine will look at the mailbox: it starts the
// dispatch loop of an idle actor, or wakes a task blocked in Recv.
func (r *Ref) schedule() {
	switch r.state.Load() {
	case stateIdle:
		if r.state.CompareAndSwap(stateIdle, stateRunning) {
			r.dispatch()
		}
	case stateRunning:
		if r.wake != nil {
			select {
			case r.wake <- struct{}{}:
			default:
			}
		}
	}
}

// Stop asks the actor to stop for good and waits until it has, or until ctx
// ends (then it returns ctx.Err() and the actor goes on stopping). The actor
// finishes the message it is handling, its Terminate hook runs with
// ErrShutdown, and the context of its current incarnation is cancelled at
// once so that blocking work can return early. A suspended actor stops at
// once. Messages still queued become dead letters. Stopping a stopped actor
// returns nil. An actor stops itself with Context.Stop: Stop on its own Ref
// would wait, on its own goroutine, for an end that cannot come until it
// returns.
func (r *Ref) Stop(ctx context.Context) error {
	if r.invalid() {
		return ErrNilActor
	}
	if ctx == nil {
		return ErrNilContext
	}
	r.requestExit(ErrShutdown, true, false)
	select {
	case <-r.Done():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Kill ends the actor for good at once with ErrKilled: it cannot be trapped
// and no Terminate runs. Go cannot end a goroutine from outside, so if the
// actor is inside Receive (or a task is running), Kill cancels its context,
// closes its mailbox and declares it dead at once; whatever the goroutine
// does afterwards reaches no one. Calls waiting for the actor fail at once,
// and the messages queued become dead letters at once, but for those that
// the goroutine had already taken along with the message it is handling:
// an unbounded mailbox hands its consumer everything queued in one go (see
// mailbox.Mailbox). Those stay the goroutine's, counted by MailboxLen, and
// become dead letters when it returns, if it ever does. Kill returns without
// waiting; on a nil Ref it does nothing.
func (r *Ref) Kill() {
	if r.invalid() {
		return
	}
	r.requestExit(ErrKilled, true, true)
	r.announce(ErrKilled)
	// The goroutine may be stuck in Receive for good: account for what is
	// queued now rather than when (if ever) it returns. What it has taken
	// already is left to it: it pops its batch without a lock, and taking
	// the batch from under a consumer that may be popping it at this very
	// moment would need a fence at every message it pops, the cost the
	// mailbox is built to avoid (docs/design/mailbox.md).
	r.mb.Evict(r.discard)
}

// requestExit asks the actor to end with reason: for good if final, else only
// its current incarnation. The owner of the mailbox carries it out.
func (r *Ref) requestExit(reason error, final, kill bool) {
	r.request(&exitRequest{reason: reason, inc: r.inc.Load(), final: final, kill: kill})
}

func (r *Ref) request(req *exitRequest) {
	reason, final := req.reason, req.final
	if !r.post(req) {
		return
	}
	r.mu.Lock()
	// A request made of an incarnation that has ended since must not cancel
	// the context of the next one (the number is read under r.mu, which
	// the next incarnation's context is made under, after the count moved).
	if r.x != nil && r.x.ctx != nil && (final || req.inc == r.inc.Load()) {
		r.x.ctx.cancel(reason)
	}
	r.mu.Unlock()
	switch r.state.Load() {
	case stateIdle:
		if r.state.CompareAndSwap(stateIdle, stateRunning) {
			r.dispatch()
		}
	case stateSuspended:
		if final && r.state.CompareAndSwap(stateSuspended, stateRunning) {
			r.finish(reason)
		}
	case stateRunning:
		r.schedule() // wakes a task waiting in Recv
	}
}

// post makes req the pending exit request, unless one at least as strong is
// pending, and reports whether it did. It takes no lock: r.mu may be held.
func (r *Ref) post(req *exitRequest) bool {
	final, kill := req.final, req.kill
	for {
		old := r.pending.Load()
		if !final && !kill && req.inc != r.inc.Load() {
			return false // made of an incarnation that has ended: nothing to end
		}
		if old != nil && !kill && (old.final ||
			!final && (old.inc > req.inc || old.inc == req.inc && (old.suspend || !req.suspend))) {
			// An exit at least as strong is already on its way: one for
			// good, or one of the same (or a later) incarnation. A Suspend
			// is stronger than a linked exit of the same incarnation: it
			// must reach the parent as requested, and never the Restarter.
			return false
		}
		if r.pending.CompareAndSwap(old, req) {
			return true
		}
	}
}

// Done returns a channel closed when the actor has stopped for good (not when
// a supervised actor merely restarts); for a nil Ref, a closed channel, as
// Err is then ErrNilActor.
func (r *Ref) Done() <-chan struct{} {
	if r.invalid() {
		return closed // no actor: nothing to wait for
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	x := r.more()
	if x.done == nil {
		x.done = make(chan struct{})
		if x.gone {
			close(x.done)
		}
	}
	return x.done
}

// Err returns the actor's exit reason once it has stopped for good, and nil
// before; nil after Done is closed means a normal exit.
func (r *Ref) Err() error {
	if r.invalid() {
		return ErrNilActor
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ended() {
		return nil
	}
	return r.x.reason
}

// Alive reports whether the actor has not stopped for good (false for a nil
// Ref).
func (r *Ref) Alive() bool {
	if r.invalid() {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.ended()
}

// Name returns the name given with WithName, or "" (also for a nil Ref).
func (r *Ref) Name() string {
	if r == nil {
		return ""
	}
	return r.name
}

// ID returns the actor's unique identity; uuid.Nil for a nil Ref. (It takes
// r.mu: never call it, or String, with r.mu held.)
func (r *Ref) ID() uuid.UUID {
	if r.invalid() {
		return uuid.Nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	x := r.more()
	if x.id == nil {
		// Made on first use: most actors are never asked, and a random
		// UUID costs more than the rest of a spawn.
		id := uuid.New()
		x.id = &id
	}
	return *x.id
}

// Incarnation counts the actor's incarnations: 1 when spawned, one more for
// each Restart by its supervisor; 0 for a nil Ref or one Spawn did not make.
func (r *Ref) Incarnation() uint64 {
	if r == nil {
		return 0
	}
	return r.inc.Load()
}

// DeadLetters returns how many dead letters this actor has had (0 for a nil
// Ref).
func (r *Ref) DeadLetters() uint64 {
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.x == nil {
		return 0
	}
	return r.x.dead
}

// MailboxLen returns how many messages wait in the actor's mailbox (0 for a
// nil Ref).
func (r *Ref) MailboxLen() int {
	if r.invalid() {
		return 0
	}
	return r.mb.Len()
}

// String returns the actor's name, or its identity if it has none.
func (r *Ref) String() string {
	if r == nil {
		return "<nil>"
	}
	if r.name != "" {
		return r.name
	}
	return r.ID().String()
}

func (r *Ref) deadLetter(msg any, reason error) {
	r.mu.Lock()
	r.more().dead++
	r.mu.Unlock()
	if f := r.set.onDead; f != nil {
		// Guarded as the end's hooks are: the actor's own goroutine passes
		// what is left in its mailbox here as it ends, and a panic must not
		// reach its dispatch loop, which would end it again.
		defer func() {
			if v := recover(); v != nil {
				r.logPanic(newPanicError(v, nil), "panic in the dead-letter hook")
			}
		}()
		f(DeadLetter{To: r, Msg: msg, Reason: reason})
		return
	}
	r.set.log().Warn().Str("actor", r.String()).Str("type", fmt.Sprintf("%T", msg)).
		AnErr("reason", reason).Msg("dead letter")
}
