package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// IRCd is an ngIRCd server on 127.0.0.1, which the lab can kill and start
// again on the same port.
type IRCd struct {
	// Addr is host:port.
	Addr string
	// Port is the port it listens on.
	Port int
	// Dir holds its configuration and log.
	Dir string

	bin  string
	conf string
	mu   sync.Mutex
	proc *process
	runs int
}

// NgircdPath finds the ngircd program: on PATH or in /usr/sbin, where
// Debian's package puts it.
func NgircdPath() (string, error) {
	if p, err := exec.LookPath("ngircd"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/ngircd"); err == nil {
		return "/usr/sbin/ngircd", nil
	}
	return "", fmt.Errorf("%w: ngircd (install it with: apt-get install -y ngircd)", ErrMissingTool)
}

// ngircdConf listens on loopback only, with no Ident, PAM or DNS lookups,
// which would each delay every new client.
const ngircdConf = `[Global]
Name = irc.localhost
Info = Arbor test network
AdminInfo1 = Arbor
AdminInfo2 = localhost
AdminEMail = root@localhost
Listen = 127.0.0.1
Ports = %d
MotdPhrase = "Arbor test network"

[Limits]
MaxConnectionsIP = 0
MaxNickLength = 30

[Options]
Ident = no
PAM = no
DNS = no
`

// StartIRCd writes a configuration into dir and starts ngircd on port (a
// free one if 0), returning once it accepts connections.
func StartIRCd(ctx context.Context, dir string, port int) (*IRCd, error) {
	bin, err := NgircdPath()
	if err != nil {
		return nil, err
	}
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	conf, err := filepath.Abs(filepath.Join(dir, "ngircd.conf"))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(conf, fmt.Appendf(nil, ngircdConf, port), 0o644); err != nil {
		return nil, err
	}
	s := &IRCd{Addr: addr(port), Port: port, Dir: dir, bin: bin, conf: conf}
	return s, s.Start(ctx)
}

// Start starts the server again after Kill, on the same port.
func (s *IRCd) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil && s.proc.exited() == nil {
		return fmt.Errorf("lab: ngircd already runs on %s", s.Addr)
	}
	s.runs++
	p, err := startProcess(filepath.Join(s.Dir, fmt.Sprintf("ngircd.%d.log", s.runs)), s.bin, "-n", "-f", s.conf)
	if err != nil {
		return err
	}
	s.proc = p
	if err := waitUntil(ctx, p, "ngircd", dialable(s.Addr)); err != nil {
		p.kill()
		return err
	}
	return nil
}

// Kill ends the server at once, as a crash would: every client loses its
// connection.
func (s *IRCd) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.proc.kill()
}

// Running reports whether the server process is alive.
func (s *IRCd) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil && s.proc.exited() == nil
}
