package store

import (
	"context"
	"fmt"
	"time"

	"switchyard/server/pay"
)

type customerRow struct {
	ID                string    `db:"id"`
	MerchantID        string    `db:"merchant_id"`
	ObjectReferenceID string    `db:"object_reference_id"`
	MobileNumber      string    `db:"mobile_number"`
	MobileCountryCode string    `db:"mobile_country_code"`
	EmailAddress      string    `db:"email_address"`
	FirstName         string    `db:"first_name"`
	LastName          string    `db:"last_name"`
	CreatedAt         time.Time `db:"created_at"`
	UpdatedAt         time.Time `db:"updated_at"`
}

const customerColumns = `id, merchant_id, object_reference_id, mobile_number, mobile_country_code,
	email_address, first_name, last_name, created_at, updated_at`

func (r *customerRow) customer() *pay.Customer {
	return &pay.Customer{
		ID: r.ID, MerchantID: r.MerchantID, ObjectReferenceID: r.ObjectReferenceID,
		MobileNumber: r.MobileNumber, MobileCountryCode: r.MobileCountryCode, EmailAddress: r.EmailAddress,
		FirstName: r.FirstName, LastName: r.LastName, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

// CreateCustomer stores a customer. When the merchant already has one with
// the same object_reference_id, that one is returned if every given field
// matches (a retried create), and ECONFLICT otherwise.
func (db *DB) CreateCustomer(ctx context.Context, c *pay.Customer) (*pay.Customer, bool, error) {
	now := db.Now()
	c.ID, c.CreatedAt, c.UpdatedAt = pay.NewID("cst_"), now, now
	r := customerRow{
		ID: c.ID, MerchantID: c.MerchantID, ObjectReferenceID: c.ObjectReferenceID,
		MobileNumber: c.MobileNumber, MobileCountryCode: c.MobileCountryCode, EmailAddress: c.EmailAddress,
		FirstName: c.FirstName, LastName: c.LastName, CreatedAt: now, UpdatedAt: now,
	}
	_, err := db.db.NamedExecContext(ctx, `
		INSERT INTO customers (`+customerColumns+`)
		VALUES (:id, :merchant_id, :object_reference_id, :mobile_number, :mobile_country_code,
			:email_address, :first_name, :last_name, :created_at, :updated_at)`, &r)
	if err == nil {
		return c, true, nil
	}
	if !isDuplicate(err) {
		return nil, false, fmt.Errorf("store.CreateCustomer(%s): %w", c.MerchantID, err)
	}
	existing, err := db.Customer(ctx, c.MerchantID, c.ObjectReferenceID)
	if err != nil {
		return nil, false, err
	}
	if existing.MobileNumber != c.MobileNumber || existing.EmailAddress != c.EmailAddress ||
		existing.FirstName != c.FirstName || existing.LastName != c.LastName ||
		existing.MobileCountryCode != c.MobileCountryCode {
		return nil, false, pay.Errorf(pay.ECONFLICT, "customer with object_reference_id %q already exists with other details", c.ObjectReferenceID)
	}
	return existing, false, nil
}

// Customer returns a merchant's customer by Switchyard id ("cst_…") or by the
// merchant's object_reference_id, or ENOTFOUND.
func (db *DB) Customer(ctx context.Context, merchantID, id string) (*pay.Customer, error) {
	var r customerRow
	err := db.db.GetContext(ctx, &r, `
		SELECT `+customerColumns+` FROM customers
		WHERE merchant_id = ? AND (id = ? OR object_reference_id = ?)
		ORDER BY id = ? DESC LIMIT 1`, merchantID, id, id, id)
	if err != nil {
		return nil, notFound(err, "customer not found")
	}
	return r.customer(), nil
}
