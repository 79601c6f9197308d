package lab

import (
	"io"
	"net"
	"net/http"
	"sync"
)

// StandIn answers an application service's pushes at addr with success, and
// drops them, until the returned function is called (it may be called more
// than once). Dendrite pushes the events of rooms created before the bridge
// starts, and when nobody answers it backs off for seconds, then minutes:
// holding the bridge's address until the bridge takes it keeps a test or a
// demo from waiting on that backoff.
func StandIn(addr string) (release func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			_ = srv.Close()
			<-done
		})
	}, nil
}
