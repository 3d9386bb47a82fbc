package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/memory"
	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	gomysql "github.com/go-sql-driver/mysql"
	"github.com/sirupsen/logrus"
)

// Embedded is an in-memory go-mysql-server speaking the MySQL wire protocol
// on a loopback port: the zero-setup engine for demos and tests. Its data
// lives only as long as the process and is lost on Close.
//
// It is not MySQL where concurrency is concerned. There are no row locks:
// SELECT ... FOR UPDATE (and FOR UPDATE SKIP LOCKED) parse and lock nothing;
// NOWAIT and FOR SHARE don't parse. Transactions don't see each other's
// uncommitted writes, but they never conflict either: of two transactions
// that update the same row, or insert the same unique key, both commit and
// the later commit wins, with no 1062, 1205 or 1213; even concurrent
// autocommit statements on one table can lose writes. store.Open therefore
// gives this engine a single connection, serializing everything. Anything
// that depends on locking or on conflicts between transactions must be
// tested against a real server.
type Embedded struct {
	srv    *server.Server
	engine *sqle.Engine
	ln     *trackingListener
	dsn    string
	// served is closed when the accept loop has returned, after which no
	// new connection handler can start.
	served chan struct{}
	// handlers counts connection handler goroutines still running; Close
	// waits for it so nothing of the server outlives it.
	handlers sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// newEngineMu serialises sqle.New, which (re)initialises go-mysql-server's
// process-wide status variables without synchronisation: two engines created
// at once, as parallel tests do, race there. It guards go-mysql-server's
// global state, not ours, which is why it has to be package-level too.
var newEngineMu sync.Mutex

// StartEmbedded starts an in-memory MySQL-compatible server on 127.0.0.1 at a
// free port, with an empty database named dbName, and returns once it
// accepts connections. ctx bounds the start only; the server runs until
// Close.
//
// go-mysql-server logs every connection through logrus's standard logger,
// which it offers no way to replace, so StartEmbedded lowers that logger to
// the error level (never raises it). Per-query logs go to a discarded
// per-server logger instead, which touches no global state.
func StartEmbedded(ctx context.Context, dbName string) (*Embedded, error) {
	if dbName == "" {
		return nil, errors.New("store.StartEmbedded: empty database name")
	}
	if logrus.IsLevelEnabled(logrus.WarnLevel) {
		logrus.SetLevel(logrus.ErrorLevel)
	}

	db := memory.NewDatabase(dbName)
	// Without this the memory engine scans whole tables even for
	// primary-key lookups.
	db.EnablePrimaryKeyIndexes()
	pro := memory.NewDBProvider(db)
	pro.WithOption(memory.NativeIndexProvider(true))
	newEngineMu.Lock()
	engine := sqle.NewDefault(pro)
	newEngineMu.Unlock()

	quiet := logrus.New()
	quiet.SetOutput(io.Discard)
	quiet.SetLevel(logrus.PanicLevel)
	newSession := memory.NewSessionBuilder(pro)
	sessions := func(ctx context.Context, conn *mysql.Conn, addr string) (sql.Session, error) {
		s, err := newSession(ctx, conn, addr)
		if err != nil {
			return nil, err
		}
		// The session logger carries "error running query" warnings and
		// per-query debug lines; a failed INSERT is routine for us.
		s.SetLogger(logrus.NewEntry(quiet))
		return s, nil
	}

	var lc net.ListenConfig
	nl, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		engine.Close()
		return nil, fmt.Errorf("store.StartEmbedded: %w", err)
	}
	e := &Embedded{
		engine: engine,
		served: make(chan struct{}),
	}
	e.ln = &trackingListener{Listener: nl, handlers: &e.handlers, conns: map[*trackedConn]struct{}{}}
	cfg := server.Config{
		Protocol: "tcp",
		Address:  nl.Addr().String(),
		Listener: e.ln,
	}
	srv, err := server.NewServerWithHandler(cfg, engine, sql.NewContext, sessions, nil, trackHandler)
	if err != nil {
		nl.Close()
		engine.Close()
		return nil, fmt.Errorf("store.StartEmbedded: %w", err)
	}
	e.srv = srv
	go func() {
		defer close(e.served)
		srv.Start()
	}()

	port := nl.Addr().(*net.TCPAddr).Port
	dc := gomysql.NewConfig()
	dc.User = "root"
	dc.Net = "tcp"
	dc.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	dc.DBName = dbName
	e.dsn = dc.FormatDSN()
	return e, nil
}

// DSN returns the go-sql-driver/mysql DSN (user root, no password) of the
// embedded database, suitable for Open.
func (e *Embedded) DSN() string { return e.dsn }

// Close stops the server: it stops accepting, ends every open client
// connection, waits for their handlers to finish and shuts the engine down.
// Data is discarded. Close is safe to call more than once.
func (e *Embedded) Close() error {
	e.closeOnce.Do(func() {
		// Shuts the vitess listener, which closes our net.Listener and ends
		// the accept loop.
		e.srv.Close()
		<-e.served
		// The server leaves established connections open, and a client pool
		// would keep their handlers alive forever. Shutting the read side
		// first lets a handler finish the statement in hand and then see a
		// clean EOF; a hard close makes vitess log a read error per
		// connection.
		e.ln.shutdownConns(false)
		done := make(chan struct{})
		go func() {
			e.handlers.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(closeGrace):
			e.ln.shutdownConns(true)
			<-done
		}
		// Shutdown reports the cancellation it used to stop the engine's
		// background threads; that is success.
		if err := e.engine.Close(); err != nil && !errors.Is(err, context.Canceled) {
			e.closeErr = err
		}
	})
	return e.closeErr
}

// closeGrace is how long Close lets connection handlers wind down after
// their read side is shut before it cuts the sockets.
const closeGrace = 2 * time.Second

// trackingListener remembers the connections it hands to the server so Close
// can end them, and counts one running handler for each: vitess starts a
// handler goroutine per accepted connection, whose last act is closing it.
type trackingListener struct {
	net.Listener
	handlers *sync.WaitGroup

	mu     sync.Mutex
	closed bool
	conns  map[*trackedConn]struct{}
}

// Accept is only called from the accept loop, so every Add happens before
// Close's Wait (which waits for that loop to return first).
func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	l.handlers.Add(1)
	tc := &trackedConn{Conn: c, l: l}
	l.conns[tc] = struct{}{}
	return tc, nil
}

// shutdownConns stops the listener from handing out connections and shuts
// the read side of every open one, or closes it outright when hard is set.
func (l *trackingListener) shutdownConns(hard bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for c := range l.conns {
		if cr, ok := c.Conn.(interface{ CloseRead() error }); ok && !hard {
			cr.CloseRead()
			continue
		}
		c.Conn.Close()
	}
}

// trackedConn is a client connection as the server sees it. Its handler
// closes it as the very last thing it does, after ConnectionClosed; only
// that Close marks the handler done, not one from KILL or from Close's own
// shutdownConns.
type trackedConn struct {
	net.Conn
	l       *trackingListener
	handled atomic.Bool
	done    sync.Once
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.l.mu.Lock()
	delete(c.l.conns, c)
	c.l.mu.Unlock()
	if c.handled.Load() {
		c.done.Do(c.l.handlers.Done)
	}
	return err
}

// trackHandler wraps go-mysql-server's connection handler so the end of each
// connection's handler can be told apart from other closes of its socket.
func trackHandler(h mysql.Handler) (mysql.Handler, error) {
	sh, ok := h.(*server.Handler)
	if !ok {
		return nil, fmt.Errorf("unexpected go-mysql-server handler %T", h)
	}
	return connClosedHook{sh}, nil
}

// connClosedHook embeds *server.Handler so every optional handler interface
// vitess checks for (prepared statements, binlog) stays implemented.
type connClosedHook struct{ *server.Handler }

func (h connClosedHook) ConnectionClosed(c *mysql.Conn) {
	h.Handler.ConnectionClosed(c)
	// No TLS and no read/write timeouts are configured, so vitess keeps the
	// net.Conn our listener returned.
	if tc, ok := c.Conn.(*trackedConn); ok {
		tc.handled.Store(true)
	}
}
