package tree

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/arbor-go/arbor/actor"
)

// Sup is a running root supervisor: the handle Start returns. Its methods
// are safe for concurrent use; each is a call handled by the supervisor
// actor in turn, so none can deadlock against a restart.
type Sup struct {
	*handle
}

// handle is what the root handles of both kinds of supervisor share.
type handle struct {
	ref  *actor.Ref
	sup  *supervisor // ref's behaviour: a root is never restarted
	env  *env
	path string
	hook *rootHooks

	stopMu  sync.Mutex
	stopped chan struct{}           // made by the first Stop, closed when rep is ready
	cut     context.CancelCauseFunc // ends the stop's context: a Stop's ctx ended
	rep     StopReport
}

// rootHooks carry the context of a Stop call to the root's Terminate.
type rootHooks struct {
	mu  sync.Mutex
	ctx context.Context
}

func (h *rootHooks) stopContext() context.Context {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ctx
}

// Start starts a supervisor and its children, in order, and returns once
// they all run. If a child fails to start, those started are stopped again
// in reverse order and Start returns a *StartError naming it; an invalid
// spec gives *SpecError values. The tree lives until Stop, until it gives
// up, or until ctx ends (then it stops as by Stop). If ctx ends while the
// children start, the start is given up: the child starting sees it through
// the context of its Init, and Start returns the error it fails with.
func Start(ctx context.Context, spec Spec, opts ...Option) (*Sup, error) {
	path := nameOr(spec.Name, "root")
	if err := Validate(spec); err != nil {
		return nil, refuse(err, path, opts)
	}
	e := newEnv(spec.EventBuffer, opts)
	if e.reg == nil {
		if sup, id, ok := firstName(path, &spec); ok {
			return nil, refuse(&SpecError{Supervisor: sup, Child: id, Field: "Name", Err: ErrNoRegistry}, path, opts)
		}
	}
	h, err := startRoot(ctx, e, newSupervisor(e, &spec, path))
	if err != nil {
		return nil, err
	}
	return &Sup{handle: h}, nil
}

// startRoot spawns s as the root of a tree.
func startRoot(ctx context.Context, e *env, s *supervisor) (*handle, error) {
	if e.sub != nil {
		*e.sub = e.bus.subscribe(s.path, e.subBuf)
	}
	s.root = &rootHooks{}
	unobserve := func() {}
	opts := []actor.Option{actor.WithName(s.path), actor.WithTrapExits(), e.logOpt,
		actor.WithDeadLetters(e.deadLetters(s.path, ""))}
	if e.reg != nil {
		unobserve = e.reg.Observe(e.observe)
		opts = append(opts, e.dirOpt)
	}
	ref, err := actor.Spawn(ctx, s, opts...)
	if err != nil {
		unobserve()
		e.bus.close()
		return nil, err
	}
	ref.AfterStop(func(*actor.Ref, error) {
		unobserve()
		e.bus.close()
	})
	return &handle{ref: ref, sup: s, env: e, path: s.path, hook: s.root}, nil
}

// Run starts the tree and blocks until ctx ends, then stops the tree and
// returns nil, or the stop report's Err if the stop ran out of time (see
// StopReport); or until the tree gives up, and returns why. A ctx that ends
// while the tree starts gives the start up (see Start), and Run returns nil
// then too. It is the supervisor's main loop for a program's main.
func Run(ctx context.Context, spec Spec, opts ...Option) error {
	if ctx == nil {
		return actor.ErrNilContext
	}
	s, err := Start(ctx, spec, opts...)
	if err != nil {
		if ctx.Err() != nil {
			return nil // ended while the tree started, which it gave up: stopped, as asked
		}
		return err
	}
	select {
	case <-ctx.Done():
	case <-s.Done():
	}
	// Whichever of the two Run saw first: a tree that gave up says why; one
	// that was stopped on the end of ctx (by Run, or by itself, as it
	// watches ctx too) says what the stop reported.
	rep := s.Stop(context.Background())
	var gaveUp *ExitReason
	if errors.As(s.Err(), &gaveUp) || ctx.Err() == nil {
		return s.Err()
	}
	return rep.Err
}

// Ref returns the supervisor's actor.
func (s *Sup) Ref() *actor.Ref { return s.ref }

// Done is closed when the supervisor has stopped.
func (s *Sup) Done() <-chan struct{} { return s.ref.Done() }

// Err returns why the supervisor stopped, once Done is closed: a shutdown
// (actor.ErrShutdown) after Stop, or an *ExitReason when it gave up.
func (s *Sup) Err() error { return s.ref.Err() }

// Stop stops the tree: children in reverse start order, each within its
// shutdown timeout, then killed. The whole stop is bounded by ctx and by the
// sum of the shutdown timeouts plus ShutdownGrace (and a second more for a
// root busy in a message, which is then killed); the report names every
// child that had to be killed or was still running at the end. Stopping a
// stopped tree returns the report of the stop it went through. Stop may be called from
// several goroutines at once: there is one stop, bounded by every caller's
// ctx, and they all get its report.
func (s *Sup) Stop(ctx context.Context) StopReport { return s.handle.stop(ctx) }

func (s *handle) stop(ctx context.Context) StopReport {
	if ctx == nil {
		ctx = context.Background()
	}
	s.stopMu.Lock()
	if s.stopped != nil {
		stopped, cut := s.stopped, s.cut
		s.stopMu.Unlock()
		// A stop is under way (or over): this ctx bounds it too, and the
		// first caller's goroutine carries it out.
		unhook := context.AfterFunc(ctx, func() { cut(context.Cause(ctx)) })
		defer unhook()
		<-stopped
		return s.rep
	}
	s.stopped = make(chan struct{})
	stopCtx, cut := context.WithCancelCause(ctx)
	s.cut = cut
	s.stopMu.Unlock()
	rep := s.stopOnce(stopCtx)
	cut(nil)
	s.rep = rep
	close(s.stopped)
	return rep
}

func (s *handle) stopOnce(ctx context.Context) StopReport {
	if ctx == nil {
		ctx = context.Background()
	}
	s.hook.mu.Lock()
	s.hook.ctx = ctx
	s.hook.mu.Unlock()
	s.env.halting.Store(true)
	s.env.mu.Lock()
	s.env.stopping = true
	s.env.mu.Unlock()

	var rep StopReport
	// A root busy in a message (a child's Init that blocks) cannot hold the
	// stop up for longer than its budget and the margin a child supervisor
	// is given (see stopBudget.plan).
	wait, cancel := ctx, context.CancelFunc(func() {})
	if d, ok := s.sup.budget(); ok {
		wait, cancel = context.WithTimeout(ctx, d+stopMargin)
	}
	err := s.ref.Stop(wait)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			// The root's Terminate kills what is left as soon as it sees
			// ctx end; give it a moment to say so before giving up on it.
			t := time.NewTimer(time.Second)
			select {
			case <-s.ref.Done():
			case <-t.C:
			}
			t.Stop()
		}
		select {
		case <-s.ref.Done():
		default:
			// What runs below it first, while the root still holds what it
			// was busy with: its end cancels its children's context, and
			// the child whose start held it may be gone by the time one
			// looked.
			s.sup.abandon(true)
			s.ref.Kill()
		}
		rep.Err = err
		if ctx.Err() != nil {
			rep.Err = context.Cause(ctx) // the deadline or cancellation of whichever Stop ended it
		}
	}
	s.env.mu.Lock()
	rep.Killed = append(rep.Killed, s.env.killed...)
	rep.Stuck = append(rep.Stuck, s.env.stuck...)
	s.env.mu.Unlock()
	rep.Abandoned = append(append([]string(nil), rep.Killed...), rep.Stuck...)
	if len(rep.Stuck) > 0 && rep.Err == nil {
		rep.Err = context.DeadlineExceeded // the stop's own bound ran out
		if ctx.Err() != nil {
			rep.Err = context.Cause(ctx) // or a Stop's ctx did, as the root ended
		}
	}
	return rep
}

// StartChild adds a child to the supervisor and starts it. It fails with
// ErrAlreadyStarted or ErrAlreadyPresent for an id in use, a *SpecError for
// an invalid spec, a *StartError if the start fails. A factory that returns
// Ignore, or a child queued under MaxRunning, gives a nil Ref and no error.
func (s *Sup) StartChild(ctx context.Context, spec ChildSpec) (*actor.Ref, error) {
	return SupervisorAt(s.ref).StartChild(ctx, spec)
}

// TerminateChild stops a child and keeps its spec (a temporary one is
// dropped). Terminating a stopped child succeeds; an unknown id is
// ErrNotFound. It never triggers a restart or an auto shutdown.
func (s *Sup) TerminateChild(ctx context.Context, id string) error {
	return SupervisorAt(s.ref).TerminateChild(ctx, id)
}

// RestartChild starts a stopped child again: ErrRunning, ErrRestarting,
// ErrWaiting or ErrNotFound otherwise.
func (s *Sup) RestartChild(ctx context.Context, id string) (*actor.Ref, error) {
	return SupervisorAt(s.ref).RestartChild(ctx, id)
}

// DeleteChild drops a stopped child's spec: ErrRunning, ErrRestarting,
// ErrWaiting or ErrNotFound otherwise.
func (s *Sup) DeleteChild(ctx context.Context, id string) error {
	return SupervisorAt(s.ref).DeleteChild(ctx, id)
}

// WhichChildren lists the children, newest first, as OTP's which_children.
func (s *Sup) WhichChildren(ctx context.Context) ([]ChildInfo, error) {
	return SupervisorAt(s.ref).WhichChildren(ctx)
}

// CountChildren returns the supervisor's figures, as OTP's count_children.
func (s *Sup) CountChildren(ctx context.Context) (Counts, error) {
	return SupervisorAt(s.ref).CountChildren(ctx)
}

// SupervisorRef is the API of a static supervisor that runs inside a tree
// (see Supervisor), reached through its Ref as WhichChildren lists it. Its
// life belongs to its parent: stop it with the parent's TerminateChild.
type SupervisorRef struct{ ref *actor.Ref }

// SupervisorAt returns the API of the static supervisor whose actor is ref.
// ref must be a supervisor's: a worker would receive the commands as
// messages.
func SupervisorAt(ref *actor.Ref) SupervisorRef { return SupervisorRef{ref: ref} }

// StartChild is Sup.StartChild.
func (s SupervisorRef) StartChild(ctx context.Context, spec ChildSpec) (*actor.Ref, error) {
	return call[*actor.Ref](ctx, s.ref, startChildCmd{spec})
}

// TerminateChild is Sup.TerminateChild.
func (s SupervisorRef) TerminateChild(ctx context.Context, id string) error {
	_, err := call[any](ctx, s.ref, terminateCmd{id})
	return err
}

// RestartChild is Sup.RestartChild.
func (s SupervisorRef) RestartChild(ctx context.Context, id string) (*actor.Ref, error) {
	return call[*actor.Ref](ctx, s.ref, restartCmd{id})
}

// DeleteChild is Sup.DeleteChild.
func (s SupervisorRef) DeleteChild(ctx context.Context, id string) error {
	_, err := call[any](ctx, s.ref, deleteCmd{id})
	return err
}

// WhichChildren is Sup.WhichChildren.
func (s SupervisorRef) WhichChildren(ctx context.Context) ([]ChildInfo, error) {
	return call[[]ChildInfo](ctx, s.ref, whichCmd{})
}

// CountChildren is Sup.CountChildren.
func (s SupervisorRef) CountChildren(ctx context.Context) (Counts, error) {
	return call[Counts](ctx, s.ref, countCmd{})
}

// Subscribe returns a subscription to the events of this supervisor and of
// the subtree below it (see Sup.Subscribe). It fails, as any call, once the
// supervisor has stopped.
func (s SupervisorRef) Subscribe(ctx context.Context, buffer int) (*Subscription, error) {
	return call[*Subscription](ctx, s.ref, subscribeCmd{buffer})
}

// Subscribe returns a subscription to the events of the whole tree, with a
// buffer of that many events (0: Spec.EventBuffer; at most MaxEventBuffer).
// A subscriber that falls behind loses events and receives a Lagged event
// counting them, at the latest just before its channel closes when the tree
// stops; it never slows the tree.
func (s *Sup) Subscribe(buffer int) *Subscription {
	return s.env.bus.subscribe(s.path, buffer)
}
