package strategy_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/arbor/strategy"
)

func TestAutoShutdownTriggered(t *testing.T) {
	tests := []struct {
		name      string
		auto      strategy.AutoShutdown
		exited    bool
		remaining int
		want      bool
	}{
		{"never ignores a significant exit", strategy.Never, true, 0, false},
		{"never ignores other exits", strategy.Never, false, 0, false},
		{"any significant stops on a significant exit with others left", strategy.AnySignificant, true, 2, true},
		{"any significant stops on the last significant exit", strategy.AnySignificant, true, 0, true},
		{"any significant ignores an exit that is not significant", strategy.AnySignificant, false, 0, false},
		{"all significant waits while significant children remain", strategy.AllSignificant, true, 1, false},
		{"all significant stops when the last significant child exits", strategy.AllSignificant, true, 0, true},
		{"all significant ignores an exit that is not significant", strategy.AllSignificant, false, 0, false},
		{"an unknown setting never stops", strategy.AutoShutdown(7), true, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.auto.Triggered(tt.exited, tt.remaining))
		})
	}
}

func TestValidateSignificant(t *testing.T) {
	tests := []struct {
		name        string
		auto        strategy.AutoShutdown
		restart     strategy.Restart
		significant bool
		want        error // from ValidateChild
		wantAlone   error // from ValidateSignificant
	}{
		{name: "a permanent child that is not significant is fine",
			auto: strategy.AnySignificant, restart: P},
		{name: "a significant transient child is fine",
			auto: strategy.AnySignificant, restart: Tr, significant: true},
		{name: "a significant temporary child is fine",
			auto: strategy.AllSignificant, restart: Tmp, significant: true},
		{name: "a significant permanent child is refused",
			auto: strategy.AllSignificant, restart: P, significant: true,
			want: strategy.ErrSignificantPermanent, wantAlone: strategy.ErrSignificantPermanent},
		{name: "a significant child under never is refused",
			auto: strategy.Never, restart: Tr, significant: true,
			want: strategy.ErrSignificantNever},
		{name: "a significant permanent child under never is refused for never first, as OTP does",
			auto: strategy.Never, restart: P, significant: true,
			want: strategy.ErrSignificantNever, wantAlone: strategy.ErrSignificantPermanent},
		{name: "children that are not significant are fine under never",
			auto: strategy.Never, restart: P},
		{name: "an unknown restart type is refused",
			auto: strategy.AnySignificant, restart: strategy.Restart(4),
			want: strategy.ErrUnknownRestart, wantAlone: strategy.ErrUnknownRestart},
		{name: "an unknown auto shutdown is refused",
			auto: strategy.AutoShutdown(4), restart: Tr,
			want: strategy.ErrUnknownAutoShutdown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := func(err, want error) {
				t.Helper()
				if want == nil {
					assert.NoError(t, err)
					return
				}
				require.Error(t, err)
				assert.ErrorIs(t, err, want)
			}
			check(tt.auto.ValidateChild(tt.restart, tt.significant), tt.want)
			check(strategy.ValidateSignificant(tt.restart, tt.significant), tt.wantAlone)
		})
	}
	t.Run("the message names the field", func(t *testing.T) {
		err := strategy.ValidateSignificant(P, true)
		assert.EqualError(t, err, "strategy: a significant child must not be permanent (Significant = true)")
	})
}

func TestAutoShutdownNamesAndValidity(t *testing.T) {
	tests := []struct {
		auto  strategy.AutoShutdown
		name  string
		valid bool
	}{
		{strategy.Never, "never", true},
		{strategy.AnySignificant, "any_significant", true},
		{strategy.AllSignificant, "all_significant", true},
		{strategy.AutoShutdown(-1), "AutoShutdown(-1)", false},
	}
	for _, tt := range tests {
		t.Run(tt.name+" has its OTP name and is checked", func(t *testing.T) {
			assert.Equal(t, tt.name, tt.auto.String())
			if tt.valid {
				assert.NoError(t, tt.auto.Valid())
			} else {
				assert.ErrorIs(t, tt.auto.Valid(), strategy.ErrUnknownAutoShutdown)
			}
		})
	}
}
