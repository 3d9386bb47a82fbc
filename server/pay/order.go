package pay

import (
	"encoding/json"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Order is what a merchant asks its shopper to pay. Its status is derived from
// its transactions: the highest-precedence txn status (NEW < PENDING_VBV <
// CHARGED).
type Order struct {
	// ID is Switchyard's id ("ordeh_…"); it keys the payment link.
	ID         string
	MerchantID string
	// OrderID is the merchant's own id, unique per merchant.
	OrderID       string
	Amount        Money
	Status        Status
	CustomerID    string
	CustomerEmail string
	CustomerPhone string
	ProductID     string
	Description   string
	ReturnURL     string
	// UDF holds udf1..udf10 (index 0 is udf1).
	UDF [10]string
	// Metadata holds the merchant's metadata.* keys without the prefix,
	// e.g. "JUSPAY:gateway_reference_id".
	Metadata map[string]string
	// Details keeps the remaining accepted order fields (names, addresses,
	// payment_page_client_id, action, gateway_id) as given.
	Details        map[string]string
	AmountRefunded int64
	// Refunds are the order's refunds, oldest first, when loaded.
	Refunds   []*Refund
	TxnCount  int
	Version   int
	ExpiresAt time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Expired reports whether the order can no longer be paid at now.
func (o *Order) Expired(now time.Time) bool { return !now.Before(o.ExpiresAt) }

// DetailKeys are the order fields kept in Order.Details: accepted, stored and
// echoed, with no behaviour of their own yet.
var DetailKeys = []string{
	"first_name", "last_name", "mobile_country_code", "payment_page_client_id", "action", "gateway_id",
	"billing_address_first_name", "billing_address_last_name", "billing_address_line1",
	"billing_address_line2", "billing_address_line3", "billing_address_city", "billing_address_state",
	"billing_address_country", "billing_address_postal_code", "billing_address_phone",
	"billing_address_country_code_iso", "shipping_address_first_name", "shipping_address_last_name",
	"shipping_address_line1", "shipping_address_line2", "shipping_address_line3",
	"shipping_address_city", "shipping_address_state", "shipping_address_country",
	"shipping_address_postal_code", "shipping_address_phone", "shipping_address_country_code_iso",
}

// OrderInput is an order request as the merchant sent it: every value still
// text, to be validated by NewOrder.
type OrderInput struct {
	OrderID       string
	Amount        string
	Currency      string
	CustomerID    string
	CustomerEmail string
	CustomerPhone string
	ProductID     string
	Description   string
	ReturnURL     string
	UDF           [10]string
	Metadata      map[string]string
	Details       map[string]string
}

// maxMetadataJSON bounds an order's metadata as JSON, well within its TEXT
// column.
const maxMetadataJSON = 16384

var orderIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

var phonePattern = regexp.MustCompile(`^\+?[0-9]{6,15}$`)

// ValidOrderID reports whether id is an acceptable merchant order id.
func ValidOrderID(id string) bool { return orderIDPattern.MatchString(id) }

// NewOrder validates in for merchant m and returns a NEW order created at now.
// Every problem is reported at once, each naming its field.
func NewOrder(m *Merchant, in OrderInput, now time.Time) (*Order, error) {
	var p Problems
	if in.OrderID == "" {
		p.Add("order_id", "is required")
	} else if !ValidOrderID(in.OrderID) {
		p.Add("order_id", "must be 1-64 characters of letters, digits, '_', '.', ':' or '-'")
	}
	currency := strings.ToUpper(in.Currency)
	if currency == "" {
		currency = m.DefaultCurrency
	}
	var amount int64
	if _, ok := CurrencyExponent(currency); !ok {
		p.Add("currency", "unknown ISO 4217 currency code")
	} else if a, err := ParseAmount(in.Amount, currency); err != nil {
		p = append(p, err.(*Error).Fields...)
	} else {
		amount = a
	}
	checkCustomer(&p, in.CustomerID, in.CustomerEmail, in.CustomerPhone)
	checkLen(&p, "product_id", in.ProductID, 255)
	checkLen(&p, "description", in.Description, 1024)
	if in.ReturnURL != "" {
		checkReturnURL(&p, m, in.ReturnURL)
	}
	for i, v := range in.UDF {
		checkLen(&p, "udf"+strconv.Itoa(i+1), v, 255)
	}
	for k, v := range in.Metadata {
		checkLen(&p, "metadata."+k, v, 1024)
		checkLen(&p, "metadata key", k, 128)
	}
	// All of it is one TEXT column (64 KiB).
	if b, _ := json.Marshal(in.Metadata); len(b) > maxMetadataJSON {
		p.Add("metadata", "must be at most "+strconv.Itoa(maxMetadataJSON)+" bytes as JSON in all")
	}
	for k, v := range in.Details {
		checkLen(&p, k, v, 255)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	o := &Order{
		ID:            NewID("ordeh_"),
		MerchantID:    m.ID,
		OrderID:       in.OrderID,
		Amount:        Money{Amount: amount, Currency: currency},
		Status:        StatusNew,
		CustomerID:    in.CustomerID,
		CustomerEmail: in.CustomerEmail,
		CustomerPhone: in.CustomerPhone,
		ProductID:     in.ProductID,
		Description:   in.Description,
		ReturnURL:     in.ReturnURL,
		UDF:           in.UDF,
		Metadata:      nonNil(in.Metadata),
		Details:       nonNil(in.Details),
		Version:       1,
		ExpiresAt:     now.Add(m.OrderTimeout),
		CreatedAt:     now,
		UpdatedAt:     now,
	}
	return o, nil
}

// OrderUpdate changes a NEW order: an empty Amount keeps the amount, a nil UDF
// entry keeps that udf.
type OrderUpdate struct {
	Amount string
	UDF    [10]*string
}

// Apply validates u and applies it to o; only NEW orders can change.
func (u OrderUpdate) Apply(o *Order, now time.Time) error {
	if o.Status != StatusNew || o.TxnCount > 0 {
		return Errorf(ECONFLICT, "order %s is %s; only a NEW order without payment attempts can be updated", o.OrderID, o.Status)
	}
	var p Problems
	if u.Amount != "" {
		a, err := ParseAmount(u.Amount, o.Amount.Currency)
		if err != nil {
			p = append(p, err.(*Error).Fields...)
		} else {
			o.Amount.Amount = a
		}
	}
	for i, v := range u.UDF {
		if v != nil {
			checkLen(&p, "udf"+strconv.Itoa(i+1), *v, 255)
			o.UDF[i] = *v
		}
	}
	if err := p.Err(); err != nil {
		return err
	}
	o.UpdatedAt = now
	return nil
}

func checkCustomer(p *Problems, id, email, phone string) {
	checkLen(p, "customer_id", id, 64)
	if email != "" {
		if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 254 {
			p.Add("customer_email", "must be a plain email address such as name@example.com")
		}
	}
	if phone != "" && !phonePattern.MatchString(phone) {
		p.Add("customer_phone", "must be 6-15 digits, optionally starting with +")
	}
}

func checkReturnURL(p *Problems, m *Merchant, raw string) {
	if msg := checkHTTPURL(raw); msg != "" {
		p.Add("return_url", msg)
		return
	}
	u, _ := url.Parse(raw)
	if !m.ReturnHostAllowed(u) {
		p.Add("return_url", "host "+strconv.Quote(u.Hostname())+" is not in the merchant's allowed return hosts")
	}
}

func checkLen(p *Problems, field, v string, max int) {
	if len(v) > max {
		p.Add(field, "must be at most "+strconv.Itoa(max)+" characters")
	}
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// Customer is a merchant's shopper record, for saved instruments and prefill.
type Customer struct {
	// ID is Switchyard's id ("cst_…").
	ID         string
	MerchantID string
	// ObjectReferenceID is the merchant's own customer id, unique per merchant.
	ObjectReferenceID string
	MobileNumber      string
	MobileCountryCode string
	EmailAddress      string
	FirstName         string
	LastName          string
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Validate checks the customer's fields, naming each bad one.
func (c *Customer) Validate() error {
	var p Problems
	if c.ObjectReferenceID == "" {
		p.Add("object_reference_id", "is required")
	} else if len(c.ObjectReferenceID) > 64 {
		p.Add("object_reference_id", "must be at most 64 characters")
	}
	if c.MobileNumber != "" && !phonePattern.MatchString(c.MobileNumber) {
		p.Add("mobile_number", "must be 6-15 digits")
	}
	if c.MobileCountryCode != "" && !regexp.MustCompile(`^\+?[0-9]{1,4}$`).MatchString(c.MobileCountryCode) {
		p.Add("mobile_country_code", "must be 1-4 digits")
	}
	if c.EmailAddress != "" {
		if a, err := mail.ParseAddress(c.EmailAddress); err != nil || a.Address != c.EmailAddress || len(c.EmailAddress) > 254 {
			p.Add("email_address", "must be a plain email address such as name@example.com")
		}
	}
	checkLen(&p, "first_name", c.FirstName, 255)
	checkLen(&p, "last_name", c.LastName, 255)
	return p.Err()
}
