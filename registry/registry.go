package registry

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbor-go/arbor/actor"
)

// Registry maps names to actors and holds groups of actors. All its methods
// are safe for concurrent use. The zero value is an empty registry ready to
// use, without options; New makes one with options. A Registry must not be
// copied after first use.
//
// Reads (Lookup, Send, Call) take no lock and write no shared memory, so
// they scale with cores: the names live in a hash table of immutable
// buckets behind atomic pointers, which a change replaces one at a time.
// Changes are serialised by one mutex, which is also what numbers them in a
// single order for watchers; a change costs about a microsecond, whatever
// the number of names. (bench_test.go measures the candidates: a sync.Map
// reads a third slower; shards of copy-on-write maps read as fast but copy a
// whole shard on every change; shards behind read-write mutexes do not
// scale, since every reader writes its lock's counter.)
type Registry struct {
	names atomic.Pointer[table] // what readers see; nil until the first name

	mu      sync.Mutex        // serialises every change, and its event
	entries map[string]*entry // the registrations behind names
	peak    int               // the most entries since the map was made: a Go map keeps the room of its peak
	seq     uint64
	watches []*Watch

	gmu    sync.RWMutex // guards groups; taken by writers only under mu
	groups map[string]*pgroup

	observers []*observer // guarded by mu
	now       func() time.Time
}

// entry is one registration. Its identity, not its Ref's, decides whether a
// death removes it: an old holder's death must not remove a new registration
// of the same name, even by the same actor.
type entry struct {
	ref  *actor.Ref
	stop func() bool // cancels the death watch
	dead atomic.Bool // set by the death watch before it removes the entry
}

// Option configures a Registry made by New.
type Option func(*Registry)

// WithObserver has f called with every change (every event but Lagged), in
// order, numbered, as it happens: this is how a supervision tree puts name
// changes on its own event stream. f runs while the registry's write lock is
// held, so it must be quick, must not block, and must not change the
// registry (Register, Unregister, Join, Leave, Watch, Close), nor stop an
// actor that holds a name or a group in it (its end changes the registry);
// reads are fine. A panic in f comes out of the change that called it, which
// is made already; the registry stays usable.
func WithObserver(f func(Event)) Option {
	return func(r *Registry) {
		if f != nil {
			r.observers = append(r.observers, &observer{f})
		}
	}
}

type observer struct{ f func(Event) }

// Observe adds f as an observer of a registry that exists already, as
// WithObserver does at its making (and with the same rules for f), until the
// returned function is called. Several observers may watch one registry,
// such as the trees that share it; each sees the changes made after Observe
// returns.
func (r *Registry) Observe(f func(Event)) (stop func()) {
	if f == nil {
		return func() {}
	}
	o := &observer{f}
	r.mu.Lock()
	r.observers = append(slices.Clip(r.observers), o)
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		r.observers = slices.DeleteFunc(slices.Clone(r.observers), func(x *observer) bool { return x == o })
		r.mu.Unlock()
	}
}

// WithClock sets the time source of events; time.Now by default. A registry
// shared with a tree that keeps a clock of its own (tree.WithClock) takes
// the same, registry.WithClock(clk.Now), for their events to agree: the tree
// stamps its own events of names and groups, not the registry's. now is
// called from several goroutines and must be safe for that.
func WithClock(now func() time.Time) Option { return func(r *Registry) { r.now = now } }

// New returns an empty registry.
func New(opts ...Option) *Registry {
	r := new(Registry)
	for _, o := range opts {
		if o != nil {
			o(r)
		}
	}
	return r
}

// shrinkFrom is the peak number of names from which the registrations' map
// is made anew, smaller, once three quarters of them are gone.
const shrinkFrom = 1024

// holder returns the actor holding name, or nil: lock-free.
func (r *Registry) holder(name string) *actor.Ref {
	if t := r.names.Load(); t != nil {
		return t.get(name)
	}
	return nil
}

// store sets (e != nil) or deletes the entry of name. r.mu must be held.
func (r *Registry) store(name string, e *entry) {
	t := r.names.Load()
	if t == nil {
		t = newTable(minBuckets)
	}
	var ref *actor.Ref
	if e != nil {
		if r.entries == nil {
			r.entries = make(map[string]*entry)
		}
		r.entries[name] = e
		ref = e.ref
		r.peak = max(r.peak, len(r.entries))
	} else {
		delete(r.entries, name)
		if r.peak >= shrinkFrom && len(r.entries) < r.peak/4 {
			// maps.Clone may keep the room too: copy into a map sized anew.
			m := make(map[string]*entry, len(r.entries))
			maps.Copy(m, r.entries)
			r.entries, r.peak = m, len(r.entries)
		}
	}
	if n := t.set(name, ref); n != r.names.Load() {
		r.names.Store(n)
	}
}

// Register gives ref the name. A name is unique: if a live actor other than
// ref holds it, Register returns a *TakenError (errors.Is ErrTaken) naming
// the holder. A name whose holder has stopped is free at once, even before
// the registry has processed the death. Registering a name to the actor that
// already holds it returns nil and changes nothing: one Unregister undoes
// both. An actor may hold several names.
//
// The name is removed when ref stops for good, as part of its end: by the
// time its Done closes or its supervisor hears of the end, the name is free.
// A supervised restart keeps the Ref, and so the name. Register returns an
// *InvalidNameError for an invalid name (see ValidName), actor.ErrNilActor
// for a nil or zero ref, and an error matching actor.ErrStopped if ref has
// already stopped.
func (r *Registry) Register(name string, ref *actor.Ref) error {
	if err := ValidName(name); err != nil {
		return err
	}
	if ref == nil || ref.Incarnation() == 0 { // nil, or a zero Ref: Spawn counts the first
		return actor.ErrNilActor
	}
	// Watch for the death first, without the lock: for an actor already
	// stopped, OnStop calls back at once, on this goroutine. OnStop rather
	// than AfterStop: the name is released as part of the actor's end, so
	// that whoever learns of the end (Done, its supervisor, a monitor)
	// finds it free.
	e := &entry{ref: ref}
	e.stop = ref.OnStop(func(*actor.Ref, error) {
		e.dead.Store(true)
		r.expire(name, e)
	})
	if err := r.put(name, e); err != nil {
		e.stop()
		if err == errHeld {
			return nil
		}
		return err
	}
	return nil
}

// errHeld tells Register that ref holds the name already.
var errHeld = errors.New("registry: held already")

// put stores e as the holder of name, unless someone alive holds it. The
// registry is changed before the observers hear of it, and unlocked however
// they return: an observer that panics leaves it whole and usable.
func (r *Registry) put(name string, e *entry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.dead.Load() {
		return fmt.Errorf("registry: register %q: %w", name, actor.ErrStopped)
	}
	old := r.entries[name]
	switch {
	case old == nil:
	case old.ref == e.ref:
		return errHeld
	case !old.dead.Load() && old.ref.Alive():
		return &TakenError{Name: name, Holder: old.ref}
	default:
		// The holder has stopped and its watch has yet to run: take over.
		// The watch will find another entry and leave it alone.
		old.stop()
	}
	r.store(name, e)
	if old != nil {
		r.emit(Event{Kind: Unregistered, Name: name, Ref: old.ref})
	}
	r.emit(Event{Kind: Registered, Name: name, Ref: e.ref})
	return nil
}

// expire removes the registration e of name, if it still holds the name.
func (r *Registry) expire(name string, e *entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.entries[name] == e {
		r.store(name, nil)
		r.emit(Event{Kind: Unregistered, Name: name, Ref: e.ref})
	}
}

// Unregister removes the name, whoever holds it. It returns a *NotFoundError
// (errors.Is ErrNotFound) if nobody does.
func (r *Registry) Unregister(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock() // however the observers return (see put)
	e := r.entries[name]
	if e == nil {
		return &NotFoundError{Name: name}
	}
	r.store(name, nil)
	e.stop()
	r.emit(Event{Kind: Unregistered, Name: name, Ref: e.ref})
	return nil
}

// Lookup returns the actor holding name. It takes no lock and allocates
// nothing. An actor that is stopping may still be returned until its end
// has released the name, which happens before its Done closes (a send to it
// then becomes a dead letter, or, once its mailbox is closed, fails with
// actor.ErrStopped); a name is never returned for an actor that did not
// hold it.
func (r *Registry) Lookup(name string) (*actor.Ref, bool) {
	if ref := r.holder(name); ref != nil {
		return ref, true
	}
	return nil, false
}

// Send sends msg to the actor holding name, as Ref.Send does: it costs a
// Lookup more than Ref.Send. An unknown name gives a *NotFoundError (errors.Is
// ErrNotFound); the Ref's errors (actor.ErrStopped, mailbox.ErrFull, ...) are
// returned wrapped with the name.
func (r *Registry) Send(name string, msg any) error {
	ref := r.holder(name)
	if ref == nil {
		return &NotFoundError{Name: name}
	}
	if err := ref.Send(msg); err != nil {
		return fmt.Errorf("registry: send to %q: %w", name, err)
	}
	return nil
}

// Call calls the actor holding name, as Ref.Call does, and returns its reply.
// An unknown name fails at once with a *NotFoundError (errors.Is
// ErrNotFound); the call's errors (an *actor.ExitError, ctx's error,
// actor.ErrCallTimeout, ...) are returned wrapped with the name.
func (r *Registry) Call(ctx context.Context, name string, msg any) (any, error) {
	ref := r.holder(name)
	if ref == nil {
		return nil, &NotFoundError{Name: name}
	}
	v, err := ref.Call(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("registry: call %q: %w", name, err)
	}
	return v, nil
}

// Select returns the names under the path prefix, sorted: "bridge/portal"
// selects itself and "bridge/portal/...", not "bridge/portals"; a prefix
// ending in "/" selects what starts with it; "" selects every name. It reads
// every name, without a lock: a change made meanwhile may or may not show.
// It costs a pass over all the names; Lookup is the way to find one.
func (r *Registry) Select(prefix string) []string {
	var names []string
	if t := r.names.Load(); t != nil {
		t.each(func(name string, _ *actor.Ref) {
			if under(name, prefix) {
				names = append(names, name)
			}
		})
	}
	slices.Sort(names)
	return names
}

// Names returns every registered name, sorted.
func (r *Registry) Names() []string { return r.Select("") }

// emit numbers e and hands it to the observers and the watches under it.
// r.mu must be held: that keeps events in the order of the changes.
func (r *Registry) emit(e Event) {
	r.seq++
	e.Seq = r.seq
	e.Time = r.clock()
	for _, o := range r.observers {
		o.f(e)
	}
	key := e.Name
	if key == "" {
		key = e.Group
	}
	for _, w := range r.watches {
		if under(key, w.prefix) {
			w.offer(e)
		}
	}
}

// A Registry is what an actor finds others in by name (actor.WithDirectory).
var _ actor.Directory = (*Registry)(nil)
