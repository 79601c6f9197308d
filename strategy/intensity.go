package strategy

import (
	"math"
	"time"
)

// Intensity is a supervisor's restart intensity: at most MaxRestarts restarts
// within any Period, counted over all its children together. One more and the
// supervisor gives up: it stops its children and exits, so that its own
// supervisor sees the failure (escalation).
//
// The zero value means DefaultIntensity. MaxRestarts 0 with a positive Period
// means that the first restart already gives up.
type Intensity struct {
	// MaxRestarts is the number of restarts tolerated within Period.
	MaxRestarts int
	// Period is the length of the sliding window.
	Period time.Duration
}

// DefaultIntensity is what the zero Intensity means: 3 restarts in 5 seconds,
// Elixir's default (OTP's 1 in 5 s gives up too easily for most programs).
var DefaultIntensity = Intensity{MaxRestarts: 3, Period: 5 * time.Second}

// OrDefault returns DefaultIntensity for the zero value and i otherwise, so
// that code reading the limits sees the ones in force.
func (i Intensity) OrDefault() Intensity {
	if i == (Intensity{}) {
		return DefaultIntensity
	}
	return i
}

// Validate reports every field of i that breaks a rule, each as a *FieldError
// (joined if several): a negative MaxRestarts wraps ErrNegativeIntensity; a
// negative Period, or a zero one while MaxRestarts > 0, wraps ErrZeroPeriod.
// The zero value is valid.
func (i Intensity) Validate() error {
	var errs []error
	if i.MaxRestarts < 0 {
		errs = append(errs, fieldError("Intensity.MaxRestarts", i.MaxRestarts, ErrNegativeIntensity))
	}
	if i.Period < 0 || (i.Period == 0 && i.MaxRestarts > 0) {
		errs = append(errs, fieldError("Intensity.Period", i.Period, ErrZeroPeriod))
	}
	return joinErrors(errs)
}

// Window is the sliding window that enforces an Intensity over all of a
// supervisor's restarts. It remembers at most MaxRestarts+1 restart times,
// growing its memory only as restarts happen.
//
// The zero value enforces DefaultIntensity. A Window is not safe for
// concurrent use: it belongs to the one goroutine that runs its supervisor.
type Window struct {
	limits Intensity // resolved: never the zero value once set
	set    bool

	// times is a ring of the restarts still inside the window, oldest at head.
	times []time.Time
	head  int
	n     int
}

// NewWindow returns a window enforcing i (the zero Intensity means
// DefaultIntensity). Validate i first: a negative MaxRestarts acts as 0, and a
// Period of 0 or less remembers no earlier restart beyond those at the very
// same instant.
func NewWindow(i Intensity) *Window {
	w := &Window{}
	w.Reset(i)
	return w
}

// Reset forgets every restart and enforces i from now on. It keeps the memory
// already allocated unless that exceeds what i needs.
func (w *Window) Reset(i Intensity) {
	i = i.OrDefault()
	if i.MaxRestarts < 0 {
		i.MaxRestarts = 0
	}
	w.limits, w.set = i, true
	if len(w.times) > w.bound() {
		w.times = nil // let the larger ring go
	}
	clear(w.times)
	w.head, w.n = 0, 0
}

// Intensity returns the limits the window enforces.
func (w *Window) Intensity() Intensity {
	w.init()
	return w.limits
}

// Allow records one restart at now and reports whether it stays within the
// intensity. Call it once per restart decision (a OneForAll restart of every
// child is one restart) and again for each retry after a failed start, as OTP
// counts failed attempts too. Once it returns false the supervisor must give
// up; further calls keep returning false while the restarts stay in the window.
//
// As in OTP's supervisor, a restart exactly Period before now still counts;
// only those strictly older are forgotten. Times should come from one
// monotonic clock and not go backwards.
func (w *Window) Allow(now time.Time) bool {
	w.init()
	w.expire(now)
	w.push(now)
	return w.n <= w.limits.MaxRestarts
}

// TryAllow records one restart at now and reports true if it stays within
// the intensity, as Allow; but a restart that would exceed the intensity is
// not recorded, and TryAllow reports false. It lets a fast path decide only
// the restarts that are allowed and leave the others to a call of Allow,
// which then records them and gives up as usual.
func (w *Window) TryAllow(now time.Time) bool {
	w.init()
	w.expire(now)
	if w.n >= w.limits.MaxRestarts {
		return false
	}
	w.push(now)
	return true
}

// Restarts returns how many recorded restarts fall within the window ending at
// now, without recording one: the figure to report when the supervisor logs a
// restart or gives up. It is at most MaxRestarts+1.
func (w *Window) Restarts(now time.Time) int {
	threshold := now.Add(-w.Intensity().Period)
	if w.n == 0 || !w.times[w.head].Before(threshold) {
		return w.n // the oldest is in the window, so are the others
	}
	count := 0
	for k := w.n - 1; k >= 0; k-- {
		if w.times[(w.head+k)%len(w.times)].Before(threshold) {
			break
		}
		count++
	}
	return count
}

// bound is the most restart times the window keeps: one past the limit is
// enough to know the limit is exceeded.
func (w *Window) bound() int {
	if w.limits.MaxRestarts == math.MaxInt {
		return math.MaxInt
	}
	return w.limits.MaxRestarts + 1
}

func (w *Window) init() {
	if !w.set {
		w.Reset(Intensity{})
	}
}

// expire forgets the restarts strictly older than now - Period.
func (w *Window) expire(now time.Time) {
	threshold := now.Add(-w.limits.Period)
	for w.n > 0 && w.times[w.head].Before(threshold) {
		w.times[w.head] = time.Time{}
		w.head = (w.head + 1) % len(w.times)
		w.n--
	}
}

// push records t as the newest restart. When the ring is full at its bound of
// MaxRestarts+1, the oldest time is overwritten: the window already holds more
// restarts than allowed, so the verdict does not depend on it.
func (w *Window) push(t time.Time) {
	if w.n == len(w.times) && len(w.times) < w.bound() {
		w.grow(w.bound())
	}
	if w.n == len(w.times) {
		w.times[w.head] = t
		w.head = (w.head + 1) % len(w.times)
		return
	}
	w.times[(w.head+w.n)%len(w.times)] = t
	w.n++
}

// grow doubles the ring, up to bound, keeping the times in order.
func (w *Window) grow(bound int) {
	size := min(max(2*len(w.times), 4), bound)
	times := make([]time.Time, size)
	for k := range w.n {
		times[k] = w.times[(w.head+k)%len(w.times)]
	}
	w.times, w.head = times, 0
}
