package lab

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"

	"gopkg.in/yaml.v3"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"
)

// DendriteVersion is the homeserver the lab runs: matrix-org's Apache-2.0
// Dendrite, built by the Makefile into DendriteDir.
const DendriteVersion = "v0.13.8"

// DendriteDir is where the Dendrite programs are: $ARBOR_DENDRITE_DIR, or
// .tools/dendrite-<version> in the nearest directory above the working one
// that has it (the repository's root, where `make` installs them).
func DendriteDir() (string, error) {
	if d := os.Getenv("ARBOR_DENDRITE_DIR"); d != "" {
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		cand := filepath.Join(dir, ".tools", "dendrite-"+DendriteVersion)
		if _, err := os.Stat(filepath.Join(cand, "dendrite")); err == nil {
			return cand, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w: dendrite %s (build it with: make dendrite, at the repository's root)",
				ErrMissingTool, DendriteVersion)
		}
		dir = parent
	}
}

// Dendrite is a homeserver for the domain "localhost", with federation off,
// open registration off, and registration by shared secret on.
type Dendrite struct {
	// URL is the client-server API's base.
	URL string
	// Domain is the server name in IDs.
	Domain string
	// Dir holds its configuration, keys, databases and log.
	Dir string

	secret string
	proc   *process
}

// StartDendrite configures a homeserver in dir that loads the application
// service registration files given, starts it on a free port and returns
// once it answers.
func StartDendrite(ctx context.Context, dir string, registrations ...string) (*Dendrite, error) {
	bin, err := DendriteDir()
	if err != nil {
		return nil, err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	run := func(name string, args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, filepath.Join(bin, name), args...)
		cmd.Dir = dir
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("lab: %s: %w: %s", name, err, stderr.Bytes())
		}
		return out, nil
	}
	if _, err := run("generate-keys", "--private-key", "matrix_key.pem"); err != nil {
		return nil, err
	}
	conf, err := run("generate-config", "-ci", "-dir", dir, "-server", "localhost")
	if err != nil {
		return nil, err
	}
	secret := randomHex(16)
	if conf, err = configure(conf, filepath.Join(dir, "matrix_key.pem"), secret, registrations); err != nil {
		return nil, err
	}
	confPath := filepath.Join(dir, "dendrite.yaml")
	if err := os.WriteFile(confPath, conf, 0o600); err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	p, err := startProcess(filepath.Join(dir, "dendrite.log"), filepath.Join(bin, "dendrite"),
		"-config", confPath, "-http-bind-address", addr(port))
	if err != nil {
		return nil, err
	}
	d := &Dendrite{URL: "http://" + addr(port), Domain: "localhost", Dir: dir, secret: secret, proc: p}
	if err := waitUntil(ctx, p, "dendrite", httpOK(d.URL+"/_matrix/client/versions")); err != nil {
		p.kill()
		return nil, err
	}
	return d, nil
}

// configure edits the configuration that generate-config -ci wrote: no
// federation, no open registration (Dendrite refuses to start with it open
// and no captcha), registration by our shared secret, the application
// services, the signing key by its full path (Dendrite reads it from its
// working directory otherwise), and logs at info rather than trace.
func configure(conf []byte, key, secret string, registrations []string) ([]byte, error) {
	var c map[string]any
	if err := yaml.Unmarshal(conf, &c); err != nil {
		return nil, fmt.Errorf("lab: dendrite.yaml: %w", err)
	}
	section := func(name string) map[string]any {
		m, ok := c[name].(map[string]any)
		if !ok {
			m = map[string]any{}
			c[name] = m
		}
		return m
	}
	global := section("global")
	global["disable_federation"] = true
	global["private_key"] = key
	api := section("client_api")
	api["registration_disabled"] = true
	api["registration_shared_secret"] = secret
	if len(registrations) == 0 {
		registrations = []string{}
	}
	section("app_service_api")["config_files"] = registrations
	if logs, ok := c["logging"].([]any); ok {
		for _, l := range logs {
			if m, ok := l.(map[string]any); ok {
				m["level"] = "info"
			}
		}
	}
	return yaml.Marshal(c)
}

// Stop ends the homeserver.
func (d *Dendrite) Stop() { d.proc.stop(5e9) }

// Register creates a user with the shared-secret registration API that
// Dendrite shares with Synapse, and returns a client logged in as that user.
func (d *Dendrite) Register(ctx context.Context, user, password string) (*mautrix.Client, error) {
	endpoint := d.URL + "/_synapse/admin/v1/register"
	var nonce struct {
		Nonce string `json:"nonce"`
	}
	if err := doJSON(ctx, http.MethodGet, endpoint, nil, &nonce); err != nil {
		return nil, err
	}
	mac := hmac.New(sha1.New, []byte(d.secret))
	fmt.Fprintf(mac, "%s\x00%s\x00%s\x00notadmin", nonce.Nonce, user, password)
	req := map[string]any{
		"nonce": nonce.Nonce, "username": user, "password": password, "admin": false,
		"mac": hex.EncodeToString(mac.Sum(nil)),
	}
	var resp struct {
		UserID      id.UserID `json:"user_id"`
		AccessToken string    `json:"access_token"`
	}
	if err := doJSON(ctx, http.MethodPost, endpoint, req, &resp); err != nil {
		return nil, fmt.Errorf("lab: register %s: %w", user, err)
	}
	return mautrix.NewClient(d.URL, resp.UserID, resp.AccessToken)
}

func doJSON(ctx context.Context, method, url string, body, out any) error {
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var msg bytes.Buffer
		_, _ = msg.ReadFrom(resp.Body)
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, msg.Bytes())
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
