package strategy

import (
	"testing"
	"time"
)

// BenchmarkRestartDecision is the bookkeeping of one restart at once, as a
// supervisor's fast path does it: the intensity window, the count it
// reports, and the backoff's attempt; restarts come 1 µs apart, so that the
// window (16 restarts in 10 µs) holds 11 and expires one for each it
// records.
func BenchmarkRestartDecision(b *testing.B) {
	w := NewWindow(Intensity{MaxRestarts: 16, Period: 10 * time.Microsecond})
	var bo BackoffState
	var none Backoff
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		now = now.Add(time.Microsecond)
		if !w.TryAllow(now) {
			b.Fatal("refused")
		}
		_, attempt := bo.Next(none, now, nil)
		if w.Restarts(now) == 0 || attempt == 0 {
			b.Fatal("nothing counted")
		}
		bo.Started(now)
	}
}
