package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// snapshot is the state of the machine, this process, the database server
// and the app around the measured phase.
type snapshot struct {
	at       time.Time
	loadavg  string
	procCPU  time.Duration
	sysBusy  int64 // clock ticks
	sysTotal int64
	dbdCPU   int64 // clock ticks of mariadbd/mysqld; -1 if not found
	dbdName  string
	// dbdTasks are the clock ticks of every mariadbd thread, by thread id;
	// ourTIDs the threads serving the load database's connections.
	dbdTasks map[string]int64
	ourTIDs  []string
	status   map[string]int64
	pool     *sql.DBStats
	sql      map[string]int64
	numGC    uint32
	gcPause  time.Duration
}

// clockTicks is USER_HZ, 100 on every Linux this runs on.
const clockTicks = 100

func takeSnapshot(ctx context.Context, tg *target) *snapshot {
	s := &snapshot{at: time.Now(), dbdCPU: -1}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			s.loadavg = strings.Join(f[:3], " ")
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.procCPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	s.sysBusy, s.sysTotal = systemTicks()
	if pid, name := dbServerPID(tg.dbPort); pid != "" {
		s.dbdCPU, s.dbdName = processTicks(pid), name
		s.dbdTasks = threadTicks(pid)
	}
	if tg.admin != nil {
		if tg.dbStatus {
			s.status = globalStatus(ctx, tg.admin)
		}
		s.ourTIDs = connectionThreads(ctx, tg.admin, tg.dbName)
	}
	if tg.inProcess() {
		st := tg.app.DB.SQL().Stats()
		s.pool = &st
	}
	if tg.proxy != nil {
		s.sql = tg.proxy.snapshot()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.numGC, s.gcPause = ms.NumGC, time.Duration(ms.PauseTotalNs)
	return s
}

// systemTicks reads the busy and total CPU time of the machine.
func systemTicks() (busy, total int64) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, 0
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0, 0
	}
	var v [8]int64
	for i := range v {
		v[i], _ = strconv.ParseInt(fields[i+1], 10, 64)
		total += v[i]
	}
	idle := v[3] + v[4] // idle + iowait
	return total - idle, total
}

var dbPID struct {
	once      sync.Once
	pid, name string
}

// dbServerPID finds, once, the local mariadbd or mysqld process listening
// on port (several may run on one machine).
func dbServerPID(port string) (string, string) {
	dbPID.once.Do(func() {
		inodes := listeningInodes(port)
		if len(inodes) == 0 {
			return
		}
		dirs, _ := filepath.Glob("/proc/[0-9]*")
		for _, d := range dirs {
			b, err := os.ReadFile(d + "/comm")
			if err != nil {
				continue
			}
			name := strings.TrimSpace(string(b))
			if name != "mariadbd" && name != "mysqld" {
				continue
			}
			fds, _ := filepath.Glob(d + "/fd/*")
			for _, fd := range fds {
				if link, err := os.Readlink(fd); err == nil && inodes[link] {
					dbPID.pid, dbPID.name = filepath.Base(d), name
					return
				}
			}
		}
	})
	return dbPID.pid, dbPID.name
}

// listeningInodes returns the socket inodes ("socket:[N]") listening on a
// TCP port, from /proc/net/tcp and tcp6.
func listeningInodes(port string) map[string]bool {
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil
	}
	want := fmt.Sprintf(":%04X", p)
	out := map[string]bool{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			// local_address rem_address st ... inode (field 9)
			if len(f) > 9 && strings.HasSuffix(f[1], want) && f[3] == "0A" {
				out["socket:["+f[9]+"]"] = true
			}
		}
	}
	return out
}

// processTicks reads a process's user+system CPU time, -1 if unreadable.
func processTicks(pid string) int64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return -1
	}
	// The command name is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(s[i+1:])
	// Fields after the name start at field 3 (state); utime is field 14.
	if len(f) < 13 {
		return -1
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st
}

// threadTicks reads the CPU time of every thread of a process.
func threadTicks(pid string) map[string]int64 {
	dirs, _ := filepath.Glob("/proc/" + pid + "/task/[0-9]*")
	out := make(map[string]int64, len(dirs))
	for _, d := range dirs {
		tid := filepath.Base(d)
		if t := processTicks(pid + "/task/" + tid); t >= 0 {
			out[tid] = t
		}
	}
	return out
}

// connectionThreads returns the OS thread ids serving the connections to
// database db (MariaDB ≥ 10.5 shows them as PROCESSLIST.TID; elsewhere
// none are found).
func connectionThreads(ctx context.Context, admin *sql.DB, db string) []string {
	if db == "" {
		return nil
	}
	rows, err := admin.QueryContext(ctx, `SELECT TID FROM information_schema.PROCESSLIST WHERE DB = ?`, db)
	if err != nil {
		return nil
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var tid int64
		if rows.Scan(&tid) == nil && tid > 0 {
			out = append(out, strconv.FormatInt(tid, 10))
		}
	}
	return out
}

// ourDBTicks is the CPU the database server's threads spent on this run's
// connections between two snapshots: threads serving them at either
// snapshot, measured from the first (a cached thread may have served
// someone else before). -1 when unknown.
func ourDBTicks(before, after *snapshot) int64 {
	if before.dbdTasks == nil || after.dbdTasks == nil || len(after.ourTIDs)+len(before.ourTIDs) == 0 {
		return -1
	}
	seen := map[string]bool{}
	var sum int64
	for _, tid := range append(slices.Clone(before.ourTIDs), after.ourTIDs...) {
		if seen[tid] {
			continue
		}
		seen[tid] = true
		if a, ok := after.dbdTasks[tid]; ok {
			sum += a - before.dbdTasks[tid]
		}
	}
	return sum
}

// statusVars are the global status counters reported per payment.
var statusVars = []string{
	"Questions", "Com_select", "Com_insert", "Com_update", "Com_delete", "Com_begin", "Com_commit",
	"Com_rollback", "Com_stmt_prepare", "Com_stmt_execute", "Com_stmt_close", "Handler_commit",
	"Innodb_os_log_fsyncs", "Innodb_data_fsyncs", "Innodb_rows_read", "Innodb_rows_inserted",
	"Innodb_rows_updated", "Bytes_received", "Bytes_sent",
}

func globalStatus(ctx context.Context, db *sql.DB) map[string]int64 {
	rows, err := db.QueryContext(ctx, `SHOW GLOBAL STATUS`)
	if err != nil {
		return nil
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name, value string
		if rows.Scan(&name, &value) != nil {
			continue
		}
		if slices.Contains(statusVars, name) {
			out[name], _ = strconv.ParseInt(value, 10, 64)
		}
	}
	return out
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

// percentile returns the p-th percentile (0 < p ≤ 1) of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func sorted(d []time.Duration) []time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s
}

// report prints the measured phase.
func report(w io.Writer, o *options, res *phaseResult, before, after *snapshot) {
	n := res.ok
	secs := res.elapsed.Seconds()
	pps := 0.0
	if secs > 0 {
		pps = float64(n) / secs
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "results: %d payments completed in %.2fs = %.1f payments/s  (failed %d; c=%d, %s)\n",
		n, secs, pps, res.failed, o.c, modeString(o))
	fmt.Fprintf(w, "  %-19s %7s %8s %8s %8s %8s | %8s %8s | %8s   (ms)\n",
		"step", "n", "p50", "p90", "p99", "max", "self p50", "self p99", "gw p50")
	var worstSelf time.Duration
	for i := range numSteps {
		lat, self, gw := sorted(res.lat[i]), sorted(res.self[i]), sorted(res.gw[i])
		fmt.Fprintf(w, "  %-19s %7d %8s %8s %8s %8s | %8s %8s | %8s\n", stepNames[i], len(lat),
			ms(percentile(lat, .5)), ms(percentile(lat, .9)), ms(percentile(lat, .99)), ms(percentile(lat, 1)),
			ms(percentile(self, .5)), ms(percentile(self, .99)), ms(percentile(gw, .5)))
		if res.noTiming[i] > 0 {
			fmt.Fprintf(w, "  (%d answers of %s had no Server-Timing self figure)\n", res.noTiming[i], stepNames[i])
		}
		worstSelf = max(worstSelf, percentile(self, .99))
	}
	pay, paySelf := sorted(res.payment), sorted(res.paySelf)
	label := "payment (3 steps)"
	fmt.Fprintf(w, "  %-19s %7d %8s %8s %8s %8s | %8s %8s |   (self = sum of the 3 steps)\n", label, len(pay),
		ms(percentile(pay, .5)), ms(percentile(pay, .9)), ms(percentile(pay, .99)), ms(percentile(pay, 1)),
		ms(percentile(paySelf, .5)), ms(percentile(paySelf, .99)))
	if o.rate > 0 {
		lag := sorted(res.startLag)
		fmt.Fprintf(w, "  open model: payment latency counts from when it was due; start lag p50 %s p99 %s max %s ms\n",
			ms(percentile(lag, .5)), ms(percentile(lag, .99)), ms(percentile(lag, 1)))
	}

	if len(res.errs) == 0 {
		fmt.Fprintln(w, "errors: none")
	} else {
		fmt.Fprintln(w, "errors:")
		for _, k := range sortedKeys(res.errs) {
			fmt.Fprintf(w, "  %6d  %s\n", res.errs[k], k)
		}
		for _, s := range res.samples {
			fmt.Fprintf(w, "  e.g. %s\n", s)
		}
	}

	// Resources.
	wall := after.at.Sub(before.at).Seconds()
	perPay := func(d time.Duration) string {
		if n == 0 {
			return "-"
		}
		return fmt.Sprintf("%.3f ms/payment", float64(d)/float64(time.Millisecond)/float64(n))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "cpu (measured phase, %d CPUs, %.1fs)\n", runtime.NumCPU(), wall)
	var sysCores float64
	if dt := after.sysTotal - before.sysTotal; dt > 0 {
		sysCores = float64(after.sysBusy-before.sysBusy) / float64(dt) * float64(runtime.NumCPU())
		fmt.Fprintf(w, "  machine busy      %.2f cores\n", sysCores)
	}
	proc := after.procCPU - before.procCPU
	procCores := proc.Seconds() / wall
	who := "the load generator"
	if o.url == "" {
		who = "app + sandbox + load generator (in-process; -cpuprofile splits them)"
	}
	fmt.Fprintf(w, "  this process      %.2f cores  %s  [%s]\n", procCores, perPay(proc), who)
	dbCores, ourDBCores := 0.0, -1.0
	if before.dbdCPU >= 0 && after.dbdCPU >= 0 {
		d := time.Duration(after.dbdCPU-before.dbdCPU) * time.Second / clockTicks
		dbCores = d.Seconds() / wall
		fmt.Fprintf(w, "  %-16s  %.2f cores  %s  [all of it: other clients' work included]\n", after.dbdName, dbCores, perPay(d))
		if t := ourDBTicks(before, after); t >= 0 {
			d := time.Duration(t) * time.Second / clockTicks
			ourDBCores = d.Seconds() / wall
			fmt.Fprintf(w, "    of which        %.2f cores  %s  [the threads serving this run's connections; InnoDB's background threads excluded]\n", ourDBCores, perPay(d))
		}
	}
	if sysCores > 0 {
		fmt.Fprintf(w, "  everything else   %.2f cores  (other processes: other engineers' work, the kernel's softirqs)\n",
			max(0, sysCores-procCores-dbCores))
	}
	fmt.Fprintf(w, "  load average      before %s, after %s\n", before.loadavg, after.loadavg)
	gcs := after.numGC - before.numGC
	fmt.Fprintf(w, "  go GC             %d cycles (%.1f/s), pauses %s total\n", gcs, float64(gcs)/wall, after.gcPause-before.gcPause)
	if before.pool != nil && after.pool != nil {
		waits := after.pool.WaitCount - before.pool.WaitCount
		wd := after.pool.WaitDuration - before.pool.WaitDuration
		fmt.Fprintf(w, "  app DB pool       max open %d (shared by the orchestrator and the sandbox), open at end %d, waits %d (%.2f/payment), waited %s (%s)\n",
			after.pool.MaxOpenConnections, after.pool.OpenConnections, waits, perN(waits, n), wd.Round(time.Millisecond), perPay(wd))
	}

	if before.status != nil && after.status != nil && n > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "database global status per payment (server-wide: includes other clients of this server)")
		var parts []string
		for _, k := range statusVars {
			if _, ok := after.status[k]; !ok {
				continue
			}
			parts = append(parts, fmt.Sprintf("%s %.2f", k, float64(after.status[k]-before.status[k])/float64(n)))
		}
		for i := 0; i < len(parts); i += 5 {
			fmt.Fprintf(w, "  %s\n", strings.Join(parts[i:min(i+5, len(parts))], ", "))
		}
	}
	if before.sql != nil && after.sql != nil && n > 0 {
		delta := map[string]int64{}
		for k, v := range after.sql {
			if d := v - before.sql[k]; d != 0 {
				delta[k] = d
			}
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, "SQL per payment, counted by the proxy (exact, this app only)")
		printSQL(w, delta, float64(n), "  ")
		if o.c == 1 {
			for i := range numSteps {
				if res.stepSQL[i] != nil {
					fmt.Fprintf(w, "  %s:\n", stepNames[i])
					printSQL(w, res.stepSQL[i], float64(len(res.lat[i])), "    ")
				}
			}
		}
	}

	fmt.Fprintln(w)
	fmt.Fprintf(w, "summary: c=%d payments/s=%.1f txn_p99_ms=%s payment_p99_ms=%s self_p99_ms(worst step)=%s cpu_ms/payment(process)=%s db_cores=%.2f db_cores(ours)=%.2f machine_cores=%.2f load=%s\n",
		o.c, pps, ms(percentile(sorted(res.lat[stepTxn]), .99)), ms(percentile(pay, .99)), ms(worstSelf),
		strings.TrimSuffix(perPay(proc), " ms/payment"), dbCores, ourDBCores, sysCores, after.loadavg)
}

func perN(v int64, n int64) float64 {
	if n == 0 {
		return 0
	}
	return float64(v) / float64(n)
}

// printSQL prints proxy counters divided by n.
func printSQL(w io.Writer, counts map[string]int64, n float64, indent string) {
	var roundTrips, statements, prepares, closes int64
	byStmt := map[string]int64{}
	commits := map[string]int64{}
	for k, v := range counts {
		f := strings.Fields(k)
		switch f[0] {
		case "commit":
			commits[f[1]] += v
			continue
		case "close", "quit":
			closes += v
			continue
		case "prepare":
			prepares += v
		case "query", "execute":
			statements += v
			byStmt[f[1]+" "+f[2]] += v
		}
		roundTrips += v
	}
	fmt.Fprintf(w, "%sround trips %.1f = statements %.1f + prepares %.1f (plus %.1f statement closes, which get no answer)\n",
		indent, float64(roundTrips)/n, float64(statements)/n, float64(prepares)/n, float64(closes)/n)
	var parts []string
	for _, k := range sortedKeys(byStmt) {
		// Background work (the sandbox's notification worker) shows as
		// fractions of a statement per payment; below 0.05 is noise.
		if v := float64(byStmt[k]) / n; v >= 0.05 {
			parts = append(parts, fmt.Sprintf("%s %.1f", k, v))
		}
	}
	fmt.Fprintf(w, "%sstatements: %s\n", indent, strings.Join(parts, ", "))
	parts = parts[:0]
	for _, k := range sortedKeys(commits) {
		parts = append(parts, fmt.Sprintf("%s %.1f", k, float64(commits[k])/n))
	}
	fmt.Fprintf(w, "%scommits (COMMIT or an autocommitted write): %s\n", indent, strings.Join(parts, ", "))
}
