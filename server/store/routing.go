package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// SaveRoutingSnapshot stores this process's routing estimates. Each replica
// learns from the outcomes it sees; the last one to save wins, which is
// enough to start warm after a restart.
func (db *DB) SaveRoutingSnapshot(ctx context.Context, body []byte) error {
	now := db.Now()
	_, err := db.db.ExecContext(ctx, `
		INSERT INTO routing_snapshots (id, body, updated_at) VALUES ('estimates', ?, ?)
		ON DUPLICATE KEY UPDATE body = VALUES(body), updated_at = VALUES(updated_at)`, string(body), now)
	if err != nil {
		return fmt.Errorf("store.SaveRoutingSnapshot: %w", err)
	}
	return nil
}

// RoutingSnapshot returns the saved routing estimates, or nil.
func (db *DB) RoutingSnapshot(ctx context.Context) ([]byte, error) {
	var body string
	err := db.db.GetContext(ctx, &body, `SELECT body FROM routing_snapshots WHERE id = 'estimates'`)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store.RoutingSnapshot: %w", err)
	}
	return []byte(body), nil
}
