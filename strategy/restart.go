package strategy

import "strconv"

// Restart is a child's restart type: it decides whether an exit of that child
// is followed by a restart. The zero value is Permanent, as in OTP.
type Restart int

const (
	// Permanent children are always restarted, whatever the exit reason: they
	// are meant to run for the supervisor's whole life.
	Permanent Restart = iota
	// Transient children are restarted only after an abnormal exit; a normal
	// exit or a shutdown means the child finished its job.
	Transient
	// Temporary children are never restarted, not even as collateral of
	// OneForAll or RestForOne; their spec is dropped once they exit.
	Temporary
)

// String returns the OTP name of the restart type, as used in logs.
func (r Restart) String() string {
	switch r {
	case Permanent:
		return "permanent"
	case Transient:
		return "transient"
	case Temporary:
		return "temporary"
	}
	return "Restart(" + strconv.Itoa(int(r)) + ")"
}

// Valid reports whether r is one of the defined restart types; the error wraps
// ErrUnknownRestart.
func (r Restart) Valid() error {
	if r < Permanent || r > Temporary {
		return fieldError("Restart", r, ErrUnknownRestart)
	}
	return nil
}

// ShouldRestart decides whether a child of this restart type that exited with
// e is restarted: Permanent always, Transient only after an abnormal exit,
// Temporary never. An unknown Exit counts as abnormal, so a bug in
// classification errs towards keeping a transient child alive; an unknown
// Restart never restarts.
func (r Restart) ShouldRestart(e Exit) bool {
	switch r {
	case Permanent:
		return true
	case Transient:
		return e != ExitNormal && e != ExitShutdown
	}
	return false
}

// Exit classifies a child's exit reason into the three kinds that restart
// decisions depend on. The zero value is ExitNormal.
//
// The supervisor maps reasons to kinds: a nil reason is ExitNormal, a shutdown
// (with or without a detail) is ExitShutdown, and everything else, including a
// kill, a panic and a timeout, is ExitAbnormal.
type Exit int

const (
	// ExitNormal is a child returning without error: its work is done.
	ExitNormal Exit = iota
	// ExitShutdown is a child stopping because it was asked to, possibly with a
	// detail; like ExitNormal it is not a crash.
	ExitShutdown
	// ExitAbnormal is any crash: an error, a panic, a kill, a timeout.
	ExitAbnormal
)

// String returns the kind's name, as used in logs.
func (e Exit) String() string {
	switch e {
	case ExitNormal:
		return "normal"
	case ExitShutdown:
		return "shutdown"
	case ExitAbnormal:
		return "abnormal"
	}
	return "Exit(" + strconv.Itoa(int(e)) + ")"
}
