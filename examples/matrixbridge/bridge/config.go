package bridge

import (
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/id"

	"github.com/arbor-go/arbor/strategy"
)

// Config is the bridge's configuration file, in YAML.
type Config struct {
	Homeserver Homeserver `yaml:"homeserver"`
	Appservice Appservice `yaml:"appservice"`
	IRC        IRC        `yaml:"irc"`
	// Rooms maps Matrix rooms to IRC channels, one to one.
	Rooms []Mapping `yaml:"rooms"`
}

// Homeserver says where the Matrix homeserver is.
type Homeserver struct {
	// URL is the client-server API's base, as "http://127.0.0.1:8008".
	URL string `yaml:"url"`
	// Domain is the server name in user IDs, as "example.org".
	Domain string `yaml:"domain"`
}

// Appservice configures the bridge's side of the application service API.
type Appservice struct {
	// Listen is the address the homeserver pushes transactions to; loopback
	// by default (DefaultListen), since the homeserver usually runs beside
	// the bridge.
	Listen string `yaml:"listen"`
	// Registration is the path of the registration file shared with the
	// homeserver (tokens, bot and ghost namespaces); see NewRegistration.
	Registration string `yaml:"registration"`
	// GhostPrefix starts the localpart of every IRC user's ghost
	// (DefaultGhostPrefix: "irc_", giving @irc_<nick>:<domain>).
	GhostPrefix string `yaml:"ghost_prefix"`
}

// IRC configures the connection to the IRC network and how it is supervised.
type IRC struct {
	// Server is host:port, with a numeric port (6667, or 6697 for TLS).
	Server   string `yaml:"server"`
	TLS      bool   `yaml:"tls"`
	Password string `yaml:"password"`
	// Nick is the relay's nick (DefaultNick).
	Nick string `yaml:"nick"`
	// Backoff before each reconnect: exponential from Min to Max with full
	// jitter, so that a dead server never meets a reconnect storm.
	Backoff BackoffConfig `yaml:"backoff"`
	// Intensity bounds reconnects: past MaxRestarts within Period the IRC
	// subtree gives up, and the bridge reports it.
	Intensity IntensityConfig `yaml:"intensity"`
	// Cooldown is how long the bridge waits, after the IRC subtree gave up,
	// before it tries that subtree again (DefaultCooldown).
	Cooldown time.Duration `yaml:"cooldown"`
}

// BackoffConfig is an exponential backoff's range.
type BackoffConfig struct {
	Min time.Duration `yaml:"min"`
	Max time.Duration `yaml:"max"`
}

// IntensityConfig is a restart intensity: at most MaxRestarts in Period.
type IntensityConfig struct {
	MaxRestarts int           `yaml:"max_restarts"`
	Period      time.Duration `yaml:"period"`
}

// Mapping bridges one Matrix room and one IRC channel.
type Mapping struct {
	Room    id.RoomID `yaml:"room"`
	Channel string    `yaml:"channel"`
}

// Defaults for the settings a configuration may leave out.
const (
	DefaultListen      = "127.0.0.1:29330"
	DefaultGhostPrefix = "irc_"
	DefaultNick        = "matrixbridge"
	DefaultCooldown    = 5 * time.Minute
)

// DefaultBackoff and DefaultIntensity supervise the IRC connection when the
// configuration sets nothing: up to 5 reconnects a minute, 1 s to 30 s apart.
var (
	DefaultBackoff   = BackoffConfig{Min: time.Second, Max: 30 * time.Second}
	DefaultIntensity = IntensityConfig{MaxRestarts: 5, Period: time.Minute}
)

// ErrConfig is matched (errors.Is) by every *ConfigError.
var ErrConfig = errors.New("bridge: invalid configuration")

// ConfigError names a configuration field that cannot be used.
type ConfigError struct {
	Field  string // as in the YAML file, "irc.server"
	Reason string
}

// Error implements error.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("bridge: config %s: %s", e.Field, e.Reason)
}

// Is makes every ConfigError match ErrConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrConfig }

// LoadConfig reads, defaults and validates a configuration file.
func LoadConfig(path string) (Config, error) {
	var c Config
	raw, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("bridge: config %s: %w", path, err)
	}
	c.SetDefaults()
	return c, c.Validate()
}

// SetDefaults fills in what the configuration left out.
func (c *Config) SetDefaults() {
	if c.Appservice.Listen == "" {
		c.Appservice.Listen = DefaultListen
	}
	if c.Appservice.GhostPrefix == "" {
		c.Appservice.GhostPrefix = DefaultGhostPrefix
	}
	if c.IRC.Nick == "" {
		c.IRC.Nick = DefaultNick
	}
	if c.IRC.Backoff == (BackoffConfig{}) {
		c.IRC.Backoff = DefaultBackoff
	}
	if c.IRC.Intensity == (IntensityConfig{}) {
		c.IRC.Intensity = DefaultIntensity
	}
	if c.IRC.Cooldown == 0 {
		c.IRC.Cooldown = DefaultCooldown
	}
}

var localpartRE = regexp.MustCompile(`^[a-z0-9._=/-]+$`)

// nickRE is an IRC nick as RFC 2812 and today's servers have it: a letter
// or a special first, then letters, digits, specials and '-'. Servers
// refuse any other (432), and the bridge would reconnect, refused each
// time, for ever. The length is left to the server (NICKLEN).
var nickRE = regexp.MustCompile("^[A-Za-z\\[\\]\\\\`_^{|}][A-Za-z0-9\\[\\]\\\\`_^{|}-]*$")

// Validate reports every field that cannot be used, each a *ConfigError.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &ConfigError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	if !strings.HasPrefix(c.Homeserver.URL, "http://") && !strings.HasPrefix(c.Homeserver.URL, "https://") {
		bad("homeserver.url", "want an http:// or https:// URL, got %q", c.Homeserver.URL)
	}
	if c.Homeserver.Domain == "" {
		bad("homeserver.domain", "missing")
	}
	if _, port, err := net.SplitHostPort(c.Appservice.Listen); err != nil {
		bad("appservice.listen", "%v", err)
	} else if !validPort(port) {
		// Port 0 too: the listener would take any port, but the
		// registration tells the homeserver this address.
		bad("appservice.listen", "%q: the port must be a number from 1 to 65535, got %q", c.Appservice.Listen, port)
	}
	if c.Appservice.Registration == "" {
		bad("appservice.registration", "missing")
	}
	if !localpartRE.MatchString(c.Appservice.GhostPrefix) {
		bad("appservice.ghost_prefix", "%q is not a Matrix localpart", c.Appservice.GhostPrefix)
	}
	if err := checkServer(c.IRC.Server); err != nil {
		bad("irc.server", "%v", err)
	}
	if !nickRE.MatchString(c.IRC.Nick) {
		bad("irc.nick", "%q is not an IRC nick: a letter or one of []\\`_^{|} first, "+
			"then letters, digits, those and '-'", c.IRC.Nick)
	}
	if err := c.IRC.backoff().Validate(); err != nil {
		bad("irc.backoff", "%v", err)
	}
	if err := c.IRC.intensity().Validate(); err != nil {
		bad("irc.intensity", "%v", err)
	}
	if c.IRC.Cooldown < 0 {
		bad("irc.cooldown", "negative")
	}
	if len(c.Rooms) == 0 {
		bad("rooms", "no room is mapped")
	}
	rooms, channels := map[id.RoomID]bool{}, map[string]bool{}
	for i, m := range c.Rooms {
		field := fmt.Sprintf("rooms[%d]", i)
		if !strings.HasPrefix(string(m.Room), "!") {
			bad(field+".room", "%q is not a room ID (!id:server)", m.Room)
		}
		if !validChannel(m.Channel) {
			bad(field+".channel", "%q is not an IRC channel", m.Channel)
		}
		if rooms[m.Room] {
			bad(field+".room", "%s is mapped twice", m.Room)
		}
		if channels[fold(m.Channel)] {
			bad(field+".channel", "%s is mapped twice", m.Channel)
		}
		rooms[m.Room], channels[fold(m.Channel)] = true, true
	}
	return errors.Join(errs...)
}

// checkServer checks an IRC server's host:port. The port must be a number:
// a service name ("ircs") or a typo would pass net.SplitHostPort and then
// fail every connection, which the supervisor would retry until it gave up.
func checkServer(server string) error {
	host, port, err := net.SplitHostPort(server)
	if err != nil {
		return err
	}
	if host == "" {
		return fmt.Errorf("%q has no host", server)
	}
	if !validPort(port) {
		return fmt.Errorf("%q: the port must be a number from 1 to 65535, got %q", server, port)
	}
	return nil
}

// validPort reports whether port is a port number, 1 to 65535: a service
// name would pass net.SplitHostPort, and fail, or vary, at every use.
func validPort(port string) bool {
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}

func validChannel(ch string) bool {
	return len(ch) > 1 && strings.ContainsRune("#&", rune(ch[0])) && !strings.ContainsAny(ch, " ,\a:")
}

// fold is the case-insensitive form of an IRC name (ASCII, which is what
// modern servers compare; RFC 1459's []\~ folding is left out).
func fold(s string) string { return strings.ToLower(s) }

func (i IRC) backoff() strategy.Backoff {
	return strategy.Exponential(i.Backoff.Min, i.Backoff.Max).WithJitter(strategy.FullJitter)
}

func (i IRC) intensity() strategy.Intensity {
	return strategy.Intensity{MaxRestarts: i.Intensity.MaxRestarts, Period: i.Intensity.Period}
}

// NewRegistration makes the application service registration that the
// homeserver and the bridge share: fresh tokens, the bridge bot
// (senderLocalpart) and the exclusive namespace of the ghosts.
func NewRegistration(c Config, senderLocalpart string) *appservice.Registration {
	r := appservice.CreateRegistration()
	r.ID = "arbor-irc-bridge"
	r.URL = "http://" + c.Appservice.Listen
	r.SenderLocalpart = senderLocalpart
	r.RateLimited = new(bool)
	r.Namespaces.UserIDs.Register(regexp.MustCompile(
		"@"+regexp.QuoteMeta(c.Appservice.GhostPrefix)+".*:"+regexp.QuoteMeta(c.Homeserver.Domain)), true)
	return r
}
