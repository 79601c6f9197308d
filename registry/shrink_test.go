package registry

import (
	"context"
	"fmt"
	"testing"

	"github.com/arbor-go/arbor/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNamesGiveBackTheRoomOfAPeak(t *testing.T) {
	ref, err := actor.Spawn(context.Background(), actor.Func(func(*actor.Context, any) error { return nil }))
	require.NoError(t, err)
	defer ref.Kill()
	var r Registry
	const n = 10_000
	for i := range n {
		require.NoError(t, r.Register(fmt.Sprintf("n/%d", i), ref))
	}
	peak := len(r.names.Load().buckets)
	assert.GreaterOrEqual(t, peak, n, "the table grew to hold the names")
	assert.Equal(t, n, r.peak)

	for i := range n - 10 {
		require.NoError(t, r.Unregister(fmt.Sprintf("n/%d", i)))
	}
	tbl := r.names.Load()
	assert.LessOrEqual(t, len(tbl.buckets), 64, "the table shrank back with the names")
	assert.Equal(t, 10, tbl.count)
	assert.Less(t, r.peak, 1024, "the map was made anew")
	for i := n - 10; i < n; i++ {
		got, ok := r.Lookup(fmt.Sprintf("n/%d", i))
		assert.True(t, ok)
		assert.Same(t, ref, got, "name %d survives the shrinking", i)
	}
	_, ok := r.Lookup("n/0")
	assert.False(t, ok)
}

func TestTableDoesNotFlapAtItsThresholds(t *testing.T) {
	// Growing doubles past one name a bucket and shrinking halves below a
	// quarter: a name added and removed at the threshold resizes once, not
	// at every change.
	tb := newTable(minBuckets)
	ref := new(actor.Ref)
	for i := range 2 * minBuckets {
		tb = tb.set(fmt.Sprint(i), ref)
	}
	require.Equal(t, 2*minBuckets, len(tb.buckets))
	tb = tb.set("extra", ref)
	require.Equal(t, 4*minBuckets, len(tb.buckets), "grown past one a bucket")
	for range 10 {
		tb = tb.set("extra", nil)
		tb = tb.set("extra", ref)
		assert.Equal(t, 4*minBuckets, len(tb.buckets))
	}
}
