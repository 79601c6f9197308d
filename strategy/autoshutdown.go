package strategy

import "strconv"

// AutoShutdown decides whether a supervisor stops itself when its significant
// children are gone: a supervisor that exists only to run one job (a download
// and its helpers, say) can end with that job. The zero value is Never.
//
// Only a significant child that exits by itself and is not restarted counts:
// a transient child exiting normally or with a shutdown, or a temporary child
// exiting for any reason. A child stopped by its supervisor (as collateral of
// a restart, or by a terminate request) never triggers it. The supervisor then
// exits with a shutdown, as OTP's does.
type AutoShutdown int

const (
	// Never disables auto shutdown, as in OTP's default; significant children
	// are then an error (see ValidateChild).
	Never AutoShutdown = iota
	// AnySignificant stops the supervisor as soon as one significant child
	// exits by itself.
	AnySignificant
	// AllSignificant stops the supervisor when the last significant child
	// still active exits by itself.
	AllSignificant
)

// String returns the OTP name of the setting, as used in logs.
func (a AutoShutdown) String() string {
	switch a {
	case Never:
		return "never"
	case AnySignificant:
		return "any_significant"
	case AllSignificant:
		return "all_significant"
	}
	return "AutoShutdown(" + strconv.Itoa(int(a)) + ")"
}

// Valid reports whether a is one of the defined settings; the error wraps
// ErrUnknownAutoShutdown.
func (a AutoShutdown) Valid() error {
	if a < Never || a > AllSignificant {
		return fieldError("AutoShutdown", a, ErrUnknownAutoShutdown)
	}
	return nil
}

// Triggered decides whether the supervisor shuts itself down after a child
// exit. significantExited is true only when a significant child exited by
// itself and will not be restarted (see the type's doc). significantRemaining
// counts the other significant children still active: running, or waiting to
// be restarted; children stopped on request or whose start was ignored do not
// count, as in OTP.
func (a AutoShutdown) Triggered(significantExited bool, significantRemaining int) bool {
	if !significantExited {
		return false
	}
	switch a {
	case AnySignificant:
		return true
	case AllSignificant:
		return significantRemaining <= 0
	}
	return false
}

// ValidateChild checks a child's significant flag against its restart type and
// this setting, in OTP's order: significant under Never wraps
// ErrSignificantNever, then significant and Permanent wraps
// ErrSignificantPermanent (see ValidateSignificant).
func (a AutoShutdown) ValidateChild(r Restart, significant bool) error {
	if err := a.Valid(); err != nil {
		return err
	}
	if significant && a == Never {
		return fieldError("Significant", significant, ErrSignificantNever)
	}
	return ValidateSignificant(r, significant)
}

// ValidateSignificant checks a child's restart type and significant flag
// without regard to the supervisor: an unknown restart type wraps
// ErrUnknownRestart, and a significant permanent child wraps
// ErrSignificantPermanent, since it is never gone for good and so could never
// trigger an auto shutdown.
func ValidateSignificant(r Restart, significant bool) error {
	if err := r.Valid(); err != nil {
		return err
	}
	if significant && r == Permanent {
		return fieldError("Significant", significant, ErrSignificantPermanent)
	}
	return nil
}
