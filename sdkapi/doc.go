// Package sdkapi is Switchyard's SDK API (/sdk/v1): what the hosted payment
// page's JavaScript, the merchant-embeddable web SDK (web/switchyard.js) and
// app SDKs speak to take one payment for one order. wire.go holds every JSON
// shape as a Go struct and imports nothing; this comment is the contract.
//
// # Authentication
//
// Every call carries the order's client auth token, which the merchant's
// server obtained from POST /session (sdk_payload.payload.clientAuthToken)
// or POST /orders with options.get_client_auth_token=true
// (juspay.client_auth_token), and handed to the shopper's browser or app:
//
//	Authorization: Bearer <client auth token>
//
// A token grants access to exactly one order, for 15 minutes. A missing,
// malformed, tampered or expired token is answered 401 with
// WWW-Authenticate: Bearer. Tokens never go in URLs: URLs end up in logs,
// browser history and Referer headers.
//
// # CORS
//
// The HTTP endpoints answer any origin (Access-Control-Allow-Origin: *,
// preflight allowing Authorization and Content-Type), so app webviews and
// merchant pages embedding the web SDK can call them. This is safe because
// only the bearer token authenticates: no cookies are used or allowed
// (Access-Control-Allow-Credentials is never sent), so a foreign page can do
// nothing without a token it was given. The websocket is stricter, see below.
//
// # Endpoints
//
// GET /sdk/v1/session → 200 Session: the order (amount as a decimal string
// in major units with the currency's decimals, "100.00"), the payment
// methods the shopper can use for it, grouped by type (CARD, UPI, NB,
// WALLET, each listing its instruments: VISA, NB_HDFC, PAYTM, UPI, ...; only
// types the merchant enabled and one of its gateways supports in the
// order's currency), and the websocket URL and subprotocol.
//
// POST /sdk/v1/txns with a TxnRequest (JSON, or form-encoded with the same
// Juspay field names) starts a payment attempt. The amount is always the
// order's: a body with any amount field is refused (400, field "amount").
// When a txn was created the answer is 200 TxnResponse, whatever happened
// to it; act on next.kind:
//
//   - "redirect": go to next.url; for method POST submit an HTML form of
//     next.params (3-D Secure, bank or wallet page). The shopper comes back
//     through Switchyard, which then sends them to the merchant.
//   - "wait": the outcome arrives elsewhere (UPI collect: the shopper
//     approves in a UPI app; UPI intent: open next.intent_link). Show a
//     countdown and wait for the websocket push, or poll GET /sdk/v1/status.
//   - "done": the txn is final. status CHARGED is success: go to next.url
//     (the merchant's return URL with the signed result) when set, else
//     show success. A failure status (AUTHORIZATION_FAILED,
//     AUTHENTICATION_FAILED, JUSPAY_DECLINED) comes with error_message: show
//     it and let the shopper try again, on the same order, with the same
//     or another method.
//
// A request that creates no txn is a 4xx ErrorResponse: 400 invalid input
// (error_info.fields names each bad field: card_number, upi_vpa, amount,
// ...), 401 bad token, 409 the order is already paid, has expired, has an
// attempt still in progress, or reached 25 attempts.
//
// GET /sdk/v1/status → 200 StatusResponse: the order's status, the txn that
// decides it (txn_id, txn_status) and that txn's next action, the same
// object as in TxnResponse. With no attempt yet: status NEW, txn_id "",
// next null. Use it to resume a page (reload, app brought back) and as the
// fallback when the websocket is unavailable (poll every few seconds).
//
// Errors of every endpoint have the merchant API's shape (ErrorResponse):
//
//	{"status":"Bad Request","error_code":"invalid_request_error",
//	 "error_message":"amount: cannot be sent: the order's amount is charged",
//	 "error_info":{"request_id":"…","user_message":"…","developer_message":"…",
//	   "fields":[{"field_name":"amount","reason":"…"}],
//	   "code":"INVALID_INPUT","category":"USER_ERROR"}}
//
// # Live status: GET /sdk/v1/live (websocket)
//
// The URL is session.live.url: ws://host/sdk/v1/live, wss:// behind TLS.
// Offer the subprotocol "switchyard.v1" and authenticate with the client
// auth token in one of two ways:
//
//   - in the subprotocol list, after "switchyard.v1" (browsers:
//     new WebSocket(url, ["switchyard.v1", token])). The server answers
//     with "switchyard.v1" alone;
//   - or, as the first message, within 10 seconds:
//     {"type":"auth","token":"<client auth token>"}.
//
// A token in the URL's query string is never read. A bad, expired or late
// token, or a first message that is not an auth message, closes the socket
// with code 4401 (do not retry with the same token).
//
// Browsers send an Origin header; only pages on Switchyard's own origin
// (the hosted page) and origins the operator configured may connect, others
// get 403 before the upgrade. Native apps send no Origin and are allowed.
// A merchant page embedding the web SDK on an origin that is not configured
// polls GET /sdk/v1/status instead.
//
// Right after authentication the server sends the order's current status,
// then one message per change, each a complete snapshot (LiveStatus):
//
//	{"type":"order.status","order_id":"ord_42","status":"CHARGED",
//	 "status_id":21,"txn_id":"shop-ord_42-1","at":"2026-01-01T00:00:00Z"}
//
// order_id is the merchant's order id; txn_id is "" before any attempt.
// Keep the latest message. Client messages after the auth message are
// ignored.
//
// The server pings every 25 seconds; a client that answers no ping (and
// sends nothing) for 40 seconds is disconnected. Browsers and websocket
// libraries answer pings by themselves. A client that reads too slowly is
// dropped with 1013. The server closes with 1001 when it shuts down, and
// 1011 when it could not load the status.
//
// Reconnecting: after any close other than 4401, reconnect with backoff
// (e.g. 1 s doubling to 30 s, with jitter). Nothing is lost by
// reconnecting: the current status is the first message of every
// connection. While disconnected, GET /sdk/v1/status gives the same
// information. Once the order is final (CHARGED) the client may close.
//
// # Statuses
//
// Order and txn statuses are Juspay's, with Juspay's status_id:
//
//	NEW 10                    order created, no attempt yet
//	STARTED 20                attempt created, gateway not answered yet
//	PENDING_VBV 23            waiting for the shopper's authentication
//	AUTHORIZING 28            outcome pending (UPI approval, gateway decision)
//	VBV_SUCCESSFUL 24         authenticated, authorization pending
//	CHARGED 21                paid (final success)
//	AUTHENTICATION_FAILED 26  shopper failed or abandoned authentication
//	AUTHORIZATION_FAILED 27   declined by the bank or gateway
//	JUSPAY_DECLINED 22        refused before reaching a gateway
//	AUTO_REFUNDED 36          txn charged after another one; refunded
//
// An order takes the status of its most decisive txn: CHARGED if any txn
// is, else a txn in flight, else the latest failure, else NEW. After a
// failure the order stays payable until it expires (order.expires_at).
package sdkapi
