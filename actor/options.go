package actor

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"
	"weak"

	"github.com/arbor-go/arbor/mailbox"
	"github.com/rs/zerolog"
	"github.com/rs/zerolog/log"
)

// DefaultCallTimeout bounds a call whose context has no deadline, so that a
// call never waits forever. WithCallTimeout changes it per actor.
const DefaultCallTimeout = 5 * time.Second

// Option configures an actor at Spawn.
type Option func(*config)

type config struct {
	name        string
	mailbox     mailbox.Options
	parent      *Ref
	trapExits   bool
	logger      *zerolog.Logger
	onDead      func(DeadLetter)
	callTimeout time.Duration
	dir         Directory
	dirSet      bool
	restarter   Restarter
	start       *startGuard
	err         error
}

// settings are the parts of a configuration that actors spawned alike share,
// kept behind one pointer so that an actor without options costs no more.
type settings struct {
	logger      *zerolog.Logger // nil: zerolog's global logger, read when used
	onDead      func(DeadLetter)
	callTimeout time.Duration
	dir         Directory // nil: none; see Context.Directory
	restarter   Restarter // nil: every incarnation's end goes to the parent; never inherited
}

var defaultSettings = &settings{callTimeout: DefaultCallTimeout}

func (s *settings) log() *zerolog.Logger {
	if s.logger != nil {
		return s.logger
	}
	return &log.Logger
}

// WithName gives the actor a name, shown in logs and by String. Names need not
// be unique here; the registry package makes them addressable.
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithMailbox configures the actor's mailbox: unbounded by default, or
// bounded with an overflow policy. Messages the policy drops are reported as
// dead letters (after opts.OnDrop, if set).
func WithMailbox(opts mailbox.Options) Option { return func(c *config) { c.mailbox = opts } }

// WithParent makes parent the actor's supervisor. When an incarnation of the
// actor ends by itself (a crash, a normal return, a linked exit), the actor is
// suspended rather than stopped: its Ref and mailbox stay, messages keep
// queueing, and parent receives a ChildExit on its system lane. The parent
// then calls Restart to resume it with a fresh Actor, or Stop to end it for
// good. This is the hook the tree package builds supervisors on.
func WithParent(parent *Ref) Option {
	return func(c *config) {
		if parent == nil {
			c.err = fmt.Errorf("%w: nil parent", ErrInvalidOption)
		}
		c.parent = parent
	}
}

// WithRestarter gives a supervised actor (see WithParent) a fast path for its
// restarts: when an incarnation ends by itself, the actor asks rs, on its own
// goroutine, whether its supervisor restarts it at once, and if so restarts
// in place without waking its parent (see Restarter). Actors spawned with
// Context.Spawn do not inherit it. Without WithParent it has no effect.
func WithRestarter(rs Restarter) Option { return func(c *config) { c.restarter = rs } }

// WithStartContext bounds the actor's start by ctx as well as by the spawn
// context: if ctx ends before Init has returned, the actor stops as when its
// spawn context ends (Init's context is cancelled, with ErrShutdown as its
// cause), and Spawn fails with ErrShutdown. Once Spawn has returned, ctx
// does nothing more. A supervisor passes its own context while it starts its
// children: a start it gives up does not wait for a child's Init, and the
// children it has started stay for it to stop, in order.
//
// One option value may bound many starts, at once or one after the other:
// it watches ctx once for all of them, from the first, until ctx ends or the
// option value is no longer used (the garbage collector then drops the
// watch).
func WithStartContext(ctx context.Context) Option {
	if ctx == nil {
		return func(c *config) { c.err = fmt.Errorf("%w: nil start context", ErrInvalidOption) }
	}
	g := &startGuard{ctx: ctx}
	return func(c *config) { c.start = g }
}

// startGuard bounds the starts made WithStartContext(ctx): it watches ctx
// once, from the first start on, and stops the actors whose Init runs when
// it ends. A supervisor starting thousands of children pays for one watch.
// The watch holds the guard weakly, and goes with it: an option made for a
// spawn, or for a supervisor's Init, leaves nothing on a long-lived ctx.
type startGuard struct {
	ctx   context.Context
	watch sync.Once
	mu    sync.Mutex
	ended bool
	init  map[*Ref]struct{} // the actors whose Init runs
}

// enter records that r's Init is about to run, and reports false if ctx
// has ended.
func (g *startGuard) enter(r *Ref) bool {
	g.watch.Do(func() {
		if g.ctx.Done() == nil {
			return
		}
		w := weak.Make(g)
		stop := context.AfterFunc(g.ctx, func() {
			if g := w.Value(); g != nil {
				g.end()
			}
		})
		runtime.AddCleanup(g, func(stop func() bool) { stop() }, stop)
	})
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ended || g.ctx.Err() != nil {
		return false
	}
	if g.init == nil {
		g.init = make(map[*Ref]struct{})
	}
	g.init[r] = struct{}{}
	return true
}

// leave records that r's Init has returned, and reports false if ctx ended
// while it ran: the start fails.
func (g *startGuard) leave(r *Ref) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.init, r)
	return !g.ended
}

// end stops the actors whose Init runs, as their spawn context's end does.
func (g *startGuard) end() {
	g.mu.Lock()
	g.ended = true
	init := g.init
	g.init = nil
	g.mu.Unlock()
	for r := range init {
		r.requestExit(ErrShutdown, true, false)
	}
}

// WithTrapExits makes the actor trap exits from its first message on, as
// Context.TrapExits(true) does later.
func WithTrapExits() Option { return func(c *config) { c.trapExits = true } }

// WithLogger sets the logger of the actor's reports and of Context.Logger.
// Without it, actors log through zerolog's global logger (zerolog/log.Logger).
func WithLogger(l zerolog.Logger) Option { return func(c *config) { c.logger = &l } }

// WithDeadLetters sets the function told of every dead letter of the actor,
// instead of the default warning in the log. It runs on the goroutine that
// found the dead letter and must not block; a panic in it is logged.
func WithDeadLetters(f func(DeadLetter)) Option { return func(c *config) { c.onDead = f } }

// WithCallTimeout sets how long calls to this actor wait when their context
// has no deadline. The default is DefaultCallTimeout.
func WithCallTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.err = fmt.Errorf("%w: call timeout %v is not positive", ErrInvalidOption, d)
		}
		c.callTimeout = d
	}
}

// WithDirectory sets the directory the actor finds other actors in by name,
// through Context.Directory, SendName and CallName: usually a
// *registry.Registry, which a supervision tree gives its children itself
// (tree.WithRegistry). Actors spawned with Context.Spawn inherit it unless
// their options set another; WithDirectory(nil) leaves the actor without one.
func WithDirectory(d Directory) Option {
	return func(c *config) { c.dir, c.dirSet = d, true }
}

func (c *config) settings(inherited *settings) *settings {
	if c.logger == nil && c.onDead == nil && c.callTimeout == 0 && !c.dirSet &&
		c.restarter == nil && inherited.restarter == nil {
		return inherited
	}
	s := *inherited
	s.restarter = c.restarter // a restarter speaks for one actor: Context.Spawn does not pass it on
	if c.logger != nil {
		s.logger = c.logger
	}
	if c.onDead != nil {
		s.onDead = c.onDead
	}
	if c.callTimeout != 0 {
		s.callTimeout = c.callTimeout
	}
	if c.dirSet {
		s.dir = c.dir
	}
	return &s
}
