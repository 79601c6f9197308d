package strategy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestWindowMemoryIsBounded(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	t.Run("a crash loop keeps at most one time past the limit", func(t *testing.T) {
		w := NewWindow(Intensity{MaxRestarts: 3, Period: time.Hour})
		for k := range 1000 {
			w.Allow(t0.Add(time.Duration(k) * time.Millisecond))
		}
		assert.LessOrEqual(t, len(w.times), 4)
		assert.Equal(t, 4, w.n)
	})
	t.Run("a large limit grows memory only with the restarts", func(t *testing.T) {
		w := NewWindow(Intensity{MaxRestarts: 1_000_000, Period: time.Hour})
		for range 5 {
			w.Allow(t0)
		}
		assert.LessOrEqual(t, len(w.times), 8)
	})
	t.Run("reset to a lower limit shrinks the ring to its bound", func(t *testing.T) {
		w := NewWindow(Intensity{MaxRestarts: 100, Period: time.Hour})
		for range 50 {
			w.Allow(t0)
		}
		w.Reset(Intensity{MaxRestarts: 1, Period: time.Hour})
		assert.LessOrEqual(t, cap(w.times), 2)
		assert.Equal(t, []bool{true, false}, []bool{w.Allow(t0), w.Allow(t0)})
	})
}
