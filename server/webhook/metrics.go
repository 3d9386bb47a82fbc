package webhook

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the relay's Prometheus series; a nil *metrics records nothing.
type metrics struct {
	attempts *prometheus.CounterVec
	events   *prometheus.CounterVec
	duration prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_webhook_attempts_total",
			Help: "Webhook HTTP attempts by result (ok: a 2xx answer; failed: anything else).",
		}, []string{"result"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_webhook_events_total",
			Help: "Webhook events that reached a final state: delivered, dead or skipped (no webhook URL).",
		}, []string{"state"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "switchyard_webhook_attempt_duration_seconds",
			Help:    "Duration of webhook HTTP attempts.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
	}
	for _, c := range []prometheus.Collector{m.attempts, m.events, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) attempt(ok bool, took time.Duration) {
	if m == nil {
		return
	}
	result := "failed"
	if ok {
		result = "ok"
	}
	m.attempts.WithLabelValues(result).Inc()
	m.duration.Observe(took.Seconds())
}

func (m *metrics) finished(state string) {
	if m == nil {
		return
	}
	m.events.WithLabelValues(state).Inc()
}
