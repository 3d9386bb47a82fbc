package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"switchyard/server/store"
	"switchyard/server/storetest"
)

// TestBinary builds the switchyard command and runs it as an operator
// would: the demo, then migrate, merchant create and serve against a real
// database.
func TestBinary(t *testing.T) {
	bin := buildBinary(t)
	t.Run("demo", func(t *testing.T) { testDemoBinary(t, bin) })
	t.Run("database", func(t *testing.T) { testDatabaseBinary(t, bin) })
}

// buildBinary compiles ./server/cmd/switchyard into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the binary: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "switchyard")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, gobin, "build", "-o", bin, "switchyard/server/cmd/switchyard").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// env is the test process's environment without any SWITCHYARD_ setting,
// plus vars.
func env(vars ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SWITCHYARD_") {
			out = append(out, kv)
		}
	}
	return append(out, vars...)
}

// process is a running switchyard serve.
type process struct {
	cmd    *exec.Cmd
	banner string
	stderr *bytes.Buffer
	// exited is closed once the process has exited and waitErr is set;
	// stderr may be read only then.
	exited  chan struct{}
	waitErr error
}

// start runs `switchyard serve` and returns once it has printed its banner
// (the blank line that ends it).
func start(t *testing.T, bin string, environ []string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, "serve"), stderr: new(bytes.Buffer), exited: make(chan struct{})}
	p.cmd.Env = environ
	p.cmd.Stderr = p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	bannerc := make(chan string, 1)
	go func() {
		var b strings.Builder
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
			// The banner starts and ends with a blank line.
			if !sent && sc.Text() == "" && strings.TrimSpace(b.String()) != "" {
				bannerc <- b.String()
				sent = true
			}
		}
		if !sent {
			bannerc <- b.String()
		}
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(p.kill)
	select {
	case p.banner = <-bannerc:
	case <-time.After(2 * time.Minute):
		t.Fatalf("no banner within 2 minutes")
	}
	if !strings.Contains(p.banner, "listening on") {
		p.kill()
		t.Fatalf("switchyard printed no banner:\n%s\nstderr:\n%s", p.banner, p.stderr)
	}
	return p
}

// kill ends the process unless it has exited, and waits for it.
func (p *process) kill() {
	select {
	case <-p.exited:
	default:
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// field returns the first submatch of pattern in the banner.
func (p *process) field(t *testing.T, pattern string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(p.banner)
	if m == nil {
		t.Fatalf("banner lacks %s:\n%s", pattern, p.banner)
	}
	return m[1]
}

// stop sends SIGTERM and checks the process drains and exits 0 promptly; it
// returns what the process logged.
func (p *process) stop(t *testing.T) string {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
		if p.waitErr != nil {
			t.Errorf("after SIGTERM: %v (want exit status 0)\nstderr:\n%s", p.waitErr, p.stderr)
		}
	case <-time.After(10 * time.Second):
		p.kill()
		t.Fatalf("still running 10s after SIGTERM\nstderr:\n%s", p.stderr)
	}
	logs := p.stderr.String()
	if !strings.Contains(logs, "shutting down") {
		t.Errorf("no shutdown logged:\n%s", logs)
	}
	// Logs are structured: JSON when not written to a terminal.
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("log line is not JSON: %s", line)
			break
		}
	}
	return logs
}

// client returns an HTTP client for the tests here.
func client() *http.Client { return &http.Client{Timeout: 30 * time.Second} }

func call(t *testing.T, method, u, apiKey string, form url.Values) response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if apiKey != "" {
		req.SetBasicAuth(apiKey, "")
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{Code: res.StatusCode, Header: res.Header, Body: b}
}

// testDemoBinary runs the binary with no configuration but a free port:
// the README's first command.
func testDemoBinary(t *testing.T, bin string) {
	p := start(t, bin, env("SWITCHYARD_ADDR=127.0.0.1:0"))
	if !strings.Contains(p.banner, "DEMO MODE") || !strings.Contains(strings.ToLower(p.banner), "not persisted") {
		t.Errorf("banner lacks the demo-mode line:\n%s", p.banner)
	}
	base := p.field(t, `listening on (http://127\.0\.0\.1:[0-9]+)\n`)
	apiKey := p.field(t, `demo API key:\s+(sk_\S+)`)
	adminTok := p.field(t, `admin token:\s+(\S+)`)
	link := p.field(t, `checkout link:\s+(\S+)`)
	orderID := p.field(t, `checkout link:\s+\S+\s+\(order (\S+)\)`)
	if !strings.HasPrefix(link, base+"/pay/") {
		t.Errorf("checkout link %q is not under %s/pay/", link, base)
	}

	for _, path := range []string{"/healthz", "/readyz"} {
		call(t, http.MethodGet, base+path, "", nil).want(t, http.StatusOK)
	}
	var o order
	call(t, http.MethodGet, base+"/orders/"+orderID, apiKey, nil).want(t, http.StatusOK).decode(t, &o)
	if o.Status != "NEW" || o.StatusID != 10 || o.PaymentLinks.Web != link {
		t.Errorf("demo order: %+v, want NEW/10 with payment link %s", o, link)
	}
	var sess session
	call(t, http.MethodPost, base+"/session", apiKey, url.Values{
		"order_id": {"ord_bin_1"}, "amount": {"1.00"}, "currency": {"INR"}, "customer_id": {"c"},
	}).want(t, http.StatusOK).decode(t, &sess)
	if sess.Status != "NEW" || !strings.HasPrefix(sess.PaymentLinks.Web, base+"/pay/") {
		t.Errorf("session on the demo: %+v", sess)
	}
	metrics := call(t, http.MethodGet, base+"/metrics", "", nil).want(t, http.StatusOK)
	if !bytes.Contains(metrics.Body, []byte("switchyard_http_requests_total")) {
		t.Errorf("/metrics lacks switchyard_http_requests_total")
	}

	logs := p.stop(t)
	for name, secret := range map[string]string{"API key": apiKey, "admin token": adminTok} {
		if strings.Contains(logs, secret) {
			t.Errorf("the %s appears in the logs", name)
		}
	}
}

// testDatabaseBinary runs migrate, merchant create and serve against an
// empty database, as an operator sets up a real deployment.
func testDatabaseBinary(t *testing.T, bin string) {
	dsn := emptyDatabase(t)
	masterKey := base64.StdEncoding.EncodeToString(storetest.MasterKey())
	environ := env(
		"SWITCHYARD_DATABASE_URL="+dsn,
		"SWITCHYARD_MASTER_KEY="+masterKey,
		"SWITCHYARD_ADMIN_TOKEN="+adminToken,
		"SWITCHYARD_ADDR=127.0.0.1:0",
	)
	run := func(wantOK bool, args ...string) (stdout, stderr string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = environ
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		if wantOK && err != nil {
			t.Fatalf("switchyard %s: %v\nstderr:\n%s", strings.Join(args, " "), err, e.String())
		}
		var exit *exec.ExitError
		if !wantOK && !errors.As(err, &exit) {
			t.Fatalf("switchyard %s: %v, want a non-zero exit\nstdout:\n%s", strings.Join(args, " "), err, o.String())
		}
		return o.String(), e.String()
	}

	if err := ready(t, dsn); err == nil {
		t.Fatalf("the empty database is ready before migrate")
	}
	run(true, "migrate")
	if err := ready(t, dsn); err != nil {
		t.Fatalf("after switchyard migrate: %v", err)
	}
	run(true, "migrate") // nothing left to do, still success

	out, _ := run(true, "merchant", "create", "--id", "cli_shop", "--name", "CLI Shop", "--json")
	var c credentials
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("merchant create --json printed %q: %v", out, err)
	}
	if c.MerchantID != "cli_shop" || !strings.HasPrefix(c.APIKey, "sk_") || c.ResponseKey == "" || c.DashboardPassword == "" {
		t.Errorf("merchant create --json: %+v", c)
	}
	out, stderr := run(false, "merchant", "create", "--id", "cli_shop", "--name", "Again", "--json")
	if strings.Contains(out, "api_key") || !strings.Contains(stderr, "switchyard:") {
		t.Errorf("creating merchant cli_shop twice: stdout %q, stderr %q", out, stderr)
	}

	// The server on that database knows the merchant the CLI created.
	p := start(t, bin, environ)
	if strings.Contains(p.banner, "DEMO MODE") || strings.Contains(p.banner, "demo API key") {
		t.Errorf("demo banner with a database configured:\n%s", p.banner)
	}
	base := p.field(t, `listening on (http://127\.0\.0\.1:[0-9]+)\n`)
	call(t, http.MethodGet, base+"/readyz", "", nil).want(t, http.StatusOK)
	var sess session
	call(t, http.MethodPost, base+"/session", c.APIKey, url.Values{
		"order_id": {"ord_cli_1"}, "amount": {"42.00"}, "currency": {"INR"}, "customer_id": {"c"},
	}).want(t, http.StatusOK).decode(t, &sess)
	if got := sess.SDKPayload.Payload["environment"]; got != "production" {
		t.Errorf("environment %q outside sandbox mode, want production", got)
	}
	var o order
	call(t, http.MethodGet, base+"/orders/ord_cli_1", c.APIKey, nil).want(t, http.StatusOK).decode(t, &o)
	if o.MerchantID != "cli_shop" || o.Status != "NEW" {
		t.Errorf("order of the CLI-created merchant: %+v", o)
	}
	sameAmount(t, "amount", o.Amount.String(), "42")
	call(t, http.MethodGet, base+"/orders/ord_cli_1", "sk_wrong", nil).want(t, http.StatusUnauthorized)
	logs := p.stop(t)
	if strings.Contains(logs, c.APIKey) {
		t.Errorf("the API key appears in the logs")
	}

	// The data outlived the process: a second server still has the order.
	p = start(t, bin, environ)
	base = p.field(t, `listening on (http://127\.0\.0\.1:[0-9]+)\n`)
	call(t, http.MethodGet, base+"/orders/ord_cli_1", c.APIKey, nil).want(t, http.StatusOK)
	p.stop(t)

	// Without a database URL there is nothing to migrate.
	environ = env()
	_, stderr = run(false, "migrate")
	if !strings.Contains(stderr, "SWITCHYARD_DATABASE_URL") {
		t.Errorf("migrate without a database: stderr %q, want it to name SWITCHYARD_DATABASE_URL", stderr)
	}
}

// ready reports whether the database at dsn is migrated, as /readyz does.
func ready(t *testing.T, dsn string) error {
	t.Helper()
	db, err := store.Open(t.Context(), dsn, storetest.Sealer())
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	defer db.Close()
	return db.Ready(t.Context())
}

// emptyDatabase returns the DSN of an empty, unmigrated database, dropped
// when the test ends: on the MySQL/MariaDB server of
// SWITCHYARD_TEST_DATABASE_URL when it is set, else in an embedded engine
// (which listens on loopback, so a child process reaches it too).
func emptyDatabase(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	serverDSN := os.Getenv(storetest.EnvDatabaseURL)
	if serverDSN == "" {
		e, err := store.StartEmbedded(ctx, "switchyard")
		if err != nil {
			t.Fatalf("embedded engine: %v", err)
		}
		t.Cleanup(func() { e.Close() })
		return e.DSN()
	}
	cfg, err := mysql.ParseDSN(serverDSN)
	if err != nil {
		t.Fatalf("%s: %v", storetest.EnvDatabaseURL, err)
	}
	admin := cfg.Clone()
	admin.DBName = ""
	connector, err := mysql.NewConnector(admin)
	if err != nil {
		t.Fatal(err)
	}
	pool := sql.OpenDB(connector)
	var b [6]byte
	rand.Read(b[:])
	name := "sy_e2e_" + hex.EncodeToString(b[:])
	if _, err := pool.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4"); err != nil {
		pool.Close()
		t.Fatalf("MySQL at %s: create database: %v", cfg.Addr, err)
	}
	t.Cleanup(func() {
		defer pool.Close()
		if _, err := pool.ExecContext(context.Background(), "DROP DATABASE `"+name+"`"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	cfg.DBName = name
	return cfg.FormatDSN()
}
