package tree

import (
	"context"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/strategy"
)

// DefaultShutdown is how long a worker gets to stop before it is killed, as
// in OTP. A supervisor child has no limit of its own by default: it waits
// for its children, each within theirs.
const DefaultShutdown = 5 * time.Second

// DefaultEventBuffer is the per-subscriber event buffer when Spec.EventBuffer
// and Subscribe's buffer are zero.
const DefaultEventBuffer = 256

// MaxEventBuffer caps a subscription's buffer, which is made up front.
const MaxEventBuffer = 1 << 16

// Spec describes a static supervisor. The zero value with Children is ready:
// OneForOne, 3 restarts in 5 s, no backoff.
type Spec struct {
	// Name names a root supervisor in events, logs and the paths of its
	// children; empty means "root". A nested supervisor is named by its
	// child id, which is unique among its siblings: its Name is not used.
	Name string
	// Strategy decides which children a failure affects; default OneForOne.
	// The siblings that OneForAll and RestForOne stop are restarted in
	// place, keeping their Refs and queued messages (see the package doc).
	Strategy strategy.Strategy
	// Intensity bounds restarts; the zero value is 3 in 5 s.
	Intensity strategy.Intensity
	// Backoff is the delay before restarts of children that set none; the
	// zero value restarts at once, as OTP.
	Backoff strategy.Backoff
	// AutoShutdown lets significant children end the supervisor.
	AutoShutdown strategy.AutoShutdown
	// Children, in start order.
	Children []ChildSpec
	// Defaults apply to children that do not override them.
	Defaults ChildDefaults
	// MaxRunning caps how many children hold a slot (run, or wait for their
	// restart) at once; 0 means no cap. The others wait in the order they
	// were queued (start order at the supervisor's start), in state
	// Waiting, until a child ends for good (ChildQueued and
	// ChildAdmitted events tell). The cap is per supervisor, not per subtree.
	MaxRunning int
	// SubtreeMaxRunning caps how many workers and tasks of the whole
	// subtree (this supervisor's children, and those of every supervisor
	// below it, dynamic ones included) hold a slot at once; 0 means no cap.
	// A child that finds none waits, in state Waiting, as under MaxRunning,
	// until one is given back anywhere in the subtree; a dynamic
	// supervisor's StartChild fails instead, with ErrSubtreeFull. Caps
	// nest: a child takes a slot from every capped supervisor above it.
	SubtreeMaxRunning int
	// EventBuffer is the default buffer of a subscription to this
	// supervisor (and, below the root, of those to the supervisors under it
	// that set none); 0 means the nearest one set above, or
	// DefaultEventBuffer. It is capped at MaxEventBuffer.
	EventBuffer int
	// ShutdownGrace is added to the sum of the children's shutdown timeouts
	// to bound a whole Stop.
	ShutdownGrace time.Duration
}

// ChildDefaults are settings that a supervisor's children inherit unless
// their spec sets them, as taskvisor's supervisor config.
type ChildDefaults struct {
	// Restart is the restart type of children that set none (nil: Permanent).
	Restart *strategy.Restart
	// Shutdown is the shutdown timeout of workers that set none (0:
	// DefaultShutdown).
	Shutdown time.Duration
	// AttemptTimeout bounds each run of a task (0: no bound).
	AttemptTimeout time.Duration
	// Backoff overrides Spec.Backoff for children that set none.
	Backoff *strategy.Backoff
}

// ChildType tells workers from supervisors, as which_children does.
type ChildType int

const (
	// WorkerChild is an actor or a task.
	WorkerChild ChildType = iota
	// SupervisorChild is a nested supervisor (static or dynamic).
	SupervisorChild
)

// String returns "worker" or "supervisor".
func (t ChildType) String() string {
	if t == SupervisorChild {
		return "supervisor"
	}
	return "worker"
}

type kind int

const (
	kindWorker kind = iota + 1
	kindTask
	kindSupervisor
	kindDynamic
)

type shutdownMode int

const (
	shutdownDefault shutdownMode = iota
	shutdownTimeout
	shutdownBrutal
	shutdownInfinity
)

// ChildSpec describes one child: build it with Worker, Task, Supervisor or
// Dynamic and refine it with ChildOptions. The zero value is invalid.
type ChildSpec struct {
	// ID identifies the child within its supervisor.
	ID string

	kind        kind
	factory     func() actor.Actor
	task        func(ctx context.Context, c *actor.Context) error
	sup         *Spec
	dyn         *DynamicSpec
	restart     *strategy.Restart
	shutdown    shutdownMode
	timeout     time.Duration
	significant bool
	backoff     *strategy.Backoff
	attempt     time.Duration
	actorOpts   []actor.Option
	name        string // registered under, if named (see Name)
	named       bool
}

// Type returns whether the child is a worker or a supervisor.
func (s ChildSpec) Type() ChildType {
	if s.kind == kindSupervisor || s.kind == kindDynamic {
		return SupervisorChild
	}
	return WorkerChild
}

// ChildOption refines a ChildSpec.
type ChildOption func(*ChildSpec)

// Ignore is what a factory returns to say that the child should not run, as
// OTP's start returning ignore: the spec stays (a temporary one is dropped)
// and the child shows as stopped. A nil actor, by contrast, fails the start
// with ErrNilChild, since it is far more often a bug than a decision.
var Ignore actor.Actor = ignore{}

type ignore struct{}

func (ignore) Receive(*actor.Context, any) error { return nil }

// Worker specifies an actor child. factory is called for every start and
// restart, so that each incarnation starts from fresh state.
func Worker(id string, factory func() actor.Actor, opts ...ChildOption) ChildSpec {
	return build(ChildSpec{ID: id, kind: kindWorker, factory: factory}, opts)
}

// Task specifies a child that runs fn on a goroutine of its own (see
// actor.Task): a loop, a long-poll. Returning nil is a normal exit.
func Task(id string, fn func(ctx context.Context, c *actor.Context) error, opts ...ChildOption) ChildSpec {
	return build(ChildSpec{ID: id, kind: kindTask, task: fn}, opts)
}

// Supervisor specifies a nested static supervisor. Its shutdown timeout is
// infinite unless set: it stops its own children within theirs.
func Supervisor(id string, spec Spec, opts ...ChildOption) ChildSpec {
	return build(ChildSpec{ID: id, kind: kindSupervisor, sup: &spec}, opts)
}

func build(s ChildSpec, opts []ChildOption) ChildSpec {
	for _, o := range opts {
		if o != nil {
			o(&s)
		}
	}
	return s
}

// Restart sets the child's restart type (default Permanent).
func Restart(r strategy.Restart) ChildOption {
	return func(s *ChildSpec) { s.restart = &r }
}

// Shutdown sets how long the child has to stop before it is killed.
func Shutdown(d time.Duration) ChildOption {
	return func(s *ChildSpec) { s.shutdown, s.timeout = shutdownTimeout, d }
}

// BrutalKill makes the supervisor kill the child at once instead of asking
// it to stop: for children with nothing to clean up.
func BrutalKill() ChildOption {
	return func(s *ChildSpec) { s.shutdown, s.timeout = shutdownBrutal, 0 }
}

// ShutdownInfinity makes the supervisor wait for the child to stop without a
// limit of its own: the default for supervisors, and for workers that must
// never be cut short (use with care: a stuck child then holds up its
// supervisor's stop, bounded only by the Stop call's context and, if the
// supervisor has one, by its ShutdownGrace).
func ShutdownInfinity() ChildOption {
	return func(s *ChildSpec) { s.shutdown, s.timeout = shutdownInfinity, 0 }
}

// Significant marks the child as one whose own exit may end the supervisor
// (see Spec.AutoShutdown). It must not be Permanent.
func Significant() ChildOption {
	return func(s *ChildSpec) { s.significant = true }
}

// Backoff sets the delay before this child's restarts.
func Backoff(b strategy.Backoff) ChildOption {
	return func(s *ChildSpec) { s.backoff = &b }
}

// AttemptTimeout bounds each run of a task: a run past d ends with
// ErrAttemptTimeout, a crash, and the restart type decides what follows.
func AttemptTimeout(d time.Duration) ChildOption {
	return func(s *ChildSpec) { s.attempt = d }
}

// ActorOptions passes options to the child's actor.Spawn: a bounded mailbox,
// a call timeout. The supervisor sets the parent, name, logger and dead
// letter hook itself, after these options, which cannot override them; it
// sets the directory (WithRegistry) before them, so that they may.
func ActorOptions(opts ...actor.Option) ChildOption {
	return func(s *ChildSpec) { s.actorOpts = append(s.actorOpts, opts...) }
}

// resolved are a child's settings once its supervisor's defaults apply.
type resolved struct {
	restart  strategy.Restart
	mode     shutdownMode
	timeout  time.Duration
	backoff  strategy.Backoff
	attempt  time.Duration
	typ      ChildType
	spec     ChildSpec
	isSignif bool
}

func resolve(parent *Spec, s ChildSpec) resolved {
	r := resolved{spec: s, typ: s.Type(), isSignif: s.significant}
	switch {
	case s.restart != nil:
		r.restart = *s.restart
	case parent.Defaults.Restart != nil:
		r.restart = *parent.Defaults.Restart
	}
	r.mode, r.timeout = s.shutdown, s.timeout
	if r.mode == shutdownDefault {
		switch {
		case r.typ == SupervisorChild:
			r.mode = shutdownInfinity
		case parent.Defaults.Shutdown > 0:
			r.mode, r.timeout = shutdownTimeout, parent.Defaults.Shutdown
		default:
			r.mode, r.timeout = shutdownTimeout, DefaultShutdown
		}
	}
	switch {
	case s.backoff != nil:
		r.backoff = *s.backoff
	case parent.Defaults.Backoff != nil:
		r.backoff = *parent.Defaults.Backoff
	default:
		r.backoff = parent.Backoff
	}
	r.attempt = s.attempt
	if r.attempt == 0 {
		r.attempt = parent.Defaults.AttemptTimeout
	}
	return r
}
