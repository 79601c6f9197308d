// Package mailbox provides the queue behind every Arbor actor: many producers,
// one consumer, a system lane served before the user lane, and an optional
// bound on the user lane with a chosen overflow policy.
//
// It knows nothing of actors, so it can be tested and benchmarked on its own.
//
//	mb, err := mailbox.New(mailbox.Options{Capacity: 1024, Policy: mailbox.DropOldest,
//		OnDrop: func(msg any) { deadLetters.Add(1) }})
//	if err != nil { ... }
//	_ = mb.Push("work")        // any goroutine
//	_ = mb.PushSystem("stop")  // served first
//	msg, ok := mb.Pop()        // the consumer: "stop", true
//
// Nothing accepted is ever lost without a report: a push to a closed mailbox
// fails with ErrClosed, a push to a full Fail mailbox with ErrFull, every drop
// under DropNewest or DropOldest goes to Options.OnDrop, and after Close the
// consumer can still Drain what was queued.
package mailbox
