package strategy_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/strategy"
)

// fixed returns a source of "random" numbers that always returns v.
func fixed(v float64) func() float64 { return func() float64 { return v } }

// sequence returns a source that yields vs in turn and counts its calls.
func sequence(calls *int, vs ...float64) func() float64 {
	return func() float64 {
		v := vs[*calls%len(vs)]
		*calls++
		return v
	}
}

func TestBackoffDelay(t *testing.T) {
	ms := time.Millisecond
	s := time.Second
	exp := strategy.Exponential(100*ms, 2*s)
	wide := strategy.Exponential(s, 8*s) // attempt 3 is 4 s before spreading

	tests := []struct {
		name    string
		backoff strategy.Backoff
		attempt int
		rnd     float64
		want    time.Duration
	}{
		{"no backoff restarts at once", strategy.None(), 1, 0.5, 0},
		{"no backoff stays at once however many attempts", strategy.None(), 50, 0.5, 0},
		{"no backoff ignores jitter", strategy.None().WithJitter(strategy.FullJitter), 3, 0.5, 0},

		{"constant waits the same at the first attempt", strategy.Constant(s), 1, 0, s},
		{"constant waits the same at the tenth attempt", strategy.Constant(s), 10, 0, s},
		{"constant ignores a factor", strategy.Constant(s).WithFactor(3), 4, 0, s},

		{"exponential treats attempt zero as the first", exp, 0, 0, 100 * ms},
		{"exponential starts at min", exp, 1, 0, 100 * ms},
		{"exponential doubles at the second attempt", exp, 2, 0, 200 * ms},
		{"exponential doubles again at the third attempt", exp, 3, 0, 400 * ms},
		{"exponential reaches 1.6 s at the fifth attempt", exp, 5, 0, 1600 * ms},
		{"exponential clamps the sixth attempt to max", exp, 6, 0, 2 * s},
		{"exponential stays at max after a thousand attempts", exp, 1000, 0, 2 * s},
		{"exponential stays at max at the largest attempt", exp, math.MaxInt, 0, 2 * s},
		{"a factor of three triples each time", strategy.Exponential(100*ms, 10*s).WithFactor(3), 3, 0, 900 * ms},
		{"a factor of 1.5 grows gently", strategy.Exponential(s, 10*s).WithFactor(1.5), 3, 0, 2250 * ms},
		{"a zero factor means two", strategy.Backoff{Min: s, Max: 10 * s}, 3, 0, 4 * s},
		{"max close to the largest duration is returned exactly",
			strategy.Exponential(s, math.MaxInt64), 100, 0, math.MaxInt64},

		{"full jitter with rnd 0 restarts at once", wide.WithJitter(strategy.FullJitter), 3, 0, 0},
		{"full jitter with rnd 0.5 waits half", wide.WithJitter(strategy.FullJitter), 3, 0.5, 2 * s},
		{"full jitter with rnd 0.999 waits almost the whole delay", wide.WithJitter(strategy.FullJitter), 3, 0.999, 3996 * ms},
		{"equal jitter with rnd 0 waits half", wide.WithJitter(strategy.EqualJitter), 3, 0, 2 * s},
		{"equal jitter with rnd 0.5 waits three quarters", wide.WithJitter(strategy.EqualJitter), 3, 0.5, 3 * s},
		{"equal jitter with rnd 0.999 waits almost the whole delay", wide.WithJitter(strategy.EqualJitter), 3, 0.999, 3998 * ms},
		{"jitter spreads the clamped delay", wide.WithJitter(strategy.FullJitter), 10, 0.5, 4 * s},

		{"a random factor with rnd 0 adds nothing", wide.WithRandomFactor(0.5), 1, 0, s},
		{"a random factor with rnd 0.5 adds a quarter", wide.WithRandomFactor(0.5), 1, 0.5, 1250 * ms},
		{"a random factor with rnd 0.999 adds almost half", wide.WithRandomFactor(0.5), 1, 0.999, 1499500 * time.Microsecond},
		{"a random factor stretches the delay at max, as Akka's", wide.WithRandomFactor(0.5), 4, 0.5, 10 * s},
		{"a random factor stretches past max", wide.WithRandomFactor(1), 3, 0.999, 7996 * ms},
		{"a random factor stretches a constant delay", strategy.Constant(10 * s).WithRandomFactor(0.2), 1, 0.5, 11 * s},
		{"a random factor with a broken source stretches by at most itself", wide.WithRandomFactor(0.5), 4, 7, 12 * s},
		{"a random factor near the largest duration does not overflow",
			strategy.Exponential(s, math.MaxInt64).WithRandomFactor(1), 100, 0.999, math.MaxInt64},
		{"jitter and random factor combine", wide.WithJitter(strategy.FullJitter).WithRandomFactor(1), 3, 0.5, 3 * s},

		{"a broken source below zero never yields a negative delay", wide.WithJitter(strategy.FullJitter), 3, -1, 0},
		{"a broken source above one never yields more than max", wide.WithJitter(strategy.FullJitter), 4, 2, 8 * s},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.backoff.Delay(tt.attempt, fixed(tt.rnd))
			// Floating point may land a nanosecond off a round figure.
			assert.InDelta(t, float64(tt.want), float64(got), 1, "got %v", got)
		})
	}
}

func TestBackoffDelayRandomness(t *testing.T) {
	exp := strategy.Exponential(time.Second, 8*time.Second)
	tests := []struct {
		name    string
		backoff strategy.Backoff
		calls   int
	}{
		{"no spreading draws no number", exp, 0},
		{"no backoff draws no number even with jitter", strategy.None().WithJitter(strategy.FullJitter).WithRandomFactor(1), 0},
		{"jitter draws one number", exp.WithJitter(strategy.EqualJitter), 1},
		{"a random factor draws one number", exp.WithRandomFactor(0.2), 1},
		{"jitter and a random factor draw one each", exp.WithJitter(strategy.FullJitter).WithRandomFactor(0.2), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			tt.backoff.Delay(2, sequence(&calls, 0.5))
			assert.Equal(t, tt.calls, calls)
		})
	}

	t.Run("jitter draws before the random factor", func(t *testing.T) {
		calls := 0
		// Full jitter takes 0.25 of 2 s; the random factor then adds 100%.
		got := exp.WithJitter(strategy.FullJitter).WithRandomFactor(1).Delay(2, sequence(&calls, 0.25, 0.999))
		assert.InDelta(t, float64(999500*time.Microsecond), float64(got), 1)
	})

	t.Run("a nil source draws from math/rand and stays in range", func(t *testing.T) {
		b := exp.WithJitter(strategy.EqualJitter).WithRandomFactor(0.5)
		for range 1000 {
			d := b.Delay(2, nil)
			require.GreaterOrEqual(t, d, time.Second)
			require.LessOrEqual(t, d, 3*time.Second)
		}
	})

	t.Run("no delay is ever negative or above max stretched by the random factor", func(t *testing.T) {
		bs := []strategy.Backoff{
			strategy.Constant(time.Second).WithRandomFactor(3),
			exp.WithJitter(strategy.FullJitter),
			exp.WithJitter(strategy.EqualJitter).WithRandomFactor(10),
			exp.WithFactor(1e300),
		}
		for _, b := range bs {
			for attempt := -1; attempt < 200; attempt++ {
				for _, r := range []float64{0, 0.3, 0.999} {
					d := b.Delay(attempt, fixed(r))
					require.GreaterOrEqual(t, d, time.Duration(0))
					require.LessOrEqual(t, float64(d), float64(b.Max)*(1+b.RandomFactor))
				}
			}
		}
	})
}

func TestBackoffBuilders(t *testing.T) {
	t.Run("the zero backoff is none", func(t *testing.T) {
		assert.Equal(t, strategy.Backoff{}, strategy.None())
	})
	t.Run("constant is a backoff that does not grow", func(t *testing.T) {
		assert.Equal(t, strategy.Backoff{Min: time.Second, Max: time.Second, Factor: 1}, strategy.Constant(time.Second))
	})
	t.Run("exponential doubles by default", func(t *testing.T) {
		assert.Equal(t, strategy.Backoff{Min: time.Millisecond, Max: time.Minute, Factor: 2},
			strategy.Exponential(time.Millisecond, time.Minute))
	})
	t.Run("the with methods set their field and leave the original alone", func(t *testing.T) {
		base := strategy.Exponential(time.Millisecond, time.Minute)
		got := base.WithFactor(1.5).WithJitter(strategy.EqualJitter).WithRandomFactor(0.2).WithResetAfter(time.Hour)
		assert.Equal(t, strategy.Backoff{
			Min: time.Millisecond, Max: time.Minute, Factor: 1.5,
			Jitter: strategy.EqualJitter, RandomFactor: 0.2, ResetAfter: time.Hour,
		}, got)
		assert.Equal(t, strategy.Exponential(time.Millisecond, time.Minute), base)
	})
}

func TestBackoffValidate(t *testing.T) {
	exp := strategy.Exponential(100*time.Millisecond, 30*time.Second)
	tests := []struct {
		name    string
		backoff strategy.Backoff
		want    []error
		field   string
	}{
		{name: "no backoff is valid", backoff: strategy.None()},
		{name: "a constant backoff is valid", backoff: strategy.Constant(time.Second)},
		{name: "a fully dressed exponential backoff is valid",
			backoff: exp.WithFactor(1.5).WithJitter(strategy.FullJitter).WithRandomFactor(0.2).WithResetAfter(time.Minute)},
		{name: "a zero factor is valid and means two", backoff: exp.WithFactor(0)},
		{name: "a factor of one is valid", backoff: exp.WithFactor(1)},
		{name: "a negative constant delay is refused for both bounds",
			backoff: strategy.Constant(-time.Second),
			want:    []error{strategy.ErrNegativeDuration}, field: "Backoff.Min"},
		{name: "a negative max is refused",
			backoff: strategy.Backoff{Max: -time.Second},
			want:    []error{strategy.ErrNegativeDuration}, field: "Backoff.Max"},
		{name: "a negative reset period is refused",
			backoff: exp.WithResetAfter(-time.Second),
			want:    []error{strategy.ErrNegativeDuration}, field: "Backoff.ResetAfter"},
		{name: "min above max is refused",
			backoff: strategy.Exponential(2*time.Second, time.Second),
			want:    []error{strategy.ErrMinAboveMax}, field: "Backoff.Min"},
		{name: "a max without a min is refused",
			backoff: strategy.Backoff{Max: time.Second},
			want:    []error{strategy.ErrZeroMin}, field: "Backoff.Min"},
		{name: "a factor below one is refused",
			backoff: exp.WithFactor(0.5),
			want:    []error{strategy.ErrBadFactor}, field: "Backoff.Factor"},
		{name: "a negative factor is refused",
			backoff: exp.WithFactor(-2),
			want:    []error{strategy.ErrBadFactor}, field: "Backoff.Factor"},
		{name: "a factor that is not a number is refused",
			backoff: exp.WithFactor(math.NaN()),
			want:    []error{strategy.ErrBadFactor}, field: "Backoff.Factor"},
		{name: "an infinite factor is refused",
			backoff: exp.WithFactor(math.Inf(1)),
			want:    []error{strategy.ErrBadFactor}, field: "Backoff.Factor"},
		{name: "a negative random factor is refused",
			backoff: exp.WithRandomFactor(-0.1),
			want:    []error{strategy.ErrBadRandomFactor}, field: "Backoff.RandomFactor"},
		{name: "a random factor that is not a number is refused",
			backoff: exp.WithRandomFactor(math.NaN()),
			want:    []error{strategy.ErrBadRandomFactor}, field: "Backoff.RandomFactor"},
		{name: "an unknown jitter is refused",
			backoff: exp.WithJitter(strategy.Jitter(9)),
			want:    []error{strategy.ErrUnknownJitter}, field: "Backoff.Jitter"},
		{name: "several mistakes are all reported",
			backoff: strategy.Exponential(-time.Second, time.Second).WithFactor(0.1).WithJitter(-1),
			want:    []error{strategy.ErrNegativeDuration, strategy.ErrBadFactor, strategy.ErrUnknownJitter},
			field:   "Backoff.Min"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.backoff.Validate()
			if len(tt.want) == 0 {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, want := range tt.want {
				assert.ErrorIs(t, err, want)
			}
			var fe *strategy.FieldError
			require.True(t, errors.As(err, &fe))
			assert.Equal(t, tt.field, fe.Field)
			assert.Contains(t, err.Error(), tt.field+" = ")
		})
	}
	t.Run("a field error message names the rule, the field and the value", func(t *testing.T) {
		err := strategy.Exponential(2*time.Second, time.Second).Validate()
		assert.EqualError(t, err, "strategy: min delay must not exceed max delay (Backoff.Min = 2s)")
	})
}

func TestJitterNamesAndValidity(t *testing.T) {
	tests := []struct {
		jitter strategy.Jitter
		name   string
		valid  bool
	}{
		{strategy.NoJitter, "none", true},
		{strategy.FullJitter, "full", true},
		{strategy.EqualJitter, "equal", true},
		{strategy.Jitter(3), "Jitter(3)", false},
	}
	for _, tt := range tests {
		t.Run(tt.name+" has its name and is checked", func(t *testing.T) {
			assert.Equal(t, tt.name, tt.jitter.String())
			if tt.valid {
				assert.NoError(t, tt.jitter.Valid())
			} else {
				assert.ErrorIs(t, tt.jitter.Valid(), strategy.ErrUnknownJitter)
			}
		})
	}
}

// step is one event in a child's life, as its supervisor reports it to a
// BackoffState: a successful start, or an exit (or failed start) to retry.
type step struct {
	at          time.Duration // offset from t0
	started     bool          // Started if true, Next otherwise
	wantDelay   time.Duration
	wantAttempt int
}

func TestBackoffState(t *testing.T) {
	ms := time.Millisecond
	exp := strategy.Exponential(100*ms, time.Second) // resets after 1 s of running by default

	tests := []struct {
		name    string
		backoff strategy.Backoff
		steps   []step
	}{
		{"a crash loop grows the delay up to max", exp, []step{
			{at: 0, started: true},
			{at: 10 * ms, wantDelay: 100 * ms, wantAttempt: 1},
			{at: 110 * ms, started: true},
			{at: 120 * ms, wantDelay: 200 * ms, wantAttempt: 2},
			{at: 320 * ms, started: true},
			{at: 330 * ms, wantDelay: 400 * ms, wantAttempt: 3},
			{at: 730 * ms, started: true},
			{at: 740 * ms, wantDelay: 800 * ms, wantAttempt: 4},
			{at: 1540 * ms, started: true},
			{at: 1550 * ms, wantDelay: time.Second, wantAttempt: 5},
			{at: 2550 * ms, started: true},
			{at: 2560 * ms, wantDelay: time.Second, wantAttempt: 6},
		}},
		{"a run as long as max resets the count by default", exp, []step{
			{at: 0, started: true},
			{at: 10 * ms, wantDelay: 100 * ms, wantAttempt: 1},
			{at: 110 * ms, started: true},
			{at: 120 * ms, wantDelay: 200 * ms, wantAttempt: 2},
			{at: 320 * ms, started: true},
			{at: 1320 * ms, wantDelay: 100 * ms, wantAttempt: 1},
		}},
		{"a run just shorter than max does not reset the count", exp, []step{
			{at: 0, started: true},
			{at: 10 * ms, wantDelay: 100 * ms, wantAttempt: 1},
			{at: 110 * ms, started: true},
			{at: 1109 * ms, wantDelay: 200 * ms, wantAttempt: 2},
		}},
		{"failed starts keep growing the count however long they take", exp, []step{
			{at: 0, started: true},
			{at: 10 * time.Second, wantDelay: 100 * ms, wantAttempt: 1},
			{at: 20 * time.Second, wantDelay: 200 * ms, wantAttempt: 2},
			{at: time.Hour, wantDelay: 400 * ms, wantAttempt: 3},
			{at: time.Hour + time.Second, started: true},
			{at: 2 * time.Hour, wantDelay: 100 * ms, wantAttempt: 1},
		}},
		{"a custom reset period replaces the default", exp.WithResetAfter(10 * time.Second), []step{
			{at: 0, started: true},
			{at: 5 * time.Second, wantDelay: 100 * ms, wantAttempt: 1},
			{at: 6 * time.Second, started: true},
			{at: 15 * time.Second, wantDelay: 200 * ms, wantAttempt: 2},
			{at: 16 * time.Second, started: true},
			{at: 26 * time.Second, wantDelay: 100 * ms, wantAttempt: 1},
		}},
		{"a child never reported started counts from the first exit", exp, []step{
			{at: time.Hour, wantDelay: 100 * ms, wantAttempt: 1},
			{at: 2 * time.Hour, wantDelay: 200 * ms, wantAttempt: 2},
		}},
		{"no backoff restarts at once and counts each run afresh", strategy.None(), []step{
			{at: 0, started: true},
			{at: 0, wantDelay: 0, wantAttempt: 1},
			{at: 0, started: true},
			{at: 0, wantDelay: 0, wantAttempt: 1},
			{at: 0, wantDelay: 0, wantAttempt: 2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s strategy.BackoffState
			for k, st := range tt.steps {
				now := t0.Add(st.at)
				if st.started {
					s.Started(now)
					continue
				}
				delay, attempt := s.Next(tt.backoff, now, fixed(0))
				assert.Equal(t, st.wantDelay, delay, "step %d", k)
				assert.Equal(t, st.wantAttempt, attempt, "step %d", k)
				assert.Equal(t, st.wantAttempt, s.Attempt(), "step %d", k)
			}
		})
	}

	t.Run("a start at the zero time is a start", func(t *testing.T) {
		// A fake clock may start at the zero time.
		var s strategy.BackoffState
		s.Next(strategy.None(), time.Time{}, nil)
		s.Started(time.Time{})
		_, attempt := s.Next(strategy.None(), time.Time{}, nil)
		assert.Equal(t, 1, attempt, "the child ran: no backoff counts each run afresh")
	})

	t.Run("reset makes the next failure the first attempt", func(t *testing.T) {
		var s strategy.BackoffState
		assert.Equal(t, 0, s.Attempt())
		s.Next(exp, t0, nil)
		s.Next(exp, t0, nil)
		require.Equal(t, 2, s.Attempt())
		s.Reset()
		assert.Equal(t, 0, s.Attempt())
		_, attempt := s.Next(exp, t0, fixed(0))
		assert.Equal(t, 1, attempt)
	})
}

func BenchmarkBackoffDelay(b *testing.B) {
	exp := strategy.Exponential(100*time.Millisecond, 30*time.Second).WithJitter(strategy.FullJitter).WithRandomFactor(0.2)
	b.Run("fixed source", func(b *testing.B) {
		rnd := fixed(0.5)
		b.ReportAllocs()
		attempt := 0
		for b.Loop() {
			attempt = attempt%20 + 1
			exp.Delay(attempt, rnd)
		}
	})
	b.Run("math/rand source", func(b *testing.B) {
		b.ReportAllocs()
		attempt := 0
		for b.Loop() {
			attempt = attempt%20 + 1
			exp.Delay(attempt, nil)
		}
	})
}
