package api

import (
	"encoding/json"
	"time"

	"switchyard/server/orchestrator"
	"switchyard/server/pay"
)

// This file holds the merchant API's wire types (Juspay's JSON shapes) and
// their converters from domain types. Amounts are JSON numbers written from
// minor units as exact decimals, never through a float.

// timeFormat is Juspay's timestamp format: UTC, whole seconds.
const timeFormat = "2006-01-02T15:04:05Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func amountJSON(minor int64, currency string) json.Number {
	return json.Number(pay.FormatAmount(minor, currency))
}

type paymentLinksJSON struct {
	Web    string `json:"web"`
	Mobile string `json:"mobile"`
	Iframe string `json:"iframe"`
}

type clientTokenJSON struct {
	ClientAuthToken       string `json:"client_auth_token"`
	ClientAuthTokenExpiry string `json:"client_auth_token_expiry"`
}

// orderJSON is the order object of the order create, update and status APIs.
type orderJSON struct {
	ID              string            `json:"id"`
	OrderID         string            `json:"order_id"`
	MerchantID      string            `json:"merchant_id"`
	CustomerID      string            `json:"customer_id"`
	CustomerEmail   string            `json:"customer_email"`
	CustomerPhone   string            `json:"customer_phone"`
	ProductID       string            `json:"product_id"`
	Description     string            `json:"description"`
	Amount          json.Number       `json:"amount"`
	Currency        string            `json:"currency"`
	Status          string            `json:"status"`
	StatusID        int               `json:"status_id"`
	DateCreated     string            `json:"date_created"`
	LastUpdated     string            `json:"last_updated"`
	OrderExpiry     string            `json:"order_expiry"`
	ReturnURL       string            `json:"return_url"`
	Refunded        bool              `json:"refunded"`
	AmountRefunded  json.Number       `json:"amount_refunded"`
	EffectiveAmount json.Number       `json:"effective_amount"`
	PaymentLinks    paymentLinksJSON  `json:"payment_links"`
	UDF1            string            `json:"udf1"`
	UDF2            string            `json:"udf2"`
	UDF3            string            `json:"udf3"`
	UDF4            string            `json:"udf4"`
	UDF5            string            `json:"udf5"`
	UDF6            string            `json:"udf6"`
	UDF7            string            `json:"udf7"`
	UDF8            string            `json:"udf8"`
	UDF9            string            `json:"udf9"`
	UDF10           string            `json:"udf10"`
	Metadata        map[string]string `json:"metadata,omitempty"`
	Refunds         []refundJSON      `json:"refunds,omitempty"`
	Juspay          *clientTokenJSON  `json:"juspay,omitempty"`
	// The payment fields appear once the order has a txn: those of its
	// charged txn, else of its latest.
	*orderTxnJSON
}

type orderTxnJSON struct {
	TxnID              string    `json:"txn_id"`
	TxnUUID            string    `json:"txn_uuid"`
	PaymentMethodType  string    `json:"payment_method_type"`
	PaymentMethod      string    `json:"payment_method"`
	AuthType           string    `json:"auth_type"`
	Card               *cardJSON `json:"card,omitempty"`
	UPI                *upiJSON  `json:"upi,omitempty"`
	PayerVPA           string    `json:"payer_vpa,omitempty"`
	Gateway            string    `json:"gateway"`
	GatewayReferenceID string    `json:"gateway_reference_id"`
	RespCode           *string   `json:"resp_code"`
	RespMessage        *string   `json:"resp_message"`
	BankErrorCode      string    `json:"bank_error_code"`
	BankErrorMessage   string    `json:"bank_error_message"`
	UnifiedCode        string    `json:"unified_code,omitempty"`
	// Routing explains the gateway choice: decision, candidates with
	// scores, and every attempt.
	Routing                json.RawMessage      `json:"routing,omitempty"`
	TxnDetail              txnDetailJSON        `json:"txn_detail"`
	PaymentGatewayResponse *gatewayResponseJSON `json:"payment_gateway_response,omitempty"`
}

type cardJSON struct {
	CardISIN       string `json:"card_isin"`
	LastFourDigits string `json:"last_four_digits"`
	CardBrand      string `json:"card_brand"`
	CardType       string `json:"card_type"`
	NameOnCard     string `json:"name_on_card"`
	ExpiryMonth    string `json:"expiry_month"`
	ExpiryYear     string `json:"expiry_year"`
	UsingSavedCard bool   `json:"using_saved_card"`
	SavedToLocker  bool   `json:"saved_to_locker"`
}

type upiJSON struct {
	PayerVPA    string `json:"payer_vpa"`
	TxnFlowType string `json:"txn_flow_type"`
}

type txnDetailJSON struct {
	TxnID        string      `json:"txn_id"`
	OrderID      string      `json:"order_id"`
	TxnUUID      string      `json:"txn_uuid"`
	Status       string      `json:"status"`
	ErrorCode    *string     `json:"error_code"`
	ErrorMessage string      `json:"error_message"`
	NetAmount    json.Number `json:"net_amount"`
	TxnAmount    json.Number `json:"txn_amount"`
	Currency     string      `json:"currency"`
	Gateway      string      `json:"gateway"`
	Created      string      `json:"created"`
	LastUpdated  string      `json:"last_updated"`
}

type gatewayResponseJSON struct {
	RespCode    string `json:"resp_code"`
	RespMessage string `json:"resp_message"`
	EPGTxnID    string `json:"epg_txn_id"`
	TxnID       string `json:"txn_id"`
	Created     string `json:"created"`
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func newOrderTxnJSON(o *pay.Order, t *pay.Txn) *orderTxnJSON {
	d := t.Details
	j := &orderTxnJSON{
		TxnID: t.TxnID, TxnUUID: t.ID, PaymentMethodType: t.PaymentMethodType, PaymentMethod: t.PaymentMethod,
		AuthType: d.AuthType, Gateway: t.Gateway, GatewayReferenceID: t.Gateway,
		RespCode: nilIfEmpty(d.RespCode), RespMessage: nilIfEmpty(d.RespMessage),
		BankErrorCode: t.ErrorCode, BankErrorMessage: t.ErrorMessage, UnifiedCode: d.UnifiedCode,
		Routing: routingJSON(t.Routing),
		TxnDetail: txnDetailJSON{
			TxnID: t.TxnID, OrderID: o.OrderID, TxnUUID: t.ID, Status: string(t.Status),
			ErrorCode: nilIfEmpty(t.ErrorCode), ErrorMessage: t.ErrorMessage,
			NetAmount: amountJSON(t.Amount.Amount, t.Amount.Currency), TxnAmount: amountJSON(t.Amount.Amount, t.Amount.Currency),
			Currency: t.Amount.Currency, Gateway: t.Gateway,
			Created: formatTime(t.CreatedAt), LastUpdated: formatTime(t.UpdatedAt),
		},
	}
	if d.CardLast4 != "" {
		j.Card = &cardJSON{CardISIN: d.CardBIN, LastFourDigits: d.CardLast4, CardBrand: d.CardBrand,
			CardType: "CREDIT", NameOnCard: d.NameOnCard, ExpiryMonth: d.CardExpMonth, ExpiryYear: d.CardExpYear}
	}
	if t.PaymentMethodType == pay.MethodUPI {
		j.UPI = &upiJSON{PayerVPA: d.PayerVPA, TxnFlowType: d.TxnFlow}
		j.PayerVPA = d.PayerVPA
	}
	if d.GatewayRef != "" || d.RespCode != "" {
		j.PaymentGatewayResponse = &gatewayResponseJSON{RespCode: d.RespCode, RespMessage: d.RespMessage,
			EPGTxnID: d.GatewayRef, TxnID: t.TxnID, Created: formatTime(t.UpdatedAt)}
	}
	return j
}

func newOrderJSON(o *pay.Order, links orchestrator.PaymentLinks, txns []*pay.Txn) orderJSON {
	cur := o.Amount.Currency
	j := orderJSON{
		ID: o.ID, OrderID: o.OrderID, MerchantID: o.MerchantID,
		CustomerID: o.CustomerID, CustomerEmail: o.CustomerEmail, CustomerPhone: o.CustomerPhone,
		ProductID: o.ProductID, Description: o.Description,
		Amount: amountJSON(o.Amount.Amount, cur), Currency: cur,
		Status: string(o.Status), StatusID: o.Status.ID(),
		DateCreated: formatTime(o.CreatedAt), LastUpdated: formatTime(o.UpdatedAt),
		OrderExpiry: formatTime(o.ExpiresAt), ReturnURL: o.ReturnURL,
		Refunded:        o.AmountRefunded > 0,
		Refunds:         newRefundsJSON(o.Refunds, txns),
		AmountRefunded:  amountJSON(o.AmountRefunded, cur),
		EffectiveAmount: amountJSON(o.Amount.Amount-o.AmountRefunded, cur),
		PaymentLinks:    paymentLinksJSON{Web: links.Web, Mobile: links.Mobile, Iframe: links.Iframe},
		UDF1:            o.UDF[0], UDF2: o.UDF[1], UDF3: o.UDF[2], UDF4: o.UDF[3], UDF5: o.UDF[4],
		UDF6: o.UDF[5], UDF7: o.UDF[6], UDF8: o.UDF[7], UDF9: o.UDF[8], UDF10: o.UDF[9],
	}
	if len(o.Metadata) > 0 {
		j.Metadata = o.Metadata
	}
	if t := pay.ReportedTxn(txns); t != nil {
		j.orderTxnJSON = newOrderTxnJSON(o, t)
	}
	return j
}

func newClientTokenJSON(t orchestrator.ClientToken) *clientTokenJSON {
	return &clientTokenJSON{ClientAuthToken: t.Token, ClientAuthTokenExpiry: formatTime(t.ExpiresAt)}
}

// sessionJSON is the response of POST /session.
type sessionJSON struct {
	Status       string           `json:"status"`
	ID           string           `json:"id"`
	OrderID      string           `json:"order_id"`
	PaymentLinks sessionLinksJSON `json:"payment_links"`
	SDKPayload   sdkPayloadJSON   `json:"sdk_payload"`
	OrderExpiry  string           `json:"order_expiry"`
}

type sessionLinksJSON struct {
	Web    string `json:"web"`
	Expiry string `json:"expiry"`
}

type sdkPayloadJSON struct {
	RequestID string            `json:"requestId"`
	Service   string            `json:"service"`
	Payload   map[string]string `json:"payload"`
	Expiry    string            `json:"expiry"`
}

// customerJSON is Juspay's customer object.
type customerJSON struct {
	ID                string `json:"id"`
	Object            string `json:"object"`
	ObjectReferenceID string `json:"object_reference_id"`
	MobileNumber      string `json:"mobile_number"`
	MobileCountryCode string `json:"mobile_country_code"`
	EmailAddress      string `json:"email_address"`
	FirstName         string `json:"first_name"`
	LastName          string `json:"last_name"`
	DateCreated       string `json:"date_created"`
	LastUpdated       string `json:"last_updated"`
}

func newCustomerJSON(c *pay.Customer) customerJSON {
	return customerJSON{
		ID: c.ID, Object: "customer", ObjectReferenceID: c.ObjectReferenceID,
		MobileNumber: c.MobileNumber, MobileCountryCode: c.MobileCountryCode, EmailAddress: c.EmailAddress,
		FirstName: c.FirstName, LastName: c.LastName,
		DateCreated: formatTime(c.CreatedAt), LastUpdated: formatTime(c.UpdatedAt),
	}
}

type paymentMethodJSON struct {
	PaymentMethodType string `json:"payment_method_type"`
	PaymentMethod     string `json:"payment_method"`
	Description       string `json:"description"`
}

// OrderJSON renders an order exactly as the Order Status API does; webhook
// bodies embed it.
func OrderJSON(o *pay.Order, links orchestrator.PaymentLinks, txns []*pay.Txn) ([]byte, error) {
	return json.Marshal(newOrderJSON(o, links, txns))
}

// refundJSON is Juspay's refund object inside an order.
type refundJSON struct {
	ID              string      `json:"id"`
	UniqueRequestID string      `json:"unique_request_id"`
	Ref             *string     `json:"ref"`
	Amount          json.Number `json:"amount"`
	Status          string      `json:"status"`
	ErrorCode       *string     `json:"error_code"`
	ErrorMessage    *string     `json:"error_message"`
	Created         string      `json:"created"`
	SentToGateway   bool        `json:"sent_to_gateway"`
	InitiatedBy     string      `json:"initiated_by"`
	RefundSource    string      `json:"refund_source"`
	RefundType      string      `json:"refund_type"`
}

func newRefundsJSON(refunds []*pay.Refund, txns []*pay.Txn) []refundJSON {
	out := make([]refundJSON, 0, len(refunds))
	for _, r := range refunds {
		out = append(out, newRefundJSON(r, txnByUUID(txns, r.TxnUUID)))
	}
	return out
}

func txnByUUID(txns []*pay.Txn, id string) *pay.Txn {
	for _, t := range txns {
		if t.ID == id {
			return t
		}
	}
	return nil
}

func newRefundJSON(r *pay.Refund, t *pay.Txn) refundJSON {
	j := refundJSON{
		ID: r.ID, UniqueRequestID: r.UniqueRequestID, Ref: nilIfEmpty(r.GatewayRef),
		Amount: amountJSON(r.Amount.Amount, r.Amount.Currency), Status: string(r.Status),
		ErrorCode: nilIfEmpty(r.ErrorCode), ErrorMessage: nilIfEmpty(r.ErrorMessage),
		Created: formatTime(r.CreatedAt), SentToGateway: r.GatewayRef != "" || r.Status != pay.RefundPending,
		InitiatedBy: r.InitiatedBy, RefundType: "STANDARD",
	}
	if t != nil {
		j.RefundSource = t.Gateway
	}
	return j
}

// txnRefundJSON is the flat refund object of POST /refunds.
type txnRefundJSON struct {
	UniqueRequestID string      `json:"unique_request_id"`
	TxnID           string      `json:"txn_id"`
	OrderID         string      `json:"order_id"`
	Status          string      `json:"status"`
	SentToGateway   bool        `json:"sent_to_gateway"`
	RefundType      string      `json:"refund_type"`
	RefundSource    string      `json:"refund_source"`
	Gateway         string      `json:"gateway"`
	ReferenceID     *string     `json:"reference_id"`
	InitiatedBy     string      `json:"initiated_by"`
	ErrorCode       *string     `json:"error_code"`
	ErrorMessage    *string     `json:"error_message"`
	EPGTxnID        *string     `json:"epg_txn_id"`
	Created         string      `json:"created"`
	Amount          json.Number `json:"amount"`
}

func routingJSON(s string) json.RawMessage {
	if s == "" || s == "{}" || !json.Valid([]byte(s)) {
		return nil
	}
	return json.RawMessage(s)
}
