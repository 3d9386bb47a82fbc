package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"switchyard/server/orchestrator"
	"switchyard/server/pay"
)

func refundRequest(p params) orchestrator.RefundRequest {
	return orchestrator.RefundRequest{UniqueRequestID: p["unique_request_id"], Amount: p["amount"], TxnID: p["txn_id"]}
}

// handleOrderRefund serves POST /orders/{order_id}/refunds: it answers with
// the order, whose refunds[] holds the new (or, for a repeated
// unique_request_id, the existing) refund.
func (s *Server) handleOrderRefund(c echo.Context) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	m := merchant(c)
	o, err := s.svc.Order(ctx, m, c.Param("order_id"))
	if err != nil {
		return err
	}
	if _, _, err := s.svc.Refund(ctx, m, o, refundRequest(p)); err != nil {
		return err
	}
	o, err = s.svc.Order(ctx, m, o.OrderID)
	if err != nil {
		return err
	}
	txns, err := s.svc.OrderTxns(ctx, o)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newOrderJSON(o, s.svc.Links(o), txns))
}

// handleRefund serves POST /refunds: a refund by txn_id or order_id,
// answered with the flat refund object.
func (s *Server) handleRefund(c echo.Context) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	m := merchant(c)
	var o *pay.Order
	switch {
	case p["txn_id"] != "":
		t, err := s.svc.TxnByTxnID(ctx, m, p["txn_id"])
		if err != nil {
			return err
		}
		if o, err = s.svc.OrderByID(ctx, t.OrderUUID); err != nil {
			return err
		}
	case p["order_id"] != "":
		if o, err = s.svc.Order(ctx, m, p["order_id"]); err != nil {
			return err
		}
	default:
		return pay.Invalid("txn_id", "txn_id or order_id is required")
	}
	_, r, err := s.svc.Refund(ctx, m, o, refundRequest(p))
	if err != nil {
		return err
	}
	txns, err := s.svc.OrderTxns(ctx, o)
	if err != nil {
		return err
	}
	t := txnByUUID(txns, r.TxnUUID)
	body := txnRefundJSON{
		UniqueRequestID: r.UniqueRequestID, OrderID: o.OrderID, Status: string(r.Status),
		SentToGateway: r.GatewayRef != "" || r.Status != pay.RefundPending, RefundType: "STANDARD",
		ReferenceID: nilIfEmpty(r.ID), InitiatedBy: r.InitiatedBy,
		ErrorCode: nilIfEmpty(r.ErrorCode), ErrorMessage: nilIfEmpty(r.ErrorMessage),
		EPGTxnID: nilIfEmpty(r.GatewayRef), Created: formatTime(r.CreatedAt),
		Amount: amountJSON(r.Amount.Amount, r.Amount.Currency),
	}
	if t != nil {
		body.TxnID, body.Gateway, body.RefundSource = t.TxnID, t.Gateway, t.Gateway
	}
	return c.JSON(http.StatusOK, body)
}
