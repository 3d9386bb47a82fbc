package orchestrator

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"switchyard/server/pay"
	"switchyard/server/store"
)

// MerchantCredentials are a new merchant's secrets, shown exactly once.
type MerchantCredentials struct {
	MerchantID        string
	APIKey            string
	ResponseKey       string
	DashboardLogin    string
	DashboardPassword string
}

// NewAPIKey returns a fresh random API key. The "sk_" prefix makes a leaked
// key recognisable to secret scanners.
func NewAPIKey() string { return "sk_" + pay.RandomHex(24) }

// NewMerchant fills in a new merchant's defaults; callers override settings
// on the returned value before CreateMerchant.
func NewMerchant(id, name string) *pay.Merchant {
	return &pay.Merchant{
		ID: id, Name: name,
		AllowedReturnHosts:         []string{},
		DefaultCurrency:            "INR",
		OrderTimeout:               pay.DefaultOrderTimeout,
		AutoRefundConflicted:       true,
		AutoRefundThresholdMinutes: pay.DefaultAutoRefundThreshold,
		AutoRefundMultipleCharged:  true,
		EnabledPaymentMethods:      append([]string(nil), pay.PaymentMethodTypes...),
		Routing:                    pay.DefaultRouting(),
	}
}

// CreateMerchant validates m, generates its API key, response key and
// dashboard credentials, stores it, and returns the secrets.
func (s *Service) CreateMerchant(ctx context.Context, m *pay.Merchant) (MerchantCredentials, error) {
	if err := m.ValidateSettings(); err != nil {
		return MerchantCredentials{}, err
	}
	password := pay.RandomHex(12)
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.bcryptCost)
	if err != nil {
		return MerchantCredentials{}, fmt.Errorf("orchestrator.CreateMerchant: %w", err)
	}
	m.ResponseKey = pay.RandomHex(32)
	m.DashboardLogin = m.ID
	creds := MerchantCredentials{
		MerchantID: m.ID, APIKey: NewAPIKey(), ResponseKey: m.ResponseKey,
		DashboardLogin: m.DashboardLogin, DashboardPassword: password,
	}
	err = s.db.CreateMerchant(ctx, store.NewMerchant{Merchant: m, APIKey: creds.APIKey, DashboardPasswordHash: string(hash)})
	if err != nil {
		return MerchantCredentials{}, err
	}
	s.log.Info("merchant created", "merchant_id", m.ID)
	return creds, nil
}

// Merchant returns a merchant by id.
func (s *Service) Merchant(ctx context.Context, id string) (*pay.Merchant, error) {
	return s.db.Merchant(ctx, id)
}

// MerchantByAPIKey authenticates a merchant API request. The merchant it
// returns may be shared with other requests: callers must not modify it.
func (s *Service) MerchantByAPIKey(ctx context.Context, key string) (*pay.Merchant, error) {
	hash := store.HashAPIKey(key)
	now := time.Now()
	if m := s.keys.get(hash, now); m != nil {
		return m, nil
	}
	m, err := s.db.MerchantByAPIKey(ctx, key)
	if err != nil {
		return nil, err
	}
	s.keys.put(hash, m, now)
	return m, nil
}

// keyCacheTTL bounds how long a change made on another replica (a revoked
// key, new settings) can go unseen by this one's API authentication.
const keyCacheTTL = 2 * time.Second

// keyCache remembers for keyCacheTTL which merchant an API key
// authenticates. Every merchant API request authenticates, and the lookup
// (a query, and unsealing the merchant's secrets) was a tenth of a
// payment's database work. Changes made through this Service clear it.
type keyCache struct {
	mu      sync.Mutex
	entries map[string]keyCacheEntry
}

type keyCacheEntry struct {
	m  *pay.Merchant
	at time.Time
}

func (c *keyCache) get(hash string, now time.Time) *pay.Merchant {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	if !ok || now.Sub(e.at) > keyCacheTTL {
		return nil
	}
	return e.m
}

func (c *keyCache) put(hash string, m *pay.Merchant, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Only valid keys are cached, so this bound is reached only by a
	// deployment with thousands of active keys; starting over is fine.
	if c.entries == nil || len(c.entries) >= 4096 {
		c.entries = make(map[string]keyCacheEntry)
	}
	c.entries[hash] = keyCacheEntry{m: m, at: now}
}

// clear forgets every entry: a merchant's settings or keys changed.
func (c *keyCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = nil
}

// UpdateMerchant applies fn to the merchant's settings and stores them if
// they validate.
func (s *Service) UpdateMerchant(ctx context.Context, id string, fn func(m *pay.Merchant) error) (*pay.Merchant, error) {
	defer s.keys.clear()
	return s.db.UpdateMerchant(ctx, id, fn)
}

// AddAPIKey creates another API key for the merchant and returns it (once).
func (s *Service) AddAPIKey(ctx context.Context, merchantID string) (string, error) {
	if _, err := s.db.Merchant(ctx, merchantID); err != nil {
		return "", err
	}
	key := NewAPIKey()
	return key, s.db.AddAPIKey(ctx, merchantID, key)
}

// APIKeys lists the merchant's API keys (prefixes only).
func (s *Service) APIKeys(ctx context.Context, merchantID string) ([]store.APIKey, error) {
	return s.db.APIKeys(ctx, merchantID)
}

// RevokeAPIKey revokes one of the merchant's API keys.
func (s *Service) RevokeAPIKey(ctx context.Context, merchantID, keyID string) error {
	defer s.keys.clear()
	return s.db.RevokeAPIKey(ctx, merchantID, keyID)
}

// RotateResponseKey replaces the merchant's response key and returns the new
// one (once). Signatures made with the old key no longer verify.
func (s *Service) RotateResponseKey(ctx context.Context, merchantID string) (string, error) {
	key := pay.RandomHex(32)
	_, err := s.UpdateMerchant(ctx, merchantID, func(m *pay.Merchant) error {
		m.ResponseKey = key
		return nil
	})
	return key, err
}

// PutGateway validates and stores a merchant's gateway account; it reports
// whether the account was created.
func (s *Service) PutGateway(ctx context.Context, g *pay.GatewayAccount) (bool, error) {
	if err := g.Validate(); err != nil {
		return false, err
	}
	return s.db.PutGateway(ctx, g)
}

// Gateways lists a merchant's gateway accounts.
func (s *Service) Gateways(ctx context.Context, merchantID string) ([]*pay.GatewayAccount, error) {
	if _, err := s.db.Merchant(ctx, merchantID); err != nil {
		return nil, err
	}
	return s.db.Gateways(ctx, merchantID)
}

// Gateway returns one of a merchant's gateway accounts.
func (s *Service) Gateway(ctx context.Context, merchantID, name string) (*pay.GatewayAccount, error) {
	return s.db.Gateway(ctx, merchantID, name)
}

// PutRouting validates cfg against the merchant's gateway accounts and stores it.
func (s *Service) PutRouting(ctx context.Context, merchantID string, cfg pay.RoutingConfig) (*pay.Merchant, error) {
	gateways, err := s.Gateways(ctx, merchantID)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(gateways))
	for i, g := range gateways {
		names[i] = g.Name
	}
	if err := cfg.Validate(names); err != nil {
		return nil, err
	}
	return s.UpdateMerchant(ctx, merchantID, func(m *pay.Merchant) error {
		m.Routing = cfg
		return nil
	})
}
