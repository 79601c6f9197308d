package strategy_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/strategy"
)

const (
	P   = strategy.Permanent
	Tr  = strategy.Transient
	Tmp = strategy.Temporary
)

func TestStrategyPlan(t *testing.T) {
	allPermanent := []strategy.Restart{P, P, P, P}
	// A transient first, temporaries at 1 and 3, a permanent at 2.
	mixed := []strategy.Restart{Tr, Tmp, P, Tmp}

	tests := []struct {
		name     string
		strategy strategy.Strategy
		children []strategy.Restart
		failed   int
		want     strategy.Plan
	}{
		// one for one
		{"one for one restarts only the first child when it fails",
			strategy.OneForOne, allPermanent, 0, strategy.Plan{Start: []int{0}}},
		{"one for one restarts only a middle child when it fails",
			strategy.OneForOne, allPermanent, 2, strategy.Plan{Start: []int{2}}},
		{"one for one restarts only the last child when it fails",
			strategy.OneForOne, allPermanent, 3, strategy.Plan{Start: []int{3}}},
		{"one for one leaves temporary siblings alone",
			strategy.OneForOne, mixed, 2, strategy.Plan{Start: []int{2}}},
		{"one for one restarts a lone child",
			strategy.OneForOne, []strategy.Restart{P}, 0, strategy.Plan{Start: []int{0}}},

		// one for all
		{"one for all stops the others in reverse order and restarts all when the first fails",
			strategy.OneForAll, allPermanent, 0,
			strategy.Plan{Stop: []int{3, 2, 1}, Start: []int{0, 1, 2, 3}}},
		{"one for all stops the others around a failed middle child and restarts all",
			strategy.OneForAll, allPermanent, 2,
			strategy.Plan{Stop: []int{3, 1, 0}, Start: []int{0, 1, 2, 3}}},
		{"one for all stops all before a failed last child and restarts all",
			strategy.OneForAll, allPermanent, 3,
			strategy.Plan{Stop: []int{2, 1, 0}, Start: []int{0, 1, 2, 3}}},
		{"one for all stops temporaries but drops them instead of restarting them",
			strategy.OneForAll, mixed, 0,
			strategy.Plan{Stop: []int{3, 2, 1}, Start: []int{0, 2}, Remove: []int{1, 3}}},
		{"one for all drops temporaries on both sides of a failed middle child",
			strategy.OneForAll, mixed, 2,
			strategy.Plan{Stop: []int{3, 1, 0}, Start: []int{0, 2}, Remove: []int{1, 3}}},
		{"one for all restarts a lone child",
			strategy.OneForAll, []strategy.Restart{Tr}, 0, strategy.Plan{Start: []int{0}}},

		// rest for one
		{"rest for one stops and restarts every child when the first fails",
			strategy.RestForOne, allPermanent, 0,
			strategy.Plan{Stop: []int{3, 2, 1}, Start: []int{0, 1, 2, 3}}},
		{"rest for one stops and restarts only the children after a failed middle child",
			strategy.RestForOne, allPermanent, 1,
			strategy.Plan{Stop: []int{3, 2}, Start: []int{1, 2, 3}}},
		{"rest for one restarts only a failed last child",
			strategy.RestForOne, allPermanent, 3, strategy.Plan{Start: []int{3}}},
		{"rest for one drops the temporaries after the failed child",
			strategy.RestForOne, mixed, 0,
			strategy.Plan{Stop: []int{3, 2, 1}, Start: []int{0, 2}, Remove: []int{1, 3}}},
		{"rest for one leaves temporaries before the failed child running",
			strategy.RestForOne, mixed, 2,
			strategy.Plan{Stop: []int{3}, Start: []int{2}, Remove: []int{3}}},
		{"rest for one restarts a lone child",
			strategy.RestForOne, []strategy.Restart{P}, 0, strategy.Plan{Start: []int{0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.strategy.Plan(tt.children, tt.failed)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestStrategyPlanErrors(t *testing.T) {
	tests := []struct {
		name     string
		strategy strategy.Strategy
		children []strategy.Restart
		failed   int
		want     error
		message  string
	}{
		{"an unknown strategy is refused", strategy.Strategy(3), []strategy.Restart{P}, 0,
			strategy.ErrUnknownStrategy, "Strategy = Strategy(3)"},
		{"a negative strategy is refused", strategy.Strategy(-1), []strategy.Restart{P}, 0,
			strategy.ErrUnknownStrategy, "Strategy = Strategy(-1)"},
		{"a negative index is refused", strategy.OneForOne, []strategy.Restart{P, P}, -1,
			strategy.ErrBadIndex, "index -1, 2 children"},
		{"an index past the last child is refused", strategy.RestForOne, []strategy.Restart{P, P}, 2,
			strategy.ErrBadIndex, "index 2, 2 children"},
		{"a supervisor without children has no index to fail", strategy.OneForAll, nil, 0,
			strategy.ErrBadIndex, "index 0, 0 children"},
		{"a temporary child is never planned for a restart", strategy.OneForAll, []strategy.Restart{P, Tmp}, 1,
			strategy.ErrTemporaryRestart, "child 1"},
		{"an unknown restart type among the children is refused", strategy.OneForOne, []strategy.Restart{P, 7}, 0,
			strategy.ErrUnknownRestart, "child 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.strategy.Plan(tt.children, tt.failed)
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.want)
			assert.Contains(t, err.Error(), tt.message)
			assert.Equal(t, strategy.Plan{}, got)
		})
	}
}

func TestStrategyNamesAndValidity(t *testing.T) {
	tests := []struct {
		strategy strategy.Strategy
		name     string
		valid    bool
	}{
		{strategy.OneForOne, "one_for_one", true},
		{strategy.OneForAll, "one_for_all", true},
		{strategy.RestForOne, "rest_for_one", true},
		{strategy.Strategy(42), "Strategy(42)", false},
	}
	for _, tt := range tests {
		t.Run(tt.name+" has its OTP name and is checked", func(t *testing.T) {
			assert.Equal(t, tt.name, tt.strategy.String())
			err := tt.strategy.Valid()
			if tt.valid {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, strategy.ErrUnknownStrategy)
			var fe *strategy.FieldError
			require.True(t, errors.As(err, &fe))
			assert.Equal(t, "Strategy", fe.Field)
		})
	}
	t.Run("the zero strategy is one for one", func(t *testing.T) {
		var s strategy.Strategy
		assert.Equal(t, strategy.OneForOne, s)
	})
}
