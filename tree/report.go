package tree

import (
	"github.com/arbor-go/arbor/actor"
	"github.com/rs/zerolog"
)

// writesReports reports whether l writes any of the reports: the most
// severe are at error level.
func writesReports(l *zerolog.Logger) bool {
	return l.GetLevel() <= zerolog.ErrorLevel && zerolog.GlobalLevel() <= zerolog.ErrorLevel
}

// reportOf builds the report of an event, as OTP's progress and error
// reports: starts at info, crashes (and any exit of a permanent child) at
// error with their reason and stack, the end of a transient or temporary
// child's job (a normal or shutdown exit) only at debug. The caller adds the
// event's sequence number and sends it with msg. It returns nil if the
// logger's level leaves the report out.
func reportOf(l *zerolog.Logger, e *Event, restart string) (*zerolog.Event, string) {
	if !writesReports(l) {
		return nil, "" // skip IsCrash and the rest
	}
	var ev *zerolog.Event
	msg := e.Kind.String()
	switch e.Kind {
	case SupervisorStarted, ChildStarted, ChildRestarted, ChildAdmitted:
		ev = l.Info()
	case ChildExited:
		// A permanent child is meant to run for good: any exit of it is
		// unexpected, as OTP reports it.
		if actor.IsCrash(e.Reason) || restart == "permanent" {
			ev = l.Error()
			msg = "child_terminated"
		} else {
			ev = l.Debug()
		}
	case StartFailed:
		ev = l.Error()
		msg = "start_error"
	case ChildKilled:
		ev = l.Error()
		msg = "shutdown_error"
	case IntensityExceeded:
		ev = l.Error()
		msg = "reached_max_restart_intensity"
	case Stuck:
		ev = l.Error()
	case ChildRestarting, DeadLetter, ChildQueued:
		ev = l.Warn()
	case SupervisorStopped:
		if actor.IsCrash(e.Reason) {
			ev = l.Error()
		} else {
			ev = l.Info()
		}
	default:
		ev = l.Debug()
	}
	if !ev.Enabled() {
		return nil, ""
	}
	ev = ev.Str("supervisor", e.Supervisor)
	if e.Child != "" {
		ev = ev.Str("child", e.Child)
	}
	if restart != "" {
		ev = ev.Str("restart_type", restart)
	}
	if e.Reason != nil {
		ev = ev.AnErr("reason", e.Reason)
	}
	stack := e.Stack
	if len(stack) == 0 {
		stack = stackOf(e.Reason)
	}
	if len(stack) > 0 {
		ev = ev.Str("stack", stack.String())
	}
	if e.Kind == ChildRestarting {
		ev = ev.Dur("delay", e.Delay)
	}
	if e.Attempt > 0 {
		ev = ev.Int("attempt", e.Attempt)
	}
	if e.Restarts > 0 {
		ev = ev.Int("restarts", e.Restarts)
	}
	if e.Name != "" {
		ev = ev.Str("name", e.Name)
	}
	if e.Group != "" {
		ev = ev.Str("group", e.Group)
	}
	return ev, msg
}
