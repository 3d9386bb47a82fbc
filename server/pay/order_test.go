package pay_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"switchyard/server/pay"
)

var now = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

// shopMerchant is a merchant as NewOrder sees it.
func shopMerchant() *pay.Merchant {
	return &pay.Merchant{
		ID: "shop", Name: "Shop", PaymentRedirectURL: "https://merchant.example.com/payment/done",
		AllowedReturnHosts: []string{"shop.example.com", "*.example.org"},
		DefaultCurrency:    "INR", OrderTimeout: 30 * time.Minute,
	}
}

// validInput is an order input NewOrder accepts; cases change one thing.
func validInput() pay.OrderInput {
	return pay.OrderInput{
		OrderID: "ord_1", Amount: "100.15", Currency: "INR",
		CustomerID: "cust-1", CustomerEmail: "asha@example.com", CustomerPhone: "9876543210",
		ReturnURL: "https://shop.example.com/return",
	}
}

func TestNewOrder(t *testing.T) {
	o, err := pay.NewOrder(shopMerchant(), validInput(), now)
	if err != nil {
		t.Fatalf("NewOrder: %v", err)
	}
	if !strings.HasPrefix(o.ID, "ordeh_") || len(o.ID) != len("ordeh_")+32 {
		t.Errorf("ID = %q, want ordeh_ + 32 hex", o.ID)
	}
	if o.MerchantID != "shop" || o.OrderID != "ord_1" || o.Status != pay.StatusNew || o.Version != 1 {
		t.Errorf("order = %+v", o)
	}
	if o.Amount != (pay.Money{Amount: 10015, Currency: "INR"}) {
		t.Errorf("Amount = %+v, want 10015 INR", o.Amount)
	}
	if !o.CreatedAt.Equal(now) || !o.UpdatedAt.Equal(now) || !o.ExpiresAt.Equal(now.Add(30*time.Minute)) {
		t.Errorf("times: created %v updated %v expires %v", o.CreatedAt, o.UpdatedAt, o.ExpiresAt)
	}
	if o.Metadata == nil || o.Details == nil {
		t.Error("Metadata and Details must be non-nil maps")
	}
	if o.Expired(now.Add(29*time.Minute)) || !o.Expired(now.Add(30*time.Minute)) {
		t.Error("an order expires exactly at ExpiresAt")
	}

	// The currency defaults to the merchant's and is case-insensitive.
	in := validInput()
	in.Currency = ""
	if o, err := pay.NewOrder(shopMerchant(), in, now); err != nil || o.Amount.Currency != "INR" {
		t.Errorf("no currency: %v, %v; want the merchant's INR", o, err)
	}
	in.Currency, in.Amount = "jpy", "100"
	if o, err := pay.NewOrder(shopMerchant(), in, now); err != nil || o.Amount != (pay.Money{Amount: 100, Currency: "JPY"}) {
		t.Errorf("currency jpy: %v, %v; want 100 JPY", o, err)
	}
}

func TestNewOrderValidation(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name   string
		change func(in *pay.OrderInput)
		// want lists the fields named, in order; nil means accepted.
		want []string
	}{
		{"OK", func(in *pay.OrderInput) {}, nil},
		{"OK/order_id of 64 characters", func(in *pay.OrderInput) { in.OrderID = long(64) }, nil},
		{"OK/order_id with every allowed symbol", func(in *pay.OrderInput) { in.OrderID = "A-z_0.9:x" }, nil},
		{"OK/no customer details", func(in *pay.OrderInput) {
			in.CustomerID, in.CustomerEmail, in.CustomerPhone = "", "", ""
		}, nil},
		{"OK/phone with +", func(in *pay.OrderInput) { in.CustomerPhone = "+919876543210" }, nil},
		{"OK/no return_url", func(in *pay.OrderInput) { in.ReturnURL = "" }, nil},
		{"OK/return_url host with a port", func(in *pay.OrderInput) { in.ReturnURL = "https://shop.example.com:8443/r" }, nil},
		{"OK/return_url host in another case", func(in *pay.OrderInput) { in.ReturnURL = "https://SHOP.Example.com/r" }, nil},
		{"OK/return_url over http", func(in *pay.OrderInput) { in.ReturnURL = "http://shop.example.com/r" }, nil},
		{"OK/return_url under a wildcard host", func(in *pay.OrderInput) { in.ReturnURL = "https://a.b.example.org/r" }, nil},
		{"OK/return_url on the Payment Redirect URL's host", func(in *pay.OrderInput) {
			in.ReturnURL = "https://merchant.example.com/elsewhere"
		}, nil},
		{"OK/udf of 255", func(in *pay.OrderInput) { in.UDF[9] = long(255) }, nil},
		{"OK/metadata", func(in *pay.OrderInput) {
			in.Metadata = map[string]string{"JUSPAY:gateway_reference_id": "acct_1"}
		}, nil},

		{"ErrOrderIDMissing", func(in *pay.OrderInput) { in.OrderID = "" }, []string{"order_id"}},
		{"ErrOrderID65", func(in *pay.OrderInput) { in.OrderID = long(65) }, []string{"order_id"}},
		{"ErrOrderIDSpace", func(in *pay.OrderInput) { in.OrderID = "ord 1" }, []string{"order_id"}},
		{"ErrOrderIDSlash", func(in *pay.OrderInput) { in.OrderID = "ord/1" }, []string{"order_id"}},
		{"ErrOrderIDNonASCII", func(in *pay.OrderInput) { in.OrderID = "ordé" }, []string{"order_id"}},
		{"ErrOrderIDNewline", func(in *pay.OrderInput) { in.OrderID = "ord1\n" }, []string{"order_id"}},
		{"ErrAmount", func(in *pay.OrderInput) { in.Amount = "100.153" }, []string{"amount"}},
		{"ErrAmountMissing", func(in *pay.OrderInput) { in.Amount = "" }, []string{"amount"}},
		{"ErrAmountZero", func(in *pay.OrderInput) { in.Amount = "0" }, []string{"amount"}},
		{"ErrCurrency", func(in *pay.OrderInput) { in.Currency = "XYZ" }, []string{"currency"}},
		{"ErrEmail", func(in *pay.OrderInput) { in.CustomerEmail = "not-an-email" }, []string{"customer_email"}},
		{"ErrEmailWithName", func(in *pay.OrderInput) { in.CustomerEmail = "Asha <asha@example.com>" }, []string{"customer_email"}},
		{"ErrEmailTooLong", func(in *pay.OrderInput) { in.CustomerEmail = long(250) + "@example.com" }, []string{"customer_email"}},
		{"ErrPhoneShort", func(in *pay.OrderInput) { in.CustomerPhone = "12345" }, []string{"customer_phone"}},
		{"ErrPhoneLetters", func(in *pay.OrderInput) { in.CustomerPhone = "98765abcde" }, []string{"customer_phone"}},
		{"ErrPhoneLong", func(in *pay.OrderInput) { in.CustomerPhone = "1234567890123456" }, []string{"customer_phone"}},
		{"ErrCustomerIDLong", func(in *pay.OrderInput) { in.CustomerID = long(65) }, []string{"customer_id"}},
		{"ErrReturnURLScheme", func(in *pay.OrderInput) { in.ReturnURL = "ftp://shop.example.com/r" }, []string{"return_url"}},
		{"ErrReturnURLJavascript", func(in *pay.OrderInput) { in.ReturnURL = "javascript:alert(1)" }, []string{"return_url"}},
		{"ErrReturnURLRelative", func(in *pay.OrderInput) { in.ReturnURL = "/return" }, []string{"return_url"}},
		{"ErrReturnURLSchemeRelative", func(in *pay.OrderInput) { in.ReturnURL = "//evil.example.net/r" }, []string{"return_url"}},
		{"ErrReturnURLHost", func(in *pay.OrderInput) { in.ReturnURL = "https://evil.example.net/r" }, []string{"return_url"}},
		{"ErrReturnURLHostSuffix", func(in *pay.OrderInput) { in.ReturnURL = "https://evilshop.example.com/r" }, []string{"return_url"}},
		{"ErrReturnURLHostAsSubdomain", func(in *pay.OrderInput) {
			in.ReturnURL = "https://shop.example.com.evil.net/r"
		}, []string{"return_url"}},
		{"ErrReturnURLWildcardApex", func(in *pay.OrderInput) { in.ReturnURL = "https://example.org/r" }, []string{"return_url"}},
		{"ErrReturnURLCredentials", func(in *pay.OrderInput) {
			in.ReturnURL = "https://shop.example.com@evil.example.net/r"
		}, []string{"return_url"}},
		{"ErrReturnURLTooLong", func(in *pay.OrderInput) {
			in.ReturnURL = "https://shop.example.com/" + long(2048)
		}, []string{"return_url"}},
		{"ErrUDF1", func(in *pay.OrderInput) { in.UDF[0] = long(256) }, []string{"udf1"}},
		{"ErrUDF10", func(in *pay.OrderInput) { in.UDF[9] = long(256) }, []string{"udf10"}},
		{"ErrProductID", func(in *pay.OrderInput) { in.ProductID = long(256) }, []string{"product_id"}},
		{"ErrDescription", func(in *pay.OrderInput) { in.Description = long(1025) }, []string{"description"}},
		{"ErrMetadataValue", func(in *pay.OrderInput) {
			in.Metadata = map[string]string{"k": long(1025)}
		}, []string{"metadata.k"}},
		{"ErrDetail", func(in *pay.OrderInput) {
			in.Details = map[string]string{"billing_address_city": long(256)}
		}, []string{"billing_address_city"}},
		{"ErrEverythingAtOnce", func(in *pay.OrderInput) {
			in.OrderID, in.Amount, in.CustomerEmail, in.CustomerPhone, in.ReturnURL, in.UDF[4] =
				"bad id", "-1", "x", "1", "https://evil.example.net/", long(256)
		}, []string{"order_id", "amount", "customer_email", "customer_phone", "return_url", "udf5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validInput()
			tt.change(&in)
			o, err := pay.NewOrder(shopMerchant(), in, now)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("NewOrder: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("NewOrder accepted the input; want an error naming %q", tt.want)
			}
			if o != nil {
				t.Errorf("NewOrder returned an order with its error")
			}
			if got := fieldsOf(t, err); !slices.Equal(got, tt.want) {
				t.Errorf("fields = %q, want %q (error %v)", got, tt.want, err)
			}
		})
	}
}

func TestValidOrderID(t *testing.T) {
	for id, want := range map[string]bool{
		"a": true, "ORD-1": true, "ord_1.2:3": true, strings.Repeat("x", 64): true,
		"": false, strings.Repeat("x", 65): false, "a b": false, "a/b": false, "a?b": false, "a#b": false,
		"a%20b": false, "ä": false,
	} {
		if got := pay.ValidOrderID(id); got != want {
			t.Errorf("ValidOrderID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestOrderUpdateApply(t *testing.T) {
	fresh := func() *pay.Order {
		o, err := pay.NewOrder(shopMerchant(), validInput(), now)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	later := now.Add(time.Minute)
	udf := func(s string) *string { return &s }

	t.Run("OK", func(t *testing.T) {
		o := fresh()
		o.UDF[1] = "kept"
		u := pay.OrderUpdate{Amount: "90.00"}
		u.UDF[0] = udf("new")
		u.UDF[2] = udf("")
		if err := u.Apply(o, later); err != nil {
			t.Fatal(err)
		}
		if o.Amount.Amount != 9000 || o.UDF[0] != "new" || o.UDF[1] != "kept" || o.UDF[2] != "" || !o.UpdatedAt.Equal(later) {
			t.Errorf("after update: amount %d udf %q updated %v", o.Amount.Amount, o.UDF[:3], o.UpdatedAt)
		}
	})
	t.Run("OK/empty amount keeps it", func(t *testing.T) {
		o := fresh()
		if err := (pay.OrderUpdate{}).Apply(o, later); err != nil || o.Amount.Amount != 10015 {
			t.Errorf("Apply = %v, amount %d", err, o.Amount.Amount)
		}
	})
	t.Run("ErrAmount", func(t *testing.T) {
		o := fresh()
		err := pay.OrderUpdate{Amount: "1.001"}.Apply(o, later)
		if got := fieldsOf(t, err); !slices.Equal(got, []string{"amount"}) {
			t.Errorf("fields = %q", got)
		}
	})
	t.Run("ErrUDF", func(t *testing.T) {
		o := fresh()
		var u pay.OrderUpdate
		u.UDF[6] = udf(strings.Repeat("a", 256))
		if got := fieldsOf(t, u.Apply(o, later)); !slices.Equal(got, []string{"udf7"}) {
			t.Errorf("fields = %q", got)
		}
	})
	t.Run("ErrNotNew", func(t *testing.T) {
		for _, change := range []func(o *pay.Order){
			func(o *pay.Order) { o.Status = pay.StatusCharged },
			func(o *pay.Order) { o.Status = pay.StatusPendingVBV },
			func(o *pay.Order) { o.TxnCount = 1 },
		} {
			o := fresh()
			change(o)
			err := pay.OrderUpdate{Amount: "1"}.Apply(o, later)
			if pay.ErrorCode(err) != pay.ECONFLICT {
				t.Errorf("status %s, %d txns: Apply = %v, want ECONFLICT", o.Status, o.TxnCount, err)
			}
			if o.Amount.Amount != 10015 {
				t.Errorf("a refused update changed the amount to %d", o.Amount.Amount)
			}
		}
	})
}

func TestCustomerValidate(t *testing.T) {
	tests := []struct {
		name string
		c    pay.Customer
		want []string
	}{
		{"OK", pay.Customer{ObjectReferenceID: "c1", MobileNumber: "9876543210", MobileCountryCode: "+91",
			EmailAddress: "a@example.com", FirstName: "A", LastName: "B"}, nil},
		{"OK/only the reference", pay.Customer{ObjectReferenceID: "c1"}, nil},
		{"ErrNoReference", pay.Customer{}, []string{"object_reference_id"}},
		{"ErrLongReference", pay.Customer{ObjectReferenceID: strings.Repeat("c", 65)}, []string{"object_reference_id"}},
		{"ErrMobile", pay.Customer{ObjectReferenceID: "c1", MobileNumber: "12"}, []string{"mobile_number"}},
		{"ErrCountryCode", pay.Customer{ObjectReferenceID: "c1", MobileCountryCode: "91919"}, []string{"mobile_country_code"}},
		{"ErrEmail", pay.Customer{ObjectReferenceID: "c1", EmailAddress: "nope"}, []string{"email_address"}},
		// email_address is a VARCHAR(254) column, as an email address is at
		// most 254 characters (RFC 5321); longer ones must be refused here,
		// not by the database.
		{"ErrEmailTooLong", pay.Customer{ObjectReferenceID: "c1",
			EmailAddress: strings.Repeat("a", 250) + "@example.com"}, []string{"email_address"}},
		{"ErrFirstName", pay.Customer{ObjectReferenceID: "c1", FirstName: strings.Repeat("f", 256)}, []string{"first_name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted the customer; want an error naming %q", tt.want)
			}
			if got := fieldsOf(t, err); !slices.Equal(got, tt.want) {
				t.Errorf("fields = %q, want %q", got, tt.want)
			}
		})
	}
}
