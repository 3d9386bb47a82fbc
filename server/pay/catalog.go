package pay

// PaymentMethod is one concrete instrument of a payment method type: a card
// brand, a netbanking bank, a wallet, or UPI itself.
type PaymentMethod struct {
	Type        string
	Code        string
	Description string
}

// Catalog lists the instruments Switchyard knows, by type, in display order.
// Codes follow Juspay's (VISA, NB_HDFC, PAYTM, UPI).
var Catalog = []PaymentMethod{
	{MethodCard, "VISA", "Visa"},
	{MethodCard, "MASTERCARD", "Mastercard"},
	{MethodCard, "AMEX", "American Express"},
	{MethodCard, "RUPAY", "RuPay"},
	{MethodCard, "DINERS", "Diners Club"},
	{MethodCard, "DISCOVER", "Discover"},
	{MethodCard, "JCB", "JCB"},
	{MethodCard, "MAESTRO", "Maestro"},
	{MethodUPI, "UPI", "Pay with UPI"},
	{MethodNB, "NB_HDFC", "HDFC Bank"},
	{MethodNB, "NB_ICICI", "ICICI Bank"},
	{MethodNB, "NB_SBI", "State Bank of India"},
	{MethodNB, "NB_AXIS", "Axis Bank"},
	{MethodNB, "NB_KOTAK", "Kotak Mahindra Bank"},
	{MethodNB, "NB_YESB", "Yes Bank"},
	{MethodWallet, "PAYTM", "Paytm"},
	{MethodWallet, "PHONEPE", "PhonePe"},
	{MethodWallet, "AMAZONPAY", "Amazon Pay"},
	{MethodWallet, "MOBIKWIK", "MobiKwik"},
}
