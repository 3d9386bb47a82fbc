package dashboard

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"switchyard/server/connector"
	"switchyard/server/pay"
	"switchyard/server/store"
)

// The analytics page updates itself as payments happen. Its script
// (static/js/dashboard-analytics.js) opens GET /dashboard/live, a websocket
// on the live hub carrying every status change of the session's merchant's
// orders (live.Hub.ServeMerchantWS), and on each message (debounced, and
// once on connecting, which covers what changed while the page loaded) it
// fetches GET /dashboard/analytics/charts, the same charts rendered as an
// HTML fragment, and swaps it in. The numbers are always read from the
// database, never added up in the browser, so a missed or duplicate
// message costs at most a refresh; without script the page is complete and
// a reload updates it.

// topFailuresLimit is how many failure reasons the page lists.
const topFailuresLimit = 10

// unifiedCodeText explains the unified error codes to a merchant.
var unifiedCodeText = map[string]string{
	connector.UEInstrument:  "Declined by the card issuer or bank (instrument)",
	connector.UEConfig:      "Gateway configuration",
	connector.UEGateway:     "Gateway error or unavailable",
	connector.UEIntegration: "Integration error",
	connector.UEUnknown:     "Unknown outcome",
	"":                      "Not classified (abandoned or superseded)",
}

// analyticsPage is the data of dashboard_analytics.html.
type analyticsPage struct {
	Ranges      []option
	FragmentURL string
	Charts      *analyticsCharts
}

// analyticsCharts is the part of the page that updates live (template
// "dash_analytics_charts").
type analyticsCharts struct {
	RangeKey, RangeLabel, From, To string
	Attempts, Successes, Failures  int
	SuccessRate                    string
	// Charged is the kept charges' total per currency ("105.00 INR").
	Charged     string
	Sections    []analyticsSection
	TopFailures []failureView
	GeneratedAt string
}

// analyticsSection is the charts and table of one breakdown (by gateway,
// by payment method).
type analyticsSection struct {
	ID, By      string
	Volume      template.HTML
	Rate        template.HTML
	Legend      []legendItem
	Breakdowns  []breakdown
	NothingText string
}

type legendItem struct {
	Name, Color, Dash string
}

type failureView struct {
	Code, Meaning, Example string
	Count                  int
	Share                  string
}

// analyticsRangeOf reads ?range=, refusing an unknown one.
func analyticsRangeOf(c echo.Context) (analyticsRange, error) {
	key := c.QueryParam("range")
	if key == "" {
		key = defaultRange
	}
	r, ok := findRange(key)
	if !ok {
		keys := make([]string, len(analyticsRanges))
		for i, r := range analyticsRanges {
			keys[i] = r.Key
		}
		return r, pay.Invalid("range", "must be one of "+strings.Join(keys, ", "))
	}
	return r, nil
}

// handleAnalytics serves GET /dashboard/analytics: volume and success rate
// over time by gateway and by payment method, and the top failure reasons,
// over ?range= (1h, 24h, 7d, 30d).
func (s *Server) handleAnalytics(c echo.Context) error {
	r, err := analyticsRangeOf(c)
	if err != nil {
		return s.fail(c, err)
	}
	charts, err := s.analyticsCharts(c, r)
	if err != nil {
		return s.fail(c, err)
	}
	page := &analyticsPage{Charts: charts,
		FragmentURL: "/dashboard/analytics/charts?" + url.Values{"range": {r.Key}}.Encode()}
	for _, ar := range analyticsRanges {
		page.Ranges = append(page.Ranges, option{Value: ar.Key, Label: ar.Label, Selected: ar.Key == r.Key})
	}
	return s.render(c, http.StatusOK, "dashboard_analytics.html", view{Title: "Analytics", Data: page})
}

// handleAnalyticsCharts serves GET /dashboard/analytics/charts: the
// analytics page's charts alone, as an HTML fragment the page swaps in.
func (s *Server) handleAnalyticsCharts(c echo.Context) error {
	r, err := analyticsRangeOf(c)
	if err != nil {
		return s.fail(c, err)
	}
	charts, err := s.analyticsCharts(c, r)
	if err != nil {
		return s.fail(c, err)
	}
	return s.render(c, http.StatusOK, "dash_analytics_fragment", view{Title: "Analytics", Data: charts})
}

// handleLive serves GET /dashboard/live: the websocket of the session's
// merchant's status changes, for pages that update live. Only the
// dashboard's own pages may open it.
func (s *Server) handleLive(c echo.Context) error {
	m := merchant(c)
	allow := func(origin string) bool { return s.origin != "" && strings.EqualFold(origin, s.origin) }
	s.hub.ServeMerchantWS(c.Response(), c.Request(), m.ID, allow)
	return nil
}

func (s *Server) analyticsCharts(c echo.Context, r analyticsRange) (*analyticsCharts, error) {
	ctx := c.Request().Context()
	m := merchant(c)
	now := s.db.Now()
	from, to := r.window(now)
	stats, err := s.db.TxnStats(ctx, store.StatsQuery{MerchantID: m.ID, From: from, To: to, Width: r.Width})
	if err != nil {
		return nil, err
	}
	failures, err := s.db.TopFailures(ctx, m.ID, from, to, topFailuresLimit)
	if err != nil {
		return nil, err
	}
	charged, err := s.db.ChargedAmounts(ctx, m.ID, from, to)
	if err != nil {
		return nil, err
	}
	labels := r.labels(from)
	out := &analyticsCharts{RangeKey: r.Key, RangeLabel: r.Label, From: from.Format(timeLayout), To: to.Format(timeLayout),
		GeneratedAt: now.UTC().Format(timeLayout)}
	for _, st := range stats {
		out.Attempts += st.Attempts
		out.Successes += st.Successes
		out.Failures += st.Failures
	}
	out.SuccessRate = rateText(out.Successes, out.Failures)
	amounts := make([]string, len(charged))
	for i, a := range charged {
		amounts[i] = formatMoney(a.Amount, a.Currency)
	}
	out.Charged = orDash(strings.Join(amounts, ", "))
	for _, dim := range []struct {
		id, by string
		key    func(store.TxnStat) string
	}{
		{"gateway", "gateway", func(s store.TxnStat) string { return s.Gateway }},
		{"method", "payment method", func(s store.TxnStat) string { return s.MethodType }},
	} {
		bs := rollUp(stats, r.Buckets, dim.key)
		sec := analyticsSection{ID: dim.id, By: dim.by, Breakdowns: bs,
			Volume: volumeChart("volume-by-"+dim.id, dim.by, r, labels, bs).SVG(),
			Rate:   rateChart("rate-by-"+dim.id, dim.by, r, labels, bs).SVG()}
		for i, b := range bs {
			color, dash := seriesStyle(i)
			sec.Legend = append(sec.Legend, legendItem{Name: b.Name, Color: color, Dash: dash})
		}
		out.Sections = append(out.Sections, sec)
	}
	for _, f := range failures {
		fv := failureView{Code: orDash(f.UnifiedCode), Meaning: unifiedCodeText[f.UnifiedCode], Count: f.Count,
			Example: strings.TrimSpace(f.ExampleCode + " " + f.ExampleMessage), Share: rateText(f.Count, out.Failures-f.Count)}
		if fv.Meaning == "" {
			fv.Meaning = "Other"
		}
		out.TopFailures = append(out.TopFailures, fv)
	}
	return out, nil
}
