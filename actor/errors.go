package actor

import (
	"context"
	"errors"
	"fmt"
)

// Exit reasons. An actor's exit reason is an error: nil means it stopped
// normally, and every other reason is matched with errors.Is or errors.As.
var (
	// ErrShutdown is the reason of an actor stopped on request (Stop, a
	// supervisor shutting it down, its spawn context ending). It is not a
	// crash: it is not logged as one and transient children are not restarted.
	ErrShutdown = errors.New("shutdown")
	// ErrKilled is the reason of an actor ended by Kill. A kill cannot be
	// trapped and runs no Terminate hook.
	ErrKilled = errors.New("killed")
	// ErrNoProc is the exit reason delivered to an actor that links to an
	// actor that has already stopped, as Erlang's noproc.
	ErrNoProc = errors.New("no such actor")
)

// Errors returned by the API. Each is a sentinel for errors.Is.
var (
	// ErrStopped is returned by a send or call to an actor that has stopped for
	// good. A call's error also wraps the actor's exit reason.
	ErrStopped = errors.New("actor: stopped")
	// ErrNilActor is returned by Spawn and Restart when given no actor, and
	// by the methods of a *Ref that is nil (as StartChild returns for an
	// ignored child) or that Spawn did not make (a zero Ref): Send,
	// SendContext, Call, Stop, Restart, Suspend, and Err; and by
	// Context.Monitor and Context.Link given one.
	ErrNilActor = errors.New("actor: nil actor")
	// ErrNilMessage is returned by a send or call of a nil message, which an
	// actor could not tell from no message at all.
	ErrNilMessage = errors.New("actor: nil message")
	// ErrCallSelf is returned by a call an actor makes to itself: it would wait
	// for a reply that only it could send.
	ErrCallSelf = errors.New("actor: call to self")
	// ErrNoCall is returned by Reply and Replier outside the handling of a call.
	ErrNoCall = errors.New("actor: no call to reply to")
	// ErrAlreadyReplied is returned by a second reply to the same call.
	ErrAlreadyReplied = errors.New("actor: call already replied to")
	// ErrNoReply is the error a caller gets when the actor handled its call
	// without replying and without taking a Replier to reply later.
	ErrNoReply = errors.New("actor: call handled without a reply")
	// ErrCallTimeout is returned by a call whose context had no deadline and
	// that ran past the callee's default call timeout. It wraps
	// context.DeadlineExceeded.
	ErrCallTimeout = fmt.Errorf("actor: call timed out: %w", context.DeadlineExceeded)
	// ErrNotTask is returned by Context.Recv in an actor that is not a Task:
	// such an actor receives its messages through Receive.
	ErrNotTask = errors.New("actor: Recv outside a task")
	// ErrNotSuspended is returned by Restart of an actor that is not waiting
	// for its supervisor after an exit.
	ErrNotSuspended = errors.New("actor: not suspended")
	// ErrInvalidOption is returned by Spawn for an option with a bad value.
	ErrInvalidOption = errors.New("actor: invalid option")
	// ErrNoDirectory is returned by Context.SendName and Context.CallName in
	// an actor spawned without a directory (see WithDirectory).
	ErrNoDirectory = errors.New("actor: no directory")
)

// ShutdownError is a shutdown with a detail, as Erlang's {shutdown, Detail}:
// it is a shutdown for every decision (errors.Is(err, ErrShutdown) holds) and
// carries why.
type ShutdownError struct {
	Detail string
}

// Shutdown returns a shutdown exit reason that carries a detail.
func Shutdown(detail string) error { return &ShutdownError{Detail: detail} }

// Error implements error.
func (e *ShutdownError) Error() string { return "shutdown: " + e.Detail }

// Is makes errors.Is(err, ErrShutdown) true.
func (e *ShutdownError) Is(target error) bool { return target == ErrShutdown }

// PanicError is the exit reason of an actor whose Receive, Init or Terminate
// panicked. Stack holds the program counters captured at the panic, trimmed to
// the frames that matter; it becomes text only when printed.
type PanicError struct {
	Value any
	Stack Stack
}

// Error implements error.
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns the panic value if it is an error, so that a panic(err) can be
// matched with errors.Is(reason, err).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// ExitError is returned by a call whose actor exited before it replied: the
// actor crashed handling the call, or it stopped for good. Reason is the
// actor's exit reason; Stopped says the actor is gone for good, and then
// errors.Is(err, ErrStopped) holds too.
type ExitError struct {
	Actor   *Ref
	Reason  error
	Stopped bool
}

// Error implements error.
func (e *ExitError) Error() string {
	what := "exited"
	if e.Stopped {
		what = "stopped"
	}
	if e.Reason == nil {
		return fmt.Sprintf("actor %v %s normally", e.Actor, what)
	}
	return fmt.Sprintf("actor %v %s: %v", e.Actor, what, e.Reason)
}

// Unwrap returns the exit reason.
func (e *ExitError) Unwrap() error { return e.Reason }

// Is makes errors.Is(err, ErrStopped) true for an actor that stopped for good.
func (e *ExitError) Is(target error) bool { return target == ErrStopped && e.Stopped }

// IsNormal reports whether reason is a normal exit (nil).
func IsNormal(reason error) bool { return reason == nil }

// IsShutdown reports whether reason is a shutdown, with or without a detail.
func IsShutdown(reason error) bool { return errors.Is(reason, ErrShutdown) }

// IsCrash reports whether reason is abnormal: neither normal nor a shutdown.
// Crashes restart transient children and kill linked actors that do not trap
// exits; an unsupervised actor's crash is logged with its stack, but for
// ErrKilled, which whoever killed it knows of.
func IsCrash(reason error) bool { return reason != nil && !IsShutdown(reason) }

// ErrCallerGone is returned by a reply to a call whose caller has stopped
// waiting (its context ended, or its timeout passed): the reply is dropped.
var ErrCallerGone = errors.New("actor: caller no longer waiting")
