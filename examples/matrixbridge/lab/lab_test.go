package lab_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"maunium.net/go/mautrix"

	"github.com/arbor-go/arbor/examples/matrixbridge/lab/labtest"
)

func TestServersStartAndAnswer(t *testing.T) {
	d := labtest.Dendrite(t)
	ircd := labtest.IRCd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	alice, err := d.Register(ctx, "alice", "correct horse")
	require.NoError(t, err)
	who, err := alice.Whoami(ctx)
	require.NoError(t, err)
	require.Equal(t, "@alice:localhost", who.UserID.String())
	_, err = alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat", Name: "lab"})
	require.NoError(t, err)

	conn, err := net.DialTimeout("tcp", ircd.Addr, 5*time.Second)
	require.NoError(t, err)
	conn.Close()

	ircd.Kill()
	require.False(t, ircd.Running())
	_, err = net.DialTimeout("tcp", ircd.Addr, time.Second)
	require.Error(t, err, "a killed server accepts nothing")
	require.NoError(t, ircd.Start(ctx))
	require.True(t, ircd.Running())
}
