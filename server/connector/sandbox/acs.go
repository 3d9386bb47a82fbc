package sandbox

import (
	"bytes"
	"context"
	"net/http"
	"net/url"

	"github.com/jmoiron/sqlx"

	"switchyard/server/pay"
)

// acsTemplate is the file (and template) name of the ACS page.
const acsTemplate = "sandbox_acs.html"

// acsData is what sandbox_acs.html renders.
type acsData struct {
	// Heading names the page: "Sandbox 3-D Secure", "Sandbox Netbanking —
	// HDFC Bank", "Sandbox Wallet — Paytm".
	Heading string
	// Detail says what is being paid with ("Card ending 3220").
	Detail string
	// Amount is the amount with its currency ("INR 100.00").
	Amount string
	// Awaiting is set while the shopper's decision is still open; the page
	// then shows the Approve and Fail buttons.
	Awaiting bool
	// Outcome describes a decided payment.
	Outcome string
	// ReturnURL, for a decided payment, leads back to the merchant.
	ReturnURL string
	// NotFound is set when there is no such payment.
	NotFound bool
	// Nonce allows the page's one inline style element under the CSP.
	Nonce string
}

// acsPage renders the simulated 3-D Secure, netbanking or wallet page of a
// payment awaiting the shopper.
func (s *Service) acsPage(w http.ResponseWriter, r *http.Request) {
	p, err := s.paymentByID(r.Context(), r.PathValue("id"))
	if isNoRows(err) {
		s.renderACS(w, r, http.StatusNotFound, acsData{Heading: "Sandbox payment page", NotFound: true})
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	s.renderACS(w, r, http.StatusOK, acsFor(&p))
}

// acsDecide records the shopper's decision, once: approving leads to the
// outcome decided when the payment was made (3-D Secure: the card's; bank and
// wallet: the success-rate draw), failing to "authentication failed". It then
// sends the shopper back to the payment's return_url with payment_id added.
// A repeated POST changes nothing and redirects again.
func (s *Service) acsDecide(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	decision := r.PostForm.Get("decision")
	if decision != "approve" && decision != "fail" {
		http.Error(w, `decision must be "approve" or "fail"`, http.StatusBadRequest)
		return
	}
	ctx, cancel := processing(r)
	defer cancel()
	p, err := s.paymentByID(ctx, r.PathValue("id"))
	if isNoRows(err) {
		s.renderACS(w, r, http.StatusNotFound, acsData{Heading: "Sandbox payment page", NotFound: true})
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if p.Status == statusRequiresAction {
		o := outAuthFailed
		if decision == "approve" {
			o = p.afterAction()
		}
		changed, err := s.decideAction(ctx, &p, o)
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		if changed {
			s.log.Info("sandbox: shopper decided", "processor", p.Processor, "txn_id", p.TxnID,
				"payment_id", p.ID, "decision", decision, "status", o.status)
		}
		if p, err = s.paymentByID(ctx, p.ID); err != nil {
			s.internalError(w, r, err)
			return
		}
	}
	if p.ReturnURL == "" {
		s.renderACS(w, r, http.StatusOK, acsFor(&p))
		return
	}
	http.Redirect(w, r, withPaymentID(p.ReturnURL, p.ID), http.StatusSeeOther)
}

// decideAction moves payment p, awaiting the shopper, to outcome o and,
// like a real gateway, schedules the notification to its webhook (the
// shopper may never make it back to the return URL), in one transaction:
// a process dying in between must not leave a decided payment that nobody
// will ever be told about. It reports whether this call made the decision.
func (s *Service) decideAction(ctx context.Context, p *paymentRow, o outcome) (bool, error) {
	changed := false
	err := s.db.tx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if changed, err = s.transitionIn(ctx, tx, p.ID, statusRequiresAction, o); err != nil || !changed || p.WebhookURL == "" {
			return err
		}
		return s.scheduleIn(ctx, tx, notificationRow{PaymentID: p.ID, DueAt: s.utcNow()})
	})
	return changed, err
}

func acsFor(p *paymentRow) acsData {
	d := acsData{Amount: p.Currency + " " + fixedAmount(p.Amount, p.Currency)}
	switch p.ActionPage {
	case pageBank:
		name := catalogName(pay.MethodNB, p.Method, "your bank")
		d.Heading, d.Detail = "Sandbox Netbanking — "+name, "Pay from your account at "+name
	case pageWallet:
		name := catalogName(pay.MethodWallet, p.Method, "your wallet")
		d.Heading, d.Detail = "Sandbox Wallet — "+name, "Pay from your "+name+" balance"
	default:
		d.Heading = "Sandbox 3-D Secure"
		if p.CardLast4 != "" {
			d.Detail = "Card ending " + p.CardLast4
		}
	}
	switch p.Status {
	case statusRequiresAction:
		d.Awaiting = true
	case statusSucceeded:
		d.Outcome = "This payment was approved."
	default:
		d.Outcome = "This payment was not approved: " + p.Message + "."
	}
	if !d.Awaiting && p.ReturnURL != "" {
		d.ReturnURL = withPaymentID(p.ReturnURL, p.ID)
	}
	return d
}

func catalogName(methodType, code, fallback string) string {
	for _, m := range pay.Catalog {
		if m.Type == methodType && m.Code == code {
			return m.Description
		}
	}
	if code != "" {
		return code
	}
	return fallback
}

// renderACS writes the page with a strict CSP: nothing external, no script,
// the one inline style by nonce. It sets no form-action: browsers apply it to
// every redirect that follows the form post, and the chain ends wherever the
// merchant's return URL points, which a gateway cannot know. Any page may
// frame it, as issuers' challenge pages allow: the hosted checkout runs in
// merchants' iframes, and the challenge happens inside that frame.
func (s *Service) renderACS(w http.ResponseWriter, r *http.Request, status int, d acsData) {
	d.Nonce = pay.RandomHex(16)
	var buf bytes.Buffer
	if err := s.acs.Execute(&buf, d); err != nil {
		s.log.Error("sandbox: rendering ACS page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+d.Nonce+"'; base-uri 'none'; frame-ancestors *")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// withPaymentID appends payment_id to a URL's query, leaving what is there
// untouched.
func withPaymentID(raw, id string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	add := "payment_id=" + url.QueryEscape(id)
	if u.RawQuery == "" {
		u.RawQuery = add
	} else {
		u.RawQuery += "&" + add
	}
	return u.String()
}
