package pay

import (
	"strconv"
	"strings"
	"time"
)

// MaxTxnsPerOrder is Juspay's cap on payment attempts per order.
const MaxTxnsPerOrder = 25

// Txn is one payment attempt on an order. Its id at the gateway is TxnID,
// which doubles as the gateway-side idempotency key.
type Txn struct {
	// ID is Switchyard's opaque id (Juspay's txn_uuid).
	ID string
	// TxnID is "<merchant>-<order_id>-<n>".
	TxnID      string
	OrderUUID  string
	MerchantID string
	Seq        int
	Status     Status
	Amount     Money
	// Gateway is the merchant's gateway account name; Connector its kind.
	Gateway           string
	Connector         string
	PaymentMethodType string
	PaymentMethod     string
	Details           TxnDetails
	// Routing is the routing decision, as JSON text.
	Routing string
	// Conflicted marks a charge that must not stand: it succeeded while
	// another txn of the order was already charged, or after the txn had
	// been reported failed. Reconciliation refunds it (AUTO_REFUNDED).
	Conflicted   bool
	ErrorCode    string
	ErrorMessage string
	Version      int
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// TxnDetails is what a txn remembers about its instrument and the gateway's
// answers. It never holds a full card number or a CVV.
type TxnDetails struct {
	CardBIN      string      `json:"card_bin,omitempty"`
	CardLast4    string      `json:"card_last4,omitempty"`
	CardBrand    string      `json:"card_brand,omitempty"`
	CardExpMonth string      `json:"card_exp_month,omitempty"`
	CardExpYear  string      `json:"card_exp_year,omitempty"`
	NameOnCard   string      `json:"name_on_card,omitempty"`
	PayerVPA     string      `json:"payer_vpa,omitempty"`
	TxnFlow      string      `json:"txn_flow,omitempty"` // COLLECT, INTENT, REDIRECT, DIRECT
	AuthType     string      `json:"auth_type,omitempty"`
	GatewayRef   string      `json:"gateway_ref,omitempty"`
	RespCode     string      `json:"resp_code,omitempty"`
	RespMessage  string      `json:"resp_message,omitempty"`
	UnifiedCode  string      `json:"unified_code,omitempty"`
	NextAction   *NextAction `json:"next_action,omitempty"`
	ReturnURL    string      `json:"return_url,omitempty"`
	IntentLink   string      `json:"intent_link,omitempty"`
	// ConflictReason says why a charge is conflicted: MULTIPLE_CHARGED or
	// LATE_SUCCESS.
	ConflictReason string     `json:"conflict_reason,omitempty"`
	FinalizedAt    *time.Time `json:"finalized_at,omitempty"`
}

// NextAction is what the shopper's client must do to continue a txn.
type NextAction struct {
	// Kind is "redirect" (go to URL by Method with Params), "wait" (the
	// outcome arrives elsewhere: UPI approval on a phone) or "done".
	Kind   string            `json:"kind"`
	Method string            `json:"method,omitempty"`
	URL    string            `json:"url,omitempty"`
	Params map[string]string `json:"params,omitempty"`
}

// Final reports whether a txn status will not change any more by itself.
func (s Status) Final() bool {
	switch s {
	case StatusCharged, StatusJuspayDeclined, StatusAuthenticationFailed, StatusAuthorizationFailed,
		StatusAutoRefunded, StatusVoided, StatusCaptureFailed, StatusVoidFailed, StatusCODInitiated:
		return true
	}
	return false
}

// Failed reports whether s is a final failure of a txn (the order stays payable).
func (s Status) Failed() bool {
	switch s {
	case StatusJuspayDeclined, StatusAuthenticationFailed, StatusAuthorizationFailed:
		return true
	}
	return false
}

// Pending reports whether a txn in status s is still in flight.
func (s Status) Pending() bool {
	switch s {
	case StatusStarted, StatusPendingVBV, StatusVBVSuccessful, StatusAuthorizing:
		return true
	}
	return false
}

// txnTransitions lists, for each status, the statuses a txn may move to.
// Anything else is a regression (e.g. CHARGED back to pending) and refused.
var txnTransitions = map[Status][]Status{
	StatusStarted: {StatusPendingVBV, StatusAuthorizing, StatusCharged, StatusJuspayDeclined,
		StatusAuthenticationFailed, StatusAuthorizationFailed},
	StatusPendingVBV: {StatusAuthorizing, StatusVBVSuccessful, StatusCharged,
		StatusAuthenticationFailed, StatusAuthorizationFailed},
	StatusVBVSuccessful: {StatusAuthorizing, StatusCharged, StatusAuthorizationFailed},
	StatusAuthorizing:   {StatusCharged, StatusAuthorizationFailed, StatusAuthenticationFailed},
	// A failure reported first and a success later is a conflicted txn: the
	// money was taken, so the txn must say so (and is then auto-refunded).
	StatusAuthenticationFailed: {StatusCharged},
	StatusAuthorizationFailed:  {StatusCharged},
	StatusCharged:              {StatusAutoRefunded},
}

// CanMove reports whether a txn may move from status from to status to.
func CanMove(from, to Status) bool {
	for _, s := range txnTransitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// ReportedTxn is the txn whose details an order is shown with (the Order
// Status API, webhooks, the dashboard): its kept charge (never a conflicted
// duplicate about to be refunded), else the latest txn; nil without txns.
func ReportedTxn(txns []*Txn) *Txn {
	for _, t := range txns {
		if t.Status == StatusCharged && !t.Conflicted {
			return t
		}
	}
	if len(txns) == 0 {
		return nil
	}
	return txns[len(txns)-1]
}

// OrderStatus derives an order's status from its txns (oldest first): any
// CHARGED txn makes it CHARGED; else a txn in flight makes it that pending
// status; else the latest failure; else NEW. AUTO_REFUNDED txns don't count
// as charges of the order, nor do conflicted charges, which are refunded.
func OrderStatus(txns []*Txn) Status {
	status := StatusNew
	for _, t := range txns {
		if t.Status == StatusCharged && !t.Conflicted {
			return StatusCharged
		}
	}
	for _, t := range txns {
		switch {
		case t.Status.Pending():
			return t.Status
		case t.Status.Failed():
			status = t.Status
		case t.Status == StatusAutoRefunded || t.Status == StatusCharged && t.Conflicted:
			// A success that must not stand: the order was not paid by
			// it, and is (or is about to be) AUTO_REFUNDED, as Juspay
			// reports it — never NEW again.
			status = StatusAutoRefunded
		}
	}
	return status
}

// TxnInput is a payment request as the merchant or shopper sent it.
type TxnInput struct {
	PaymentMethodType string
	PaymentMethod     string
	CardNumber        string
	CardExpMonth      string
	CardExpYear       string
	CardSecurityCode  string
	NameOnCard        string
	UPIVPA            string
	// TxnType is UPI_COLLECT or UPI_PAY (intent) for UPI.
	TxnType string
	// Gateway forces one gateway account (gateway_id or
	// metadata.JUSPAY:gateway_reference_id).
	Gateway string
}

// Card is a validated card, alive only for one gateway call. Its String and
// log forms never show the number or CVV.
type Card struct {
	Number   string
	ExpMonth string
	ExpYear  string // four digits
	CVV      string
	Name     string
	Brand    string
}

// String hides the card: BIN and last four only.
func (c Card) String() string { return "card " + c.Number[:6] + "…" + c.Number[len(c.Number)-4:] }

// GoString hides the card from %#v too.
func (c Card) GoString() string { return c.String() }

// ValidateTxn checks in against what the order and its merchant allow at now,
// returning the normalised method and, for cards, the card.
func ValidateTxn(in *TxnInput, now time.Time) (*Card, error) {
	var p Problems
	in.PaymentMethodType = strings.ToUpper(strings.TrimSpace(in.PaymentMethodType))
	in.PaymentMethod = strings.ToUpper(strings.TrimSpace(in.PaymentMethod))
	var card *Card
	switch in.PaymentMethodType {
	case "":
		p.Add("payment_method_type", "is required")
	case MethodCard:
		card = validateCard(&p, in, now)
		if card != nil {
			if in.PaymentMethod != "" && in.PaymentMethod != card.Brand &&
				!(in.PaymentMethod == "MASTER" && card.Brand == "MASTERCARD") {
				p.Add("payment_method", "says "+in.PaymentMethod+" but the card number is "+card.Brand)
			}
			in.PaymentMethod = card.Brand
		}
	case MethodUPI:
		switch strings.ToUpper(in.TxnType) {
		case "", "UPI_COLLECT":
			in.TxnType = "UPI_COLLECT"
			if !validVPA(in.UPIVPA) {
				p.Add("upi_vpa", "must be a UPI id such as name@bank")
			}
		case "UPI_PAY", "UPI_INTENT":
			in.TxnType = "UPI_PAY"
		default:
			p.Add("txn_type", "must be UPI_COLLECT or UPI_PAY")
		}
		in.PaymentMethod = "UPI"
	case MethodNB, MethodWallet:
		if in.PaymentMethod == "" {
			p.Add("payment_method", "is required: the bank or wallet code, e.g. NB_HDFC or PAYTM")
		} else if !inCatalog(in.PaymentMethodType, in.PaymentMethod) {
			p.Add("payment_method", "unknown "+in.PaymentMethodType+" code "+strconv.Quote(in.PaymentMethod))
		}
	default:
		p.Add("payment_method_type", "must be CARD, UPI, NB or WALLET")
	}
	return card, p.Err()
}

func inCatalog(t, code string) bool {
	for _, pm := range Catalog {
		if pm.Type == t && pm.Code == code {
			return true
		}
	}
	return false
}

func validVPA(v string) bool {
	user, handle, ok := strings.Cut(v, "@")
	if !ok || len(user) < 2 || len(user) > 256 || len(handle) < 2 || len(handle) > 64 {
		return false
	}
	for _, r := range user + handle {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func validateCard(p *Problems, in *TxnInput, now time.Time) *Card {
	number := strings.NewReplacer(" ", "", "-", "").Replace(in.CardNumber)
	ok := true
	brand := ""
	switch {
	case number == "":
		p.Add("card_number", "is required")
		ok = false
	case !allDigits(number) || len(number) < 12 || len(number) > 19:
		p.Add("card_number", "must be 12-19 digits")
		ok = false
	case !luhn(number):
		p.Add("card_number", "is not a valid card number (checksum fails)")
		ok = false
	default:
		if brand = CardBrand(number); brand == "" {
			p.Add("card_number", "card network not supported")
			ok = false
		}
	}
	month, errM := strconv.Atoi(in.CardExpMonth)
	year, errY := strconv.Atoi(in.CardExpYear)
	if len(in.CardExpYear) == 2 {
		year += 2000
	}
	switch {
	case errM != nil || month < 1 || month > 12 || len(in.CardExpMonth) > 2:
		p.Add("card_exp_month", "must be a month 01-12")
		ok = false
	case errY != nil || (len(in.CardExpYear) != 2 && len(in.CardExpYear) != 4):
		p.Add("card_exp_year", "must be a year as YY or YYYY")
		ok = false
	case year < now.Year() || (year == now.Year() && month < int(now.Month())):
		p.Add("card_exp_year", "the card has expired")
		ok = false
	case year > now.Year()+30:
		p.Add("card_exp_year", "is too far in the future")
		ok = false
	}
	cvvLen := 3
	if brand == "AMEX" {
		cvvLen = 4
	}
	if len(in.CardSecurityCode) != cvvLen || !allDigits(in.CardSecurityCode) {
		p.Add("card_security_code", "must be "+strconv.Itoa(cvvLen)+" digits")
		ok = false
	}
	if len(in.NameOnCard) > 128 {
		p.Add("name_on_card", "must be at most 128 characters")
	}
	if !ok {
		return nil
	}
	return &Card{Number: number, ExpMonth: strconv.Itoa(100 + month)[1:], ExpYear: strconv.Itoa(year),
		CVV: in.CardSecurityCode, Name: in.NameOnCard, Brand: brand}
}

func luhn(number string) bool {
	sum := 0
	double := false
	for i := len(number) - 1; i >= 0; i-- {
		d := int(number[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// CardBrand names the network of a card number from its BIN, or "".
func CardBrand(number string) string {
	prefix := func(n int) int {
		if len(number) < n {
			return -1
		}
		v, _ := strconv.Atoi(number[:n])
		return v
	}
	switch p2, p4, p6 := prefix(2), prefix(4), prefix(6); {
	case p2 == 34 || p2 == 37:
		return "AMEX"
	case number[0] == '4':
		return "VISA"
	case (p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720):
		return "MASTERCARD"
	case p2 == 60 || p2 == 65 || p2 == 81 || p2 == 82 || p6 == 508500:
		if p4 == 6011 || p2 == 65 {
			return "DISCOVER"
		}
		return "RUPAY"
	case p2 == 36 || p2 == 38 || p2 == 39 || (p2 == 30):
		return "DINERS"
	case p4 >= 3528 && p4 <= 3589:
		return "JCB"
	case p2 == 50 || (p2 >= 56 && p2 <= 58) || p2 == 67:
		return "MAESTRO"
	}
	return ""
}
