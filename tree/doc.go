// Package tree builds supervision trees in the manner of Erlang/OTP: a
// supervisor starts its children in order, restarts them when they exit as
// their restart type and its strategy say, gives up when they restart too
// often (and so escalates to its own supervisor), and stops them in reverse
// order, each within its shutdown timeout.
//
// A supervisor is an actor (package actor). Its children are spawned under
// it: when one crashes, its Ref and mailbox survive and it is restarted in
// place with a fresh behaviour from its factory, so that messages queued for
// it, during a backoff too, are not lost; only the message that crashed it
// is. The siblings that OneForAll or RestForOne stop as collateral are
// restarted in place too: each is suspended (actor.Ref.Suspend: the message
// in hand is finished, Terminate runs, its context is cancelled), in reverse
// start order and within its shutdown timeout, then all are restarted in
// start order with fresh behaviours, keeping their Refs and queued messages.
// Only a child that had to be killed (BrutalKill, or a shutdown timeout run
// out) starts afresh with a new Ref; a temporary collateral child ends for
// good, as in OTP. A child stopped for good, by TerminateChild, by Stop or
// from outside, loses its Ref: a later start spawns a new actor.
//
// API calls (StartChild, WhichChildren, ...) are messages handled by the
// supervisor one at a time: no lock is held across a child's start or stop.
//
// With a registry (WithRegistry), a child spec option Name registers a child
// under a name whenever a new Ref is made for it; since a restart in place
// keeps the Ref, the name follows it, and a message sent by name during a
// restart waits in the mailbox. Every actor of the tree reaches the registry
// from its Context (actor.Context.SendName, CallName), and the registry's
// changes to the tree's actors appear on the event stream. See
// docs/registry.md.
//
// Beyond OTP, a tree has backoff between restarts (package strategy), a
// typed event stream (Subscribe) with lag reporting, zerolog reports, a
// per-attempt timeout for tasks and a bounded, reported shutdown (Stop).
//
// The shortest useful tree:
//
//	sup, err := tree.Start(ctx, tree.Spec{
//		Children: []tree.ChildSpec{
//			tree.Worker("cache", newCache),
//			tree.Task("poller", poll, tree.Backoff(strategy.Exponential(time.Second, time.Minute))),
//		},
//	})
//	if err != nil {
//		return err
//	}
//	defer sup.Stop(context.Background())
package tree
