package tree

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/arbor-go/arbor/actor"
)

// The concurrency limit (Spec.MaxRunning): at most that many children hold a
// slot, a slot being held by a child that runs or waits for its restart. The
// others wait in the order they were queued (start order, at the
// supervisor's start), in state Waiting, until a child ends for good (it
// exits without restart, or is terminated).
//
// So that a supervisor of thousands of children does not scan them all at
// every exit, it counts the children that hold a place (active), keeps the
// waiting ones in a queue, and notes the children that may have a subtree
// slot to give back (unsettled); every change of a child's state goes
// through setState, which keeps the three.

// holds reports whether a child in state st holds its place: it runs or
// waits for its restart.
func (st ChildState) holds() bool { return st == Running || st == Restarting }

// setState moves ch to st.
func (s *supervisor) setState(ch *child, st ChildState) {
	was := ch.state.holds()
	ch.state = st
	switch now := st.holds(); {
	case now && !was:
		s.active++
	case was && !now:
		s.active--
	}
	if ch.slot && !st.holds() {
		s.unsettled = append(s.unsettled, ch)
	}
}

// waiter is a child in the queue for a slot. turn tells a stale entry (the
// child left the queue, or was queued again later) from its current one.
type waiter struct {
	ch   *child
	turn uint64
}

// full reports whether no slot is free.
func (s *supervisor) full() bool {
	return s.spec.MaxRunning > 0 && s.active >= s.spec.MaxRunning
}

// queue makes ch wait for a slot.
func (s *supervisor) queue(ch *child) {
	s.turns++
	ch.turn = s.turns
	s.setState(ch, Waiting)
	s.waiting = append(s.waiting, waiter{ch: ch, turn: s.turns})
	s.env.emit(Event{Kind: ChildQueued, Supervisor: s.path, Child: ch.id}, ch.r.restart.String())
}

// queued reports whether a child waits for a slot: one that frees goes to
// it first, not to a child that asks later.
func (s *supervisor) queued() bool {
	for len(s.waiting) > 0 {
		if w := s.waiting[0]; w.ch.state == Waiting && w.ch.turn == w.turn {
			return true
		}
		s.waiting[0] = waiter{} // it left the queue meanwhile
		s.waiting = s.waiting[1:]
	}
	return false
}

// mustWait reports whether ch must wait for a slot: it needs one (any child
// under MaxRunning; a worker or task under a subtree cap, see pooled) and
// none is free, or a child queued before it waits for one; otherwise it has
// taken what it needs.
func (s *supervisor) mustWait(ch *child) bool {
	if s.spec.MaxRunning <= 0 && !s.pooled(ch) {
		return false
	}
	return s.queued() || s.full() || !s.take(ch)
}

// startOrQueue starts ch at once unless it must wait for a slot, and then
// queues it.
func (s *supervisor) startOrQueue(ch *child) error {
	if s.mustWait(ch) {
		s.queue(ch)
		return nil
	}
	return s.start(ch, 0)
}

// admit starts waiting children, in order, while slots are free. A child
// that fails to start now is reported and left stopped: the supervisor's
// own start is long past.
func (s *supervisor) admit() {
	if (s.spec.MaxRunning <= 0 && s.pool == nil) || s.ending {
		return
	}
	for s.queued() {
		w := s.waiting[0]
		if s.full() {
			return
		}
		if !s.take(w.ch) {
			return // the subtree is full: wait for a poolFreed, in order
		}
		s.waiting[0] = waiter{}
		s.waiting = s.waiting[1:]
		s.env.emit(Event{Kind: ChildAdmitted, Supervisor: s.path, Child: w.ch.id}, w.ch.r.restart.String())
		if err := s.start(w.ch, 0); err != nil {
			s.setState(w.ch, Stopped)
		}
	}
}

// The subtree limit (Spec.SubtreeMaxRunning): a pool of slots shared by the
// workers and tasks of a whole subtree, whose supervisors run on goroutines
// of their own. A child takes a slot from its supervisor's pool, and from
// the pools of the supervisors above that have one, all at once; it gives
// them back when it ends for good. A supervisor whose child found no slot
// registers with the pools; a slot given back wakes them all (a poolFreed
// message), and each tries again, in the order of its waiting children.

// pool is one SubtreeMaxRunning: its slots and the supervisors waiting for
// one. parent is the pool of the nearest supervisor above with a limit.
type pool struct {
	parent  *pool
	mu      sync.Mutex
	max     int
	held    int
	waiting map[*actor.Ref]struct{}
}

// poolFreed tells a waiting supervisor that a slot was given back.
type poolFreed struct{}

func newPool(parent *pool, max int) *pool {
	return &pool{parent: parent, max: max, waiting: make(map[*actor.Ref]struct{})}
}

// chain returns p and the pools above it, outermost first: the order in
// which they are locked.
func (p *pool) chain() []*pool {
	var c []*pool
	for ; p != nil; p = p.parent {
		c = append(c, p)
	}
	slices.Reverse(c)
	return c
}

// acquire takes a slot from every pool of the chain, or, if one is full,
// none, and registers sup to be told when a slot is given back.
func (p *pool) acquire(sup *actor.Ref) bool {
	c := p.chain()
	for _, q := range c {
		q.mu.Lock()
	}
	free := true
	for _, q := range c {
		if q.held >= q.max {
			free = false
		}
	}
	for _, q := range c {
		if free {
			q.held++
			delete(q.waiting, sup)
		} else {
			q.waiting[sup] = struct{}{}
		}
	}
	for i := len(c) - 1; i >= 0; i-- {
		c[i].mu.Unlock()
	}
	return free
}

// release gives a slot back to every pool of the chain and wakes the
// supervisors that wait.
func (p *pool) release() {
	var wake []*actor.Ref
	for _, q := range p.chain() {
		q.mu.Lock()
		q.held--
		for ref := range q.waiting {
			wake = append(wake, ref)
		}
		clear(q.waiting)
		q.mu.Unlock()
	}
	for _, ref := range wake {
		_ = ref.Send(poolFreed{}) // a supervisor that stopped needs no slot
	}
}

// pooled reports whether ch takes a slot from s's pool: workers and tasks
// do; a nested supervisor does not (its own children do).
func (s *supervisor) pooled(ch *child) bool {
	return s.pool != nil && (ch.r.spec.kind == kindWorker || ch.r.spec.kind == kindTask)
}

// take gets ch the subtree slot it needs to start, if any, and reports
// whether it may start.
func (s *supervisor) take(ch *child) bool {
	if !s.pooled(ch) || ch.slot {
		return true
	}
	if !s.pool.acquire(s.self) {
		return false
	}
	if !s.lease.add() {
		s.pool.release() // killed meanwhile: its slots went back already
		return false
	}
	ch.slot = true
	if !ch.state.holds() {
		s.unsettled = append(s.unsettled, ch) // settled after this message, unless it starts
	}
	return true
}

// giveBack returns the subtree slot of ch, if it holds one.
func (s *supervisor) giveBack(ch *child) {
	if ch.slot {
		ch.slot = false
		if s.lease.drop() {
			s.pool.release()
		}
	}
}

// lease counts the subtree slots that the children of one supervisor
// incarnation hold, so that a supervisor killed (which runs no Terminate to
// give them back one by one) gives them back all at once, from its AfterStop
// hook, while its goroutine may still be running: once closed, the lease
// turns the goroutine's later give-backs into no-ops.
type lease struct {
	mu     sync.Mutex
	held   int
	closed bool
}

// add counts a slot taken, and reports false if the lease is closed.
func (l *lease) add() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.held++
	return true
}

// drop counts a slot given back, and reports whether the caller must give it
// back to the pool (false once the lease is closed: it was given back then).
func (l *lease) drop() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.held--
	return true
}

// close ends the lease and returns how many slots were still held: the
// caller gives them back.
func (l *lease) close() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	n := l.held
	l.held = 0
	return n
}

// settleSlots gives back the slots of the children that no longer run or
// wait for a restart: they ended for good.
func (s *supervisor) settleSlots() {
	for i, ch := range s.unsettled {
		if ch.slot && !ch.state.holds() {
			s.giveBack(ch)
		}
		s.unsettled[i] = nil
	}
	s.unsettled = s.unsettled[:0]
	if checkCounts {
		s.checkCounts()
	}
}

// checkCounts, for tests, holds active and the settling of slots to what a
// scan of every child says; countsBroken keeps the first disagreement, for
// the tests to fail on.
var (
	checkCounts  = false
	countsBroken atomic.Pointer[string]
)

func (s *supervisor) checkCounts() {
	n := 0
	for ch := range s.children.all() {
		if ch.state.holds() {
			n++
		}
		if ch.slot && !ch.state.holds() {
			s.countsBroken(fmt.Sprintf("tree: %s/%s keeps a slot in state %s", s.path, ch.id, ch.state))
		}
	}
	if n != s.active {
		s.countsBroken(fmt.Sprintf("tree: %s counts %d active children, %d by a scan", s.path, s.active, n))
	}
}

func (s *supervisor) countsBroken(msg string) { countsBroken.CompareAndSwap(nil, &msg) }

// releaseAll gives back every subtree slot of the supervisor's children: its
// incarnation ends, and they with it.
func (s *supervisor) releaseAll() {
	if s.pool == nil {
		return
	}
	for ch := range s.children.all() {
		s.giveBack(ch)
	}
}
