package registry

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/arbor-go/arbor/actor"
)

// pgroup is a pg group. Its lists are changed in place, with a hole (nil)
// where a join was undone, so that joining and leaving cost the same in a
// group of ten thousand members as in a group of ten; once holes make up half
// of a list, it is compacted. Broadcast reads a snapshot of the distinct
// members, made at the first broadcast after a change and shared by the
// broadcasts that follow.
type pgroup struct {
	joins    []*actor.Ref // one per Join, in join order; nil where one was undone
	distinct []*actor.Ref // each member once, in order of first join; nil where one left
	holes    int          // the nils in joins
	members  map[*actor.Ref]*membership
	// snap is distinct without its holes, or nil until a broadcast needs
	// it. A broadcast may set it while holding gmu for reading; everything
	// else in a pgroup changes only under gmu held for writing.
	snap atomic.Pointer[[]*actor.Ref]
}

// membership is one actor's place in one group: where its joins are, and
// the hook that removes it when the incarnation that joined ends.
type membership struct {
	at   []int  // the indices of its joins in joins, ascending
	at0  [1]int // at's first array: most members join once
	slot int    // its index in distinct
	stop func() bool
	dead bool // guarded by the registry's mu; set by the end hook
}

// join records one more join of ref, whose membership is m if it is new.
func (g *pgroup) join(ref *actor.Ref, m *membership) (have *membership) {
	i := len(g.joins)
	g.joins = append(g.joins, ref)
	if have = g.members[ref]; have != nil {
		have.at = append(have.at, i)
		return have
	}
	m.at0[0] = i
	m.at = m.at0[:]
	m.slot = len(g.distinct)
	g.members[ref] = m
	g.distinct = append(g.distinct, ref)
	g.snap.Store(nil)
	return nil
}

// leave undoes the last join of the member m and reports whether it is out.
func (g *pgroup) leave(ref *actor.Ref, m *membership) (out bool) {
	last := len(m.at) - 1
	g.joins[m.at[last]] = nil
	g.holes++
	m.at = m.at[:last]
	if last > 0 {
		g.tidy()
		return false
	}
	g.remove(ref, m)
	return true
}

// drop undoes every join of the member m.
func (g *pgroup) drop(ref *actor.Ref, m *membership) {
	for _, i := range m.at {
		g.joins[i] = nil
	}
	g.holes += len(m.at)
	m.at = m.at[:0]
	g.remove(ref, m)
}

// remove takes m, which has no joins left, out of the members.
func (g *pgroup) remove(ref *actor.Ref, m *membership) {
	delete(g.members, ref)
	g.distinct[m.slot] = nil
	g.snap.Store(nil)
	g.tidy()
}

// tidy compacts the lists once holes make up half of either.
func (g *pgroup) tidy() {
	if 2*g.holes <= len(g.joins) && 2*len(g.members) >= len(g.distinct) {
		return
	}
	for _, m := range g.members {
		m.at = m.at[:0]
	}
	g.joins = squeeze(g.joins, func(ref *actor.Ref, i int) {
		m := g.members[ref]
		m.at = append(m.at, i)
	})
	g.distinct = squeeze(g.distinct, func(ref *actor.Ref, i int) { g.members[ref].slot = i })
	g.holes = 0
}

// squeeze moves the non-nil refs of s to its front, in order, telling moved
// each one's new index, and returns them; a backing array left mostly empty
// is given back.
func squeeze(s []*actor.Ref, moved func(ref *actor.Ref, i int)) []*actor.Ref {
	n := 0
	for _, ref := range s {
		if ref != nil {
			s[n] = ref
			moved(ref, n)
			n++
		}
	}
	clear(s[n:])
	if cap(s) > 4*n+16 {
		return slices.Clone(s[:n])
	}
	return s[:n]
}

// snapshot returns the distinct members, holes left out, in a slice that is
// never changed: the broadcasts after a change share one. gmu must be held,
// for reading at least.
func (g *pgroup) snapshot() []*actor.Ref {
	if p := g.snap.Load(); p != nil {
		return *p
	}
	refs := make([]*actor.Ref, 0, len(g.members))
	for _, ref := range g.distinct {
		if ref != nil {
			refs = append(refs, ref)
		}
	}
	g.snap.Store(&refs) // readers racing here store equal snapshots
	return refs
}

// list returns the joins, holes left out.
func (g *pgroup) list() []*actor.Ref {
	out := make([]*actor.Ref, 0, len(g.joins)-g.holes)
	for _, ref := range g.joins {
		if ref != nil {
			out = append(out, ref)
		}
	}
	return out
}

// Join adds ref to group. An actor may join a group several times; it then
// appears that many times in Members and must Leave as many times to be out.
//
// A membership belongs to the incarnation of ref that is running when it
// joins (between two incarnations, to the next one), and ends with it: when
// the actor stops for good, and also when it crashes and its supervisor
// restarts it, which keeps its Ref (and its names) but, as a restart makes a
// new process in OTP, not its groups. Every join of that incarnation is
// undone, with one Left event each, before its parent or anyone else hears
// of the end. An actor that joins in its Init is thus a member once,
// however often it restarts. (A join made from outside just as the
// incarnation ends may end with it at once.)
//
// Join returns an *InvalidNameError for an invalid group name (see
// ValidName), actor.ErrNilActor for a nil or zero ref, and an error matching
// actor.ErrStopped if ref has already stopped.
func (r *Registry) Join(group string, ref *actor.Ref) error {
	if err := ValidName(group); err != nil {
		return err
	}
	if ref == nil || ref.Incarnation() == 0 { // nil, or a zero Ref: Spawn counts the first
		return actor.ErrNilActor
	}
	m := &membership{}
	m.stop = ref.OnIncarnationEnd(func(*actor.Ref, error) { r.dropMember(group, ref, m) })
	joined, err := r.add(group, ref, m)
	if err != nil {
		return err
	}
	if !joined {
		m.stop() // the first join's hook serves them all
	}
	return nil
}

// add records the join m of ref to group, and reports whether m is ref's
// first membership of it. The registry is changed before the observers hear
// of it, and unlocked however they return (see put).
func (r *Registry) add(group string, ref *actor.Ref, m *membership) (first bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.dead {
		// The incarnation ended between the hook and the lock: the join
		// ended with it, or, if the actor has stopped, never was.
		if ref.Alive() {
			return true, nil
		}
		return false, fmt.Errorf("registry: join %q: %w", group, actor.ErrStopped)
	}
	r.gmu.Lock()
	g := r.groups[group]
	if g == nil {
		g = &pgroup{members: make(map[*actor.Ref]*membership)}
		if r.groups == nil {
			r.groups = make(map[string]*pgroup)
		}
		r.groups[group] = g
	}
	have := g.join(ref, m)
	r.gmu.Unlock()
	r.emit(Event{Kind: Joined, Group: group, Ref: ref})
	return have == nil, nil
}

// Leave undoes one Join of ref to group. It returns a *NotFoundError
// (errors.Is ErrNotFound) naming the group and ref if ref is not a member.
func (r *Registry) Leave(group string, ref *actor.Ref) error {
	r.mu.Lock()
	defer r.mu.Unlock() // however the observers return (see put)
	r.gmu.Lock()
	g := r.groups[group]
	var m *membership
	if g != nil {
		m = g.members[ref]
	}
	if m == nil {
		r.gmu.Unlock()
		return &NotFoundError{Name: group, Ref: ref}
	}
	out := g.leave(ref, m)
	if len(g.members) == 0 {
		delete(r.groups, group)
	}
	r.gmu.Unlock()
	if out {
		m.stop()
	}
	r.emit(Event{Kind: Left, Group: group, Ref: ref})
	return nil
}

// dropMember removes every join of ref to group once the incarnation of ref
// that joined has ended, if the membership m is still the current one.
func (r *Registry) dropMember(group string, ref *actor.Ref, m *membership) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m.dead = true
	r.gmu.Lock()
	g := r.groups[group]
	if g == nil || g.members[ref] != m {
		r.gmu.Unlock()
		return
	}
	n := len(m.at)
	g.drop(ref, m)
	if len(g.members) == 0 {
		delete(r.groups, group)
	}
	r.gmu.Unlock()
	for range n {
		r.emit(Event{Kind: Left, Group: group, Ref: ref})
	}
}

// Members returns the members of group, once per Join, in join order (as
// OTP's pg does); nil for a group nobody is in.
func (r *Registry) Members(group string) []*actor.Ref {
	r.gmu.RLock()
	defer r.gmu.RUnlock()
	if g := r.groups[group]; g != nil {
		return g.list()
	}
	return nil
}

// Groups returns the names of the groups that have members, sorted.
func (r *Registry) Groups() []string {
	r.gmu.RLock()
	names := make([]string, 0, len(r.groups))
	for name := range r.groups {
		names = append(names, name)
	}
	r.gmu.RUnlock()
	slices.Sort(names)
	return names
}

// Broadcast sends msg to every member of group, once per member however many
// times it joined, and returns how many sends succeeded. The errors of the
// others, each naming its actor, come joined with errors.Join. A group nobody
// is in reaches no one: (0, nil). The members are those of the moment
// Broadcast starts; the sends happen without any lock held.
func (r *Registry) Broadcast(group string, msg any) (int, error) {
	r.gmu.RLock()
	var refs []*actor.Ref
	if g := r.groups[group]; g != nil {
		refs = g.snapshot()
	}
	r.gmu.RUnlock()
	n := 0
	var errs []error
	for _, ref := range refs {
		if err := ref.Send(msg); err != nil {
			errs = append(errs, fmt.Errorf("registry: broadcast %q to %v: %w", group, ref, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
