package actor

import (
	"testing"
	"unsafe"
)

// TestRefLayout holds Ref to the layout its comment promises: 256 bytes (a
// size class aligned to cache lines), the mailbox's consumer part on the
// first line with the fields the consumer reads for every message, and the
// producers' part (mailbox.consumerPart = 48 bytes in) on the second with
// the state that every send reads.
func TestRefLayout(t *testing.T) {
	var r Ref
	if got := unsafe.Sizeof(r); got != 256 {
		t.Errorf("Ref is %d bytes, want 256", got)
	}
	if got := unsafe.Offsetof(r.mb) + 48; got != 64 {
		t.Errorf("the mailbox's producer part starts at %d, want 64", got)
	}
	for name, off := range map[string]uintptr{"pending": unsafe.Offsetof(r.pending), "inc": unsafe.Offsetof(r.inc)} {
		if off >= 64 {
			t.Errorf("%s at %d is off the consumer's line", name, off)
		}
	}
	if got := unsafe.Offsetof(r.state); got < 64 || got >= 128 {
		t.Errorf("state at %d is off the producers' line", got)
	}
}

// TestExtrasLayout holds extras to 128 bytes, a size class of its own: every
// actor that ends makes them, and a field more would move them to the next
// class (144 bytes).
func TestExtrasLayout(t *testing.T) {
	if got := unsafe.Sizeof(extras{}); got > 128 {
		t.Errorf("extras are %d bytes, want at most 128", got)
	}
}
