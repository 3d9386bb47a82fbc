package payout

import (
	"encoding/json"
	"time"

	"switchyard/server/pay"
	"switchyard/server/store"
)

// The payout API's JSON (reference §10.2, §10.4): camelCase, amounts as
// numbers in rupees, times as RFC 3339 seconds in UTC. The status API and
// the callbacks render from these same types, so they always tell the same
// story.

// OrderWire is a payout order as the status API shows it.
type OrderWire struct {
	OrderID       string            `json:"orderId"`
	Type          string            `json:"type"`
	Status        string            `json:"status"`
	Amount        json.Number       `json:"amount"`
	CustomerID    string            `json:"customerId,omitempty"`
	CustomerPhone string            `json:"customerPhone,omitempty"`
	CustomerEmail string            `json:"customerEmail,omitempty"`
	UDF1          string            `json:"udf1,omitempty"`
	UDF2          string            `json:"udf2,omitempty"`
	UDF3          string            `json:"udf3,omitempty"`
	UDF4          string            `json:"udf4,omitempty"`
	UDF5          string            `json:"udf5,omitempty"`
	Fulfillments  []FulfillmentWire `json:"fulfillments"`
	Payments      []PaymentWire     `json:"payments"`
	Refunds       []RefundWire      `json:"refunds"`
	CreatedAt     string            `json:"createdAt"`
	UpdatedAt     string            `json:"updatedAt"`
}

// FulfillmentWire is a fulfillment; Transactions are its attempts, oldest
// first.
type FulfillmentWire struct {
	ID                    string          `json:"id"`
	Type                  string          `json:"type"`
	Status                string          `json:"status"`
	Amount                json.Number     `json:"amount"`
	MerchantCustomerID    string          `json:"merchantCustomerId,omitempty"`
	PreferredMethodList   []string        `json:"preferredMethodList"`
	FulfillmentMethodList []string        `json:"fulfillmentMethodList"`
	BeneficiaryDetails    BeneficiaryWire `json:"beneficiaryDetails"`
	AdditionalInfo        *InfoWire       `json:"additionalInfo,omitempty"`
	UDF1                  string          `json:"udf1,omitempty"`
	UDF2                  string          `json:"udf2,omitempty"`
	UDF3                  string          `json:"udf3,omitempty"`
	UDF4                  string          `json:"udf4,omitempty"`
	UDF5                  string          `json:"udf5,omitempty"`
	Transactions          []TxnWire       `json:"transactions,omitempty"`
	UpdatedBy             string          `json:"updatedBy"`
	StatusUpdatedAt       string          `json:"statusUpdatedAt"`
	CreatedAt             string          `json:"createdAt"`
	UpdatedAt             string          `json:"updatedAt"`
}

// BeneficiaryWire is beneficiaryDetails.
type BeneficiaryWire struct {
	Type    string            `json:"type"`
	Details map[string]string `json:"details"`
}

// InfoWire is additionalInfo as shown: the webhook password never is.
type InfoWire struct {
	Remark           string       `json:"remark,omitempty"`
	IsRetriable      *bool        `json:"isRetriable,omitempty"`
	AttemptThreshold int          `json:"attemptThreshold,omitempty"`
	WebhookDetails   *WebhookWire `json:"webhookDetails,omitempty"`
}

// WebhookWire is webhookDetails without the password.
type WebhookWire struct {
	URL      string `json:"url"`
	Username string `json:"username,omitempty"`
}

// TxnWire is one attempt (Juspay: fulfillment transaction).
type TxnWire struct {
	TransactionRef    string      `json:"transactionRef"`
	Status            string      `json:"status"`
	FulfillmentMethod string      `json:"fulfillmentMethod"`
	Amount            json.Number `json:"amount"`
	GatewayRefID      string      `json:"gatewayRefId,omitempty"`
	ResponseCode      string      `json:"responseCode,omitempty"`
	ResponseMessage   string      `json:"responseMessage,omitempty"`
	TxnResponse       TxnResponse `json:"txnResponse"`
	TimeStamp         string      `json:"timeStamp"`
	CreatedAt         string      `json:"createdAt"`
	UpdatedAt         string      `json:"updatedAt"`
}

// TxnResponse is the rail's answer as last seen.
type TxnResponse struct {
	Status    string      `json:"status"`
	RequestID string      `json:"requestId"`
	Amount    json.Number `json:"amount"`
}

// TxnEventExtra are the fields a FULFILLMENT_TXN callback adds to the txn
// object (Juspay spells FulfillmentId with a capital F).
type TxnEventExtra struct {
	ID            string `json:"id"`
	Attempted     bool   `json:"attempted"`
	FulfillmentID string `json:"FulfillmentId"`
}

// PaymentWire is the collection order of a PAY_AND_FULFILL payout.
type PaymentWire struct {
	ID           string       `json:"id"`
	OrderID      string       `json:"orderId"`
	Status       string       `json:"status"`
	Amount       json.Number  `json:"amount"`
	PaymentLinks PaymentLinks `json:"paymentLinks"`
}

// PaymentLinks are the hosted-page links of the collection order.
type PaymentLinks struct {
	Web    string `json:"web"`
	Mobile string `json:"mobile"`
	Iframe string `json:"iframe"`
}

// RefundWire is a refund of collected money that was not paid out.
type RefundWire struct {
	ID              string      `json:"id,omitempty"`
	UniqueRequestID string      `json:"uniqueRequestId,omitempty"`
	Amount          json.Number `json:"amount"`
	Status          string      `json:"status"`
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

func amount(m pay.Money) json.Number { return json.Number(pay.FormatAmount(m.Amount, m.Currency)) }

// fulfillmentWire renders f; txns adds its attempts.
func fulfillmentWire(o *pay.PayoutOrder, f *pay.Fulfillment, txns bool) FulfillmentWire {
	w := FulfillmentWire{
		ID: f.ID, Type: "ORDER", Status: string(f.Status), Amount: amount(f.Amount), MerchantCustomerID: o.CustomerID,
		PreferredMethodList: f.Methods, FulfillmentMethodList: []string{},
		BeneficiaryDetails: BeneficiaryWire{Type: f.Beneficiary.Type, Details: f.Beneficiary.Details},
		UDF1:               f.UDF[0], UDF2: f.UDF[1], UDF3: f.UDF[2], UDF4: f.UDF[3], UDF5: f.UDF[4],
		UpdatedBy: "DEFAULT", StatusUpdatedAt: stamp(f.StatusUpdatedAt), CreatedAt: stamp(f.CreatedAt),
		UpdatedAt: stamp(f.UpdatedAt),
	}
	if info := f.Info; info.Remark != "" || info.IsRetriable != nil || info.AttemptThreshold != 0 || info.Webhook != nil {
		w.AdditionalInfo = &InfoWire{Remark: info.Remark, IsRetriable: info.IsRetriable, AttemptThreshold: info.AttemptThreshold}
		if info.Webhook != nil {
			w.AdditionalInfo.WebhookDetails = &WebhookWire{URL: info.Webhook.URL, Username: info.Webhook.Username}
		}
	}
	for _, a := range f.Attempts {
		w.FulfillmentMethodList = append(w.FulfillmentMethodList, a.Method)
		if txns {
			w.Transactions = append(w.Transactions, txnWire(a))
		}
	}
	if txns && w.Transactions == nil {
		w.Transactions = []TxnWire{}
	}
	return w
}

func txnWire(a *pay.PayoutAttempt) TxnWire {
	railStatus := "PENDING"
	switch a.Status {
	case pay.AttemptSuccess, pay.AttemptConflicted:
		railStatus = "SUCCESS"
	case pay.AttemptFailure, pay.AttemptReversed:
		railStatus = string(a.Status)
	}
	return TxnWire{
		TransactionRef: a.ID, Status: string(a.Status), FulfillmentMethod: a.Method, Amount: amount(a.Amount),
		GatewayRefID: a.GatewayRef, ResponseCode: a.ResponseCode, ResponseMessage: a.ResponseMessage,
		TxnResponse: TxnResponse{Status: railStatus, RequestID: a.ID, Amount: amount(a.Amount)},
		TimeStamp:   stamp(a.UpdatedAt), CreatedAt: stamp(a.CreatedAt), UpdatedAt: stamp(a.UpdatedAt),
	}
}

// orderWire renders o without its payment-side parts (payments, refunds),
// which Service.View adds.
func orderWire(o *pay.PayoutOrder) OrderWire {
	w := OrderWire{
		OrderID: o.OrderID, Type: string(o.Type), Status: string(o.Status), Amount: amount(o.Amount),
		CustomerID: o.CustomerID, CustomerPhone: o.CustomerPhone, CustomerEmail: o.CustomerEmail,
		UDF1: o.UDF[0], UDF2: o.UDF[1], UDF3: o.UDF[2], UDF4: o.UDF[3], UDF5: o.UDF[4],
		Fulfillments: []FulfillmentWire{}, Payments: []PaymentWire{}, Refunds: []RefundWire{},
		CreatedAt: stamp(o.CreatedAt), UpdatedAt: stamp(o.UpdatedAt),
	}
	for _, f := range o.Fulfillments {
		w.Fulfillments = append(w.Fulfillments, fulfillmentWire(o, f, true))
	}
	return w
}

// Callback labels (reference §10.4).
const (
	LabelOrder       = "ORDER"
	LabelFulfillment = "FULFILLMENT_ORDER"
	LabelTxn         = "FULFILLMENT_TXN"
)

// Callback is the payout callback envelope.
type Callback struct {
	ID       string `json:"id"`
	Category string `json:"category"`
	Label    string `json:"label"`
	Value    string `json:"value"`
	Info     any    `json:"info"`
}

// orderInfo is an ORDER callback's info.
type orderInfo struct {
	ID                 string      `json:"id"`
	MerchantOrderID    string      `json:"merchantOrderId"`
	MerchantCustomerID string      `json:"merchantCustomerId,omitempty"`
	OrderType          string      `json:"orderType"`
	Status             string      `json:"status"`
	Amount             json.Number `json:"amount"`
	CreatedAt          string      `json:"createdAt"`
	UpdatedAt          string      `json:"updatedAt"`
}

// txnInfo is a FULFILLMENT_TXN callback's info: the txn object and the
// callback's own fields.
type txnInfo struct {
	TxnWire
	TxnEventExtra
}

// events collects the callbacks of one change, rendered at the moment of
// the change.
type events struct {
	o   *pay.PayoutOrder
	now time.Time
	out []store.Event
}

func (e *events) add(label, value string, info any, dest *pay.WebhookDetails) {
	id := pay.RandomHex(15)
	body, err := json.Marshal(Callback{ID: id, Category: "INFO", Label: label, Value: value, Info: info})
	if err != nil {
		// Plain data always marshals.
		panic(err)
	}
	e.out = append(e.out, store.Event{
		ID: id, Name: "PAYOUT_" + label + "_" + value, MerchantID: e.o.MerchantID, OrderUUID: e.o.ID,
		Payload: string(body), Dest: dest,
	})
}

// order reports the order's status (each change of it).
func (e *events) order() {
	o := e.o
	e.add(LabelOrder, string(o.Status), orderInfo{
		ID: o.ID, MerchantOrderID: o.OrderID, MerchantCustomerID: o.CustomerID, OrderType: string(o.Type),
		Status: string(o.Status), Amount: amount(o.Amount), CreatedAt: stamp(o.CreatedAt), UpdatedAt: stamp(e.now),
	}, nil)
}

// fulfillment reports a fulfillment event; value is its status, or
// INITIATED when its first attempt starts.
func (e *events) fulfillment(f *pay.Fulfillment, value string) {
	w := fulfillmentWire(e.o, f, false)
	w.UpdatedAt = stamp(e.now)
	e.add(LabelFulfillment, value, w, f.Info.Webhook)
}

// txn reports an attempt's status.
func (e *events) txn(f *pay.Fulfillment, a *pay.PayoutAttempt) {
	e.add(LabelTxn, string(a.Status), txnInfo{
		TxnWire:       txnWire(a),
		TxnEventExtra: TxnEventExtra{ID: a.ID, Attempted: true, FulfillmentID: f.ID},
	}, f.Info.Webhook)
}
