package tree

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/clock"
	"github.com/arbor-go/arbor/registry"
	"github.com/rs/zerolog"
	"github.com/rs/zerolog/log"
)

// Option configures a tree at Start.
type Option func(*options)

type options struct {
	logger *zerolog.Logger
	clock  clock.Clock
	rnd    func() float64
	reg    *registry.Registry
	slow   bool // no fast path (see fast.go): for tests that compare the two
	sub    **Subscription
	subBuf int
}

// WithSubscription subscribes to the tree's events before its first child
// starts, so that the subscription sees the start too (Subscribe, called
// after Start, cannot): *sub is set, with a buffer of that many events (0:
// the spec's EventBuffer), before Start returns, even if the start fails
// (its channel is then closed after the events of the failure).
func WithSubscription(sub **Subscription, buffer int) Option {
	return func(o *options) { o.sub, o.subBuf = sub, buffer }
}

// WithLogger sets the logger of the tree's reports and of its actors; it
// reaches every supervisor and child below the root. Without it, the tree
// logs through zerolog's global logger.
func WithLogger(l zerolog.Logger) Option { return func(o *options) { o.logger = &l } }

// WithClock sets the clock that times restart intensity, backoff and the
// events. Tests pass a *clock.Fake to make backoff deterministic: a restart
// then waits until the test advances the clock.
func WithClock(c clock.Clock) Option { return func(o *options) { o.clock = c } }

// WithRandom sets the source of the backoff's jitter (uniform in [0, 1)), so
// that tests of jittered backoff are deterministic.
func WithRandom(rnd func() float64) Option { return func(o *options) { o.rnd = rnd } }

// optionsOf applies opts.
func optionsOf(opts []Option) options {
	var o options
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	return o
}

// refuse returns err, the reason a tree does not start at all (an invalid
// spec), once the subscription that WithSubscription asked for, if any, is
// set, its channel closed: *sub is set whatever the outcome.
func refuse(err error, path string, opts []Option) error {
	if o := optionsOf(opts); o.sub != nil {
		b := newBus(1)
		*o.sub = b.subscribe(path, o.subBuf)
		b.close()
	}
	return err
}

// env is what every supervisor of one tree shares: the event bus, the
// logger, the clock, and the stop report being gathered.
type env struct {
	bus    *bus
	log    zerolog.Logger
	logOpt actor.Option // actor.WithLogger(log), made once for all the tree's actors
	clock  clock.Clock
	rnd    func() float64
	reg    *registry.Registry // nil without WithRegistry
	dirOpt actor.Option       // actor.WithDirectory(reg), or nil
	slow   bool               // every exit goes through the supervisor's Receive
	sub    **Subscription     // WithSubscription's, subscribed at the root's spawn
	subBuf int

	logMu  sync.Mutex            // orders reports as their events' numbers (see emitAt)
	omu    sync.Mutex            // guards owners
	owners map[*actor.Ref]*owner // the tree's actors, for registry events

	halting atomic.Bool // the root's Stop has begun: no more fast restarts

	mu       sync.Mutex // guards what follows
	stopping bool
	killed   []string
	stuck    []string
	named    map[string]struct{} // in killed or stuck
}

func newEnv(buffer int, opts []Option) *env {
	o := optionsOf(opts)
	e := &env{bus: newBus(buffer), clock: o.clock, rnd: o.rnd, reg: o.reg, slow: o.slow,
		sub: o.sub, subBuf: o.subBuf}
	if e.reg != nil {
		e.dirOpt = actor.WithDirectory(e.reg)
		e.owners = make(map[*actor.Ref]*owner)
	}
	if o.logger != nil {
		e.log = *o.logger
	} else {
		e.log = log.Logger
	}
	e.logOpt = actor.WithLogger(e.log)
	if e.clock == nil {
		e.clock = clock.Real()
	}
	return e
}

// emit stamps, publishes and logs an event.
func (e *env) emit(ev Event, restart string) { e.emitAt(ev, restart, e.clock.Now()) }

// unheard reports whether n events of the supervisor at path, published
// now, would reach neither the log nor a subscriber (see bus.unheard): the
// fast path then does not make them.
func (e *env) unheard(path string, n int) bool {
	if writesReports(&e.log) {
		return false // the log may take them (see reportOf)
	}
	return e.bus.unheard(path, n)
}

// emitAt is emit for an event that happened at now, a time its caller has
// read already: reading the clock is not free.
func (e *env) emitAt(ev Event, restart string, now time.Time) {
	evs := [1]Event{ev}
	e.publishAt(evs[:], restart, now)
}

// publishAt stamps, publishes and logs one or two events that happened
// together, at now, in order, at the cost of one lock: the same as
// publishing each alone (see bus.publish).
func (e *env) publishAt(evs []Event, restart string, now time.Time) {
	type report struct {
		ev  *zerolog.Event
		msg string
	}
	var buf [2]report
	var logs [2]bool
	reps := buf[:len(evs)]
	logged := false
	for i := range evs {
		evs[i].Time = now
		reps[i].ev, reps[i].msg = reportOf(&e.log, &evs[i], restart) // the costly part, outside the lock
		logs[i] = reps[i].ev != nil
		logged = logged || logs[i]
	}
	if !logged {
		e.bus.publish(evs, logs[:len(evs)])
		return
	}
	// Numbered and written under one lock, so that the reports of a tree,
	// made on the goroutines of its supervisors and of its children (see
	// fast.go), reach the log in the order of their numbers.
	e.logMu.Lock()
	e.bus.publish(evs, logs[:len(evs)])
	for i, r := range reps {
		if r.ev != nil {
			r.ev.Uint64("seq", evs[i].Seq).Msg(r.msg)
		}
	}
	e.logMu.Unlock()
}

// deadLetters returns the dead-letter hook of one child.
func (e *env) deadLetters(path, id string) func(actor.DeadLetter) {
	return func(d actor.DeadLetter) {
		switch d.Msg.(type) {
		case restartDue, fastFailed, poolFreed:
			return // a backoff timer that fired, a restart that failed, a slot freed, as its supervisor ended
		case actor.ChildExit:
			// A child's end reached its supervisor after the supervisor had
			// stopped: it stopped that child itself, and nothing is lost.
			return
		}
		reason := d.Reason
		if reason == nil {
			reason = actor.ErrStopped
		}
		e.emit(Event{Kind: DeadLetter, Supervisor: path, Child: id, Ref: d.To,
			Reason: fmt.Errorf("%T: %w", d.Msg, reason)}, "")
	}
}

// noteStopping marks the tree as stopping when s, its root, stops its
// children, whatever the cause (Stop, the end of Start's ctx, a give-up), so
// that the report gathers what the stop had to do.
func (e *env) noteStopping(s *supervisor) {
	if s.root == nil {
		return
	}
	e.mu.Lock()
	e.stopping = true
	e.mu.Unlock()
}

// noteKilled and noteStuck gather the stop report while the tree stops.
func (e *env) noteKilled(name string) { e.note(&e.killed, name) }

func (e *env) noteStuck(name string) { e.note(&e.stuck, name) }

// note adds name to list, once: a child that a supervisor and the one above
// it (see abandon) both end is named by the first.
func (e *env) note(list *[]string, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, named := e.named[name]; named || !e.stopping {
		return
	}
	if e.named == nil {
		e.named = make(map[string]struct{})
	}
	e.named[name] = struct{}{}
	*list = append(*list, name)
}

// stackOf returns the stack of a panic reason. It unwraps by hand rather
// than with errors.As, whose reflection costs more than the rest of a
// crash's report.
func stackOf(reason error) actor.Stack {
	for {
		switch r := reason.(type) {
		case nil:
			return nil
		case *actor.PanicError:
			if r == nil {
				return nil
			}
			return r.Stack
		case interface{ As(any) bool }:
			var perr *actor.PanicError
			if errors.As(reason, &perr) {
				return perr.Stack
			}
			return nil
		case interface{ Unwrap() error }:
			reason = r.Unwrap()
		case interface{ Unwrap() []error }:
			for _, err := range r.Unwrap() {
				if s := stackOf(err); s != nil {
					return s
				}
			}
			return nil
		default:
			return nil
		}
	}
}

// attemptTask bounds each run of fn by d, ending a run past it with
// ErrAttemptTimeout, whatever fn returned once its context ended: a task
// that obeys its context by returning nil (a loop's usual way) did not
// finish its work.
func attemptTask(fn func(context.Context, *actor.Context) error, d time.Duration) func(context.Context, *actor.Context) error {
	if d <= 0 {
		return fn
	}
	return func(ctx context.Context, c *actor.Context) error {
		actx, cancel := context.WithTimeoutCause(ctx, d, ErrAttemptTimeout)
		defer cancel()
		err := fn(actx, c)
		if ctx.Err() == nil && errors.Is(context.Cause(actx), ErrAttemptTimeout) {
			return fmt.Errorf("%w after %v", ErrAttemptTimeout, d)
		}
		return err
	}
}
