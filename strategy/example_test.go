package strategy_test

import (
	"fmt"
	"time"

	"github.com/arbor-go/arbor/strategy"
)

// A rest-for-one supervisor whose second child crashed: the children after it
// are stopped, the temporary one among them is dropped, and the rest restart.
func ExampleStrategy_Plan() {
	children := []strategy.Restart{strategy.Permanent, strategy.Permanent, strategy.Temporary, strategy.Transient}
	if !children[1].ShouldRestart(strategy.ExitAbnormal) {
		return
	}
	plan, err := strategy.RestForOne.Plan(children, 1)
	if err != nil {
		panic(err)
	}
	fmt.Println("stop", plan.Stop, "remove", plan.Remove, "start", plan.Start)
	// Output: stop [3 2] remove [2] start [1 3]
}

// A supervisor allowing 2 restarts in 5 seconds gives up at the third.
func ExampleWindow_Allow() {
	w := strategy.NewWindow(strategy.Intensity{MaxRestarts: 2, Period: 5 * time.Second})
	start := time.Unix(0, 0)
	for _, at := range []time.Duration{0, time.Second, 2 * time.Second} {
		fmt.Println(at, w.Allow(start.Add(at)))
	}
	// Output:
	// 0s true
	// 1s true
	// 2s false
}

// A child crashing at once after each start waits longer each time, up to max.
func ExampleBackoffState_Next() {
	b := strategy.Exponential(100*time.Millisecond, time.Second)
	var s strategy.BackoffState
	now := time.Unix(0, 0)
	for range 5 {
		s.Started(now)
		delay, attempt := s.Next(b, now, nil)
		fmt.Println(attempt, delay)
		now = now.Add(delay)
	}
	// Output:
	// 1 100ms
	// 2 200ms
	// 3 400ms
	// 4 800ms
	// 5 1s
}
