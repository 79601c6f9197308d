package strategy

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// Backoff decides how long a supervisor waits before restarting a child, so
// that a child failing on a resource that is down (a server, a disk) does not
// spin. The delay for attempt n is Min × Factor^(n-1), capped at Max, then
// spread by Jitter (which only shortens it) and stretched by RandomFactor
// (which may take it past Max, as Akka's randomFactor does, so that children
// waiting at the cap still spread out).
//
// The zero value is no backoff: restart at once. Build one with None,
// Constant or Exponential, then refine it with the With methods:
//
//	strategy.Exponential(100*time.Millisecond, 30*time.Second).WithJitter(strategy.FullJitter)
type Backoff struct {
	// Min is the delay before the first restart.
	Min time.Duration
	// Max caps the delay before RandomFactor stretches it. Zero, with Min
	// zero, means no delay at all.
	Max time.Duration
	// Factor multiplies the delay at each further attempt. Zero means 2.
	Factor float64
	// Jitter spreads each delay at random, so that children failing together
	// do not restart together.
	Jitter Jitter
	// RandomFactor stretches each delay, capped and jittered, by a random
	// share of at most itself, as Akka's randomFactor: delay × (1 + rand ×
	// RandomFactor). Zero means none.
	RandomFactor float64
	// ResetAfter is how long a child must have run since its last start for
	// its next failure to count as attempt 1 again. Zero means Max: a child
	// that stayed up as long as the longest wait is considered healthy.
	ResetAfter time.Duration
}

// None returns the zero Backoff: every restart happens at once, as in OTP.
func None() Backoff { return Backoff{} }

// Constant returns a Backoff that waits d before every restart.
func Constant(d time.Duration) Backoff {
	return Backoff{Min: d, Max: d, Factor: 1}
}

// Exponential returns a Backoff that waits min before the first restart and
// doubles the wait at each further attempt, up to max.
func Exponential(min, max time.Duration) Backoff {
	return Backoff{Min: min, Max: max, Factor: 2}
}

// WithFactor returns b growing by f per attempt instead (f ≥ 1; 0 means 2).
func (b Backoff) WithFactor(f float64) Backoff {
	b.Factor = f
	return b
}

// WithJitter returns b with each delay spread by j.
func (b Backoff) WithJitter(j Jitter) Backoff {
	b.Jitter = j
	return b
}

// WithRandomFactor returns b with each delay stretched by up to f times itself,
// after the cap, as Akka's randomFactor: 0.2 adds up to 20%, so that a
// Constant(10*time.Second).WithRandomFactor(0.2) waits from 10 to 12 s.
func (b Backoff) WithRandomFactor(f float64) Backoff {
	b.RandomFactor = f
	return b
}

// WithResetAfter returns b whose attempt count restarts at 1 once a child has
// run for d since its last start.
func (b Backoff) WithResetAfter(d time.Duration) Backoff {
	b.ResetAfter = d
	return b
}

// Validate reports every field of b that breaks a rule, each as a *FieldError
// (joined if several): negative durations (ErrNegativeDuration), Min above Max
// (ErrMinAboveMax), Max without Min (ErrZeroMin), a Factor that is neither 0
// nor a finite number ≥ 1 (ErrBadFactor), a negative or non-finite
// RandomFactor (ErrBadRandomFactor), an unknown Jitter (ErrUnknownJitter).
// The zero value is valid.
func (b Backoff) Validate() error {
	var errs []error
	for _, f := range [...]struct {
		name string
		d    time.Duration
	}{{"Backoff.Min", b.Min}, {"Backoff.Max", b.Max}, {"Backoff.ResetAfter", b.ResetAfter}} {
		if f.d < 0 {
			errs = append(errs, fieldError(f.name, f.d, ErrNegativeDuration))
		}
	}
	if b.Min >= 0 && b.Max >= 0 {
		switch {
		case b.Min > b.Max:
			errs = append(errs, fieldError("Backoff.Min", b.Min, ErrMinAboveMax))
		case b.Min == 0 && b.Max > 0:
			errs = append(errs, fieldError("Backoff.Min", b.Min, ErrZeroMin))
		}
	}
	if b.Factor != 0 && !(b.Factor >= 1 && !math.IsInf(b.Factor, 1)) {
		errs = append(errs, fieldError("Backoff.Factor", b.Factor, ErrBadFactor))
	}
	if !(b.RandomFactor >= 0 && !math.IsInf(b.RandomFactor, 1)) {
		errs = append(errs, fieldError("Backoff.RandomFactor", b.RandomFactor, ErrBadRandomFactor))
	}
	if err := b.Jitter.Valid(); err != nil {
		errs = append(errs, fieldError("Backoff.Jitter", b.Jitter, ErrUnknownJitter))
	}
	return joinErrors(errs)
}

// Delay returns the wait before restart attempt number attempt (1 is the first
// restart after a run; lower values count as 1). rnd supplies uniform numbers
// in [0, 1); nil means math/rand/v2's Float64. Jitter draws first, then
// RandomFactor, each one number, and only when in use. The result is never
// negative and never above Max × (1 + RandomFactor) (nor the largest
// Duration). Delay is pure apart from rnd.
func (b Backoff) Delay(attempt int, rnd func() float64) time.Duration {
	if b.Max <= 0 {
		return 0
	}
	attempt = max(attempt, 1)
	factor := b.Factor
	if factor == 0 {
		factor = 2
	}
	ceiling := float64(b.Max)
	d := float64(b.Min)
	if attempt > 1 {
		d *= math.Pow(factor, float64(attempt-1))
	}
	if !(d < ceiling) { // also catches +Inf and NaN from extreme factors
		d = ceiling
	}
	if b.Jitter != NoJitter || b.RandomFactor > 0 {
		if rnd == nil {
			rnd = rand.Float64
		}
		switch b.Jitter {
		case FullJitter:
			d *= rnd()
		case EqualJitter:
			d = d/2 + d/2*rnd()
		}
		if !(d < ceiling) { // jitter never lengthens, even with a broken source
			d = ceiling
		}
		if b.RandomFactor > 0 {
			if r := rnd(); r > 0 {
				d *= 1 + min(r, 1)*b.RandomFactor
			}
		}
	}
	switch {
	case d == ceiling:
		// Max itself, exactly: converting a float back near MaxInt64 overflows.
		return b.Max
	case !(d < maxDuration):
		return math.MaxInt64
	case !(d > 0):
		return 0
	}
	return time.Duration(d)
}

// maxDuration is the largest Duration plus one, as a float: every float below
// it converts to a Duration without overflow.
const maxDuration = float64(math.MaxInt64)

// resetAfter returns the run time after which the attempt count restarts.
func (b Backoff) resetAfter() time.Duration {
	if b.ResetAfter > 0 {
		return b.ResetAfter
	}
	return b.Max
}

// Jitter is how a Backoff spreads its delays at random. Without it, children
// that fail together (a shared server went down) retry together and knock it
// over again. The zero value is NoJitter.
type Jitter int

const (
	// NoJitter keeps every delay as computed.
	NoJitter Jitter = iota
	// FullJitter draws each delay uniformly from [0, d): the widest spread,
	// and some restarts happen almost at once.
	FullJitter
	// EqualJitter draws each delay uniformly from [d/2, d): a wide spread that
	// still waits at least half the delay.
	EqualJitter
)

// String returns the jitter's name, as used in logs.
func (j Jitter) String() string {
	switch j {
	case NoJitter:
		return "none"
	case FullJitter:
		return "full"
	case EqualJitter:
		return "equal"
	}
	return "Jitter(" + strconv.Itoa(int(j)) + ")"
}

// Valid reports whether j is one of the defined jitters; the error wraps
// ErrUnknownJitter.
func (j Jitter) Valid() error {
	if j < NoJitter || j > EqualJitter {
		return fieldError("Jitter", j, ErrUnknownJitter)
	}
	return nil
}

// BackoffState tracks one child's restart attempts for a Backoff. The zero
// value is ready: the next failure is attempt 1. Like Window, it belongs to
// the supervisor's goroutine.
type BackoffState struct {
	attempt int
	running bool      // the child has started since the last Next
	started time.Time // when, if running: any time, the zero one too (a fake clock's)
}

// Next is called when the child has exited, or failed to start, and will be
// restarted: it counts the attempt and returns the delay to wait before it and
// its number. If the child ran for at least the Backoff's reset period since
// Started, the count restarts at 1. A failed start is not a run: call Next
// again without Started, and the count keeps growing.
func (s *BackoffState) Next(b Backoff, now time.Time, rnd func() float64) (delay time.Duration, attempt int) {
	if s.running && now.Sub(s.started) >= b.resetAfter() {
		s.attempt = 0
	}
	s.running = false
	if s.attempt < math.MaxInt {
		s.attempt++
	}
	return b.Delay(s.attempt, rnd), s.attempt
}

// Started is called when the child has (re)started successfully: the run that
// the reset rule measures begins at now.
func (s *BackoffState) Started(now time.Time) { s.running, s.started = true, now }

// Attempt returns the number of the latest attempt, 0 before the first.
func (s *BackoffState) Attempt() int { return s.attempt }

// Reset forgets every attempt, as when an operator restarts the child by hand.
func (s *BackoffState) Reset() { *s = BackoffState{} }
