package tree

// The concurrency limit (Spec.MaxRunning): at most that many children hold a
// slot, a slot being held by a child that runs or waits for its restart. The
// others wait in start order, in state Waiting, until a child ends for good
// (it exits without restart, or is terminated).

// full reports whether no slot is free.
func (s *supervisor) full() bool {
	return s.spec.MaxRunning > 0 && s.activeOrRestarting() >= s.spec.MaxRunning
}

// queue makes ch wait for a slot.
func (s *supervisor) queue(ch *child) {
	ch.state = Waiting
	s.env.emit(Event{Kind: ChildQueued, Supervisor: s.path, Child: ch.id}, ch.r.restart.String())
}

// startOrQueue starts ch at once if a slot is free, else queues it.
func (s *supervisor) startOrQueue(ch *child) error {
	if s.full() {
		s.queue(ch)
		return nil
	}
	return s.start(ch, 0)
}

// admit starts waiting children, in order, while slots are free. A child
// that fails to start now is reported and left stopped: the supervisor's
// own start is long past.
func (s *supervisor) admit() {
	if s.spec.MaxRunning <= 0 || s.ending {
		return
	}
	for _, ch := range append([]*child(nil), s.children...) {
		if s.full() {
			return
		}
		if ch.state != Waiting {
			continue
		}
		s.env.emit(Event{Kind: ChildAdmitted, Supervisor: s.path, Child: ch.id}, ch.r.restart.String())
		if err := s.start(ch, 0); err != nil {
			ch.state = Stopped
		}
	}
}
