package tree

import (
	"errors"
	"fmt"
	"testing"

	"github.com/arbor-go/arbor/actor"
	"github.com/stretchr/testify/assert"
)

// asPanic is an error that finds a *actor.PanicError through its As method
// only, as errors.As allows.
type asPanic struct{ perr *actor.PanicError }

func (e asPanic) Error() string { return "as panic" }

func (e asPanic) As(target any) bool {
	if p, ok := target.(**actor.PanicError); ok {
		*p = e.perr
		return true
	}
	return false
}

func TestStackOfFindsThePanicAsErrorsAsDoes(t *testing.T) {
	perr := &actor.PanicError{Value: "boom", Stack: actor.Stack{1, 2, 3}}
	tests := map[string]struct {
		reason error
		want   actor.Stack
	}{
		"nil":           {nil, nil},
		"plain error":   {errors.New("crash"), nil},
		"the panic":     {perr, perr.Stack},
		"wrapped":       {fmt.Errorf("in Init: %w", perr), perr.Stack},
		"wrapped twice": {fmt.Errorf("a: %w", fmt.Errorf("b: %w", perr)), perr.Stack},
		"joined":        {errors.Join(errors.New("other"), perr), perr.Stack},
		"joined, none":  {errors.Join(errors.New("x"), errors.New("y")), nil},
		"through As":    {asPanic{perr}, perr.Stack},
		"wrapped As":    {fmt.Errorf("w: %w", asPanic{perr}), perr.Stack},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tt.want, stackOf(tt.reason))
			var viaAs *actor.PanicError
			if errors.As(tt.reason, &viaAs) {
				assert.Equal(t, viaAs.Stack, stackOf(tt.reason), "the same as errors.As")
			}
		})
	}
}
