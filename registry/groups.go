package registry

import (
	"errors"
	"fmt"
	"slices"

	"github.com/arbor-go/arbor/actor"
)

// pgroup is a pg group. Its slices are never changed in place, only replaced,
// so that a reader may keep one after letting go of the lock.
type pgroup struct {
	joins    []*actor.Ref // one per Join, in join order
	distinct []*actor.Ref // each member once, in order of first join
	members  map[*actor.Ref]*membership
}

// membership is one actor's place in one group: how many times it joined,
// and the watch that removes it when it stops.
type membership struct {
	count int
	stop  func() bool
	dead  bool // guarded by the registry's mu; set by the death watch
}

// Join adds ref to group. An actor may join a group several times; it then
// appears that many times in Members and must Leave as many times to be out.
// A member that stops for good is removed (one Left event per join). Join
// returns an *InvalidNameError for an invalid group name (see ValidName),
// actor.ErrNilActor for a nil ref, and an error matching actor.ErrStopped if
// ref has already stopped.
func (r *Registry) Join(group string, ref *actor.Ref) error {
	if err := ValidName(group); err != nil {
		return err
	}
	if ref == nil {
		return actor.ErrNilActor
	}
	m := &membership{count: 1}
	m.stop = ref.AfterStop(func(*actor.Ref, error) { r.dropMember(group, ref, m) })
	r.mu.Lock()
	if m.dead {
		r.mu.Unlock()
		return fmt.Errorf("registry: join %q: %w", group, actor.ErrStopped)
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
	have := g.members[ref]
	if have != nil {
		have.count++
	} else {
		g.members[ref] = m
		g.distinct = append(slices.Clip(g.distinct), ref)
	}
	g.joins = append(slices.Clip(g.joins), ref)
	r.gmu.Unlock()
	r.emit(Event{Kind: Joined, Group: group, Ref: ref})
	r.mu.Unlock()
	if have != nil {
		m.stop() // the first join's watch serves them all
	}
	return nil
}

// Leave undoes one Join of ref to group. It returns a *NotFoundError
// (errors.Is ErrNotFound) naming the group and ref if ref is not a member.
func (r *Registry) Leave(group string, ref *actor.Ref) error {
	r.mu.Lock()
	r.gmu.Lock()
	g := r.groups[group]
	var m *membership
	if g != nil {
		m = g.members[ref]
	}
	if m == nil {
		r.gmu.Unlock()
		r.mu.Unlock()
		return &NotFoundError{Name: group, Ref: ref}
	}
	m.count--
	g.joins = removeLast(g.joins, ref)
	if m.count == 0 {
		delete(g.members, ref)
		g.distinct = removeLast(g.distinct, ref)
		if len(g.members) == 0 {
			delete(r.groups, group)
		}
	}
	r.gmu.Unlock()
	r.emit(Event{Kind: Left, Group: group, Ref: ref})
	r.mu.Unlock()
	if m.count == 0 {
		m.stop()
	}
	return nil
}

// dropMember removes every join of ref to group once ref has stopped, if the
// membership m is still the current one.
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
	n := m.count
	delete(g.members, ref)
	g.joins = slices.DeleteFunc(slices.Clone(g.joins), func(x *actor.Ref) bool { return x == ref })
	g.distinct = removeLast(g.distinct, ref)
	if len(g.members) == 0 {
		delete(r.groups, group)
	}
	r.gmu.Unlock()
	for range n {
		r.emit(Event{Kind: Left, Group: group, Ref: ref})
	}
}

// removeLast returns a copy of s without the last occurrence of ref.
func removeLast(s []*actor.Ref, ref *actor.Ref) []*actor.Ref {
	i := len(s) - 1
	for i >= 0 && s[i] != ref {
		i--
	}
	if i < 0 {
		return s
	}
	out := make([]*actor.Ref, 0, len(s)-1)
	out = append(out, s[:i]...)
	return append(out, s[i+1:]...)
}

// Members returns the members of group, once per Join, in join order (as
// OTP's pg does); nil for a group nobody is in.
func (r *Registry) Members(group string) []*actor.Ref {
	r.gmu.RLock()
	defer r.gmu.RUnlock()
	if g := r.groups[group]; g != nil {
		return slices.Clone(g.joins)
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
		refs = g.distinct // never changed in place
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
