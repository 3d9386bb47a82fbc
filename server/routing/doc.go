// Package routing chooses the gateway accounts a txn goes to, in order, and
// learns from every final outcome which gateways succeed. It is pure: no
// I/O, no clock (callers pass now), no global state; the orchestrator owns
// the persistence of what it learns (Snapshot, Restore).
//
// # A decision
//
// NewPlan compiles a merchant's gateway accounts and routing config once
// (rebuild it when either changes); Router.Decide then ranks the gateways
// for one txn, without allocating, into a caller's Decision: the primary and
// its fallbacks, a score each, the Reason the primary leads and the Rule
// that matched. Its steps:
//
//  1. Forced gateway: Input.Gateway (gateway_id, gateway_reference_id) is
//     the only candidate when it can take the txn (FORCED_GATEWAY), else
//     ErrNoGateway; nothing below applies.
//  2. Eligibility: the account is enabled and lists the txn's payment
//     method type and currency; Limits narrow it to card brands, bank and
//     wallet codes, and an amount range.
//  3. Merchant rules, the first that matches: every condition set must hold
//     (payment_method_type, payment_method with MASTER read as MASTERCARD,
//     BIN ranges comparing the card's first 6 to 8 digits with the bounds
//     of the same length, amount_min/amount_max inclusive, currency,
//     udf1..udf10 exactly). Amounts compare exactly in thousandths of a
//     major unit, which every currency's minor unit divides: "1000.005"
//     matches 1000.005 BHD, not 1000.01 INR. Actions:
//     ENFORCE restricts the candidates to its list, never left, even when
//     all of them are down; PRIORITY mode keeps its order, SUCCESS_RATE
//     mode ranks them (ENFORCED_RULE). PRIORITY puts its list first, in its
//     order, and the other eligible gateways after it as fallbacks
//     (PRIORITY_LOGIC). SPLIT sends the txn to one of its gateways by a
//     hash of the txn id into 100 buckets, so a txn always lands in the
//     same place; shares of gateways that can't take the txn go to the
//     others pro rata (VOLUME_SPLIT).
//  4. Ranking, when no rule ordered: PRIORITY mode follows the config's
//     priority list, then the accounts' priority and name (PRIORITY_LOGIC).
//     SUCCESS_RATE mode ranks by estimated success rate minus the cost
//     term, cost_weight × the expected fee as a fraction of the amount
//     (fee_percent, plus fee_fixed when the txn is in the fee currency): at
//     cost_weight 1 a point of fees weighs as a point of success. The
//     primary is a Thompson draw (below); the fallbacks go by estimate
//     (SR_SELECTION; SR_EXPLORATION when the draw chose another than the
//     best estimate; COST_ADJUSTED when fees changed the primary).
//  5. Elimination (when the config enables it): a gateway whose last
//     min_samples outcomes for the payment method, or across all its
//     payment methods, succeeded less than threshold, or that answered
//     Unavailable or Timeout 3 times in a row, goes behind the others
//     (DOWNTIME_FALLBACK when it would have led). It gets probe traffic
//     only: one txn once 20 decisions skipped it and 10 s passed, both
//     doubling while probes fail, up to 320 decisions and 2 min apart
//     (DOWNTIME_PROBE, Decision.Probe). A probe that succeeds ends a
//     downtime at once, and a collapse once the recent outcomes, probes
//     included, are back at the threshold. When every candidate is
//     eliminated, the least bad leads (DOWNTIME_FALLBACK).
//
// # Learning
//
// Router.Observe takes every final outcome: Success (charged), Failure
// (declined or failed by the gateway or the issuer behind it), Unavailable
// (the gateway certainly did not process it: connection refused, 5xx before
// processing; the orchestrator fell back), Timeout (no answer in time and
// the txn failed) and Ignore. What the shopper did is Ignore, and routing
// learns nothing from it: an abandoned 3DS, bank or UPI page, wrong card
// details, insufficient funds or a blocked card (UE_1000, instrument) would
// fail the same at any gateway, so counting them only adds noise, and
// would let a wave of abandonment eliminate a healthy gateway. Downtime is
// not a success rate: Unavailable and Timeout feed elimination, and the
// success-rate belief counts only the first Timeout of a streak (a txn was
// lost) and no Unavailable (the fallback saved the txn), so that an outage
// does not leave a gateway looking bad once it is back. Outcomes arrive out
// of order: Feedback.Sent, when the txn went out, keeps the late success of
// a txn sent before an outage from ending it.
//
// # The estimator, and why
//
// Each merchant × gateway account × payment method (CARD/VISA, UPI/UPI,
// NB/NB_HDFC, …; a segment) has a belief about its success rate: a Kalman
// filter on the gateway's own outcomes, which models the rate as a random
// walk whose variance grows by Options.Drift (1e-5) with each outcome of
// the segment and by Options.DriftPerHour (0.005) per hour; at decision
// time it is combined with the segment's pooled success rate as a prior
// (standard deviation Options.Spread, 0.1). The primary is the best of one
// Thompson draw per candidate, from the belief with the variance beyond
// Options.ExploreFloor (0.003) and scaled by Options.Explore (0.7).
//
// The choice came from routesim (switchyard routesim -runs 5 -estimators):
// 50,000 txns per scenario over 4 gateways and 8 payment methods, 5 txns/s,
// outcomes 3 to 60 s late, 5-15% of txns abandoned by the shopper. The
// candidates were the classic non-stationary estimators, each at the best
// of a small sweep of its parameters (window 100/200/400 and hedging 2/5%;
// discount memory 100/250/500 and hedging; τ 250/500/1000 × ξ
// 0.01/0.05/0.2; memory × ξ 0.002/0.01/0.05; memory 100 to 1000; q ×
// scale), as success in percent of the oracle's, means of seeds 1-5:
//
//	estimator                              stationary  drift  degrade  outage  mixed   mean
//	sliding window w=100, greedy, 2% hedging    99.26  97.45    98.59   97.21  96.73  97.85
//	discounted w=250, greedy, 5% hedging        99.19  96.12    98.04   97.76  96.06  97.43
//	sliding-window UCB τ=1000 ξ=0.01            98.96  97.98    98.61   98.13  97.04  98.14
//	discounted UCB w=500 ξ=0.002                98.95  98.29    98.81   98.09  97.58  98.35
//	discounted Thompson w=500 (Beta)            98.68  98.06    98.29   98.03  97.35  98.08
//	Kalman Thompson q=1e-5, scale 0.7           98.73  98.18    98.52   97.79  97.51  98.14
//	router: Kalman Thompson + elimination       98.68  98.14    98.52   98.54  98.11  98.40
//	  + exploration floor                       99.04  98.35    98.79   98.71  98.25  98.63
//	  + segment prior (the router)              98.93  98.56    98.73   98.87  98.50  98.72
//	the router without elimination              98.93  98.56    98.73   97.74  97.86  98.36
//	decision-engine SR v3 (defaults)            98.53  98.33    98.19   98.18  97.56  98.16
//
// What decided it:
//
//   - Windows and discounting with ε-greedy hedging lead when nothing
//     changes and trail when something does: hedging explores at the same
//     rate whether or not there is anything to learn, and greedy ranking
//     locks onto a stale leader until the window turns over. (SR v3 is this
//     family, with resets to revive starved gateways.)
//   - Thompson sampling and UCB explore where the uncertainty is. Bare,
//     discounted UCB with a tiny bonus came out best and the Kalman filter
//     and discounted Thompson close behind: the estimators differ less than
//     what is built around them.
//   - A Kalman filter keeps the belief as a mean and a variance (two
//     numbers per cell, plain to persist) whose variance grows with the
//     traffic and the time a gateway went without outcomes: exactly when it
//     should be explored again. Discounted counts fade the mean of an
//     unplayed gateway towards its prior instead, and need a per-segment
//     clock for every gateway.
//   - Plain Thompson sampling kept exploring close, well-known gateways
//     (1-2 points lost even when nothing changes). Leaving out the variance
//     every tracked gateway keeps anyway (the floor) makes the ranking
//     greedy among gateways known well enough, and explores only those
//     whose evidence is thin or old.
//   - A gateway that started badly (a failure or two early on) stayed
//     unexplored for hours under a shrunk draw (seen in traces, 97.6% on
//     some seeds). Combining each belief with the segment's pooled rate
//     makes thin or aged evidence revert towards "like the others", which
//     gets it tried again; that is what took mixed from 98.25 to 98.50.
//   - Thompson draws over UCB: in the same router a UCB index (belief + k·sd
//     beyond the floor) did as well (98.68 mean), but a deterministic index
//     sends every txn to the same gateway until outcomes come back, 3 to 60
//     s later; draws spread that traffic, and say which decisions explored.
//   - Elimination and probes are what the outage and mixed scenarios need:
//     without them the router loses a point there.
//
// On the mixed scenario the router reaches 98.50% of the oracle (seeds 1-5;
// seed 1: 98.60%, the lowest of seeds 1-12 98.2%) against 97.56% for SR
// v3, 89.44% for static priority and 92.60% for round robin. The 98% holds
// at this traffic density, not at any: squeezed into 20,000 txns, the same
// story changes 2.5 times as fast per txn and the router reaches 97.36% (SR
// v3 96.55%); spread over 100,000, 98.78% (SR v3 98.16%).
//
// # Persistence and concurrency
//
// Snapshot returns the learned state as plain data (JSON-ready); Restore
// replaces it. Persist a snapshot every minute or so and restore it at
// start: beliefs age by the time that passed meanwhile, and probe pacing
// starts afresh. A Router is safe for concurrent use: merchants spread over
// 16 locks, each holding its merchants' state and random source. Decide
// takes about 1 µs with 10 eligible gateways and 20 rules, and allocates
// nothing (BenchmarkDecide).
package routing
