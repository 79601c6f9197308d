// Package registry gives actors names and groups, so that the parts of a
// program can find each other without passing Refs around: Erlang's local
// names, Elixir's Registry and OTP's pg in one place.
//
// A name is unique: one actor holds it at a time. Names are strings, by
// convention paths such as "bridge/portal/!room:example.org", which Select
// and Watch read as a hierarchy. A name is removed when its actor stops for
// good; since a supervised actor keeps its Ref across restarts, its name
// follows the restarts, and a message sent by name while the actor restarts
// waits in its mailbox.
//
// A group holds any number of actors, each possibly several times (it must
// then leave as many times); members that stop are removed and an empty group
// vanishes. Broadcast sends to every member.
//
// Lookups, and so Send and Call by name, take no lock and write no shared
// memory: they scale with cores. Changes are serialised, numbered, and
// reported to watchers (Watch) without ever waiting for them, and to an
// observer (WithObserver), which is how a supervision tree puts them on its
// own event stream.
//
// A Registry is an actor.Directory: an actor spawned with
// actor.WithDirectory(reg) sends and calls by name from its Context
// (SendName, CallName). A supervision tree started with tree.WithRegistry
// gives the registry to all its actors and registers the children that have
// a tree.Name; docs/registry.md is the guide.
//
//	reg := registry.New()
//	_ = reg.Register("bridge/matrix", ref)
//	err := reg.Send("bridge/matrix", msg)
package registry
