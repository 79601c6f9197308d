package tree

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestChildListMatchesASlice pushes and drops children at random, from
// anywhere, as a dynamic supervisor's children come and go, and checks the
// list against a slice that does the same the slow way.
func TestChildListMatchesASlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var l childList
	var model []*child
	var gone []*child
	for i := range 5000 {
		switch op := rng.IntN(10); {
		case op < 5 || len(model) == 0:
			ch := &child{id: strconv.Itoa(i)}
			l.push(ch)
			model = append(model, ch)
		case op < 9:
			k := rng.IntN(len(model))
			ch := model[k]
			l.drop(ch)
			model = slices.Delete(model, k, k+1)
			gone = append(gone, ch)
		default:
			// Dropping a child that left already changes nothing.
			if len(gone) > 0 {
				l.drop(gone[rng.IntN(len(gone))])
			}
		}
		require.Equal(t, len(model), l.len())
		require.Equal(t, model, l.slice())
		if i%100 == 0 {
			back := slices.Collect(l.backward())
			slices.Reverse(back)
			require.Equal(t, model, back)
			for _, ch := range model {
				require.True(t, ch.listed, ch.id)
			}
		}
	}
	for _, ch := range gone {
		require.False(t, ch.listed, ch.id)
	}
	kept := slices.Clone(model)
	l.clear()
	require.Zero(t, l.len())
	require.Empty(t, l.slice())
	for _, ch := range kept {
		require.False(t, ch.listed, ch.id)
		require.Nil(t, ch.prev)
		require.Nil(t, ch.next)
	}
}

// TestChildListLoopsMayDropTheChildInHand drops each child as a loop comes
// to it, forwards and backwards.
func TestChildListLoopsMayDropTheChildInHand(t *testing.T) {
	for _, backward := range []bool{false, true} {
		var l childList
		var want []string
		for i := range 10 {
			l.push(&child{id: strconv.Itoa(i)})
			want = append(want, strconv.Itoa(i))
		}
		seq := l.all()
		if backward {
			seq = l.backward()
			slices.Reverse(want)
		}
		var seen []string
		for ch := range seq {
			seen = append(seen, ch.id)
			l.drop(ch)
		}
		require.Equal(t, want, seen)
		require.Zero(t, l.len())
		require.Nil(t, l.first)
		require.Nil(t, l.last)
	}
}
