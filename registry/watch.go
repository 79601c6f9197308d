package registry

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/arbor-go/arbor/actor"
)

// EventKind says what an Event reports.
type EventKind int

// The kinds of events.
const (
	// Registered: Ref now holds Name.
	Registered EventKind = iota + 1
	// Unregistered: Ref no longer holds Name (Unregister, its death, or a
	// new holder taking over the name of a dead one).
	Unregistered
	// Joined: Ref joined Group once more.
	Joined
	// Left: Ref left Group once (by Leave, or one such event per join when
	// it stopped).
	Left
	// Lagged: this watch missed Dropped events because its buffer was full.
	Lagged
)

var kindNames = [...]string{
	Registered: "registered", Unregistered: "unregistered",
	Joined: "joined", Left: "left", Lagged: "lagged",
}

// String returns the kind's name, as in logs.
func (k EventKind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one change in a registry.
type Event struct {
	// Seq orders a registry's changes: it grows by one per change. Lagged
	// events, which belong to one watch, carry 0.
	Seq uint64
	// Time is when the change happened, by the registry's clock.
	Time time.Time
	Kind EventKind
	// Name is the name, for Registered and Unregistered.
	Name string
	// Group is the group, for Joined and Left.
	Group string
	// Ref is the actor concerned; nil for Lagged.
	Ref *actor.Ref
	// Dropped is how many events a Lagged watch missed.
	Dropped uint64
}

// String formats the event on one line for people.
func (e Event) String() string {
	switch e.Kind {
	case Lagged:
		return fmt.Sprintf("lagged dropped=%d", e.Dropped)
	case Joined, Left:
		return fmt.Sprintf("#%d %s group=%q ref=%v", e.Seq, e.Kind, e.Group, e.Ref)
	default:
		return fmt.Sprintf("#%d %s name=%q ref=%v", e.Seq, e.Kind, e.Name, e.Ref)
	}
}

// DefaultWatchBuffer is the buffer of a Watch asked for with a buffer <= 0.
const DefaultWatchBuffer = 64

// MaxWatchBuffer caps the buffer of a Watch: its room is made up front.
const MaxWatchBuffer = 1 << 16

// Watch receives the changes to the names and groups under a prefix. It is
// bounded and never slows the registry: when its buffer is full, new events
// are dropped and counted, and as soon as there is room again the watch
// receives a Lagged event with their number, in the place where they were
// lost. A Watch holds one goroutine until it is closed.
type Watch struct {
	r      *Registry
	prefix string
	out    chan Event
	wake   chan struct{} // a token: the pump has something to look at
	quit   chan struct{} // closed by Close
	exited chan struct{} // closed when the pump has returned
	once   sync.Once

	mu      sync.Mutex // guards what follows; taken by publishers, never for long
	buf     []Event    // a ring of len(buf) events
	head, n int
	dropped uint64
	closed  bool
}

// Watch starts watching the names and groups under the path prefix (as
// Select reads it; "" for all), with room for buffer events not yet received
// (DefaultWatchBuffer if buffer <= 0, at most MaxWatchBuffer). It sees the
// changes made after it returns. Close it when done.
func (r *Registry) Watch(prefix string, buffer int) *Watch {
	if buffer <= 0 {
		buffer = DefaultWatchBuffer
	}
	buffer = min(buffer, MaxWatchBuffer)
	w := &Watch{
		r: r, prefix: prefix, out: make(chan Event), buf: make([]Event, buffer),
		wake: make(chan struct{}, 1), quit: make(chan struct{}), exited: make(chan struct{}),
	}
	go w.pump()
	r.mu.Lock()
	r.watches = append(slices.Clip(r.watches), w)
	r.mu.Unlock()
	return w
}

// Events returns the channel of events, closed by Close. A Watch that
// Registry.Watch did not make (nil or the zero value) has a closed channel:
// it watches nothing, and a reader must not wait for it forever.
func (w *Watch) Events() <-chan Event {
	if w == nil || w.out == nil {
		return noEvents
	}
	return w.out
}

// noEvents is the stream of a Watch that Registry.Watch did not make.
var noEvents = func() chan Event {
	c := make(chan Event)
	close(c)
	return c
}()

// Close stops the watch, closes its channel and releases its goroutine.
// Events not yet received are lost. It is idempotent, and does nothing on a
// Watch that Registry.Watch did not make (nil or the zero value).
func (w *Watch) Close() {
	if w == nil || w.r == nil {
		return
	}
	w.once.Do(func() {
		w.r.mu.Lock()
		w.r.watches = slices.DeleteFunc(slices.Clone(w.r.watches), func(x *Watch) bool { return x == w })
		w.r.mu.Unlock()
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		close(w.quit)
		<-w.exited
		close(w.out)
	})
}

// offer queues e, or counts it as dropped if the buffer is full. It never
// blocks.
func (w *Watch) offer(e Event) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	if w.n == len(w.buf) {
		w.dropped++
		w.mu.Unlock()
		return
	}
	w.push(e)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// push appends e to the ring, which has room. w.mu must be held.
func (w *Watch) push(e Event) {
	w.buf[(w.head+w.n)%len(w.buf)] = e
	w.n++
}

// pump moves events from the ring to the channel, one at a time, so that
// publishers never wait for the reader.
func (w *Watch) pump() {
	defer close(w.exited)
	for {
		w.mu.Lock()
		if w.n == 0 {
			w.mu.Unlock()
			select {
			case <-w.wake:
				continue
			case <-w.quit:
				return
			}
		}
		e := w.buf[w.head]
		w.buf[w.head] = Event{}
		w.head = (w.head + 1) % len(w.buf)
		w.n--
		if w.dropped > 0 {
			// Room at last: the loss takes its place after what was
			// queued before it, ahead of anything that comes later.
			w.push(Event{Kind: Lagged, Time: w.r.clock(), Dropped: w.dropped})
			w.dropped = 0
		}
		w.mu.Unlock()
		select {
		case w.out <- e:
		case <-w.quit:
			return
		}
	}
}

func (r *Registry) clock() time.Time {
	if r.now != nil {
		return r.now()
	}
	return time.Now()
}
