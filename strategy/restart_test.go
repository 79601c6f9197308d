package strategy_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/arbor-go/arbor/strategy"
)

func TestRestartShouldRestart(t *testing.T) {
	tests := []struct {
		name    string
		restart strategy.Restart
		exit    strategy.Exit
		want    bool
	}{
		{"a permanent child restarts after a normal exit", P, strategy.ExitNormal, true},
		{"a permanent child restarts after a shutdown", P, strategy.ExitShutdown, true},
		{"a permanent child restarts after a crash", P, strategy.ExitAbnormal, true},
		{"a transient child stays down after a normal exit", Tr, strategy.ExitNormal, false},
		{"a transient child stays down after a shutdown", Tr, strategy.ExitShutdown, false},
		{"a transient child restarts after a crash", Tr, strategy.ExitAbnormal, true},
		{"a temporary child stays down after a normal exit", Tmp, strategy.ExitNormal, false},
		{"a temporary child stays down after a shutdown", Tmp, strategy.ExitShutdown, false},
		{"a temporary child stays down after a crash", Tmp, strategy.ExitAbnormal, false},
		{"a transient child treats an unknown exit kind as a crash", Tr, strategy.Exit(9), true},
		{"an unknown restart type never restarts", strategy.Restart(9), strategy.ExitAbnormal, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.restart.ShouldRestart(tt.exit))
		})
	}
}

func TestRestartNamesAndValidity(t *testing.T) {
	tests := []struct {
		restart strategy.Restart
		name    string
		valid   bool
	}{
		{P, "permanent", true},
		{Tr, "transient", true},
		{Tmp, "temporary", true},
		{strategy.Restart(-1), "Restart(-1)", false},
		{strategy.Restart(3), "Restart(3)", false},
	}
	for _, tt := range tests {
		t.Run(tt.name+" has its OTP name and is checked", func(t *testing.T) {
			assert.Equal(t, tt.name, tt.restart.String())
			if tt.valid {
				assert.NoError(t, tt.restart.Valid())
				return
			}
			err := tt.restart.Valid()
			assert.ErrorIs(t, err, strategy.ErrUnknownRestart)
			assert.Contains(t, err.Error(), "Restart = "+tt.name)
		})
	}
	t.Run("the zero restart type is permanent", func(t *testing.T) {
		var r strategy.Restart
		assert.Equal(t, P, r)
	})
}

func TestExitNames(t *testing.T) {
	tests := []struct {
		exit strategy.Exit
		name string
	}{
		{strategy.ExitNormal, "normal"},
		{strategy.ExitShutdown, "shutdown"},
		{strategy.ExitAbnormal, "abnormal"},
		{strategy.Exit(5), "Exit(5)"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is the name of its kind", func(t *testing.T) {
			assert.Equal(t, tt.name, tt.exit.String())
		})
	}
	t.Run("the zero exit kind is normal", func(t *testing.T) {
		var e strategy.Exit
		assert.Equal(t, strategy.ExitNormal, e)
	})
}
