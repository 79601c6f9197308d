package tree

import (
	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/registry"
)

// WithRegistry gives the tree a registry: children with a Name are
// registered in it, every actor of the tree reaches it from its Context
// (actor.Context.Directory, SendName, CallName: it is passed to the children
// as actor.WithDirectory, and so to what they spawn), and its changes that
// concern the tree's actors appear on the tree's event stream
// (NameRegistered, NameUnregistered, GroupJoined, GroupLeft). It applies to
// the whole tree, nested supervisors included. Several trees may share one
// registry.
func WithRegistry(reg *registry.Registry) Option { return func(o *options) { o.reg = reg } }

// Name registers the child under name in the tree's registry (WithRegistry)
// whenever a new actor is made for it: at its first start, at a
// RestartChild after TerminateChild, and when a sibling killed as collateral
// is spawned afresh. A restart in place keeps the Ref, so the name follows
// it without a change, and a message sent by name during the restart or its
// backoff waits in the mailbox. The registry removes the name when the
// child stops for good. A name held by another live actor fails the start
// with an error matching registry.ErrTaken. Names must be valid
// (registry.ValidName) and unique among a supervisor's children; a tree
// without a registry fails to start with ErrNoRegistry.
func Name(name string) ChildOption {
	return func(s *ChildSpec) { s.name, s.named = name, true }
}

// owner is where an actor of the tree sits, for its registry events.
type owner struct {
	path, id string
	held     int  // names held and group memberships, as the events tell
	dead     bool // stopped for good: forgotten once held is 0
}

// track records ref as child id of the supervisor at path, until it has
// stopped for good and left all its names and groups.
func (e *env) track(ref *actor.Ref, path, id string) {
	if e.reg == nil {
		return
	}
	o := &owner{path: path, id: id}
	e.omu.Lock()
	e.owners[ref] = o
	e.omu.Unlock()
	ref.AfterStop(func(*actor.Ref, error) {
		e.omu.Lock()
		o.dead = true
		if o.held <= 0 && e.owners[ref] == o {
			delete(e.owners, ref)
		}
		e.omu.Unlock()
	})
}

// observe puts a registry change that concerns an actor of the tree on the
// tree's event stream. The registry calls it under its lock: it must not
// block, and does not.
func (e *env) observe(re registry.Event) {
	var kind EventKind
	delta := 1
	switch re.Kind {
	case registry.Registered:
		kind = NameRegistered
	case registry.Unregistered:
		kind, delta = NameUnregistered, -1
	case registry.Joined:
		kind = GroupJoined
	case registry.Left:
		kind, delta = GroupLeft, -1
	default:
		return
	}
	e.omu.Lock()
	o := e.owners[re.Ref]
	if o == nil {
		e.omu.Unlock()
		return
	}
	o.held += delta
	if o.dead && o.held <= 0 {
		delete(e.owners, re.Ref)
	}
	path, id := o.path, o.id
	e.omu.Unlock()
	e.emit(Event{Kind: kind, Supervisor: path, Child: id, Ref: re.Ref, Name: re.Name, Group: re.Group}, "")
}

// register gives ch's new actor its name, if it has one. A failure stops the
// actor again, with no event of its own: the start has failed, and the
// caller reports that, as for a child that never started.
func (s *supervisor) register(ch *child) error {
	s.env.track(ch.ref, s.path, ch.id)
	name := ch.r.spec.name
	if name == "" {
		return nil
	}
	if err := s.env.reg.Register(name, ch.ref); err != nil {
		s.stopChild(ch, nil, ch.r, &s.timer)
		return err
	}
	return nil
}

// firstName returns where the first child with a Name sits in spec and the
// static supervisors below it, if any does.
func firstName(path string, spec *Spec) (sup, id string, ok bool) {
	for _, c := range spec.Children {
		if c.name != "" {
			return path, c.ID, true
		}
		if c.kind == kindSupervisor && c.sup != nil {
			if sup, id, ok := firstName(path+"/"+c.ID, c.sup); ok {
				return sup, id, true
			}
		}
	}
	return "", "", false
}
