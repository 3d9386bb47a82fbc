// Package e2e holds Switchyard's black-box tests: they boot the real server
// (server/app, or the built switchyard binary) on a free loopback port and
// drive it over HTTP only.
//
// The database comes from storetest: the embedded engine by default, or a
// fresh database on the MySQL/MariaDB server named by
// SWITCHYARD_TEST_DATABASE_URL. `make e2e` runs these tests; `make bench`
// runs their benchmarks too.
package e2e
