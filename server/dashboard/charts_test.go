package dashboard

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"switchyard/server/store"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it); got:\n%s", name, got)
	}
}

func TestChartsGolden(t *testing.T) {
	labels := []string{"10:00", "11:00", "12:00", "13:00", "14:00", "15:00", "16:00", "17:00"}
	nan := math.NaN()
	for _, tc := range []struct {
		file  string
		chart lineChart
	}{
		{"volume.svg", lineChart{ID: "volume", Title: "Payment attempts by gateway", Desc: "Attempts per hour. gw_a: 19. gw_b: 4.",
			Labels: labels, Unit: "attempts", Series: []chartSeries{
				{Name: "gw_a", Values: []float64{0, 3, 7, 2, 0, 0, 5, 2}},
				{Name: "gw_b", Values: []float64{1, 0, 0, 0, 2, 1, 0, 0}},
			}}},
		// Gaps where nothing finished; names that need escaping.
		{"rate.svg", lineChart{ID: "rate", Title: "Success rate by <method>", Desc: `"CARD" & UPI`,
			Labels: labels, Percent: true, Unit: "success rate", Series: []chartSeries{
				{Name: "CARD", Values: []float64{nan, 100, 66.7, nan, nan, 50, 80, 100}},
				{Name: "U<P>I", Values: []float64{0, nan, nan, nan, 100, nan, nan, nan}},
			}}},
		{"empty.svg", lineChart{ID: "empty", Title: "Payment attempts by gateway", Desc: "No payment attempts.",
			Labels: labels, Unit: "attempts"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			golden(t, tc.file, string(tc.chart.SVG())+"\n")
		})
	}
}

// The chart's accessible name and description are wired up, every point
// says what it is, and nothing the caller passed reaches the markup
// unescaped.
func TestChartMarkup(t *testing.T) {
	svg := string(lineChart{ID: "c1", Title: "T <b>", Desc: "D", Labels: []string{"a", "b"}, Unit: "attempts",
		Series: []chartSeries{{Name: `x"><script>`, Values: []float64{1, 2}}}}.SVG())
	for _, want := range []string{
		`role="img"`, `aria-labelledby="c1-title c1-desc"`, `<title id="c1-title">T &lt;b&gt;</title>`,
		`<desc id="c1-desc">D</desc>`, `data-series="x&#34;&gt;&lt;script&gt;"`, `data-total="3"`,
		`data-bucket="1" data-value="2"`, `b: 2 attempts</title>`,
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("missing %s in\n%s", want, svg)
		}
	}
	if strings.Contains(svg, "<script>") {
		t.Errorf("unescaped name in\n%s", svg)
	}
}

func TestNiceMax(t *testing.T) {
	for _, tc := range []struct{ in, want float64 }{
		{0, 4}, {1, 4}, {4, 4}, {5, 8}, {7, 8}, {9, 20}, {20, 20}, {21, 40}, {39, 40}, {41, 80}, {81, 200},
		{199, 200}, {201, 400}, {950, 2000}, {1000, 2000}, {12345, 20000},
	} {
		if got := niceMax(tc.in); got != tc.want {
			t.Errorf("niceMax(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestRangeWindow(t *testing.T) {
	now := time.Date(2026, 3, 10, 14, 37, 12, 0, time.UTC)
	for _, tc := range []struct {
		key      string
		from, to string
		first    string
	}{
		{"1h", "2026-03-10T13:40:00Z", "2026-03-10T14:40:00Z", "13:40"},
		{"24h", "2026-03-09T15:00:00Z", "2026-03-10T15:00:00Z", "15:00"},
		{"7d", "2026-03-03T18:00:00Z", "2026-03-10T18:00:00Z", "Mar 3 18h"},
		{"30d", "2026-02-09T00:00:00Z", "2026-03-11T00:00:00Z", "Feb 9"},
	} {
		r, ok := findRange(tc.key)
		if !ok {
			t.Fatalf("no range %s", tc.key)
		}
		from, to := r.window(now)
		if got := from.Format(time.RFC3339) + " " + to.Format(time.RFC3339); got != tc.from+" "+tc.to {
			t.Errorf("%s: window %s, want %s %s", tc.key, got, tc.from, tc.to)
		}
		if l := r.labels(from); len(l) != r.Buckets || l[0] != tc.first {
			t.Errorf("%s: %d labels starting %q", tc.key, len(l), l[0])
		}
	}
	if _, ok := findRange("2y"); ok {
		t.Error("unknown range found")
	}
}

func TestRollUp(t *testing.T) {
	stats := []store.TxnStat{
		{Bucket: 0, Gateway: "gw_b", MethodType: "CARD", Attempts: 2, Successes: 1, Failures: 1},
		{Bucket: 0, Gateway: "gw_a", MethodType: "UPI", Attempts: 1},
		{Bucket: 2, Gateway: "gw_a", MethodType: "CARD", Attempts: 3, Successes: 1, Failures: 2},
		{Bucket: 2, Gateway: "", MethodType: "CARD", Attempts: 1, Failures: 1},
		// Outside the range (a txn created at its very end): ignored.
		{Bucket: 3, Gateway: "gw_a", MethodType: "CARD", Attempts: 9},
	}
	byGateway := rollUp(stats, 3, func(s store.TxnStat) string { return s.Gateway })
	var got []string
	for _, b := range byGateway {
		got = append(got, b.Name)
	}
	if want := []string{"gw_a", "gw_b", noGateway}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	a := byGateway[0]
	if !slices.Equal(a.Attempts, []int{1, 0, 3}) || a.TotalAttempts != 4 || a.TotalSuccesses != 1 || a.TotalFailures != 2 {
		t.Errorf("gw_a: %+v", a)
	}
	if r := a.SuccessRate(); r != "33.3%" {
		t.Errorf("gw_a success rate %s", r)
	}
	byMethod := rollUp(stats, 3, func(s store.TxnStat) string { return s.MethodType })
	if len(byMethod) != 2 || byMethod[0].Name != "CARD" || !slices.Equal(byMethod[0].Attempts, []int{2, 0, 4}) {
		t.Errorf("by method: %+v", byMethod)
	}
	if r := byMethod[1].SuccessRate(); r != "–" {
		t.Errorf("UPI with nothing finished: rate %s", r)
	}

	r, _ := findRange("1h")
	rates := rateChart("r", "gateway", r, make([]string, 3), byGateway)
	if v := rates.Series[0].Values; v[0] == v[0] || v[1] == v[1] || v[2] != 33.3 {
		t.Errorf("gw_a rates %v, want NaN NaN 33.3", v)
	}
	vol := volumeChart("v", "gateway", r, make([]string, 3), byGateway)
	if !strings.Contains(vol.Desc, "gw_a: 4.") || vol.Series[1].total() != 2 {
		t.Errorf("volume chart %+v", vol)
	}
}

func TestDisplayAmount(t *testing.T) {
	for _, tc := range []struct {
		minor    int64
		currency string
		want     string
	}{
		{10000, "INR", "100.00"}, {4050, "INR", "40.50"}, {1, "INR", "0.01"}, {0, "INR", "0.00"},
		{500, "JPY", "500"}, {1234, "KWD", "1.234"}, {1200, "KWD", "1.200"},
	} {
		if got := displayAmount(tc.minor, tc.currency); got != tc.want {
			t.Errorf("displayAmount(%d, %s) = %q, want %q", tc.minor, tc.currency, got, tc.want)
		}
	}
}
