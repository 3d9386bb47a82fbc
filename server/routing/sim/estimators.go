package sim

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"switchyard/server/routing"
)

// The bare estimators: one success-rate estimate per segment × gateway and
// a selection rule, nothing else (no elimination, no probes, no pooled
// prior). routesim compares them to choose the router's estimator. All see
// the same delayed outcomes, learn nothing from abandonment, and rank the
// fallbacks by their index.

// bandit is the shared frame: an index per eligible gateway, highest first.
type bandit struct {
	rng   *rand.Rand
	steps []uint64 // per segment: outcomes seen (the discounting clock)
	index func(b *bandit, s, g int) float64
	learn func(b *bandit, s, g int, ok bool)
	eps   float64 // ε-greedy hedging: a uniformly random primary
}

func (b *bandit) Rank(tx *Txn, out []int) int {
	k := copy(out, tx.Eligible)
	var v [len(Gateways)]float64
	for _, g := range tx.Eligible {
		v[g] = b.index(b, tx.Segment, g)
	}
	for i := 1; i < k; i++ {
		for j := i; j > 0 && v[out[j]] > v[out[j-1]]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	if b.eps > 0 && b.rng.Float64() < b.eps {
		j := b.rng.IntN(k)
		g := out[j]
		copy(out[1:j+1], out[:j])
		out[0] = g
	}
	return k
}

func (b *bandit) Observe(tx *Txn, g int, o routing.Outcome, _ time.Time) {
	if o == routing.Ignore {
		return
	}
	b.steps[tx.Segment]++
	b.learn(b, tx.Segment, g, o == routing.Success)
}

func newBandit(seed uint64) *bandit {
	return &bandit{rng: rand.New(rand.NewPCG(seed, 5)), steps: make([]uint64, len(Segments))}
}

func grid[T any]() [][]T {
	out := make([][]T, len(Segments))
	for s := range out {
		out[s] = make([]T, len(Gateways))
	}
	return out
}

// SlidingGreedy: the mean of each gateway's last w outcomes (an unseen
// gateway scores 1), greedy, with eps hedging.
func SlidingGreedy(w int, eps float64) Maker {
	return Maker{"sliding window w=" + strconv.Itoa(w) + " greedy ε=" + pct(eps), func(seed uint64) Policy {
		b := newBandit(seed)
		b.eps = eps
		win := grid[*ring]()
		for s := range win {
			for g := range win[s] {
				win[s][g] = &ring{v: make([]bool, w)}
			}
		}
		b.index = func(b *bandit, s, g int) float64 {
			if win[s][g].n == 0 {
				return 1
			}
			return win[s][g].mean()
		}
		b.learn = func(b *bandit, s, g int, ok bool) { win[s][g].push(ok) }
		return b
	}}
}

// disc is a discounted count: every outcome of the segment discounts all
// the segment's gateways by gamma.
type disc struct {
	s, f float64
	step uint64
}

func (d *disc) at(step uint64, gamma float64) (float64, float64) {
	w := math.Pow(gamma, float64(step-d.step))
	return d.s * w, d.f * w
}

func (d *disc) add(step uint64, gamma float64, ok bool) {
	d.s, d.f = d.at(step, gamma)
	d.step = step
	if ok {
		d.s++
	} else {
		d.f++
	}
}

// DiscountedGreedy: discounted success counts (memory w outcomes of the
// segment, Beta(1,1) prior), greedy, with eps hedging.
func DiscountedGreedy(w float64, eps float64) Maker {
	gamma := 1 - 1/w
	return Maker{"discounted w=" + strconv.Itoa(int(w)) + " greedy ε=" + pct(eps), func(seed uint64) Policy {
		b := newBandit(seed)
		b.eps = eps
		d := grid[disc]()
		b.index = func(b *bandit, s, g int) float64 {
			ps, pf := d[s][g].at(b.steps[s], gamma)
			return (ps + 1) / (ps + pf + 2)
		}
		b.learn = func(b *bandit, s, g int, ok bool) { d[s][g].add(b.steps[s], gamma, ok) }
		return b
	}}
}

// SWUCB is sliding-window UCB (Garivier & Moulines 2011): over the
// segment's last tau outcomes, mean + √(xi·ln(min(t, tau))/N).
func SWUCB(tau int, xi float64) Maker {
	return Maker{"SW-UCB τ=" + strconv.Itoa(tau) + " ξ=" + strconv.FormatFloat(xi, 'g', -1, 64), func(seed uint64) Policy {
		b := newBandit(seed)
		type event struct {
			g  int
			ok bool
		}
		hist := make([][]event, len(Segments))
		at := make([]int, len(Segments))
		cnt, sum := grid[int](), grid[int]()
		b.index = func(b *bandit, s, g int) float64 {
			if cnt[s][g] == 0 {
				return math.Inf(1)
			}
			t := min(float64(b.steps[s]), float64(tau))
			return float64(sum[s][g])/float64(cnt[s][g]) + math.Sqrt(xi*math.Log(max(t, 2))/float64(cnt[s][g]))
		}
		b.learn = func(b *bandit, s, g int, ok bool) {
			if len(hist[s]) < tau {
				hist[s] = append(hist[s], event{g, ok})
			} else {
				old := hist[s][at[s]]
				cnt[s][old.g]--
				if old.ok {
					sum[s][old.g]--
				}
				hist[s][at[s]] = event{g, ok}
				at[s] = (at[s] + 1) % tau
			}
			cnt[s][g]++
			if ok {
				sum[s][g]++
			}
		}
		return b
	}}
}

// DUCB is discounted UCB (Garivier & Moulines 2011): discounted counts
// (memory w), mean + 2√(xi·ln(n)/N), n the segment's discounted total.
func DUCB(w float64, xi float64) Maker {
	gamma := 1 - 1/w
	return Maker{"D-UCB w=" + strconv.Itoa(int(w)) + " ξ=" + strconv.FormatFloat(xi, 'g', -1, 64), func(seed uint64) Policy {
		b := newBandit(seed)
		d := grid[disc]()
		b.index = func(b *bandit, s, g int) float64 {
			total := 0.0
			for _, h := range eligible[s] {
				ps, pf := d[s][h].at(b.steps[s], gamma)
				total += ps + pf
			}
			ps, pf := d[s][g].at(b.steps[s], gamma)
			if ps+pf < 1e-9 {
				return math.Inf(1)
			}
			return ps/(ps+pf) + 2*math.Sqrt(xi*math.Log(max(total, 2))/(ps+pf))
		}
		b.learn = func(b *bandit, s, g int, ok bool) { d[s][g].add(b.steps[s], gamma, ok) }
		return b
	}}
}

// DTS is discounted Thompson sampling (Raj & Kalyani 2017): discounted
// counts (memory w) on a Beta(1,1) prior; the primary is the best draw from
// the Beta posteriors, exactly (gauss false) or from their normal
// approximation (gauss true), as the router draws.
func DTS(w float64, gauss bool) Maker {
	gamma := 1 - 1/w
	name := "discounted Thompson w=" + strconv.Itoa(int(w))
	if gauss {
		name += " (normal approx.)"
	} else {
		name += " (Beta)"
	}
	return Maker{name, func(seed uint64) Policy {
		b := newBandit(seed)
		d := grid[disc]()
		b.index = func(b *bandit, s, g int) float64 {
			ps, pf := d[s][g].at(b.steps[s], gamma)
			a, c := ps+1, pf+1
			if !gauss {
				x := gammaDraw(b.rng, a)
				return x / (x + gammaDraw(b.rng, c))
			}
			m := a / (a + c)
			return m + math.Sqrt(m*(1-m)/(a+c+1))*b.rng.NormFloat64()
		}
		b.learn = func(b *bandit, s, g int, ok bool) { d[s][g].add(b.steps[s], gamma, ok) }
		return b
	}}
}

// gammaDraw draws from Gamma(shape, 1) (Marsaglia & Tsang 2000).
func gammaDraw(rng *rand.Rand, shape float64) float64 {
	if shape < 1 {
		return gammaDraw(rng, shape+1) * math.Pow(rng.Float64(), 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

// kal is a Kalman filter's belief about a success rate that walks randomly.
type kal struct {
	m, p float64
	step uint64
	seen bool
}

// KalmanTS models each success rate as a random walk (variance q per
// outcome of the segment) tracked by a Kalman filter; the primary is the
// best draw from the beliefs (Thompson sampling, sd scaled by c).
func KalmanTS(q, c float64) Maker {
	return Maker{"Kalman Thompson q=" + strconv.FormatFloat(q, 'g', -1, 64) + " c=" + strconv.FormatFloat(c, 'g', -1, 64), func(seed uint64) Policy {
		b := newBandit(seed)
		k := grid[kal]()
		belief := func(s, g int) (float64, float64) {
			x := &k[s][g]
			if !x.seen {
				return 0.5, 0.1
			}
			return x.m, x.p + q*float64(b.steps[s]-x.step)
		}
		b.index = func(b *bandit, s, g int) float64 {
			m, p := belief(s, g)
			return m + c*math.Sqrt(p)*b.rng.NormFloat64()
		}
		b.learn = func(b *bandit, s, g int, ok bool) {
			m, p := belief(s, g)
			y := 0.0
			if ok {
				y = 1
			}
			r := max(m*(1-m), 0.02)
			gain := p / (p + r)
			m += gain * (y - m)
			k[s][g] = kal{m: min(max(m, 0), 1), p: (1 - gain) * p, step: b.steps[s], seen: true}
		}
		return b
	}}
}

func pct(x float64) string { return strconv.FormatFloat(100*x, 'g', -1, 64) + "%" }
