// Package clock is the time source of Arbor's supervisors: the real clock in
// production and a fake one that tests move by hand, so that tests of backoff
// and restart intensity, Arbor's and its users', are deterministic and take
// no wall time. Pass one to a tree with tree.WithClock.
package clock

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Clock tells the time and schedules functions. Supervisors take from one
// every timestamp of their events and every delay that restart decisions
// depend on (the intensity window, backoff); the waits of a shutdown and a
// task's attempt timeout, which bound real goroutines, run on package time.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc runs f on a goroutine of its own once d has passed. f must
	// not block for long.
	AfterFunc(d time.Duration, f func()) Stopper
}

// Stopper cancels a function scheduled with AfterFunc.
type Stopper interface {
	// Stop prevents the function from running and reports whether it did so
	// (false if it has already run or been stopped).
	Stop() bool
}

// Real returns the clock of package time. Its Now reads the monotonic clock
// only: the wall time it gives is that of a reading of time.Now at most a
// second old, moved on by the monotonic clock. On Linux that halves the cost
// of Now (one clock read rather than two), which a supervisor pays at every
// restart; a step of the wall clock (settime, a first NTP sync) shows in it
// within a second. Times from it compare and subtract exactly as time.Now's.
func Real() Clock { return realClock{} }

type realClock struct{}

// anchorAge is how long a reading of time.Now serves as the real clock's
// anchor before Now takes a new one.
const anchorAge = time.Second

// anchor is the real clock's latest reading of time.Now.
var anchor atomic.Pointer[time.Time]

func (realClock) Now() time.Time {
	if a := anchor.Load(); a != nil {
		if d := time.Since(*a); d >= 0 && d < anchorAge {
			return a.Add(d)
		}
	}
	t := time.Now()
	anchor.Store(&t)
	return t
}

func (realClock) AfterFunc(d time.Duration, f func()) Stopper { return time.AfterFunc(d, f) }

// Fake is a clock that moves only when Advance is called. Functions
// scheduled with AfterFunc run, in due order, on the goroutine that calls
// Advance, so that a test knows they have run when Advance returns.
type Fake struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers []*fakeTimer
	added  chan struct{}
}

// NewFake returns a fake clock set at start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, added: make(chan struct{}, 1)}
}

type fakeTimer struct {
	c    *Fake
	at   time.Time
	seq  uint64
	f    func()
	done bool
}

// Now returns the fake time.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f to run when the clock has been advanced by d. A
// non-positive d runs f at the next Advance, even Advance(0).
func (c *Fake) AfterFunc(d time.Duration, f func()) Stopper {
	c.mu.Lock()
	c.seq++
	t := &fakeTimer{c: c, at: c.now.Add(max(d, 0)), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	select {
	case c.added <- struct{}{}:
	default:
	}
	return t
}

// Stop cancels the timer.
func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.done {
		return false
	}
	t.done = true
	t.c.remove(t)
	return true
}

func (c *Fake) remove(t *fakeTimer) {
	for i, x := range c.timers {
		if x == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return
		}
	}
}

// Advance moves the clock forward by d and runs, in order of their due time,
// the functions that fall due. A clock never goes back: a negative d counts
// as zero, and so does the part of d that a function it ran has already
// advanced the clock past.
func (c *Fake) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(max(d, 0))
	for {
		sort.Slice(c.timers, func(i, j int) bool {
			a, b := c.timers[i], c.timers[j]
			if !a.at.Equal(b.at) {
				return a.at.Before(b.at)
			}
			return a.seq < b.seq
		})
		if len(c.timers) == 0 || c.timers[0].at.After(end) {
			break
		}
		t := c.timers[0]
		c.timers = c.timers[1:]
		t.done = true
		if t.at.After(c.now) {
			c.now = t.at
		}
		c.mu.Unlock()
		t.f()
		c.mu.Lock()
	}
	if end.After(c.now) {
		c.now = end
	}
	c.mu.Unlock()
}

// Pending returns how many scheduled functions have not run yet.
func (c *Fake) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Scheduled returns a channel that receives a value (coalesced) whenever a
// function is scheduled, so that a test can wait for a timer instead of
// sleeping.
func (c *Fake) Scheduled() <-chan struct{} { return c.added }
