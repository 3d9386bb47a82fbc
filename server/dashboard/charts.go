package dashboard

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// The analytics charts are SVG written out here on the server: no script
// library, nothing to load, readable by screen readers (role="img" with a
// title and a description, and the same numbers in a table next to each
// chart), and testable as text. Each point carries its numbers in data-*
// attributes, which the browser tests read.

// chartSeries is one line of a chart: a value per time bucket, NaN where
// there is nothing to show (a success rate of a bucket without finished
// txns), which leaves a gap in the line.
type chartSeries struct {
	Name   string
	Values []float64
}

// lineChart is a line chart over time buckets.
type lineChart struct {
	// ID is the element id of the svg; its title and description get
	// ID-title and ID-desc.
	ID    string
	Title string
	Desc  string
	// Labels names each bucket (the x axis shows some of them).
	Labels []string
	Series []chartSeries
	// Percent makes the y axis 0-100 %; otherwise it counts from 0 to a
	// round number above the largest value.
	Percent bool
	// Unit names what a value counts, for the points' tooltips
	// ("attempts"); with Percent it is "success rate".
	Unit string
}

// Chart geometry, in the viewBox's units; the svg scales to its container.
// The text is 18 units high (dashboard-orders.css): about 12px in a chart
// scaled down to a phone's width, 20px in one of two columns on a desktop.
const (
	chartWidth  = 480
	chartHeight = 240
	chartLeft   = 56
	chartRight  = 14
	chartTop    = 14
	chartBottom = 36
	chartTicks  = 4
	// chartXLabels is about how many x labels fit without overlapping.
	chartXLabels = 4
)

// chartColors are distinguishable from each other and at least 4.5:1
// against white; lines also differ by dash pattern, so colour is never the
// only difference.
var chartColors = []string{"#1d4ed8", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0f766e", "#a16207", "#334155"}

var chartDashes = []string{"", "6 3", "2 3", "8 3 2 3"}

// seriesStyle returns the colour and dash pattern of the i-th series, for
// the chart and its legend alike.
func seriesStyle(i int) (color, dash string) {
	return chartColors[i%len(chartColors)], chartDashes[(i/len(chartColors)+i)%len(chartDashes)]
}

// SVG renders the chart.
func (c lineChart) SVG() template.HTML {
	var b strings.Builder
	esc := template.HTMLEscapeString
	n := len(c.Labels)
	yMax := 100.0
	if !c.Percent {
		yMax = niceMax(c.max())
	}
	plotW := float64(chartWidth - chartLeft - chartRight)
	plotH := float64(chartHeight - chartTop - chartBottom)
	x := func(i int) float64 { return chartLeft + (float64(i)+0.5)*plotW/float64(max(n, 1)) }
	y := func(v float64) float64 { return chartTop + plotH - v/yMax*plotH }

	fmt.Fprintf(&b, `<svg id="%s" class="chart" role="img" viewBox="0 0 %d %d" preserveAspectRatio="xMidYMid meet" aria-labelledby="%s-title %s-desc" data-y-max="%s">`,
		esc(c.ID), chartWidth, chartHeight, esc(c.ID), esc(c.ID), num(yMax))
	fmt.Fprintf(&b, "\n<title id=\"%s-title\">%s</title>\n<desc id=\"%s-desc\">%s</desc>\n", esc(c.ID), esc(c.Title), esc(c.ID), esc(c.Desc))

	// Grid and y axis labels.
	b.WriteString(`<g class="axis" aria-hidden="true">` + "\n")
	for i := 0; i <= chartTicks; i++ {
		v := yMax * float64(i) / chartTicks
		label := num(v)
		if c.Percent {
			label += "%"
		}
		fmt.Fprintf(&b, `<line x1="%d" y1="%s" x2="%d" y2="%s" class="grid"/>`+"\n", chartLeft, num(y(v)), chartWidth-chartRight, num(y(v)))
		fmt.Fprintf(&b, `<text x="%d" y="%s" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", chartLeft-6, num(y(v)), label)
	}
	every := max(1, int(math.Ceil(float64(n)/chartXLabels)))
	for i := 0; i < n; i += every {
		fmt.Fprintf(&b, `<text x="%s" y="%d" text-anchor="middle">%s</text>`+"\n", num(x(i)), chartHeight-8, esc(c.Labels[i]))
	}
	b.WriteString("</g>\n")

	unit := c.Unit
	for si, s := range c.Series {
		color, dash := seriesStyle(si)
		// A count series says its total; a sum of percentages means nothing.
		total := ""
		if !c.Percent {
			total = ` data-total="` + num(s.total()) + `"`
		}
		fmt.Fprintf(&b, `<g class="series" data-series="%s"%s stroke="%s" fill="%s">`+"\n",
			esc(s.Name), total, color, color)
		// One polyline per run of points with data.
		var run []string
		flush := func() {
			if len(run) > 1 {
				dashAttr := ""
				if dash != "" {
					dashAttr = ` stroke-dasharray="` + dash + `"`
				}
				fmt.Fprintf(&b, `<polyline fill="none" stroke-width="3"%s points="%s"/>`+"\n", dashAttr, strings.Join(run, " "))
			}
			run = run[:0]
		}
		for i, v := range s.Values {
			if math.IsNaN(v) {
				flush()
				continue
			}
			run = append(run, num(x(i))+","+num(y(v)))
		}
		flush()
		for i, v := range s.Values {
			if math.IsNaN(v) {
				continue
			}
			shown := num(v)
			if c.Percent {
				shown += "%"
			}
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="4" data-bucket="%d" data-value="%s"><title>%s, %s: %s %s</title></circle>`+"\n",
				num(x(i)), num(y(v)), i, num(v), esc(s.Name), esc(c.Labels[i]), shown, esc(unit))
		}
		b.WriteString("</g>\n")
	}
	b.WriteString("</svg>")
	return template.HTML(b.String())
}

func (c lineChart) max() float64 {
	m := 0.0
	for _, s := range c.Series {
		for _, v := range s.Values {
			if !math.IsNaN(v) {
				m = math.Max(m, v)
			}
		}
	}
	return m
}

// total sums a series' values (for counts: the series' total).
func (s chartSeries) total() float64 {
	t := 0.0
	for _, v := range s.Values {
		if !math.IsNaN(v) {
			t += v
		}
	}
	return t
}

// niceMax is the top of a counting axis: the smallest 1, 2 or 5 × 10^k
// step, times the number of ticks, that reaches v; whole numbers only, so
// the tick labels are counts.
func niceMax(v float64) float64 {
	raw := v / chartTicks
	if raw <= 1 {
		return chartTicks
	}
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if step := m * pow; step >= raw {
			return step * chartTicks
		}
	}
	return 10 * pow * chartTicks
}

// num formats a coordinate or value with at most one decimal.
func num(v float64) string {
	s := fmt.Sprintf("%.1f", v)
	return strings.TrimSuffix(s, ".0")
}
