package mailbox

import (
	"testing"
	"unsafe"
)

// consumerPart is the size of what the consumer writes at the head of a
// Mailbox; actor.Ref places a Mailbox so that the producers' part starts on
// the next cache line, and its own test holds it to this figure.
const consumerPart = 48

func TestLayoutKeepsConsumerAndProducersApart(t *testing.T) {
	var m Mailbox
	if got := unsafe.Offsetof(m.mu); got != consumerPart {
		t.Fatalf("the producers' part starts at %d, want %d", got, consumerPart)
	}
	if end := unsafe.Sizeof(m) - consumerPart; end > 64 {
		t.Fatalf("the producers' part is %d bytes, more than a cache line", end)
	}
}
