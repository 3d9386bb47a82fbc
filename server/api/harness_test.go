package api_test

import (
	"bytes"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"switchyard/server/api"
	"switchyard/server/orchestrator"
	"switchyard/server/store"
	"switchyard/server/storetest"
	"switchyard/server/token"
)

// update rewrites the golden files instead of comparing against them:
//
//	go test ./server/api/ -run TestWire -update
var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

// adminToken is the admin API bearer token of every test server.
const adminToken = "test-admin-token-123456"

// testServer is the whole API over real HTTP on a fresh database.
type testServer struct {
	// URL is the server's base URL, also its public URL (payment links)
	// and its client tokens' issuer.
	URL    string
	DB     *store.DB
	Tokens *token.Issuer
}

type serverOption func(*serverConfig)

type serverConfig struct {
	log *slog.Logger
}

// withLogger makes the server log to l instead of nowhere.
func withLogger(l *slog.Logger) serverOption { return func(c *serverConfig) { c.log = l } }

// newTestServer builds the API as app.Open does, on a fresh database from
// storetest, and serves it from an httptest server closed when t ends.
func newTestServer(t testing.TB, opts ...serverOption) *testServer {
	t.Helper()
	cfg := serverConfig{log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	db := storetest.Open(t)

	// The public URL is the listener's address, known before the handler
	// (which needs it) is built.
	var handler http.Handler
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.ServeHTTP(w, r)
	}))
	publicURL := "http://" + hs.Listener.Addr().String()

	key, err := token.NewKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := token.New(publicURL, []token.Key{key}, token.DefaultTTL, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := orchestrator.New(orchestrator.Config{
		DB: db, Tokens: tokens, Log: cfg.log, PublicURL: publicURL, BcryptCost: bcrypt.MinCost, RenderOrder: api.OrderJSON,
	})
	srv := api.New(api.Config{
		Service: svc, DB: db, Log: cfg.log, AdminToken: adminToken,
		Ready: db.Ready, Metrics: prometheus.NewRegistry(),
	})
	handler = srv.Handler()
	hs.Start()
	// Registered after storetest's cleanups, so it runs before them: no
	// request is in flight when the database goes.
	t.Cleanup(hs.Close)
	return &testServer{URL: publicURL, DB: db, Tokens: tokens}
}

// response is an HTTP response, read in full.
type response struct {
	Code   int
	Header http.Header
	Body   []byte
}

// obj decodes the body as a JSON object, numbers as json.Number.
func (r *response) obj(t testing.TB) map[string]any {
	t.Helper()
	var v map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("response %d is not a JSON object: %v\n%s", r.Code, err, r.Body)
	}
	return v
}

// str returns the string at a dotted path of the body ("juspay.client_auth_token").
func (r *response) str(t testing.TB, path string) string {
	t.Helper()
	v := lookup(r.obj(t), path)
	s, ok := v.(string)
	if !ok {
		t.Fatalf("%s = %#v (%T), want a string\n%s", path, v, v, r.Body)
	}
	return s
}

func lookup(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// fieldNames returns error_info.fields[].field_name of an error body.
func (r *response) fieldNames(t testing.TB) []string {
	t.Helper()
	fields, _ := lookup(r.obj(t), "error_info.fields").([]any)
	names := []string{}
	for _, f := range fields {
		name, _ := f.(map[string]any)["field_name"].(string)
		names = append(names, name)
	}
	return names
}

// wantStatus fails the test unless the response has status code.
func (r *response) wantStatus(t testing.TB, code int) *response {
	t.Helper()
	if r.Code != code {
		t.Fatalf("status %d, want %d; body:\n%s", r.Code, code, r.Body)
	}
	return r
}

// req is one HTTP request to send.
type req struct {
	method, path string
	// body is sent as is; contentType labels it.
	body        io.Reader
	contentType string
	header      http.Header
}

func basicAuth(key string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))
}

// send sends r and reads the whole response.
func (ts *testServer) send(t testing.TB, r req) *response {
	t.Helper()
	resp, err := ts.sendErr(r)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// sendErr is send for goroutines other than the test's.
func (ts *testServer) sendErr(r req) (*response, error) {
	hr, err := http.NewRequest(r.method, ts.URL+r.path, r.body)
	if err != nil {
		return nil, err
	}
	for k, vs := range r.header {
		hr.Header[k] = vs
	}
	if r.contentType != "" {
		hr.Header.Set("Content-Type", r.contentType)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading body: %w", r.method, r.path, err)
	}
	return &response{Code: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// headers builds a header from name, value pairs.
func headers(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// formReq is a merchant API request with a form body, authenticated with key
// (none when key is empty); extra are header name, value pairs.
func formReq(key, method, path, form string, extra ...string) req {
	h := headers(extra...)
	if key != "" {
		h.Set("Authorization", basicAuth(key))
	}
	return req{method: method, path: path, body: strings.NewReader(form),
		contentType: "application/x-www-form-urlencoded", header: h}
}

// jsonReq is a merchant API request with a JSON body (v marshalled, or
// sent as is when it is a string).
func jsonReq(key, method, path string, v any, extra ...string) req {
	h := headers(extra...)
	if key != "" {
		h.Set("Authorization", basicAuth(key))
	}
	return req{method: method, path: path, body: strings.NewReader(jsonText(v)),
		contentType: "application/json", header: h}
}

// getReq is an authenticated merchant API GET.
func getReq(key, path string, extra ...string) req {
	h := headers(extra...)
	if key != "" {
		h.Set("Authorization", basicAuth(key))
	}
	return req{method: http.MethodGet, path: path, header: h}
}

// adminReq is an admin API request with the right bearer token (unless
// extra sets Authorization) and a JSON body (nil for none).
func adminReq(method, path string, v any, extra ...string) req {
	h := headers(extra...)
	if h.Get("Authorization") == "" {
		h.Set("Authorization", "Bearer "+adminToken)
	}
	r := req{method: method, path: path, header: h}
	if v != nil {
		r.body, r.contentType = strings.NewReader(jsonText(v)), "application/json"
	}
	return r
}

func jsonText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// merchantCreds is what creating a merchant returns.
type merchantCreds struct {
	MerchantID        string `json:"merchant_id"`
	APIKey            string `json:"api_key"`
	ResponseKey       string `json:"response_key"`
	DashboardLogin    string `json:"dashboard_login"`
	DashboardPassword string `json:"dashboard_password"`
}

// createMerchant creates merchant id through the admin API, with settings
// overriding the defaults below, and returns its secrets.
func (ts *testServer) createMerchant(t testing.TB, id string, settings map[string]any) merchantCreds {
	t.Helper()
	body := map[string]any{
		"merchant_id":          id,
		"name":                 "Shop " + id,
		"payment_redirect_url": "https://shop.example.com/payment/done",
		"allowed_return_hosts": []string{"shop.example.com", "*.shop.example.org"},
	}
	maps.Copy(body, settings)
	r := ts.send(t, adminReq(http.MethodPost, "/admin/v1/merchants", body)).wantStatus(t, http.StatusCreated)
	var c merchantCreds
	if err := json.Unmarshal(r.Body, &c); err != nil {
		t.Fatal(err)
	}
	if c.APIKey == "" {
		t.Fatalf("no api_key in %s", r.Body)
	}
	return c
}

// createOrder creates an order with a form body and returns the response
// object.
func (ts *testServer) createOrder(t testing.TB, key, form string) map[string]any {
	t.Helper()
	return ts.send(t, formReq(key, http.MethodPost, "/orders", form)).wantStatus(t, http.StatusOK).obj(t)
}

// putSandboxGateway gives a merchant a sandbox gateway account.
func (ts *testServer) putSandboxGateway(t testing.TB, merchantID, name string, methods ...string) {
	t.Helper()
	ts.send(t, adminReq(http.MethodPut, "/admin/v1/merchants/"+merchantID+"/gateways/"+name, map[string]any{
		"connector": "sandbox", "credentials": map[string]string{"processor": "default"},
		"payment_methods": methods, "currencies": []string{"INR"},
	})).wantStatus(t, http.StatusCreated)
}

// count runs a COUNT(*) query on the test database.
func (ts *testServer) count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := ts.DB.SQL().QueryRowContext(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// snapshot returns every row of every table (but goose's), each as text,
// sorted: two equal snapshots mean nothing was written in between.
func (ts *testServer) snapshot(t testing.TB) map[string][]string {
	t.Helper()
	ctx := t.Context()
	db := ts.DB.SQL()
	var tables []string
	rows, err := db.QueryContext(ctx, "SHOW TABLES")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		if name != "goose_db_version" {
			tables = append(tables, name)
		}
	}
	rows.Close()
	if len(tables) == 0 {
		t.Fatal("snapshot: no tables")
	}
	snap := map[string][]string{}
	for _, table := range tables {
		snap[table] = tableRows(t, db, table)
	}
	return snap
}

func tableRows(t testing.TB, db *sql.DB, table string) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "SELECT * FROM `"+table+"`")
	if err != nil {
		t.Fatalf("snapshot %s: %v", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for rows.Next() {
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(cols))
		for i, v := range vals {
			if v == nil {
				parts[i] = cols[i] + "=NULL"
			} else {
				parts[i] = cols[i] + "=" + fmt.Sprintf("%q", v)
			}
		}
		out = append(out, strings.Join(parts, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// diffSnapshots describes how b differs from a, or returns "".
func diffSnapshots(a, b map[string][]string) string {
	var out []string
	for _, table := range slices.Sorted(maps.Keys(b)) {
		if !slices.Equal(a[table], b[table]) {
			out = append(out, fmt.Sprintf("%s: %d rows before, %d after:\n  before %q\n  after  %q",
				table, len(a[table]), len(b[table]), a[table], b[table]))
		}
	}
	return strings.Join(out, "\n")
}

// parallel runs fn(i) for i in [0, n) at once, released together, and
// returns the responses by i; errors of the requests themselves fail t.
func parallel(t testing.TB, n int, fn func(i int) (*response, error)) []*response {
	t.Helper()
	out := make([]*response, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			out[i], errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// Placeholders for the values of a response that change from run to run.
var volatile = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`), "<jwt>"},
	{regexp.MustCompile(`\b(ordeh|cst|key)_[0-9a-f]{32}\b`), "${1}_<hex32>"},
	{regexp.MustCompile(`\bsk_[0-9a-f]{48}\b`), "sk_<hex48>"},
	{regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\b`), "<time>"},
}

// volatileKeys are keys whose whole value is random (hex secrets, request
// ids) and is replaced by its shape.
var volatileKeys = map[string]bool{
	"request_id": true, "requestId": true, "response_key": true, "dashboard_password": true,
}

var hexPattern = regexp.MustCompile(`^[0-9a-f]+$`)

// normalize replaces the volatile values of a decoded JSON document with
// placeholders: the public URL (host and port) with <public_url>, ids,
// tokens and times with their shape.
func normalize(v any, key, publicURL string) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, child := range t {
			out[k] = normalize(child, k, publicURL)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, child := range t {
			out[i] = normalize(child, key, publicURL)
		}
		return out
	case string:
		if volatileKeys[key] && t != "" {
			if hexPattern.MatchString(t) {
				return fmt.Sprintf("<hex%d>", len(t))
			}
			return "<" + key + ">"
		}
		t = strings.ReplaceAll(t, publicURL, "<public_url>")
		for _, p := range volatile {
			t = p.re.ReplaceAllString(t, p.repl)
		}
		return t
	}
	return v
}

// golden compares a response (status and normalised JSON body) with
// testdata/<name>.golden.json, or rewrites that file under -update.
func (ts *testServer) golden(t testing.TB, name string, r *response) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want application/json", name, ct)
	}
	var body any
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("%s: body is not JSON: %v\n%s", name, err, r.Body)
	}
	doc := map[string]any{"status_code": r.Code, "body": normalize(body, "", ts.URL)}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (run with -update if the change is intended):\n%s", name, path, lineDiff(string(want), string(got)))
	}
}

// lineDiff is a small line diff, enough to read a golden mismatch.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	i, j := 0, 0
	for i < len(w) || j < len(g) {
		switch {
		case i < len(w) && j < len(g) && w[i] == g[j]:
			i, j = i+1, j+1
		case j < len(g) && !slices.Contains(w[i:], g[j]):
			fmt.Fprintf(&b, "+ %s\n", g[j])
			j++
		case i < len(w):
			fmt.Fprintf(&b, "- %s\n", w[i])
			i++
		default:
			fmt.Fprintf(&b, "+ %s\n", g[j])
			j++
		}
	}
	return b.String()
}
