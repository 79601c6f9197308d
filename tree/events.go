package tree

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbor-go/arbor/actor"
)

// EventKind says what an Event reports.
type EventKind int

// The kinds of events, in roughly the order a child's life produces them.
const (
	// SupervisorStarted: a supervisor (or a new incarnation of one) has
	// started all its children.
	SupervisorStarted EventKind = iota + 1
	// SupervisorStopped: a supervisor ended; Reason says why.
	SupervisorStopped
	// ChildStarted: a child started (Attempt 0) or was started again by hand.
	ChildStarted
	// StartFailed: a child's start or restart failed; Reason says why.
	StartFailed
	// ChildExited: a child ended by itself; Reason (and Stack, for a panic).
	ChildExited
	// ChildRestarting: a restart is scheduled after Delay; Attempt counts.
	ChildRestarting
	// ChildRestarted: a child runs again, as attempt Attempt.
	ChildRestarted
	// ChildTerminated: the supervisor stopped a child, or ended the current
	// incarnation of a sibling that OneForAll or RestForOne restarts in
	// place (a ChildRestarted follows); Reason is ErrShutdown, or ErrKilled
	// for a brutal kill. Not a crash: it is reported at debug level.
	ChildTerminated
	// ChildKilled: a child did not stop within its shutdown timeout and was
	// killed (OTP's shutdown_error).
	ChildKilled
	// IntensityExceeded: too many restarts; the supervisor gives up and ends
	// with a shutdown, escalating to its parent.
	IntensityExceeded
	// DeadLetter: a message to a child could not be delivered; Reason says why.
	DeadLetter
	// Lagged: this subscriber missed Dropped events because its buffer was full.
	Lagged
	// ChildQueued: a child waits for a slot under MaxRunning.
	ChildQueued
	// ChildAdmitted: a waiting child got its slot.
	ChildAdmitted
	// Stuck: a child was still running when a Stop's time ran out; it was
	// killed and its goroutine abandoned.
	Stuck
	// NameRegistered: an actor of the tree (Supervisor, Child, Ref) now
	// holds Name in the tree's registry (see WithRegistry).
	NameRegistered
	// NameUnregistered: an actor of the tree no longer holds Name: it
	// stopped for good (reported before its ChildTerminated, ChildKilled or
	// ChildExited), or the name was unregistered.
	NameUnregistered
	// GroupJoined: an actor of the tree joined Group in the tree's registry
	// (once more).
	GroupJoined
	// GroupLeft: an actor of the tree left Group once, by a Leave, or
	// because the incarnation that joined ended (a restart in place keeps
	// the Ref but not the groups: see registry.Registry.Join).
	GroupLeft
)

var kindNames = [...]string{
	SupervisorStarted: "supervisor_started", SupervisorStopped: "supervisor_stopped",
	ChildStarted: "child_started", StartFailed: "start_failed", ChildExited: "child_exited",
	ChildRestarting: "child_restarting", ChildRestarted: "child_restarted",
	ChildTerminated: "child_terminated", ChildKilled: "child_killed",
	IntensityExceeded: "intensity_exceeded", DeadLetter: "dead_letter", Lagged: "lagged",
	ChildQueued: "child_queued", ChildAdmitted: "child_admitted", Stuck: "stuck",
	NameRegistered: "name_registered", NameUnregistered: "name_unregistered",
	GroupJoined: "group_joined", GroupLeft: "group_left",
}

// String returns the kind's snake_case name, as on the event stream. The
// zerolog reports of four kinds carry OTP's names instead (ChildExited of a
// crash is "child_terminated", StartFailed "start_error", ChildKilled
// "shutdown_error", IntensityExceeded "reached_max_restart_intensity"); see
// docs/supervision.md, Reports.
func (k EventKind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one thing that happened in a tree. Events are for observing:
// the tree's own decisions never depend on them, and a subscriber that falls
// behind loses events (and learns how many through a Lagged event).
type Event struct {
	// Seq orders the events of one tree: it grows by one per event that a
	// subscriber with room or the log takes, so that a subscription to the
	// whole tree that keeps pace sees no gap. Across a Lagged it may skip
	// by up to the count the Lagged gives, not more. Lagged events, which
	// are per subscriber, carry 0.
	Seq uint64
	// Time is when the event happened, by the tree's clock.
	Time time.Time
	Kind EventKind
	// Supervisor is the path of the supervisor concerned, as "root/portals".
	Supervisor string
	// Child is the child's id, if the event concerns one.
	Child string
	// Ref is the child's actor, when it has one; for the supervisor's own
	// events (SupervisorStarted, SupervisorStopped, IntensityExceeded), the
	// supervisor's.
	Ref *actor.Ref
	// Reason is an exit reason or error.
	Reason error
	// Stack is the stack of a panic, for ChildExited.
	Stack actor.Stack
	// Delay is the backoff before a restart, for ChildRestarting.
	Delay time.Duration
	// Attempt numbers restarts since the child last ran stably.
	Attempt int
	// Restarts is how many restarts the supervisor's window holds.
	Restarts int
	// Dropped is how many events a Lagged subscriber missed.
	Dropped uint64
	// Name is the registered name, for NameRegistered and NameUnregistered.
	Name string
	// Group is the registry group, for GroupJoined and GroupLeft.
	Group string
}

// String formats the event on one line for people.
func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s %s", e.Seq, e.Kind, e.Supervisor)
	if e.Child != "" {
		fmt.Fprintf(&b, " child=%s", e.Child)
	}
	if e.Name != "" {
		fmt.Fprintf(&b, " name=%q", e.Name)
	}
	if e.Group != "" {
		fmt.Fprintf(&b, " group=%q", e.Group)
	}
	if e.Reason != nil {
		fmt.Fprintf(&b, " reason=%q", e.Reason.Error())
	}
	if e.Kind == ChildRestarting {
		fmt.Fprintf(&b, " delay=%v", e.Delay)
	}
	if e.Attempt > 0 {
		fmt.Fprintf(&b, " attempt=%d", e.Attempt)
	}
	if e.Restarts > 0 {
		fmt.Fprintf(&b, " restarts=%d", e.Restarts)
	}
	if e.Dropped > 0 {
		fmt.Fprintf(&b, " dropped=%d", e.Dropped)
	}
	return b.String()
}

// bus carries a tree's events to its subscribers. Publishing never blocks:
// a full subscriber loses the event, and is told how many it lost as soon as
// it has room again, or at the end.
type bus struct {
	mu   sync.Mutex
	seq  uint64          // the last event's number
	subs []*Subscription // a slice: publishing ranges over it for every event, and a map's iteration costs more
	// live is subs for unheard, which reads it without mu: every change
	// makes a new slice, and stores it here too (nil once closed).
	live   atomic.Pointer[[]*Subscription]
	closed bool
	buffer int
}

// setSubs replaces the subscribers with subs, a slice that no one else
// holds. b.mu must be held.
func (b *bus) setSubs(subs []*Subscription) {
	b.subs = subs
	if len(subs) == 0 {
		b.live.Store(nil)
		return
	}
	b.live.Store(&subs)
}

func newBus(buffer int) *bus {
	if buffer <= 0 {
		buffer = DefaultEventBuffer
	}
	return &bus{buffer: buffer}
}

// Subscription receives a tree's events (or a subtree's) until it is closed
// or the tree stops, when its channel is closed.
type Subscription struct {
	b       *bus
	prefix  string
	below   string // prefix + "/": the start of the paths under it
	ch      chan Event
	dropped atomic.Uint64 // taken back under b.mu; unheard adds to it without
	closed  bool          // guarded by b.mu
}

func (b *bus) subscribe(prefix string, buffer int) *Subscription {
	if buffer <= 0 {
		buffer = b.buffer
	}
	buffer = min(buffer, MaxEventBuffer)
	// One slot more than the buffer, kept for the news that close gives.
	s := &Subscription{b: b, prefix: prefix, below: prefix + "/", ch: make(chan Event, buffer+1)}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		s.closed = true
		close(s.ch)
		return s
	}
	b.setSubs(append(slices.Clip(b.subs), s)) // a new array: unheard may be reading the old
	return s
}

// Events returns the channel of events, closed by Close or when the tree
// stops. A Subscription that no tree made (nil or the zero value) has a
// stream that is over before it began: a closed channel, rather than a panic
// or a channel that never delivers.
func (s *Subscription) Events() <-chan Event {
	if s == nil || s.ch == nil {
		return noEvents
	}
	return s.ch
}

// noEvents is the stream of a Subscription that no tree made.
var noEvents = func() chan Event {
	c := make(chan Event)
	close(c)
	return c
}()

// Close ends the subscription and closes its channel. It is idempotent, and
// does nothing on a Subscription that a tree did not make (nil or the zero
// value).
func (s *Subscription) Close() {
	if s == nil || s.b == nil {
		return
	}
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	s.b.setSubs(slices.DeleteFunc(slices.Clone(s.b.subs), func(x *Subscription) bool { return x == s }))
	close(s.ch)
}

// under reports whether path is the subscription's supervisor or below it.
func (s *Subscription) under(path string) bool {
	return path == s.prefix || strings.HasPrefix(path, s.below)
}

// unheard reports whether n events of the supervisor at path, published
// now, would reach no subscriber: none is under it, or each one under it is
// full. It then counts the n events lost by each full one, as publish would,
// and the caller may skip making the events: they are not numbered. It does
// not take b.mu, so that a crash with no one to hear of it, or only a
// stalled subscriber, costs no lock. A subscriber that reads meanwhile
// loses them as if they had come a moment earlier.
func (b *bus) unheard(path string, n int) bool {
	subs := b.live.Load()
	if subs == nil {
		return true
	}
	return lost(*subs, path, uint64(n))
}

// lost reports whether an event of the supervisor at path would reach none
// of subs, and if so counts n events lost by each one under path.
func lost(subs []*Subscription, path string, n uint64) bool {
	for _, s := range subs {
		if s.under(path) && s.room() > 0 {
			return false
		}
	}
	for _, s := range subs {
		if s.under(path) {
			s.dropped.Add(n)
		}
	}
	return true
}

// room is how many events s can take, but for the slot kept for the news
// of the end (see close); it only grows meanwhile: the reader takes.
func (s *Subscription) room() int { return cap(s.ch) - len(s.ch) - 1 }

// publish numbers the events in evs, in order, and delivers each to the
// subscribers under its supervisor, under one lock. An event that would
// reach no subscriber is only counted lost, and takes no number, unless
// logged says the log writes it: its report carries the number. Each event
// is judged after the one before has been delivered, as if published
// alone. Once the bus is closed, the events keep the number 0.
func (b *bus) publish(evs []Event, logged []bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	for i := range evs {
		if !logged[i] && lost(b.subs, evs[i].Supervisor, 1) {
			continue
		}
		b.seq++
		evs[i].Seq = b.seq
		for _, s := range b.subs {
			if s.under(evs[i].Supervisor) {
				s.deliver(&evs[i])
			}
		}
	}
}

// deliver sends e to s, if it has room, after the news of what it missed.
// b.mu must be held: it is the only sender.
func (s *Subscription) deliver(e *Event) {
	free := s.room()
	if free <= 0 {
		s.dropped.Add(1) // a stalled subscriber costs no more than this
		return
	}
	// What unheard adds meanwhile stays for the next news.
	if d := s.dropped.Load(); d > 0 {
		s.dropped.Add(-d)
		if free == 1 {
			// Room for the news only: it counts this event too.
			// Delivering the news and dropping the event would start
			// the next delivery in the same state, and a buffer of one
			// would never see an event again.
			s.ch <- Event{Time: e.Time, Kind: Lagged, Supervisor: s.prefix, Dropped: d + 1}
			return
		}
		s.ch <- Event{Time: e.Time, Kind: Lagged, Supervisor: s.prefix, Dropped: d}
	}
	s.ch <- *e
}

// close ends every subscription: the tree has stopped. A subscriber that
// lost events since its last news is told how many in a last Lagged, in the
// slot kept for it, so that the end of its stream never hides a loss.
func (b *bus) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for _, s := range b.subs {
		if d := s.dropped.Swap(0); d > 0 {
			s.ch <- Event{Time: time.Now(), Kind: Lagged, Supervisor: s.prefix, Dropped: d}
		}
		s.closed = true
		close(s.ch)
	}
	b.setSubs(nil)
}
