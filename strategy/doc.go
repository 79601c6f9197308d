// Package strategy holds the decisions a supervisor makes when a child exits,
// as pure functions and small state machines: no goroutines, no clock (time
// comes in as arguments), nothing imported from the rest of Arbor. That keeps
// every rule table-testable and lets the tree package stay about mechanics.
//
// The decisions, in the order a supervisor makes them:
//
//   - Restart.ShouldRestart: does this exit restart the child at all
//     (Permanent, Transient, Temporary against an Exit kind)?
//   - AutoShutdown.Triggered: if not, does the supervisor stop itself?
//   - Window.Allow: is one more restart within the Intensity, or does the
//     supervisor give up and escalate?
//   - Strategy.Plan: which children to stop, start again and drop
//     (OneForOne, OneForAll, RestForOne)?
//   - BackoffState.Next: how long to wait before starting (Backoff)?
//
// The semantics follow Erlang/OTP's supervisor; the backoff follows Akka's.
//
// A supervisor handling a crash of its second child:
//
//	window := strategy.NewWindow(strategy.Intensity{MaxRestarts: 3, Period: 5 * time.Second})
//	children := []strategy.Restart{strategy.Permanent, strategy.Permanent, strategy.Temporary}
//	if strategy.Permanent.ShouldRestart(strategy.ExitAbnormal) && window.Allow(now) {
//		plan, _ := strategy.RestForOne.Plan(children, 1)
//		// plan.Stop = [2], plan.Remove = [2], plan.Start = [1]
//	}
package strategy
