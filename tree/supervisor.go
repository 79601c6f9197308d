package tree

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/clock"
	"github.com/arbor-go/arbor/strategy"
)

// ChildState is where a child stands, as WhichChildren shows it.
type ChildState int

const (
	// Running: the child's actor runs.
	Running ChildState = iota
	// Restarting: the child exited and waits for its restart (a backoff, or
	// a retry after a failed start).
	Restarting
	// Waiting: the child waits for a slot under MaxRunning.
	Waiting
	// Stopped: the spec is kept but no actor runs (terminated, ignored, or a
	// transient child that finished).
	Stopped
)

// String returns the state's name.
func (s ChildState) String() string {
	switch s {
	case Running:
		return "running"
	case Restarting:
		return "restarting"
	case Waiting:
		return "waiting"
	case Stopped:
		return "stopped"
	}
	return fmt.Sprintf("ChildState(%d)", int(s))
}

// child is the supervisor's record of one child, touched only from the
// supervisor's Receive.
type child struct {
	id    string
	r     resolved
	ref   *actor.Ref // nil when no actor exists
	key   *actor.Ref // the Ref under which byRef holds the child: its last spawn's
	turn  uint64     // its place in the queue for a slot, while Waiting
	state ChildState
	due   uint64                // the token of the pending group to restart it (0: none)
	bo    strategy.BackoffState // guarded by the supervisor's mu
	slot  bool                  // holds a slot of the supervisor's pool (SubtreeMaxRunning)

	// Its place among the supervisor's children (see childList), and, for a
	// child supervisor, the behaviour of its current incarnation, whose
	// budget its parent's counts (see budget). Written under the
	// supervisor's mu, so that budget may read them from the parent's
	// goroutine.
	prev, next *child
	listed     bool
	sub        *supervisor
	spawned    *actor.Ref // the actor of its last successful start (see abandon)

	// The fast path (see fast.go), guarded by the supervisor's mu.
	fastRef  *actor.Ref   // the actor whose next exit may be decided on the fast path
	inflight bool         // a restart decided on the fast path is under way
	fastOpt  actor.Option // installs hook, made once
	hook     fastHook     // the child's actor.Restarter
}

// restartDue is the message a backoff timer sends the supervisor.
type restartDue struct{ token uint64 }

// restartTokens numbers the pending restarts of every supervisor. A
// supervisor restarted in place keeps its mailbox, where a timer of its
// previous incarnation may have left a restartDue: numbers never reused make
// it match no restart of the new incarnation.
var restartTokens atomic.Uint64

// group is a set of children to restart together, in start order.
type group struct {
	children []*child
	attempt  int
	token    uint64 // its key in pending; 0 for a restart at once
	timer    clock.Stopper
	one      [1]*child // backs children for a group of one, saving an allocation
}

// supervisor is the behaviour of a static supervisor actor. All its state is
// touched only from Init, Receive and Terminate, one at a time.
type supervisor struct {
	env  *env
	spec *Spec
	path string
	root *rootHooks // nil below the root
	// eventBuffer is the buffer of a subscription that asks for none: the
	// spec's EventBuffer, or else the nearest one above (0: the root's).
	eventBuffer int

	self      *actor.Ref
	children  childList
	byRef     map[*actor.Ref]*child // children by the Ref of their last spawn: findRef in one step
	active    int                   // children running or restarting (see setState)
	waiting   []waiter              // children queued for a slot, in order (see admit)
	turns     uint64                // numbers the places in waiting
	unsettled []*child              // children that may have a subtree slot to give back
	window    *strategy.Window      // guarded by mu
	ctx       context.Context       // the children's spawn context
	cancel    context.CancelFunc
	startOpt  actor.Option // bounds the start of the children that Init starts (see startAtInit)
	starting  *child       // the child being started, guarded by mu (see abandon)
	pending   map[uint64]*group
	ending    bool // the incarnation is ending: handle nothing more
	unwatch   func() bool
	dyn       *DynamicSpec // set for a dynamic supervisor
	parentOpt actor.Option // actor.WithParent(self), made once for all children
	timer     *time.Timer  // waits for children to stop, one at a time (see shutdown)
	nextID    uint64
	above     *pool  // the pool of the nearest capped supervisor above, set by the parent
	pool      *pool  // this incarnation's pool: its own (SubtreeMaxRunning), or above
	lease     *lease // the slots this incarnation's children hold in pool

	// mu guards the window, the children's backoff and fast-path fields, and
	// what follows: what the children's goroutines share with the
	// supervisor's on the fast path of a crash (see fast.go).
	mu       sync.Mutex
	flight   sync.Cond // on mu: a restart in flight has finished
	open     bool      // the fast path is open: Init is done, Terminate not begun
	inflight int       // restarts in flight
}

func newSupervisor(e *env, spec *Spec, path string) *supervisor {
	s := &supervisor{env: e, spec: spec, path: path, eventBuffer: max(spec.EventBuffer, 0)}
	s.flight.L = &s.mu
	return s
}

// Init starts the children in order. A child that fails to start stops those
// started before it, in reverse order, and fails the supervisor's start.
func (s *supervisor) Init(c *actor.Context) error {
	s.self = c.Self()
	s.parentOpt = actor.WithParent(s.self)
	s.window = strategy.NewWindow(s.spec.Intensity)
	s.pending = make(map[uint64]*group)
	s.clearChildren()
	s.ending = false
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.startOpt = actor.WithStartContext(c.Context())
	defer func() { s.startOpt = nil }() // children started later are the supervisor's to stop
	s.pool = s.above
	if n := s.spec.SubtreeMaxRunning; n > 0 {
		s.pool = newPool(s.above, n)
	}
	s.lease = &lease{}
	// If this supervisor is killed, no Terminate runs: its children must
	// still end, so their spawn context goes with it, and the subtree slots
	// they hold go back to the pools above.
	cancel, pool, held := s.cancel, s.pool, s.lease
	s.unwatch = s.self.AfterStop(func(*actor.Ref, error) {
		cancel()
		for range held.close() {
			pool.release()
		}
	})
	for _, cs := range s.spec.Children {
		ch := &child{id: cs.ID, r: resolve(s.spec, cs), state: Stopped}
		s.addChild(ch)
		if err := s.startAtInit(c, ch); err != nil {
			s.stopAll(unbounded())
			s.releaseAll()
			s.cancel()
			s.unwatch()
			return &StartError{Supervisor: s.path, Child: cs.ID, Err: err}
		}
	}
	s.settleSlots() // of the children that took a slot and were ignored
	s.env.emit(Event{Kind: SupervisorStarted, Supervisor: s.path, Ref: s.self}, "")
	s.openFast()
	return nil
}

// startAtInit starts ch, or queues it, as Init does: the supervisor's end
// during this start (the ctx of a root's Start, a Stop) stops the child
// starting (see actor.WithStartContext), so that a child's Init that dials
// gives up with the start, which fails; Init then stops the children
// started before, in reverse order. The end reaches no other child: the
// supervisor stops them itself, in order.
func (s *supervisor) startAtInit(c *actor.Context, ch *child) error {
	if own := c.Context(); own.Err() != nil {
		return context.Cause(own) // given up before this child
	}
	return s.startOrQueue(ch)
}

// Terminate stops the children left, in reverse start order.
func (s *supervisor) Terminate(c *actor.Context, reason error) {
	s.closeFast()
	s.env.noteStopping(s)
	s.stopAll(s.stopBudget())
	s.releaseAll()
	s.cancel()
	s.unwatch()
	s.env.emit(Event{Kind: SupervisorStopped, Supervisor: s.path, Ref: s.self, Reason: reason}, "")
}

// Receive handles child exits, restart timers and API calls.
func (s *supervisor) Receive(c *actor.Context, msg any) error {
	if s.ending {
		return nil
	}
	switch m := msg.(type) {
	case actor.ChildExit:
		s.onExit(c, m)
	case restartDue:
		if g, ok := s.pending[m.token]; ok {
			delete(s.pending, m.token)
			s.runRestart(c, g)
		}
	case fastFailed:
		s.onFastFailed(c, m)
	case poolFreed: // a subtree slot was given back: the admit below tries
	case command:
		_ = m.handle(s, c) // a caller that gave up is no failure of ours
	}
	// Whatever was handled may have freed a slot under MaxRunning (a child
	// that ended for good, an ignored restart, a temporary sibling dropped
	// by a group restart): the next in the queue takes it.
	s.admit()
	s.settleSlots()
	return nil
}

// makeActor builds a fresh behaviour for ch. A panicking factory is a failed
// start, not a crash of the supervisor: its *actor.PanicError carries the
// factory's stack.
func (s *supervisor) makeActor(ch *child) (a actor.Actor, err error) {
	defer func() {
		if v := recover(); v != nil {
			a, err = nil, actor.NewPanicError(v)
		}
	}()
	spec := ch.r.spec
	switch spec.kind {
	case kindWorker:
		a = spec.factory()
	case kindTask:
		a = actor.Task(attemptTask(spec.task, ch.r.attempt))
	case kindSupervisor:
		sup := newSupervisor(s.env, spec.sup, s.path+"/"+ch.id)
		sup.above = s.pool
		sup.eventBuffer = cmp.Or(sup.eventBuffer, s.eventBuffer)
		a = sup
	case kindDynamic:
		sup := newDynamicActor(s.env, spec.dyn, s.path+"/"+ch.id)
		sup.above = s.pool
		sup.eventBuffer = cmp.Or(sup.eventBuffer, s.eventBuffer)
		a = sup
	}
	if a == nil {
		return nil, ErrNilChild
	}
	return a, nil
}

func (s *supervisor) spawnOpts(ch *child) []actor.Option {
	opts := make([]actor.Option, 0, len(ch.r.spec.actorOpts)+8)
	if s.env.dirOpt != nil {
		opts = append(opts, s.env.dirOpt) // first, so that ActorOptions may override it
	}
	opts = append(opts, ch.r.spec.actorOpts...)
	opts = append(opts,
		s.parentOpt,
		actor.WithName(s.path+"/"+ch.id),
		s.env.logOpt,
		actor.WithDeadLetters(s.env.deadLetters(s.path, ch.id)))
	if ch.r.typ == SupervisorChild {
		opts = append(opts, actor.WithTrapExits())
	}
	if s.fastEligible(ch) {
		opts = append(opts, s.fastOption(ch))
	}
	if s.startOpt != nil {
		opts = append(opts, s.startOpt)
	}
	return opts
}

// start starts (attempt 0) or restarts ch: it resumes a suspended actor in
// place, so that its Ref and queued messages survive, or spawns a new one.
func (s *supervisor) start(ch *child, attempt int) error {
	s.mu.Lock()
	s.starting = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.starting = nil
		s.mu.Unlock()
	}()
	var a actor.Actor
	err := ErrNoRegistry
	if ch.r.spec.name == "" || s.env.reg != nil {
		a, err = s.makeActor(ch)
	}
	if sup, ok := a.(*supervisor); ok {
		// Before its start, which may take long: a stop that begins
		// meanwhile counts its budget (see budget).
		s.mu.Lock()
		ch.sub = sup
		s.mu.Unlock()
	}
	if err == nil && a == Ignore {
		s.retire(ch)
		return nil
	}
	if err == nil {
		if ch.ref != nil && ch.ref.Suspended() {
			err = ch.ref.Restart(a)
			if errors.Is(err, actor.ErrStopped) && !ch.ref.Suspended() {
				ch.ref = nil // stopped for good meanwhile, not an Init's error that wraps ErrStopped
			}
		}
		if ch.ref == nil || !ch.ref.Alive() {
			ch.ref, err = actor.Spawn(s.ctx, a, s.spawnOpts(ch)...)
			if err == nil {
				s.keep(ch)
				err = s.register(ch) // a new Ref: its name is to be given
			}
		}
	}
	if err != nil {
		s.env.emit(Event{Kind: StartFailed, Supervisor: s.path, Child: ch.id, Reason: err,
			Stack: stackOf(err), Attempt: attempt}, ch.r.restart.String())
		return err
	}
	s.setState(ch, Running)
	now := s.env.clock.Now()
	kind := ChildStarted
	if attempt > 0 {
		kind = ChildRestarted
	}
	s.env.emitAt(Event{Kind: kind, Supervisor: s.path, Child: ch.id, Ref: ch.ref, Attempt: attempt}, ch.r.restart.String(), now)
	s.mu.Lock()
	ch.spawned = ch.ref
	ch.bo.Started(now)
	if s.fastEligible(ch) {
		ch.fastRef = ch.ref // from now on, its next exit may be decided on the fast path
	}
	s.mu.Unlock()
	return nil
}

// forget ends ch's actor, if any, for good and marks it stopped. Only for
// an actor that is suspended or already gone: running ones go through
// shutdown.
func (s *supervisor) forget(ch *child) {
	s.claim(ch)
	if ch.ref != nil {
		_ = ch.ref.Stop(context.Background()) // a suspended actor ends at once
		ch.ref = nil
	}
	s.setState(ch, Stopped)
}

// retire ends ch for good, as forget does, and drops its spec if nothing
// keeps it: a temporary child, or any child of a dynamic supervisor, which
// keeps no stopped children. Its subtree slot goes back at once, for the
// next child started in the same message (a sibling after an ignored one at
// Init) to take; the place it leaves under MaxRunning is given to the next
// in the queue at the end of the message being handled (see Receive).
func (s *supervisor) retire(ch *child) {
	s.forget(ch)
	s.giveBack(ch)
	if ch.r.restart == strategy.Temporary || s.dyn != nil {
		s.remove(ch)
	}
}

// remove drops ch's spec, and gives back its subtree slot.
func (s *supervisor) remove(ch *child) {
	s.giveBack(ch)
	s.setState(ch, Stopped) // it no longer holds a place, nor waits for one
	if ch.key != nil {
		delete(s.byRef, ch.key)
		ch.key = nil
	}
	s.mu.Lock()
	s.children.drop(ch)
	s.mu.Unlock()
}

// addChild puts ch last among the children.
func (s *supervisor) addChild(ch *child) {
	s.mu.Lock()
	s.children.push(ch)
	s.mu.Unlock()
}

func (s *supervisor) find(id string) *child {
	for ch := range s.children.all() {
		if ch.id == id {
			return ch
		}
	}
	return nil
}

// keep files ch under the Ref it was just spawned with, in place of the one
// before: a dynamic supervisor with thousands of children finds the one that
// exited in one step, not by a scan.
func (s *supervisor) keep(ch *child) {
	if s.byRef == nil {
		s.byRef = make(map[*actor.Ref]*child)
	}
	if ch.key != nil {
		delete(s.byRef, ch.key)
	}
	ch.key = ch.ref
	s.byRef[ch.ref] = ch
}

// clearChildren forgets every child: the supervisor's incarnation begins or
// ends.
func (s *supervisor) clearChildren() {
	s.mu.Lock()
	s.children.clear()
	s.mu.Unlock()
	clear(s.byRef)
	s.active, s.waiting, s.unsettled = 0, nil, nil
}

// findRef returns the child whose actor is ref, or nil. A child's key is
// the Ref of its last spawn; it is the child's actor still unless that
// actor has gone meanwhile (ch.ref is then nil, or a newer Ref).
func (s *supervisor) findRef(ref *actor.Ref) *child {
	if ch := s.byRef[ref]; ch != nil && ref != nil && ch.ref == ref {
		return ch
	}
	return nil
}
