//go:build unix

package bridge

import (
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// blackhole is a TCP address on loopback where a connection is not
// answered: its listener's backlog is full, so a dial hangs (until its
// timeout, as with a firewalled or unreachable IRC server) or until free is
// called, which makes room for one more connection.
func blackhole(t *testing.T) (addr string, free func()) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	require.NoError(t, err)
	t.Cleanup(func() { syscall.Close(fd) })
	require.NoError(t, syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	require.NoError(t, syscall.Listen(fd, 0))
	sa, err := syscall.Getsockname(fd)
	require.NoError(t, err)
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	filler, err := net.DialTimeout("tcp", addr, time.Second) // fills the backlog
	require.NoError(t, err)
	t.Cleanup(func() { filler.Close() })
	return addr, func() {
		nfd, _, err := syscall.Accept(fd)
		require.NoError(t, err)
		t.Cleanup(func() { syscall.Close(nfd) })
	}
}
