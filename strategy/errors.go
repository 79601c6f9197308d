package strategy

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns wraps one of them, so callers
// branch with errors.Is and never on message text.
var (
	// ErrUnknownStrategy reports a Strategy outside OneForOne, OneForAll and RestForOne.
	ErrUnknownStrategy = errors.New("strategy: unknown restart strategy")
	// ErrUnknownRestart reports a Restart outside Permanent, Transient and Temporary.
	ErrUnknownRestart = errors.New("strategy: unknown restart type")
	// ErrUnknownJitter reports a Jitter outside NoJitter, FullJitter and EqualJitter.
	ErrUnknownJitter = errors.New("strategy: unknown jitter")
	// ErrUnknownAutoShutdown reports an AutoShutdown outside Never, AnySignificant
	// and AllSignificant.
	ErrUnknownAutoShutdown = errors.New("strategy: unknown auto shutdown")

	// ErrBadIndex reports a failed-child index outside the children given to Plan.
	ErrBadIndex = errors.New("strategy: failed child index out of range")
	// ErrTemporaryRestart reports a Plan asked for a temporary child: a temporary
	// child is never restarted, so the caller must not plan its restart (see
	// Restart.ShouldRestart).
	ErrTemporaryRestart = errors.New("strategy: a temporary child is never restarted")

	// ErrNegativeIntensity reports Intensity.MaxRestarts < 0.
	ErrNegativeIntensity = errors.New("strategy: max restarts must not be negative")
	// ErrZeroPeriod reports an Intensity.Period that is negative, or zero while
	// restarts are allowed: a window of no length would never count a restart.
	ErrZeroPeriod = errors.New("strategy: period must be positive")

	// ErrNegativeDuration reports a Backoff duration below zero.
	ErrNegativeDuration = errors.New("strategy: duration must not be negative")
	// ErrMinAboveMax reports a Backoff whose first delay exceeds its cap.
	ErrMinAboveMax = errors.New("strategy: min delay must not exceed max delay")
	// ErrZeroMin reports a Backoff with a cap but no first delay: every delay
	// would be zero, which is almost certainly not what was meant.
	ErrZeroMin = errors.New("strategy: min delay must be positive when max delay is")
	// ErrBadFactor reports a Backoff growth factor that is not a finite number of
	// at least 1 (0 is allowed and means the default, 2).
	ErrBadFactor = errors.New("strategy: factor must be a finite number of at least 1")
	// ErrBadRandomFactor reports a Backoff random factor that is negative or not finite.
	ErrBadRandomFactor = errors.New("strategy: random factor must be a finite number of at least 0")

	// ErrSignificantPermanent reports a significant child whose restart type is
	// Permanent: it is never gone for good, so it could never trigger an auto
	// shutdown (OTP rejects the combination).
	ErrSignificantPermanent = errors.New("strategy: a significant child must not be permanent")
	// ErrSignificantNever reports a significant child under a supervisor whose
	// AutoShutdown is Never: the flag would have no effect (OTP rejects it).
	ErrSignificantNever = errors.New("strategy: a significant child needs an auto shutdown other than never")
)

// FieldError names the setting that failed validation and the value it had, so a
// message points at the line of configuration to fix. It unwraps to one of the
// sentinel errors above.
type FieldError struct {
	// Field is the setting's name, qualified by its type, e.g. "Intensity.Period".
	Field string
	// Value is the rejected value.
	Value any
	// Err is the sentinel describing the rule that was broken.
	Err error
}

// Error returns the rule that was broken followed by the field and its value.
func (e *FieldError) Error() string {
	return fmt.Sprintf("%v (%s = %v)", e.Err, e.Field, e.Value)
}

// Unwrap returns the sentinel, so errors.Is(err, ErrZeroPeriod) and the like work.
func (e *FieldError) Unwrap() error { return e.Err }

func fieldError(field string, value any, err error) error {
	return &FieldError{Field: field, Value: value, Err: err}
}

// joinErrors returns nil, the only error, or all of them joined: a lone
// *FieldError stays directly assertable.
func joinErrors(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}
