package sandbox

import (
	"context"
	"net/http"
	"time"

	"github.com/jmoiron/sqlx"

	"switchyard/server/pay"
)

type refundRow struct {
	ID          string `db:"id"`
	Processor   string `db:"processor"`
	RefundID    string `db:"refund_id"`
	PaymentID   string `db:"payment_id"`
	TxnID       string `db:"txn_id"`
	Amount      int64  `db:"amount"`
	Currency    string `db:"currency"`
	Status      string `db:"status"`
	DeclineCode string `db:"decline_code"`
	Message     string `db:"message"`
}

const refundColumns = `id, processor, refund_id, payment_id, txn_id, amount, currency, status, decline_code, message`

func (r *refundRow) wire() refundResponse {
	return refundResponse{ID: r.ID, RefundID: r.RefundID, TxnID: r.TxnID, PaymentID: r.PaymentID,
		Amount: r.Amount, Currency: r.Currency, Status: r.Status, DeclineCode: r.DeclineCode, Message: r.Message}
}

func (s *Service) refundByID(ctx context.Context, processor, refundID string) (refundRow, error) {
	var r refundRow
	err := s.db.get(ctx, &r, `SELECT `+refundColumns+` FROM sandbox_refunds WHERE processor = ? AND refund_id = ?`, processor, refundID)
	return r, err
}

// createRefund refunds part or all of a succeeded payment.
//
// The refund row is inserted first, as "processing": its unique
// (processor, refund_id) makes a repeated refund_id return the first refund
// instead of refunding twice. The amount is then reserved on the payment row
// by one compare-and-set UPDATE (amount_refunded + amount <= amount), which
// row-locks the payment on MySQL, so concurrent refunds can never add up to
// more than was charged. The refund row is then finalised. The three
// statements are one transaction: a process that dies in between leaves no
// refund at all (a status query then answers "not found", and the client
// may send it again), never one "processing" forever nor a reservation
// without its refund.
func (s *Service) createRefund(w http.ResponseWriter, r *http.Request) {
	proc, ok := s.gate(w, r)
	if !ok {
		return
	}
	var req refundRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	var f []fieldError
	if !validID(req.RefundID) {
		f = append(f, fieldError{"refund_id", "is required: 1-160 printable characters without spaces or '/'"})
	}
	if !validID(req.TxnID) {
		f = append(f, fieldError{"txn_id", "is required"})
	}
	if req.Amount <= 0 {
		f = append(f, fieldError{"amount", "must be a positive integer in minor units"})
	}
	if req.Currency != "" {
		if _, ok := pay.CurrencyExponent(req.Currency); !ok {
			f = append(f, fieldError{"currency", "must be an ISO 4217 currency code"})
		}
	}
	if len(f) > 0 {
		writeFields(w, f)
		return
	}
	if !s.await(w, r, &proc) {
		return
	}
	ctx, cancel := processing(r)
	defer cancel()
	if existing, err := s.refundByID(ctx, proc.Name, req.RefundID); err == nil {
		s.replayRefund(w, r, proc, &existing, &req)
		return
	} else if !isNoRows(err) {
		s.internalError(w, r, err)
		return
	}
	p, err := s.paymentByTxn(ctx, proc.Name, req.TxnID)
	if isNoRows(err) {
		writeError(w, http.StatusNotFound, codePaymentNotFound, "no payment with this txn_id on processor "+proc.Name)
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if req.Currency != "" && req.Currency != p.Currency {
		writeFields(w, []fieldError{{"currency", "must be the payment's currency, " + p.Currency}})
		return
	}

	now := s.utcNow()
	ref := refundRow{ID: "rfd_" + pay.RandomHex(12), Processor: proc.Name, RefundID: req.RefundID,
		PaymentID: p.ID, TxnID: p.TxnID, Amount: req.Amount, Currency: p.Currency,
		Status: refundProcessing, Message: "Refund processing"}
	err = s.db.tx(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sandbox_refunds (`+refundColumns+`, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			ref.ID, ref.Processor, ref.RefundID, ref.PaymentID, ref.TxnID, ref.Amount, ref.Currency,
			ref.Status, ref.DeclineCode, ref.Message, now, now)
		if err != nil {
			return err
		}
		reserved := false
		if p.Status == statusSucceeded {
			res, err := tx.ExecContext(ctx, `UPDATE sandbox_payments SET amount_refunded = amount_refunded + ?, updated_at = ?
				WHERE id = ? AND status = ? AND amount_refunded + ? <= amount`,
				ref.Amount, now, p.ID, statusSucceeded, ref.Amount)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			reserved = n > 0
		}
		switch {
		case reserved:
			ref.Status, ref.Message = refundSucceeded, "Refund succeeded"
		case p.Status != statusSucceeded:
			ref.Status, ref.DeclineCode, ref.Message = refundFailed, codePaymentNotCharged, "The payment was not charged"
		default:
			ref.Status, ref.DeclineCode, ref.Message = refundFailed, codeAmountExceedsRefundable,
				"The refund exceeds what is left to refund of the payment"
		}
		_, err = tx.ExecContext(ctx, `UPDATE sandbox_refunds SET status = ?, decline_code = ?, message = ?, updated_at = ?
			WHERE id = ? AND status = ?`, ref.Status, ref.DeclineCode, ref.Message, s.utcNow(), ref.ID, refundProcessing)
		return err
	})
	if isDuplicate(err) {
		// A concurrent request with the same refund_id won.
		existing, err := s.refundByID(ctx, proc.Name, req.RefundID)
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		s.replayRefund(w, r, proc, &existing, &req)
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	s.log.Info("sandbox: refund processed", "processor", proc.Name, "txn_id", ref.TxnID, "refund_id", ref.RefundID,
		"amount", ref.Amount, "status", ref.Status, "decline_code", ref.DeclineCode)
	if proc.Timeout {
		s.hold(r)
		return
	}
	writeJSON(w, http.StatusCreated, ref.wire())
}

// replayRefund answers a repeated refund_id with the refund as it is now,
// once a concurrent first request has finished with it.
func (s *Service) replayRefund(w http.ResponseWriter, r *http.Request, proc processorRow, ref *refundRow, req *refundRequest) {
	if ref.TxnID != req.TxnID || ref.Amount != req.Amount {
		writeError(w, http.StatusConflict, codeIdempotencyMismatch,
			"refund_id "+req.RefundID+" was already used for a different txn_id or amount")
		return
	}
	for i := 0; ref.Status == refundProcessing && i < 40; i++ {
		if !s.sleep(r.Context(), 50*time.Millisecond) {
			break
		}
		again, err := s.refundByID(r.Context(), proc.Name, ref.RefundID)
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		*ref = again
	}
	if proc.Timeout {
		s.hold(r)
		return
	}
	writeJSON(w, http.StatusOK, ref.wire())
}

func (s *Service) getRefund(w http.ResponseWriter, r *http.Request) {
	proc, ok := s.gate(w, r)
	if !ok || !s.await(w, r, &proc) {
		return
	}
	ref, err := s.refundByID(r.Context(), proc.Name, r.PathValue("refund_id"))
	if isNoRows(err) {
		writeError(w, http.StatusNotFound, codeRefundNotFound, "no refund with this refund_id on processor "+proc.Name)
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ref.wire())
}
