package store_test

import (
	"context"
	"testing"
	"time"

	"switchyard/server/pay"
	"switchyard/server/store"
	"switchyard/server/storetest"
)

// A session is found until it expires, and not after logout.
func TestDashboardSessions(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	s := &store.DashboardSession{IDHash: "a1", MerchantID: "m", CSRFToken: "tok", ExpiresAt: now.Add(time.Hour)}
	if err := db.CreateDashboardSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	if got, err := db.DashboardSession(ctx, "a1"); err != nil || got.MerchantID != "m" || got.CSRFToken != "tok" {
		t.Fatalf("session: %+v, %v", got, err)
	}
	now = now.Add(time.Hour)
	if _, err := db.DashboardSession(ctx, "a1"); pay.ErrorCode(err) != pay.ENOTFOUND {
		t.Errorf("expired session: %v", err)
	}
	// A later login sweeps the expired row.
	if err := db.CreateDashboardSession(ctx, &store.DashboardSession{IDHash: "b2", MerchantID: "m", CSRFToken: "t2", ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM dashboard_sessions`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d sessions stored after the sweep (%v)", n, err)
	}
	if err := db.DeleteDashboardSession(ctx, "b2"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DashboardSession(ctx, "b2"); pay.ErrorCode(err) != pay.ENOTFOUND {
		t.Errorf("session after logout: %v", err)
	}
}

// The lockout policy: MaxFailures within Window lock the login for
// LockFor; older failures are forgotten; a lock restarts the count; a
// successful login clears it.
func TestDashboardLockout(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := start
	db.Now = func() time.Time { return now }
	p := store.Lockout{MaxFailures: 3, Window: 10 * time.Minute, LockFor: 15 * time.Minute}
	type step struct {
		at         time.Duration // since start
		fail       bool          // record a failure (else clear)
		wantLocked time.Duration // lock end since start after the step; 0: not locked
	}
	for _, c := range []struct {
		name  string
		steps []step
	}{
		{"three quick failures lock", []step{{0, true, 0}, {time.Minute, true, 0}, {2 * time.Minute, true, 17 * time.Minute}}},
		{"failures outside the window are forgotten", []step{{0, true, 0}, {time.Minute, true, 0}, {12 * time.Minute, true, 0}, {13 * time.Minute, true, 0}, {14 * time.Minute, true, 29 * time.Minute}}},
		{"a login in between clears the count", []step{{0, true, 0}, {time.Minute, true, 0}, {2 * time.Minute, false, 0}, {3 * time.Minute, true, 0}, {4 * time.Minute, true, 0}}},
		{"the lock ends; counting restarts", []step{{0, true, 0}, {0, true, 0}, {0, true, 15 * time.Minute}, {16 * time.Minute, true, 0}, {17 * time.Minute, true, 0}, {18 * time.Minute, true, 33 * time.Minute}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			login := "login_" + pay.RandomHex(4)
			for i, s := range c.steps {
				now = start.Add(s.at)
				if s.fail {
					if _, err := db.RecordDashboardLoginFailure(ctx, login, p); err != nil {
						t.Fatal(err)
					}
				} else if err := db.ClearDashboardLoginFailures(ctx, login); err != nil {
					t.Fatal(err)
				}
				until, err := db.DashboardLoginLockedUntil(ctx, login)
				if err != nil {
					t.Fatal(err)
				}
				want := time.Time{}
				if s.wantLocked != 0 {
					want = start.Add(s.wantLocked)
				}
				if !until.Equal(want) {
					t.Fatalf("step %d: locked until %v, want %v", i, until, want)
				}
			}
		})
	}
}
