package clock

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRealNowAgreesWithTimeNow(t *testing.T) {
	c := Real()
	for range 1000 {
		before := time.Now()
		got := c.Now()
		after := time.Now()
		// By the monotonic clock, and by the wall clock alone (Round(0)
		// drops the monotonic reading), unless the wall clock stepped.
		require.False(t, got.Before(before), "Now went back before time.Now")
		require.False(t, after.Before(got), "Now ran ahead of time.Now")
		assert.WithinDuration(t, after.Round(0), got.Round(0), 10*time.Millisecond,
			"only a step of the wall clock in this test would explain it")
	}
}

func TestRealNowTakesANewAnchorOnceTheOldIsStale(t *testing.T) {
	old := time.Now().Add(-2 * anchorAge)
	anchor.Store(&old)
	before := time.Now()
	got := Real().Now()
	a := anchor.Load()
	require.NotSame(t, &old, a, "a stale anchor was kept")
	assert.False(t, a.Before(before), "the new anchor is older than the call")
	assert.Equal(t, *a, got, "Now did not return the new anchor's reading")

	fresh := Real().Now()
	assert.False(t, fresh.Before(got))
	if time.Since(*a) < anchorAge { // not so on a machine that stalled us for a second
		assert.Same(t, a, anchor.Load(), "a fresh anchor was replaced")
	}
}
