// Package orchestrator is Switchyard's workflow: merchants, sessions, orders
// and (later) transactions, refunds and their reconciliation. It composes the
// store, the token issuer, connectors and routing; handlers stay thin by
// calling one method here per request.
package orchestrator

import (
	"context"
	"log/slog"
	"time"

	"golang.org/x/crypto/bcrypt"

	"switchyard/server/connector"
	"switchyard/server/pay"
	"switchyard/server/routing"
	"switchyard/server/store"
	"switchyard/server/token"
)

// Service runs the workflow.
type Service struct {
	db     *store.DB
	tokens *token.Issuer
	log    *slog.Logger
	// publicURL is the base of payment links, without a trailing slash.
	publicURL string
	// bcryptCost is the dashboard password hashing cost; tests lower it.
	bcryptCost int
	connectors connector.Registry
	// onChange is told of every committed status change (live status).
	onChange func(OrderEvent)
	router   *routing.Router
	// renderOrder renders an order as the merchant API does, for webhooks.
	renderOrder func(o *pay.Order, links PaymentLinks, txns []*pay.Txn) ([]byte, error)
	keys        keyCache
	// leftPass is when this process last asked gateways about left txns.
	leftPass leftPass
}

// Config is what New needs.
type Config struct {
	DB        *store.DB
	Tokens    *token.Issuer
	Log       *slog.Logger
	PublicURL string
	// BcryptCost defaults to bcrypt.DefaultCost.
	BcryptCost int
	// Connectors builds a connector for a gateway account.
	Connectors connector.Registry
	// OnChange, if set, is called after every committed order or txn
	// status change.
	OnChange func(OrderEvent)
	// Router chooses gateways and learns from outcomes; nil means a new
	// router with default options.
	Router *routing.Router
	// RenderOrder renders an order object as the Order Status API does;
	// webhook bodies embed it. The merchant API owns that wire shape.
	RenderOrder func(o *pay.Order, links PaymentLinks, txns []*pay.Txn) ([]byte, error)
}

// New returns a Service.
func New(cfg Config) *Service {
	cost := cfg.BcryptCost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	router := cfg.Router
	if router == nil {
		router = routing.New(routing.Options{Seed: uint64(time.Now().UnixNano())})
	}
	return &Service{router: router, db: cfg.DB, tokens: cfg.Tokens, log: cfg.Log, publicURL: cfg.PublicURL, bcryptCost: cost,
		connectors: cfg.Connectors, onChange: cfg.OnChange, renderOrder: cfg.RenderOrder}
}

// PaymentLinks are the hosted-page URLs of an order.
type PaymentLinks struct {
	Web, Mobile, Iframe string
}

// Links returns the hosted payment page URLs of order o.
func (s *Service) Links(o *pay.Order) PaymentLinks {
	web := s.publicURL + "/pay/" + o.ID
	return PaymentLinks{Web: web, Mobile: web + "?mobile=true", Iframe: web + "?iframe=true"}
}

// ClientToken is a client auth token with its expiry.
type ClientToken struct {
	Token     string
	ExpiresAt time.Time
}

// IssueClientToken returns a token letting a shopper's browser or app act on
// order o through the SDK API.
func (s *Service) IssueClientToken(o *pay.Order) (ClientToken, error) {
	t, exp, err := s.tokens.Issue(o.MerchantID, o.ID, o.OrderID)
	if err != nil {
		return ClientToken{}, err
	}
	return ClientToken{Token: t, ExpiresAt: exp}, nil
}

// VerifyClientToken checks a client auth token and returns the order it
// grants access to, with its merchant.
func (s *Service) VerifyClientToken(ctx context.Context, tok string) (*pay.Order, *pay.Merchant, error) {
	claims, err := s.tokens.Verify(tok)
	if err != nil {
		return nil, nil, pay.Errorf(pay.EUNAUTHENTICATED, "invalid or expired client auth token")
	}
	o, err := s.db.OrderByID(ctx, claims.OrderUUID)
	if err != nil || o.MerchantID != claims.MerchantID {
		return nil, nil, pay.Errorf(pay.EUNAUTHENTICATED, "invalid or expired client auth token")
	}
	m, err := s.db.Merchant(ctx, o.MerchantID)
	if err != nil {
		return nil, nil, err
	}
	return o, m, nil
}

// CreateOrder validates in and stores a NEW order for merchant m; a repeated
// order_id with the same amount returns the existing order (created=false).
func (s *Service) CreateOrder(ctx context.Context, m *pay.Merchant, in pay.OrderInput) (*pay.Order, bool, error) {
	o, err := pay.NewOrder(m, in, s.db.Now())
	if err != nil {
		return nil, false, err
	}
	return s.db.CreateOrder(ctx, o)
}

// Order returns merchant m's order by its order_id.
func (s *Service) Order(ctx context.Context, m *pay.Merchant, orderID string) (*pay.Order, error) {
	return s.db.Order(ctx, m.ID, orderID)
}

// UpdateOrder changes the amount or udfs of a NEW order.
func (s *Service) UpdateOrder(ctx context.Context, m *pay.Merchant, orderID string, u pay.OrderUpdate) (*pay.Order, error) {
	return s.db.UpdateOrder(ctx, m.ID, orderID, func(o *pay.Order, now time.Time) error {
		return u.Apply(o, now)
	})
}

// CreateCustomer validates and stores a customer of merchant m.
func (s *Service) CreateCustomer(ctx context.Context, m *pay.Merchant, c *pay.Customer) (*pay.Customer, bool, error) {
	c.MerchantID = m.ID
	if err := c.Validate(); err != nil {
		return nil, false, err
	}
	return s.db.CreateCustomer(ctx, c)
}

// Customer returns merchant m's customer by "cst_" id or object_reference_id.
func (s *Service) Customer(ctx context.Context, m *pay.Merchant, id string) (*pay.Customer, error) {
	return s.db.Customer(ctx, m.ID, id)
}

// AvailableMethods returns the payment method types merchant m can take in
// currency: enabled by the merchant AND supported by an enabled gateway
// account for that currency. An empty currency means any currency.
func (s *Service) AvailableMethods(ctx context.Context, m *pay.Merchant, currency string) ([]string, error) {
	gateways, err := s.db.Gateways(ctx, m.ID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range pay.PaymentMethodTypes {
		if len(m.Instruments(t)) == 0 {
			continue
		}
		for _, g := range gateways {
			if g.Supports(t, currency) || (currency == "" && g.Enabled && supportsType(g, t)) {
				out = append(out, t)
				break
			}
		}
	}
	return out, nil
}

func supportsType(g *pay.GatewayAccount, t string) bool {
	for _, m := range g.PaymentMethods {
		if m == t {
			return true
		}
	}
	return false
}
