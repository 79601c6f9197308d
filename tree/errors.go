package tree

import (
	"errors"
	"fmt"

	"github.com/arbor-go/arbor/actor"
)

// Errors of the supervisor API, as OTP's supervisor returns them. Each is a
// sentinel for errors.Is.
var (
	// ErrAlreadyStarted is returned by StartChild for an id whose child runs.
	ErrAlreadyStarted = errors.New("tree: child already started")
	// ErrAlreadyPresent is returned by StartChild for an id whose spec is
	// kept but whose child is not running: RestartChild it or DeleteChild it
	// once it is stopped (a child waiting for its restart refuses both with
	// ErrRestarting; TerminateChild stops it).
	ErrAlreadyPresent = errors.New("tree: child already present")
	// ErrNotFound is returned for an id (or Ref) the supervisor does not know.
	ErrNotFound = errors.New("tree: child not found")
	// ErrRunning is returned by RestartChild and DeleteChild for a running
	// child: terminate it first.
	ErrRunning = errors.New("tree: child is running")
	// ErrRestarting is returned by RestartChild and DeleteChild for a child
	// the supervisor is restarting (waiting out a backoff or retrying).
	ErrRestarting = errors.New("tree: child is restarting")
	// ErrWaiting is returned by RestartChild and DeleteChild for a child
	// that waits for a slot under MaxRunning.
	ErrWaiting = errors.New("tree: child is waiting for a slot")
	// ErrSupervisorStopped is returned by every API call on a supervisor that
	// has stopped; errors.Is(err, actor.ErrStopped) holds as well.
	ErrSupervisorStopped = fmt.Errorf("tree: supervisor stopped: %w", actor.ErrStopped)
	// ErrMaxChildren is returned by Dynamic.StartChild when MaxChildren
	// children (running or restarting) already exist.
	ErrMaxChildren = errors.New("tree: max children reached")
	// ErrNotDynamic is returned by DynamicRef.StartChild and TerminateChild
	// on a static supervisor.
	ErrNotDynamic = errors.New("tree: not a dynamic supervisor")
	// ErrDynamic is returned by the SupervisorRef calls that manage
	// children by spec or id (StartChild, TerminateChild, RestartChild,
	// DeleteChild) on a dynamic supervisor, whose children come from its
	// template and are reached by Ref.
	ErrDynamic = errors.New("tree: a dynamic supervisor's children are reached by Ref")
	// ErrAttemptTimeout is the exit reason of a task attempt that ran past
	// its AttemptTimeout. It is a crash: the restart type decides what follows.
	ErrAttemptTimeout = errors.New("tree: attempt timed out")
	// ErrIntensityExceeded is matched by the exit reason of a supervisor that
	// gave up because its children restarted too often. That reason is also
	// a shutdown (errors.Is(err, actor.ErrShutdown)), so the parent treats it
	// as OTP does.
	ErrIntensityExceeded = errors.New("tree: reached max restart intensity")
	// ErrAutoShutdown is matched by the exit reason of a supervisor that
	// stopped itself after its significant children exited (AutoShutdown). It
	// is also a shutdown.
	ErrAutoShutdown = errors.New("tree: auto shutdown")
)

// Spec errors, reported by Validate (and by Start and StartChild) inside a
// *SpecError that names the offending child and field.
var (
	// ErrEmptyID reports a child spec without an id.
	ErrEmptyID = errors.New("tree: empty child id")
	// ErrSlashInID reports a child id with a "/", which separates the ids of
	// a path: "a/b" would name the child b of a as well.
	ErrSlashInID = errors.New(`tree: "/" in a child id`)
	// ErrDuplicateID reports two children with the same id in one supervisor.
	ErrDuplicateID = errors.New("tree: duplicate child id")
	// ErrNilFactory reports a child spec with nothing to start.
	ErrNilFactory = errors.New("tree: nil child factory")
	// ErrNegativeShutdown reports a negative shutdown timeout.
	ErrNegativeShutdown = errors.New("tree: negative shutdown timeout")
	// ErrNegativeTimeout reports a negative attempt timeout.
	ErrNegativeTimeout = errors.New("tree: negative attempt timeout")
	// ErrNegativeLimit reports a negative MaxRunning, SubtreeMaxRunning,
	// MaxChildren or EventBuffer.
	ErrNegativeLimit = errors.New("tree: negative limit")
	// ErrSubtreeFull is returned by a dynamic supervisor's StartChild when
	// the SubtreeMaxRunning of a supervisor above it has no slot free.
	ErrSubtreeFull = errors.New("tree: no slot free under SubtreeMaxRunning")
	// ErrNilTemplate reports a DynamicSpec without a Template.
	ErrNilTemplate = errors.New("tree: nil template")
	// ErrNilChild reports a factory that returned a nil actor. Return Ignore
	// to mean that the child should not run.
	ErrNilChild = errors.New("tree: factory returned a nil actor")
	// ErrDuplicateName reports two children with the same Name in one
	// supervisor.
	ErrDuplicateName = errors.New("tree: duplicate child name")
	// ErrNoRegistry reports a child with a Name in a tree started without
	// WithRegistry: Start fails with it inside a *SpecError, a later start
	// (StartChild, a dynamic child) with it inside a *StartError.
	ErrNoRegistry = errors.New("tree: child name without a registry (WithRegistry)")
)

// SpecError is a spec that failed validation: which supervisor, which child
// (empty for the supervisor's own fields), which field, and the rule broken
// (a sentinel of this package or of package strategy).
type SpecError struct {
	Supervisor string
	Child      string
	Field      string
	Err        error
}

// Error implements error.
func (e *SpecError) Error() string {
	where := e.Supervisor
	if e.Child != "" {
		where += " child " + e.Child
	}
	return fmt.Sprintf("tree: invalid spec: %s: %s: %v", where, e.Field, e.Err)
}

// Unwrap returns the rule broken.
func (e *SpecError) Unwrap() error { return e.Err }

// StartError is a child that failed to start: its id and why. Start returns
// it when a child fails while the supervisor starts (the children started
// before it are stopped again); StartChild and RestartChild return it too.
type StartError struct {
	Supervisor string
	Child      string
	Err        error
}

// Error implements error.
func (e *StartError) Error() string {
	return fmt.Sprintf("tree: %s: child %s failed to start: %v", e.Supervisor, e.Child, e.Err)
}

// Unwrap returns why the start failed.
func (e *StartError) Unwrap() error { return e.Err }

// ExitReason is the reason a supervisor ends with when it gives up (its
// intensity was exceeded) or shuts itself down (AutoShutdown). It is a
// shutdown for its parent, as in OTP, and also matches ErrIntensityExceeded
// or ErrAutoShutdown.
type ExitReason struct {
	Supervisor string
	// Child is the child whose exit caused it.
	Child string
	// Cause is ErrIntensityExceeded or ErrAutoShutdown.
	Cause error
	// Last is the exit reason of Child.
	Last error
}

// Error implements error.
func (e *ExitReason) Error() string {
	return fmt.Sprintf("shutdown: %s: %v (child %s: %v)", e.Supervisor, e.Cause, e.Child, e.Last)
}

// Is makes the reason match actor.ErrShutdown and its Cause.
func (e *ExitReason) Is(target error) bool { return target == actor.ErrShutdown || target == e.Cause }

// Unwrap returns the last child exit reason, so that errors.As finds, say,
// the *actor.PanicError that started the escalation.
func (e *ExitReason) Unwrap() error { return e.Last }
