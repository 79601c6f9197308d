package tree

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/strategy"
)

// DynamicSpec describes a dynamic supervisor, as Elixir's DynamicSupervisor
// (OTP's simple_one_for_one): no children at start, children started on
// demand from one Template, each restarted on its own (one for one), all
// stopped in parallel under one deadline.
type DynamicSpec struct {
	// Name names a root supervisor in events and logs; empty means "root".
	// A nested one is named by its child id: its Name is not used.
	Name string
	// Template makes the spec of a child from StartChild's argument. Its ID
	// is ignored: the supervisor numbers its children.
	Template func(arg any) ChildSpec
	// Intensity bounds restarts; the zero value is 3 in 5 s.
	Intensity strategy.Intensity
	// Backoff is the delay before restarts of children that set none.
	Backoff strategy.Backoff
	// MaxChildren caps the children, running or restarting (0: no cap).
	MaxChildren int
	// Defaults apply to children that do not override them.
	Defaults ChildDefaults
	// EventBuffer is the default buffer of a subscription, as Spec's.
	EventBuffer int
	// ShutdownGrace is added to the longest child shutdown timeout to bound
	// a whole Stop.
	ShutdownGrace time.Duration
}

func (d *DynamicSpec) validate(path string) error {
	spec := d.static()
	err := validateSpec(path, &spec)
	var extra []error
	if d.Template == nil {
		extra = append(extra, &SpecError{Supervisor: path, Field: "Template", Err: ErrNilTemplate})
	}
	if d.MaxChildren < 0 {
		extra = append(extra, &SpecError{Supervisor: path, Field: "MaxChildren", Err: ErrNegativeLimit})
	}
	return errors.Join(append([]error{err}, extra...)...)
}

// static is the part of d that a static supervisor understands.
func (d *DynamicSpec) static() Spec {
	return Spec{Name: d.Name, Strategy: strategy.OneForOne, Intensity: d.Intensity, Backoff: d.Backoff,
		Defaults: d.Defaults, EventBuffer: d.EventBuffer, ShutdownGrace: d.ShutdownGrace}
}

// Dynamic specifies a dynamic supervisor as the child of a static one. Like
// any supervisor child, its shutdown timeout is infinite unless set.
func Dynamic(id string, spec DynamicSpec, opts ...ChildOption) ChildSpec {
	return build(ChildSpec{ID: id, kind: kindDynamic, dyn: &spec}, opts)
}

func newDynamicActor(e *env, d *DynamicSpec, path string) *supervisor {
	spec := d.static()
	s := newSupervisor(e, &spec, path)
	s.dyn = d
	return s
}

// DynamicSup is a running root dynamic supervisor, as StartDynamic returns.
// Its methods are safe for concurrent use.
type DynamicSup struct {
	*handle
}

// StartDynamic starts a dynamic supervisor with no children. It lives until
// Stop, until it gives up, or until ctx ends.
func StartDynamic(ctx context.Context, spec DynamicSpec, opts ...Option) (*DynamicSup, error) {
	path := nameOr(spec.Name, "root")
	if err := spec.validate(path); err != nil {
		return nil, refuse(err, path, opts)
	}
	e := newEnv(spec.EventBuffer, opts)
	h, err := startRoot(ctx, e, newDynamicActor(e, &spec, path))
	if err != nil {
		return nil, err
	}
	return &DynamicSup{handle: h}, nil
}

// StartChild starts a child from the Template with arg. It fails with
// ErrMaxChildren when MaxChildren children run or wait to restart, with a
// *SpecError for an invalid spec, with a *StartError if the start fails. A
// factory that returns Ignore gives a nil Ref and no error, and no child.
func (d *DynamicSup) StartChild(ctx context.Context, arg any) (*actor.Ref, error) {
	return DynamicAt(d.ref).StartChild(ctx, arg)
}

// TerminateChild stops the child and forgets it; ErrNotFound if the
// supervisor has no such child.
func (d *DynamicSup) TerminateChild(ctx context.Context, ref *actor.Ref) error {
	return DynamicAt(d.ref).TerminateChild(ctx, ref)
}

// WhichChildren lists the children, newest first; their IDs are the
// numbers the supervisor gave them.
func (d *DynamicSup) WhichChildren(ctx context.Context) ([]ChildInfo, error) {
	return DynamicAt(d.ref).WhichChildren(ctx)
}

// CountChildren returns the supervisor's figures.
func (d *DynamicSup) CountChildren(ctx context.Context) (Counts, error) {
	return DynamicAt(d.ref).CountChildren(ctx)
}

// DynamicRef is the API of a dynamic supervisor that runs inside a tree
// (see Dynamic), reached through its Ref as WhichChildren lists it. Its
// life belongs to its parent: stop it with the parent's TerminateChild.
type DynamicRef struct{ ref *actor.Ref }

// DynamicAt returns the API of the dynamic supervisor whose actor is ref.
// StartChild and TerminateChild fail with ErrNotDynamic on a static
// supervisor; WhichChildren, CountChildren and Subscribe work on either kind.
// ref must not be a worker, which would receive the supervisor's commands as
// messages.
func DynamicAt(ref *actor.Ref) DynamicRef { return DynamicRef{ref: ref} }

// StartChild is DynamicSup.StartChild.
func (d DynamicRef) StartChild(ctx context.Context, arg any) (*actor.Ref, error) {
	return call[*actor.Ref](ctx, d.ref, dynStartCmd{arg})
}

// TerminateChild is DynamicSup.TerminateChild.
func (d DynamicRef) TerminateChild(ctx context.Context, ref *actor.Ref) error {
	_, err := call[any](ctx, d.ref, dynTerminateCmd{ref})
	return err
}

// WhichChildren is DynamicSup.WhichChildren.
func (d DynamicRef) WhichChildren(ctx context.Context) ([]ChildInfo, error) {
	return call[[]ChildInfo](ctx, d.ref, whichCmd{})
}

// CountChildren is DynamicSup.CountChildren.
func (d DynamicRef) CountChildren(ctx context.Context) (Counts, error) {
	return call[Counts](ctx, d.ref, countCmd{})
}

// Subscribe returns a subscription to the events of this dynamic supervisor
// and of its children's subtrees (see SupervisorRef.Subscribe).
func (d DynamicRef) Subscribe(ctx context.Context, buffer int) (*Subscription, error) {
	return call[*Subscription](ctx, d.ref, subscribeCmd{buffer})
}

// Stop stops every child in parallel, each within its shutdown timeout,
// the whole bounded by ctx and by the longest timeout plus ShutdownGrace.
func (d *DynamicSup) Stop(ctx context.Context) StopReport { return d.handle.stop(ctx) }

// Ref returns the supervisor's actor.
func (d *DynamicSup) Ref() *actor.Ref { return d.ref }

// Done is closed when the supervisor has stopped.
func (d *DynamicSup) Done() <-chan struct{} { return d.ref.Done() }

// Err returns why the supervisor stopped, once Done is closed.
func (d *DynamicSup) Err() error { return d.ref.Err() }

// Subscribe returns a subscription to the supervisor's events (see
// Sup.Subscribe).
func (d *DynamicSup) Subscribe(buffer int) *Subscription { return d.env.bus.subscribe(d.path, buffer) }

type (
	dynStartCmd     struct{ arg any }
	dynTerminateCmd struct{ ref *actor.Ref }
)

func (m dynStartCmd) handle(s *supervisor, c *actor.Context) error {
	if s.dyn == nil {
		return c.ReplyError(ErrNotDynamic)
	}
	if max := s.dyn.MaxChildren; max > 0 && s.active >= max {
		return c.ReplyError(fmt.Errorf("%w (%d)", ErrMaxChildren, max))
	}
	s.nextID++
	id := strconv.FormatUint(s.nextID, 10)
	cs, err := s.template(m.arg)
	if err != nil {
		return c.ReplyError(&StartError{Supervisor: s.path, Child: id, Err: err})
	}
	cs.ID = id
	if err := validateChild(s.path, s.spec, cs); err != nil {
		return c.ReplyError(err)
	}
	ch := &child{id: id, r: resolve(s.spec, cs), state: Stopped}
	if !s.take(ch) {
		// As MaxChildren: a dynamic child starts now or not at all.
		return c.ReplyError(fmt.Errorf("%w: %s", ErrSubtreeFull, id))
	}
	s.addChild(ch)
	if err := s.start(ch, 0); err != nil {
		s.remove(ch)
		return c.ReplyError(&StartError{Supervisor: s.path, Child: id, Err: err})
	}
	return c.Reply(ch.ref)
}

// template calls the Template, turning a panic into an *actor.PanicError
// that carries the Template's stack.
func (s *supervisor) template(arg any) (cs ChildSpec, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = actor.NewPanicError(v)
		}
	}()
	return s.dyn.Template(arg), nil
}

func (m dynTerminateCmd) handle(s *supervisor, c *actor.Context) error {
	if s.dyn == nil {
		return c.ReplyError(ErrNotDynamic)
	}
	// By the Ref of its last spawn, which is still the child's while it
	// waits to be spawned anew (its actor stopped for good from outside),
	// as Elixir files a restarting child under its old pid.
	ch := s.byRef[m.ref]
	if ch == nil || m.ref == nil {
		return c.ReplyError(fmt.Errorf("%w: %v", ErrNotFound, m.ref))
	}
	s.shutdown(ch, nil)
	s.remove(ch)
	return c.Reply(nil)
}

// stopParallel stops every child at once, as a dynamic supervisor does.
// They share the budget: each may take it whole.
func (s *supervisor) stopParallel(b *stopBudget) {
	var wg sync.WaitGroup
	for ch := range s.children.all() {
		bound, r, cancel := b.plan(ch) // here: the children's goroutines read no supervisor state
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cancel()
			s.shutdownWith(ch, bound, r, nil)
		}()
	}
	wg.Wait()
}
