package strategy_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/strategy"
)

// t0 is an arbitrary fixed instant: the tests never read the clock.
var t0 = time.Unix(1_700_000_000, 0)

func TestIntensityValidate(t *testing.T) {
	tests := []struct {
		name      string
		intensity strategy.Intensity
		want      []error
		field     string
	}{
		{name: "the zero intensity is valid and means the default", intensity: strategy.Intensity{}},
		{name: "three restarts in five seconds is valid", intensity: strategy.Intensity{MaxRestarts: 3, Period: 5 * time.Second}},
		{name: "no restart at all is valid with a period", intensity: strategy.Intensity{Period: time.Second}},
		{name: "negative max restarts are refused",
			intensity: strategy.Intensity{MaxRestarts: -1, Period: time.Second},
			want:      []error{strategy.ErrNegativeIntensity}, field: "Intensity.MaxRestarts"},
		{name: "restarts without a period are refused",
			intensity: strategy.Intensity{MaxRestarts: 3},
			want:      []error{strategy.ErrZeroPeriod}, field: "Intensity.Period"},
		{name: "a negative period is refused",
			intensity: strategy.Intensity{MaxRestarts: 3, Period: -time.Second},
			want:      []error{strategy.ErrZeroPeriod}, field: "Intensity.Period"},
		{name: "a negative period is refused even when no restart is allowed",
			intensity: strategy.Intensity{Period: -time.Second},
			want:      []error{strategy.ErrZeroPeriod}, field: "Intensity.Period"},
		{name: "both fields wrong are both reported",
			intensity: strategy.Intensity{MaxRestarts: -2, Period: -time.Second},
			want:      []error{strategy.ErrNegativeIntensity, strategy.ErrZeroPeriod}, field: "Intensity.MaxRestarts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.intensity.Validate()
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
			assert.Contains(t, err.Error(), tt.field)
		})
	}
}

func TestIntensityOrDefault(t *testing.T) {
	t.Run("the zero intensity means three restarts in five seconds", func(t *testing.T) {
		assert.Equal(t, strategy.Intensity{MaxRestarts: 3, Period: 5 * time.Second}, strategy.Intensity{}.OrDefault())
	})
	t.Run("a set intensity is kept, even with no restart allowed", func(t *testing.T) {
		i := strategy.Intensity{Period: time.Second}
		assert.Equal(t, i, i.OrDefault())
	})
}

func TestWindowAllow(t *testing.T) {
	s := time.Second
	tests := []struct {
		name      string
		intensity strategy.Intensity
		at        []time.Duration // offsets from t0 of successive restarts
		want      []bool
	}{
		{"intensity zero gives up at the first restart",
			strategy.Intensity{Period: s}, []time.Duration{0}, []bool{false}},
		{"three in five seconds allows three restarts and refuses the fourth",
			strategy.Intensity{MaxRestarts: 3, Period: 5 * s},
			[]time.Duration{0, s, 2 * s, 3 * s}, []bool{true, true, true, false}},
		{"a restart exactly one period old still counts, as in OTP",
			strategy.Intensity{MaxRestarts: 1, Period: 5 * s},
			[]time.Duration{0, 5 * s}, []bool{true, false}},
		{"a restart a nanosecond older than the period is forgotten",
			strategy.Intensity{MaxRestarts: 1, Period: 5 * s},
			[]time.Duration{0, 5*s + 1}, []bool{true, true}},
		{"restarts spread wider than the period never add up",
			strategy.Intensity{MaxRestarts: 2, Period: 5 * s},
			[]time.Duration{0, 3 * s, 6 * s, 9 * s, 12 * s, 15 * s, 18 * s},
			[]bool{true, true, true, true, true, true, true}},
		{"a burst after a quiet spell is judged on its own",
			strategy.Intensity{MaxRestarts: 2, Period: 5 * s},
			[]time.Duration{0, s, 2 * s, 100 * s, 101 * s, 102 * s},
			[]bool{true, true, false, true, true, false}},
		{"failed attempts at the same instant count like restarts",
			strategy.Intensity{MaxRestarts: 3, Period: 5 * s},
			[]time.Duration{0, 0, 0, 0}, []bool{true, true, true, false}},
		{"after giving up the window refuses until the restarts age out",
			strategy.Intensity{MaxRestarts: 1, Period: 5 * s},
			[]time.Duration{0, s, 2 * s, 6500 * time.Millisecond, 7500 * time.Millisecond, 20 * s},
			[]bool{true, false, false, false, false, true}},
		{"the zero intensity allows three restarts in five seconds",
			strategy.Intensity{},
			[]time.Duration{0, s, 2 * s, 3 * s, 9 * s},
			[]bool{true, true, true, false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Len(t, tt.want, len(tt.at))
			w := strategy.NewWindow(tt.intensity)
			got := make([]bool, len(tt.at))
			for k, d := range tt.at {
				got[k] = w.Allow(t0.Add(d))
			}
			assert.Equal(t, tt.want, got)
		})
		t.Run(tt.name+", through TryAllow then Allow", func(t *testing.T) {
			// A fast path decides what TryAllow allows and leaves the rest
			// to Allow: the verdicts and the counts must be Allow's alone.
			w, ref := strategy.NewWindow(tt.intensity), strategy.NewWindow(tt.intensity)
			got := make([]bool, len(tt.at))
			for k, d := range tt.at {
				now := t0.Add(d)
				ref.Allow(now)
				got[k] = w.TryAllow(now) || w.Allow(now)
				assert.Equal(t, ref.Restarts(now), w.Restarts(now), "restart %d", k+1)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestWindowTryAllow(t *testing.T) {
	t.Run("a refused restart is not recorded", func(t *testing.T) {
		w := strategy.NewWindow(strategy.Intensity{MaxRestarts: 2, Period: time.Minute})
		require.True(t, w.TryAllow(t0))
		require.True(t, w.TryAllow(t0))
		for range 5 {
			assert.False(t, w.TryAllow(t0))
		}
		assert.Equal(t, 2, w.Restarts(t0))
		assert.False(t, w.Allow(t0), "Allow records the restart and gives up")
		assert.Equal(t, 3, w.Restarts(t0))
		assert.False(t, w.TryAllow(t0.Add(time.Second)))
		assert.True(t, w.TryAllow(t0.Add(2*time.Minute)), "all forgotten after the period")
	})
	t.Run("intensity zero allows nothing", func(t *testing.T) {
		w := strategy.NewWindow(strategy.Intensity{Period: time.Second})
		assert.False(t, w.TryAllow(t0))
		assert.Equal(t, 0, w.Restarts(t0))
	})
}

func TestWindow(t *testing.T) {
	t.Run("the zero window enforces the default intensity", func(t *testing.T) {
		var w strategy.Window
		assert.Equal(t, strategy.DefaultIntensity, w.Intensity())
		got := []bool{w.Allow(t0), w.Allow(t0), w.Allow(t0), w.Allow(t0)}
		assert.Equal(t, []bool{true, true, true, false}, got)
	})

	t.Run("a large limit is enforced exactly", func(t *testing.T) {
		w := strategy.NewWindow(strategy.Intensity{MaxRestarts: 100, Period: time.Minute})
		for k := range 100 {
			require.True(t, w.Allow(t0.Add(time.Duration(k)*100*time.Millisecond)), "restart %d", k+1)
		}
		assert.False(t, w.Allow(t0.Add(10*time.Second)))
		assert.True(t, w.Allow(t0.Add(2*time.Hour)), "all forgotten after the period")
	})

	t.Run("restarts counts the window without recording a restart", func(t *testing.T) {
		w := strategy.NewWindow(strategy.Intensity{MaxRestarts: 3, Period: 5 * time.Second})
		assert.Equal(t, 0, w.Restarts(t0))
		require.True(t, w.Allow(t0))
		require.True(t, w.Allow(t0.Add(time.Second)))
		assert.Equal(t, 2, w.Restarts(t0.Add(time.Second)))
		assert.Equal(t, 2, w.Restarts(t0.Add(5*time.Second)), "the boundary still counts")
		assert.Equal(t, 1, w.Restarts(t0.Add(5*time.Second+1)))
		assert.Equal(t, 0, w.Restarts(t0.Add(7*time.Second)))
		assert.Equal(t, 2, w.Restarts(t0.Add(time.Second)), "counting changes nothing")
	})

	t.Run("restarts stops at one past the limit", func(t *testing.T) {
		w := strategy.NewWindow(strategy.Intensity{MaxRestarts: 2, Period: time.Minute})
		for range 10 {
			w.Allow(t0)
		}
		assert.Equal(t, 3, w.Restarts(t0))
	})

	t.Run("reset forgets the restarts and applies new limits", func(t *testing.T) {
		w := strategy.NewWindow(strategy.Intensity{MaxRestarts: 1, Period: time.Minute})
		require.True(t, w.Allow(t0))
		require.False(t, w.Allow(t0))
		w.Reset(strategy.Intensity{MaxRestarts: 2, Period: time.Second})
		assert.Equal(t, strategy.Intensity{MaxRestarts: 2, Period: time.Second}, w.Intensity())
		assert.Equal(t, []bool{true, true, false}, []bool{w.Allow(t0), w.Allow(t0), w.Allow(t0)})
	})

	t.Run("a negative limit acts as no restart at all", func(t *testing.T) {
		w := strategy.NewWindow(strategy.Intensity{MaxRestarts: -1, Period: time.Second})
		assert.False(t, w.Allow(t0))
	})

	t.Run("readings of the monotonic clock work", func(t *testing.T) {
		w := strategy.NewWindow(strategy.Intensity{MaxRestarts: 1, Period: time.Hour})
		now := time.Now()
		assert.True(t, w.Allow(now))
		assert.False(t, w.Allow(now.Add(time.Millisecond)))
	})
}

func BenchmarkWindowAllow(b *testing.B) {
	w := strategy.NewWindow(strategy.Intensity{MaxRestarts: 10, Period: time.Second})
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		// 10 restarts a second: the window stays full but never overflows.
		now = now.Add(100 * time.Millisecond)
		w.Allow(now)
	}
}
