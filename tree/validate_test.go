package tree_test

import (
	"context"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/strategy"
	"github.com/arbor-go/arbor/tree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidate(t *testing.T) {
	w := func(id string, opts ...tree.ChildOption) tree.ChildSpec { return worker(id, nil, opts...) }
	cases := []struct {
		name  string
		spec  tree.Spec
		child string
		field string
		want  error
	}{
		{"duplicate ids are rejected, naming the id", tree.Spec{Children: []tree.ChildSpec{w("a"), w("a")}},
			"a", "ID", tree.ErrDuplicateID},
		{"an empty id is rejected", tree.Spec{Children: []tree.ChildSpec{w("")}}, "", "ID", tree.ErrEmptyID},
		{"a nil factory is rejected", tree.Spec{Children: []tree.ChildSpec{tree.Worker("a", nil)}},
			"a", "Factory", tree.ErrNilFactory},
		{"a nil task is rejected", tree.Spec{Children: []tree.ChildSpec{tree.Task("t", nil)}},
			"t", "Factory", tree.ErrNilFactory},
		{"a significant permanent child is rejected",
			tree.Spec{AutoShutdown: strategy.AnySignificant, Children: []tree.ChildSpec{w("a", tree.Significant())}},
			"a", "Significant", strategy.ErrSignificantPermanent},
		{"a significant child without auto shutdown is rejected",
			tree.Spec{Children: []tree.ChildSpec{w("a", tree.Significant(), tree.Restart(strategy.Transient))}},
			"a", "Significant", strategy.ErrSignificantNever},
		{"a negative intensity is rejected", tree.Spec{Intensity: strategy.Intensity{MaxRestarts: -1, Period: time.Second}},
			"", "Intensity", strategy.ErrNegativeIntensity},
		{"a zero period is rejected", tree.Spec{Intensity: strategy.Intensity{MaxRestarts: 1}},
			"", "Intensity", strategy.ErrZeroPeriod},
		{"an unknown strategy is rejected", tree.Spec{Strategy: 9}, "", "Strategy", strategy.ErrUnknownStrategy},
		{"a negative shutdown timeout is rejected", tree.Spec{Children: []tree.ChildSpec{w("a", tree.Shutdown(-1))}},
			"a", "Shutdown", tree.ErrNegativeShutdown},
		{"a negative attempt timeout is rejected", tree.Spec{Children: []tree.ChildSpec{w("a", tree.AttemptTimeout(-1))}},
			"a", "AttemptTimeout", tree.ErrNegativeTimeout},
		{"a bad child backoff is rejected", tree.Spec{Children: []tree.ChildSpec{
			w("a", tree.Backoff(strategy.Exponential(time.Second, time.Millisecond)))}},
			"a", "Backoff", strategy.ErrMinAboveMax},
		{"a negative MaxRunning is rejected", tree.Spec{MaxRunning: -1}, "", "MaxRunning", tree.ErrNegativeLimit},
		{"an unknown restart type is rejected", tree.Spec{Children: []tree.ChildSpec{w("a", tree.Restart(7))}},
			"a", "Restart", strategy.ErrUnknownRestart},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tree.Validate(tc.spec)
			require.ErrorIs(t, err, tc.want)
			var specErr *tree.SpecError
			require.ErrorAs(t, err, &specErr)
			assert.Equal(t, tc.child, specErr.Child)
			assert.Equal(t, tc.field, specErr.Field)
			assert.Equal(t, "root", specErr.Supervisor)
			_, err = tree.Start(context.Background(), tc.spec, quiet())
			assert.ErrorIs(t, err, tc.want, "Start validates too")
		})
	}
	t.Run("a nested supervisor's spec is checked with its path", func(t *testing.T) {
		err := tree.Validate(tree.Spec{Name: "top", Children: []tree.ChildSpec{
			tree.Supervisor("sub", tree.Spec{Children: []tree.ChildSpec{w("x"), w("x")}})}})
		var specErr *tree.SpecError
		require.ErrorAs(t, err, &specErr)
		assert.Equal(t, "top/sub", specErr.Supervisor)
		assert.Contains(t, err.Error(), "top/sub child x")
	})
	t.Run("the zero spec and a spec of plain workers are valid", func(t *testing.T) {
		assert.NoError(t, tree.Validate(tree.Spec{}))
		assert.NoError(t, tree.Validate(tree.Spec{Children: []tree.ChildSpec{w("a"), w("b"),
			tree.Task("t", func(context.Context, *actor.Context) error { return nil })}}))
	})
}
