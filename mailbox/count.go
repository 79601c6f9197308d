package mailbox

import "sync/atomic"

// count is a lane's length published to readers that do not hold the lock.
// Only one goroutine writes it at a time (a producer under mu, or the
// consumer for its batch).
//
// Its stores are release stores. On amd64, atomic.Int32.Store is an XCHG, a
// full fence that makes the writer wait until its earlier stores are done,
// among them the ring slot it has just written or cleared, a cache line that
// the other core holds: measured, that wait was most of the consumer's time
// per message. A release store waits for nothing. Readers use the count as a
// snapshot or a hint for taking the lock (what they then read is guarded by
// mu), never to order other memory, so release order is all they need. Where
// a store must be seen before a later load, as in the handshake between a
// producer's push and the consumer going idle, the mutex's unlock or the
// actor state's update, both sequentially consistent, provide the fence.
type count struct{ v int32 }

// Load returns the count.
func (c *count) Load() int32 { return atomic.LoadInt32(&c.v) }

// Store publishes n.
func (c *count) Store(n int32) { storeRelease(&c.v, n) }
