package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"maps"
	"net"
	"sync"
)

// sqlProxy forwards the app's MySQL connections and counts the commands the
// client side sends, by kind, statement verb and owner (the sandbox's tables
// are sandbox_*; everything else is the orchestrator's). It reads only packet
// headers and the first bytes of commands; responses are copied through.
//
// MySQL protocol: every packet is a 3-byte little-endian length, a sequence
// number and a payload; a command is a packet with sequence 0 sent by the
// client after the handshake, its first byte the command code.
type sqlProxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	counts map[string]int64
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// MySQL command codes.
const (
	comQuit        = 0x01
	comQuery       = 0x03
	comPing        = 0x0e
	comStmtPrepare = 0x16
	comStmtExecute = 0x17
	comStmtClose   = 0x19
	comStmtReset   = 0x1a
)

func startSQLProxy(target string) (*sqlProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sql proxy: %w", err)
	}
	p := &sqlProxy{ln: ln, target: target, counts: map[string]int64{}, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.serve)
	return p, nil
}

func (p *sqlProxy) addr() string { return p.ln.Addr().String() }

func (p *sqlProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.handle(c) })
	}
}

func (p *sqlProxy) track(c net.Conn, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
}

// connState is what the proxy remembers of one connection: whether a
// transaction is open, and the statement last prepared (database/sql runs a
// statement with arguments as prepare, execute, close on one connection).
type connState struct {
	inTx      bool
	prepVerb  string
	prepOwner string
}

func (p *sqlProxy) handle(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	p.track(client, true)
	p.track(server, true)
	defer func() {
		client.Close()
		server.Close()
		p.track(client, false)
		p.track(server, false)
	}()
	go func() {
		io.Copy(client, server)
		client.Close()
	}()
	br := bufio.NewReaderSize(client, 64<<10)
	var st connState
	buf := make([]byte, 0, 4096)
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return
		}
		n := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
		buf = append(buf[:0], hdr[:]...)
		buf = append(buf, make([]byte, n)...)
		if _, err := io.ReadFull(br, buf[4:]); err != nil {
			return
		}
		if hdr[3] == 0 && n > 0 {
			p.count(&st, buf[4:])
		}
		if _, err := server.Write(buf); err != nil {
			return
		}
	}
}

// count records one command.
func (p *sqlProxy) count(st *connState, payload []byte) {
	var keys []string
	switch payload[0] {
	case comQuery:
		verb, owner := classify(payload[1:])
		keys = append(keys, "query "+verb+" "+owner)
		switch verb {
		case "START", "BEGIN":
			st.inTx = true
		case "COMMIT":
			st.inTx = false
			keys = append(keys, "commit "+owner)
		case "ROLLBACK":
			st.inTx = false
		default:
			if isWrite(verb) && !st.inTx {
				keys = append(keys, "commit "+owner)
			}
		}
	case comStmtPrepare:
		st.prepVerb, st.prepOwner = classify(payload[1:])
		keys = append(keys, "prepare "+st.prepVerb+" "+st.prepOwner)
	case comStmtExecute:
		keys = append(keys, "execute "+st.prepVerb+" "+st.prepOwner)
		if isWrite(st.prepVerb) && !st.inTx {
			keys = append(keys, "commit "+st.prepOwner)
		}
	case comStmtClose:
		keys = append(keys, "close")
	case comQuit:
		keys = append(keys, "quit")
	case comPing:
		keys = append(keys, "ping")
	case comStmtReset:
		keys = append(keys, "reset")
	default:
		keys = append(keys, fmt.Sprintf("cmd-0x%02x", payload[0]))
	}
	p.mu.Lock()
	for _, k := range keys {
		p.counts[k]++
	}
	p.mu.Unlock()
}

func isWrite(verb string) bool {
	switch verb {
	case "INSERT", "UPDATE", "DELETE", "REPLACE":
		return true
	}
	return false
}

// classify returns a statement's first keyword and whose tables it touches.
func classify(sqlText []byte) (verb, owner string) {
	s := bytes.TrimLeft(sqlText, " \t\r\n(")
	end := bytes.IndexAny(s, " \t\r\n(")
	if end < 0 {
		end = len(s)
	}
	verb = string(bytes.ToUpper(s[:end]))
	// Only the statement's own text names tables: with interpolated
	// arguments, quoted values (which may well say "sandbox_…") follow.
	if q := bytes.IndexByte(sqlText, '\''); q >= 0 {
		sqlText = sqlText[:q]
	}
	owner = "app"
	if bytes.Contains(sqlText, []byte("sandbox_")) {
		owner = "sandbox"
	}
	return verb, owner
}

// snapshot returns a copy of the counters.
func (p *sqlProxy) snapshot() map[string]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.counts)
}

func (p *sqlProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
