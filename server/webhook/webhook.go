// Package webhook delivers the outbox's events to merchants (DESIGN §10).
//
// Every payment state change writes its webhook event (the complete Juspay
// body {id, event_name, date_created, content{order}}) into the outbox table
// in the same transaction as the change. A Relay claims due events from
// there, POSTs them to the merchant's webhook URL, and records each attempt
// and its outcome; a failed attempt is retried on the schedule until it
// succeeds or the schedule runs out (the event is then dead). Delivery is at
// least once: merchants dedupe on the event id.
//
// # Claiming and several replicas
//
// A claim is one short transaction: SELECT … FOR UPDATE SKIP LOCKED picks due
// rows that no other replica is claiming at that moment, and their
// next_attempt_at moves a lease (Config.Lease) ahead before the commit. No
// transaction stays open during HTTP. A claimed event is invisible to every
// other relay until its lease ends; the relay records the outcome well before
// that, so each event is sent once when all goes well. If a relay dies
// holding claims, they become due when the leases end and another relay (or
// the restarted one) sends them: that is the only source of duplicates, and
// why receivers must be idempotent.
//
// # Per-merchant concurrency
//
// One merchant's slow endpoint must not hold up the others. Each merchant
// gets at most Config.PerMerchant concurrent requests from a relay; its other
// claimed events wait in a local queue, and Config.Workers caps requests
// overall. How many of a merchant's events a relay holds adapts to how fast
// the merchant answers (about two seconds of work, between PerMerchant and
// BatchSize), and a claim takes each merchant's events separately, within
// that merchant's room: a merchant at its quota is passed over, never
// scanned, so neither its backlog nor its slowness hides other merchants'
// events from the claim. After a slow attempt the relay hands back what it
// holds of that merchant beyond the new quota, so other replicas can take
// it. Before sending, a queued event whose lease is about to end is dropped
// unsent (the lease makes it due again) rather than risk a second relay
// sending it too. With several replicas the cap applies per replica.
//
// # Bookkeeping
//
// Outcomes go to one recorder goroutine that writes them in batches: the
// delivery log rows as one multi-row INSERT and the outbox updates grouped,
// one transaction per batch, which is what lets a relay do thousands of
// deliveries per second on one MySQL.
//
// Nothing secret is logged or stored: no bodies, no Basic-auth password, no
// response key, no signature.
package webhook

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"switchyard/server/pay"
	"switchyard/server/store"
)

// Defaults of Config.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultPerMerchant  = 4
	DefaultWorkers      = 128
	DefaultPollInterval = time.Second
	DefaultLease        = 2 * time.Minute
	DefaultBatchSize    = 200
	DefaultCloseGrace   = 5 * time.Second
)

// UserAgent is the User-Agent of every webhook request.
const UserAgent = "Switchyard-Webhooks/1"

// Headers of every webhook request, besides Content-Type, User-Agent and
// (when the merchant has a webhook username) Authorization: Basic.
const (
	// HeaderSignature is "t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">"
	// keyed with the merchant's response key (pay.WebhookSignature).
	HeaderSignature = "X-Switchyard-Signature"
	// HeaderEventID is the event id, also the body's "id".
	HeaderEventID = "X-Switchyard-Event-Id"
)

// Config is what a Relay needs; zero values take the defaults.
type Config struct {
	DB  *store.DB
	Log *slog.Logger
	// Client sends the requests; it must have a Timeout. The default
	// (DefaultClient) has a 10 s timeout, keeps connections alive for reuse
	// and does not follow redirects (a 3xx is a failed attempt, as at
	// Stripe).
	Client *http.Client
	// Schedule is the wait before each retry (DefaultSchedule).
	Schedule []time.Duration
	// PerMerchant caps concurrent requests to one merchant, per replica (4).
	PerMerchant int
	// Workers caps concurrent requests overall (128).
	Workers int
	// PollInterval is how often the relay looks for due events when it has
	// not been told (Notify) or found that more are waiting (1 s).
	PollInterval time.Duration
	// Lease is how long a claim holds an event (2 min); it must be well
	// above the client's timeout.
	Lease time.Duration
	// BatchSize is the most events one claim takes (200).
	BatchSize int
	// CloseGrace is how long Close lets requests in flight finish before it
	// cancels them (5 s).
	CloseGrace time.Duration
	// Now is the clock of signatures, schedules and lease checks; it must
	// agree with DB.Now, which stamps the leases (default DB.Now).
	Now func() time.Time
	// Metrics, if set, gets the relay's counters and histogram.
	Metrics prometheus.Registerer
}

// Relay delivers outbox events; see the package documentation. Start it once
// and Close it once.
type Relay struct {
	db          *store.DB
	log         *slog.Logger
	client      *http.Client
	timeout     time.Duration
	schedule    []time.Duration
	perMerchant int
	workers     int
	poll        time.Duration
	lease       time.Duration
	batch       int
	closeGrace  time.Duration
	now         func() time.Time
	metrics     *metrics

	// wake asks the claim loop to look for due events now.
	wake chan struct{}
	// closing is closed when Close begins: sends not yet under way are
	// handed back instead.
	closing chan struct{}
	// slots is the global concurrency semaphore.
	slots chan struct{}
	// results carries outcomes to the recorder.
	results chan store.DeliveryResult

	mu        sync.Mutex
	merchants map[string]*merchantState
	held      int  // events claimed and not yet finished, all merchants
	stopping  bool // no new sends start
	// globalBacklog: the last claim was cut short by maxHeld.
	globalBacklog bool

	startOnce sync.Once
	closeOnce sync.Once
	// stopClaims ends the claim loop; stopSends cancels requests in flight.
	stopClaims context.CancelFunc
	stopSends  context.CancelFunc
	sendCtx    context.Context
	claimDone  chan struct{}
	recordDone chan struct{}
	sends      sync.WaitGroup
}

// New checks cfg and builds a relay; Start runs it.
func New(cfg Config) (*Relay, error) {
	if cfg.DB == nil {
		return nil, errors.New("webhook.New: Config.DB is required")
	}
	r := &Relay{
		db: cfg.DB, log: cfg.Log, client: cfg.Client, schedule: cfg.Schedule,
		perMerchant: cfg.PerMerchant, workers: cfg.Workers, poll: cfg.PollInterval,
		lease: cfg.Lease, batch: cfg.BatchSize, closeGrace: cfg.CloseGrace, now: cfg.Now,
		wake:       make(chan struct{}, 1),
		closing:    make(chan struct{}),
		results:    make(chan store.DeliveryResult, 1024),
		merchants:  map[string]*merchantState{},
		claimDone:  make(chan struct{}),
		recordDone: make(chan struct{}),
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.client == nil {
		r.client = DefaultClient()
	}
	// The lease is only safe if every request ends in bounded time.
	if r.timeout = r.client.Timeout; r.timeout <= 0 {
		return nil, errors.New("webhook.New: Config.Client needs a Timeout")
	}
	if r.schedule == nil {
		r.schedule = DefaultSchedule
	}
	for _, d := range r.schedule {
		if d <= 0 {
			return nil, errors.New("webhook.New: every retry wait must be positive")
		}
	}
	setDefault(&r.perMerchant, DefaultPerMerchant)
	setDefault(&r.workers, DefaultWorkers)
	setDefault(&r.poll, DefaultPollInterval)
	setDefault(&r.lease, DefaultLease)
	setDefault(&r.batch, DefaultBatchSize)
	setDefault(&r.closeGrace, DefaultCloseGrace)
	if r.now == nil {
		// The store's clock, read at each call (tests replace DB.Now before
		// Start): leases and due times are written with it.
		db := cfg.DB
		r.now = func() time.Time { return db.Now() }
	}
	if r.lease < 2*r.timeout+leaseMargin {
		return nil, errors.New("webhook.New: Lease must be at least twice the client timeout plus 5 s")
	}
	r.slots = make(chan struct{}, r.workers)
	var err error
	if r.metrics, err = newMetrics(cfg.Metrics); err != nil {
		return nil, err
	}
	return r, nil
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// DefaultClient is the client a Relay uses unless given one: a 10 s timeout
// for the whole exchange, enough idle connections per host to keep every
// concurrent request on a kept-alive connection, and no redirects.
func DefaultClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 1024
	tr.MaxIdleConnsPerHost = 128
	return &http.Client{
		Timeout:   DefaultTimeout,
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Start runs the relay's goroutines: the claim loop, which stops claiming
// when ctx ends, and the recorder. It returns at once. Close stops and waits
// for everything; it must be called even after ctx ends.
func (r *Relay) Start(ctx context.Context) {
	r.startOnce.Do(func() {
		var claimCtx context.Context
		claimCtx, r.stopClaims = context.WithCancel(ctx)
		// Requests in flight outlive ctx: Close gives them CloseGrace.
		r.sendCtx, r.stopSends = context.WithCancel(context.WithoutCancel(ctx))
		go r.claimLoop(claimCtx)
		go r.recordLoop()
	})
}

// Notify tells the relay that new events may be due (the orchestrator
// committed a change), so it claims now instead of at the next poll. It
// never blocks, and does nothing on a nil *Relay, so a callback wired
// before the relay exists is safe.
func (r *Relay) Notify() {
	if r == nil {
		return
	}
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Close stops the relay: no more claims; events claimed but not yet sent are
// handed back (due now, for another replica); requests in flight get
// CloseGrace to finish, after which they are cancelled and handed back too;
// every outcome is recorded. Then the goroutines are gone. Close is safe to
// call more than once, and without Start.
func (r *Relay) Close() error {
	r.closeOnce.Do(func() {
		// A Start after Close does nothing; Close after no Start has
		// nothing to stop.
		r.startOnce.Do(func() {})
		if r.stopClaims == nil {
			return
		}
		close(r.closing)
		r.stopClaims()
		<-r.claimDone

		r.mu.Lock()
		r.stopping = true
		var queued []store.OutboxEvent
		for _, ms := range r.merchants {
			for _, j := range ms.queue {
				queued = append(queued, j.ev)
			}
			r.held -= len(ms.queue)
			ms.queue = nil
		}
		r.mu.Unlock()
		r.release(queued)

		done := make(chan struct{})
		go func() {
			r.sends.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(r.closeGrace):
			r.stopSends()
			<-done
		}
		r.stopSends()
		close(r.results)
		<-r.recordDone
	})
	return nil
}

// release hands claimed events back unsent, due now.
func (r *Relay) release(events []store.OutboxEvent) {
	if len(events) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	defer cancel()
	if err := r.db.ReleaseEvents(ctx, events); err != nil {
		r.log.Error("webhook: releasing claimed events failed; they retry when their lease ends",
			"events", len(events), "err", err)
	}
}

// merchantOf loads the merchants of a claim once each; nil means the
// merchant no longer exists.
func (r *Relay) merchantOf(ctx context.Context, cache map[string]*pay.Merchant, id string) (*pay.Merchant, error) {
	if m, ok := cache[id]; ok {
		return m, nil
	}
	m, err := r.db.Merchant(ctx, id)
	if pay.ErrorCode(err) == pay.ENOTFOUND {
		m, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	cache[id] = m
	return m, nil
}
