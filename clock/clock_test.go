package clock

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFake(t *testing.T) {
	start := time.Unix(1000, 0)
	t.Run("functions run in due order when the clock passes them", func(t *testing.T) {
		c := NewFake(start)
		var got []int
		c.AfterFunc(2*time.Second, func() { got = append(got, 2) })
		c.AfterFunc(time.Second, func() { got = append(got, 1) })
		c.Advance(500 * time.Millisecond)
		assert.Empty(t, got)
		assert.Equal(t, 2, c.Pending())
		c.Advance(2 * time.Second)
		assert.Equal(t, []int{1, 2}, got)
		assert.Equal(t, start.Add(2500*time.Millisecond), c.Now())
	})
	t.Run("a stopped function never runs", func(t *testing.T) {
		c := NewFake(start)
		ran := false
		s := c.AfterFunc(time.Second, func() { ran = true })
		assert.True(t, s.Stop())
		assert.False(t, s.Stop())
		c.Advance(time.Hour)
		assert.False(t, ran)
	})
	t.Run("a function scheduled by a function runs in the same advance when due", func(t *testing.T) {
		c := NewFake(start)
		n := 0
		c.AfterFunc(time.Second, func() { n++; c.AfterFunc(time.Second, func() { n++ }) })
		c.Advance(3 * time.Second)
		assert.Equal(t, 2, n)
	})
	t.Run("a negative advance leaves the clock where it is", func(t *testing.T) {
		c := NewFake(start)
		c.Advance(-time.Hour)
		assert.Equal(t, start, c.Now())
	})
	t.Run("an advance made by a function is not undone by the advance that ran it", func(t *testing.T) {
		c := NewFake(start)
		c.AfterFunc(time.Second, func() { c.Advance(time.Hour) })
		c.Advance(2 * time.Second)
		assert.Equal(t, start.Add(time.Hour+time.Second), c.Now())
	})
	t.Run("the real clock runs its functions", func(t *testing.T) {
		done := make(chan struct{})
		Real().AfterFunc(time.Millisecond, func() { close(done) })
		<-done
		assert.False(t, Real().Now().IsZero())
	})
}
