package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// client is the shoppers' HTTP client: keep-alive connections, enough idle
// ones per host for every shopper, no compression (loopback), and a dialer
// that refuses anything but loopback addresses.
type client struct {
	hc *http.Client
	tr *http.Transport
}

func newClient(concurrency int, timeout time.Duration) *client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	idle := 2*concurrency + 16
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			if a, ok := c.RemoteAddr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
				c.Close()
				return nil, fmt.Errorf("%s: %w", addr, errNotLoopback)
			}
			return c, nil
		},
		MaxIdleConns:          idle,
		MaxIdleConnsPerHost:   idle,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
		ResponseHeaderTimeout: timeout,
	}
	return &client{
		tr: tr,
		hc: &http.Client{
			Transport: tr,
			Timeout:   timeout,
			// A redirect is an answer to check, not to follow.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

func (c *client) close() { c.tr.CloseIdleConnections() }

// response is an answer read whole into a caller's buffer.
type response struct {
	code   int
	header http.Header
	body   []byte
}

// do sends one request; buf (reused by the caller) receives the body.
func (c *client) do(ctx context.Context, method, url, authorization, contentType, body string, buf *bytes.Buffer) (response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return response{}, err
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.hc.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	buf.Reset()
	if _, err := buf.ReadFrom(res.Body); err != nil {
		return response{code: res.StatusCode}, fmt.Errorf("reading the body: %w", err)
	}
	return response{code: res.StatusCode, header: res.Header, body: buf.Bytes()}, nil
}

// doJSON sends v as JSON (nil: no body) and decodes a JSON answer into out
// when the status is want.
func (c *client) doJSON(ctx context.Context, method, url, authorization string, v any, want int, out any) error {
	body := ""
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		body = string(b)
	}
	var buf bytes.Buffer
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	r, err := c.do(ctx, method, url, authorization, ct, body, &buf)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	if r.code != want {
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, url, r.code, want, truncate(r.body, 300))
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			return fmt.Errorf("%s %s: decoding the answer: %w", method, url, err)
		}
	}
	return nil
}

// waitHealthy polls /healthz until it answers 200.
func (c *client) waitHealthy(ctx context.Context, base string, within time.Duration) error {
	deadline := time.Now().Add(within)
	var last error
	for time.Now().Before(deadline) {
		var buf bytes.Buffer
		r, err := c.do(ctx, http.MethodGet, base+"/healthz", "", "", "", &buf)
		if err == nil && r.code == http.StatusOK {
			return nil
		}
		last = err
		if err == nil {
			last = fmt.Errorf("status %d", r.code)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s/healthz not healthy after %s: %v", base, within, last)
}

func basicAuth(apiKey string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(apiKey+":"))
}

func bearerAuth(token string) string { return "Bearer " + token }

// serverTiming reads "self;dur=1.234, gateway;dur=0.567" (milliseconds).
func serverTiming(h string) (self, gateway time.Duration, ok bool) {
	var gotSelf bool
	for part := range strings.SplitSeq(h, ",") {
		name, dur, found := strings.Cut(strings.TrimSpace(part), ";dur=")
		if !found {
			continue
		}
		ms, err := strconv.ParseFloat(strings.TrimSpace(dur), 64)
		if err != nil {
			continue
		}
		d := time.Duration(ms * float64(time.Millisecond))
		switch name {
		case "self":
			self, gotSelf = d, true
		case "gateway":
			gateway = d
		}
	}
	return self, gateway, gotSelf
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
