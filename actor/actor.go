package actor

import "context"

// Actor is the behaviour of an actor: it handles one message at a time, in the
// order the mailbox holds them, and never concurrently with itself. A non-nil
// error ends the actor (or, under a supervisor, this incarnation of it) with
// that error as its exit reason; so does a panic, as a *PanicError.
type Actor interface {
	Receive(c *Context, msg any) error
}

// Func adapts an ordinary function to the Actor interface.
type Func func(c *Context, msg any) error

// Receive calls f(c, msg).
func (f Func) Receive(c *Context, msg any) error { return f(c, msg) }

// Initializer is implemented by actors that need to set up before their first
// message. Init runs once per incarnation, before any message, on the goroutine
// that spawns or restarts the actor; an error (or panic) fails the start.
type Initializer interface {
	Init(c *Context) error
}

// Terminator is implemented by actors that release resources when they end.
// Terminate runs once per incarnation with its exit reason, unless the actor
// was killed.
type Terminator interface {
	Terminate(c *Context, reason error)
}

// Task returns an actor that runs fn on a goroutine of its own, for work that
// blocks by nature: a long-poll, a socket reader, a ticker loop. Returning nil
// is a normal exit; any other error is the exit reason. ctx is cancelled when
// the task is stopped, killed or its linked actors crash; fn should return
// soon after. fn may read the task's mailbox with c.Recv(ctx).
func Task(fn func(ctx context.Context, c *Context) error) Actor {
	if fn == nil {
		return nil
	}
	return &task{fn: fn}
}

type task struct {
	fn func(ctx context.Context, c *Context) error
}

// Receive is never called for a task: its messages are read with Recv.
func (t *task) Receive(*Context, any) error { return nil }

// Down is the message a monitoring actor receives when the actor it monitors
// stops for good (or, if it was already stopped, as soon as it monitors it).
type Down struct {
	Ref     *Ref
	Reason  error
	Monitor MonitorRef
}

// Exit is the message an actor that traps exits receives when an actor linked
// to it stops for good, instead of being stopped with the same reason.
type Exit struct {
	From   *Ref
	Reason error
}

// ChildExit is the message a supervising parent receives on its system lane
// when an actor spawned WithParent ends an incarnation. If Final is false the
// child is suspended: its Ref and mailbox wait for the parent to Restart it
// or Stop it. If Final is true the child has stopped for good. Requested says
// the incarnation ended because the parent called Suspend, not by itself.
type ChildExit struct {
	Child       *Ref
	Reason      error
	Incarnation uint64
	Final       bool
	Requested   bool
}

// DeadLetter is a message that can never be delivered: sent to an actor that
// had stopped, left in its mailbox when it stopped, or dropped by a full
// mailbox's policy. Dead letters are counted and reported, never lost silently.
type DeadLetter struct {
	To     *Ref
	Msg    any
	Reason error
}
