package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// shop is the merchant the load runs as, with its sandbox gateway account.
type shop struct {
	merchantID string
	apiKey     string
	auth       string
	gateway    string
	processor  string
}

// setupShop creates a merchant, configures a sandbox processor (always
// succeeding, frictionless for card 4242…, with the given latency) and gives
// the merchant a gateway account on it. Names are unique per run, so the
// processor's counters count this run's payments only.
func setupShop(ctx context.Context, cl *client, tg *target, latencyMS int) (*shop, error) {
	tag := randHex(4)
	s := &shop{merchantID: "load_" + tag, gateway: "sandbox_load", processor: "load_" + tag}
	admin := bearerAuth(tg.adminToken)

	var creds struct {
		APIKey string `json:"api_key"`
	}
	err := cl.doJSON(ctx, http.MethodPost, tg.url+"/admin/v1/merchants", admin, map[string]any{
		"merchant_id": s.merchantID, "name": "Load test " + tag,
	}, http.StatusCreated, &creds)
	if err != nil {
		return nil, fmt.Errorf("creating the merchant: %w", err)
	}
	if creds.APIKey == "" {
		return nil, fmt.Errorf("creating the merchant: no api_key in the answer")
	}
	s.apiKey, s.auth = creds.APIKey, basicAuth(creds.APIKey)

	err = cl.doJSON(ctx, http.MethodPut, tg.url+"/sandbox/v1/processors/"+url.PathEscape(s.processor), admin, map[string]any{
		"success_rate": 1, "latency_ms": latencyMS, "three_ds": "by_card", "down": false, "timeout": false,
		"late_success_after_ms": 0,
	}, http.StatusOK, nil)
	if err != nil {
		return nil, fmt.Errorf("configuring the sandbox processor (is the server in sandbox mode?): %w", err)
	}

	err = cl.doJSON(ctx, http.MethodPut, tg.url+"/admin/v1/merchants/"+s.merchantID+"/gateways/"+s.gateway, admin, map[string]any{
		"connector": "sandbox", "enabled": true, "credentials": map[string]string{"processor": s.processor},
		"payment_methods": []string{"CARD"}, "currencies": []string{"INR"},
	}, http.StatusCreated, nil)
	if err != nil {
		return nil, fmt.Errorf("creating the gateway account: %w", err)
	}
	return s, nil
}

// processorCounters is what GET /sandbox/v1/processors/{name} counts.
type processorCounters struct {
	Attempts      int64 `json:"attempts"`
	Charged       int64 `json:"charged"`
	AmountCharged int64 `json:"amount_charged"`
}

func (s *shop) counters(ctx context.Context, cl *client, tg *target) (processorCounters, error) {
	var out struct {
		Counters processorCounters `json:"counters"`
	}
	err := cl.doJSON(ctx, http.MethodGet, tg.url+"/sandbox/v1/processors/"+url.PathEscape(s.processor),
		bearerAuth(tg.adminToken), nil, http.StatusOK, &out)
	return out.Counters, err
}
