package pay

// Status is an order or transaction status, named as Juspay names them.
type Status string

// Statuses and their Juspay status ids (reference §5).
const (
	StatusNew                  Status = "NEW"
	StatusStarted              Status = "STARTED"
	StatusCharged              Status = "CHARGED"
	StatusJuspayDeclined       Status = "JUSPAY_DECLINED"
	StatusPendingVBV           Status = "PENDING_VBV"
	StatusVBVSuccessful        Status = "VBV_SUCCESSFUL"
	StatusAuthorized           Status = "AUTHORIZED"
	StatusAuthenticationFailed Status = "AUTHENTICATION_FAILED"
	StatusAuthorizationFailed  Status = "AUTHORIZATION_FAILED"
	StatusAuthorizing          Status = "AUTHORIZING"
	StatusCODInitiated         Status = "COD_INITIATED"
	StatusVoided               Status = "VOIDED"
	StatusVoidInitiated        Status = "VOID_INITIATED"
	StatusCaptureInitiated     Status = "CAPTURE_INITIATED"
	StatusCaptureFailed        Status = "CAPTURE_FAILED"
	StatusVoidFailed           Status = "VOID_FAILED"
	StatusAutoRefunded         Status = "AUTO_REFUNDED"
	StatusNotFound             Status = "NOT_FOUND"
)

var statusIDs = map[Status]int{
	StatusNew: 10, StatusStarted: 20, StatusCharged: 21, StatusJuspayDeclined: 22, StatusPendingVBV: 23,
	StatusVBVSuccessful: 24, StatusAuthorized: 25, StatusAuthenticationFailed: 26,
	StatusAuthorizationFailed: 27, StatusAuthorizing: 28, StatusCODInitiated: 29, StatusVoided: 31,
	StatusVoidInitiated: 32, StatusCaptureInitiated: 33, StatusCaptureFailed: 34, StatusVoidFailed: 35,
	StatusAutoRefunded: 36, StatusNotFound: 40,
}

// ID returns Juspay's numeric status_id, or 0 for an unknown status.
func (s Status) ID() int { return statusIDs[s] }

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool { _, ok := statusIDs[s]; return ok }
