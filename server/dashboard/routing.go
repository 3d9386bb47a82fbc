package dashboard

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"switchyard/server/orchestrator"
	"switchyard/server/pay"
	"switchyard/server/routing"
)

// ruleBlock is one rule of the routing form as typed: lists are comma
// separated text, so a refused form comes back exactly as entered.
type ruleBlock struct {
	Index       int
	Position    string
	Name        string
	MethodTypes []string
	Methods     string
	BINRanges   string
	AmountMin   string
	AmountMax   string
	Currencies  string
	UDF         string // "udf1=gold, udf2=app"
	Action      string
	Gateways    string
	Split       string // "gw_a:60, gw_b:40"
	Delete      bool
	// Problems lists the rule's refusals for the summary at its top.
	Problems []string
}

// HasType reports whether the rule's condition lists payment method type t.
func (b ruleBlock) HasType(t string) bool { return slices.Contains(b.MethodTypes, t) }

// routingForm is the routing page: the config as typed, the sample payment
// and, after a preview, what routing would do with it.
type routingForm struct {
	Mode            string
	Priority        string
	CostWeight      string
	ElimEnabled     bool
	ElimThreshold   string
	ElimMinSamples  string
	Rules           []ruleBlock
	Gateways        []string
	MethodTypes     []string
	Actions         []string
	SampleType      string
	SampleMethod    string
	SampleBIN       string
	SampleAmount    string
	SampleCurrency  string
	Preview         *previewView
	RuleCount       int
	GatewaysMissing bool
}

// previewView is a routing decision explained.
type previewView struct {
	Gateway    string
	Reason     string
	Why        string
	Rule       string
	Candidates []previewCandidate
}

type previewCandidate struct {
	Gateway string
	Score   string
}

// reasonText explains each routing reason to a merchant.
var reasonText = map[routing.Reason]string{
	routing.ReasonForced:      "The payment named its gateway.",
	routing.ReasonEnforced:    "A rule with action ENFORCE allows only these gateways.",
	routing.ReasonPriority:    "The gateways are tried in priority order (a PRIORITY rule, or the PRIORITY mode).",
	routing.ReasonSplit:       "A SPLIT rule shares this traffic between gateways; this payment falls in this gateway's share.",
	routing.ReasonSR:          "This gateway has the best estimated success rate for such payments.",
	routing.ReasonExploration: "Success-rate routing sometimes tries a gateway whose estimate is close to the best, to keep the estimates current.",
	routing.ReasonCost:        "Fees (cost weight) put this gateway ahead of one with a slightly better success rate.",
	routing.ReasonDowntime:    "The preferred gateway is out of rotation after failures, so the next one leads.",
	routing.ReasonProbe:       "An out-of-rotation gateway gets this payment to check whether it recovered.",
	routing.ReasonNone:        "No enabled gateway account takes this method in this currency (or none that an ENFORCE rule allows).",
}

func newRoutingForm(m *pay.Merchant, gateways []*pay.GatewayAccount) routingForm {
	cfg := m.Routing
	f := routingForm{
		Mode: cfg.Mode, Priority: strings.Join(cfg.Priority, ", "),
		CostWeight:  strconv.FormatFloat(cfg.CostWeight, 'f', -1, 64),
		ElimEnabled: cfg.Elimination.Enabled, ElimThreshold: strconv.FormatFloat(cfg.Elimination.Threshold, 'f', -1, 64),
		ElimMinSamples: strconv.Itoa(cfg.Elimination.MinSamples),
		SampleType:     pay.MethodCard, SampleAmount: "100.00", SampleCurrency: m.DefaultCurrency,
	}
	for i, r := range cfg.Rules {
		b := ruleBlock{
			Position: strconv.Itoa(i + 1), Name: r.Name, MethodTypes: r.When.PaymentMethodType,
			Methods: strings.Join(r.When.PaymentMethod, ", "), BINRanges: strings.Join(r.When.BINRanges, ", "),
			AmountMin: r.When.AmountMin, AmountMax: r.When.AmountMax, Currencies: strings.Join(r.When.Currency, ", "),
			Action: r.Then.Type, Gateways: strings.Join(r.Then.Gateways, ", "),
		}
		var udf []string
		for k, v := range r.When.UDF {
			udf = append(udf, k+"="+v)
		}
		sort.Strings(udf)
		b.UDF = strings.Join(udf, ", ")
		var split []string
		for _, s := range r.Then.Split {
			split = append(split, s.Gateway+":"+strconv.Itoa(s.Percent))
		}
		b.Split = strings.Join(split, ", ")
		f.Rules = append(f.Rules, b)
	}
	f.complete(gateways)
	return f
}

// complete adds a blank "new rule" block (unless the last one is blank)
// and the choices the page lists.
func (f *routingForm) complete(gateways []*pay.GatewayAccount) {
	if n := len(f.Rules); n == 0 || !f.Rules[n-1].blank() {
		f.Rules = append(f.Rules, ruleBlock{Position: strconv.Itoa(n + 1)})
	}
	for i := range f.Rules {
		f.Rules[i].Index = i
	}
	f.RuleCount = len(f.Rules)
	f.Gateways = f.Gateways[:0]
	for _, g := range gateways {
		f.Gateways = append(f.Gateways, g.Name)
	}
	f.GatewaysMissing = len(gateways) == 0
	f.MethodTypes = pay.PaymentMethodTypes
	f.Actions = []string{pay.ActionPriority, pay.ActionEnforce, pay.ActionSplit}
}

func (s *Server) handleRouting(c echo.Context) error {
	m := merchant(c)
	gateways, err := s.svc.Gateways(c.Request().Context(), m.ID)
	if err != nil {
		return s.fail(c, err)
	}
	return s.render(c, http.StatusOK, "dashboard_routing.html", view{Title: "Routing", Data: newRoutingForm(m, gateways)})
}

// handleSaveRouting saves the routing form (do=save) or previews it without
// saving (do=preview): the sample payment is routed with the config as
// typed, so a merchant sees what a change would do before making it.
func (s *Server) handleSaveRouting(c echo.Context) error {
	ctx := c.Request().Context()
	m := merchant(c)
	gateways, err := s.svc.Gateways(ctx, m.ID)
	if err != nil {
		return s.fail(c, err)
	}
	form, err := c.FormParams()
	if err != nil {
		return s.fail(c, pay.Errorf(pay.EINVALID, "malformed form"))
	}
	f, cfg, blockOf, problems := parseRoutingForm(form)
	f.complete(gateways)
	refuse := func(err error) error {
		mapRuleErrors(&f, err, blockOf)
		return s.refuse(c, "dashboard_routing.html", view{Title: "Routing", Data: f}, err)
	}
	if err := problems.Err(); err != nil {
		return refuse(err)
	}
	if form.Get("do") == "preview" {
		d, err := s.svc.PreviewRouting(ctx, m, cfg, orchestrator.PreviewPayment{
			MethodType: f.SampleType, Method: strings.ToUpper(f.SampleMethod), CardBIN: f.SampleBIN,
			Amount: f.SampleAmount, Currency: strings.ToUpper(f.SampleCurrency),
		})
		if err != nil {
			return refuse(err)
		}
		f.Preview = explain(d)
		return s.render(c, http.StatusOK, "dashboard_routing.html", view{Title: "Routing", Data: f})
	}
	if _, err := s.svc.PutRouting(ctx, m.ID, cfg); err != nil {
		return refuse(err)
	}
	s.log.Info("dashboard: routing saved", "merchant_id", m.ID, "mode", cfg.Mode, "rules", len(cfg.Rules), "request_id", requestID(c))
	return s.seeOther(c, "/dashboard/routing", "Routing saved.")
}

func explain(d *routing.Decision) *previewView {
	p := &previewView{Reason: string(d.Reason), Why: reasonText[d.Reason], Rule: d.Rule}
	for _, cand := range d.List() {
		p.Candidates = append(p.Candidates, previewCandidate{Gateway: cand.Gateway, Score: strconv.FormatFloat(cand.Score, 'f', 3, 64)})
	}
	if len(p.Candidates) > 0 {
		p.Gateway = p.Candidates[0].Gateway
	}
	return p
}

// parseRoutingForm reads the form into what was typed (f) and the config it
// means (cfg). blockOf maps a rule's index in cfg to its block on the page
// (blank and deleted blocks are dropped, the rest ordered by position).
// problems are what cannot even be read (a number that is not one).
func parseRoutingForm(form url.Values) (f routingForm, cfg pay.RoutingConfig, blockOf []int, problems pay.Problems) {
	f = routingForm{
		Mode: form.Get("mode"), Priority: form.Get("priority"), CostWeight: strings.TrimSpace(form.Get("cost_weight")),
		ElimEnabled: form.Get("elimination.enabled") == "on", ElimThreshold: strings.TrimSpace(form.Get("elimination.threshold")),
		ElimMinSamples: strings.TrimSpace(form.Get("elimination.min_samples")),
		SampleType:     form.Get("sample.payment_method_type"), SampleMethod: strings.TrimSpace(form.Get("sample.payment_method")),
		SampleBIN: strings.TrimSpace(form.Get("sample.card_bin")), SampleAmount: strings.TrimSpace(form.Get("sample.amount")),
		SampleCurrency: strings.TrimSpace(form.Get("sample.currency")),
	}
	cfg = pay.RoutingConfig{Mode: f.Mode, Priority: list(f.Priority), Rules: []pay.RoutingRule{}}
	var err error
	if cfg.CostWeight, err = strconv.ParseFloat(orZero(f.CostWeight), 64); err != nil {
		problems.Add("cost_weight", "must be a number between 0 and 100")
	}
	cfg.Elimination.Enabled = f.ElimEnabled
	if cfg.Elimination.Threshold, err = strconv.ParseFloat(orZero(f.ElimThreshold), 64); err != nil {
		problems.Add("elimination.threshold", "must be a number at least 0 and below 1")
	}
	if cfg.Elimination.MinSamples, err = strconv.Atoi(orZero(f.ElimMinSamples)); err != nil {
		problems.Add("elimination.min_samples", "must be a whole number between 0 and 64")
	}

	count, _ := strconv.Atoi(form.Get("rule_count"))
	count = min(max(count, 0), 100)
	type parsed struct {
		block int
		pos   int
		rule  pay.RoutingRule
	}
	var rules []parsed
	for i := range count {
		p := "rules." + strconv.Itoa(i) + "."
		b := ruleBlock{
			Position: strings.TrimSpace(form.Get(p + "position")), Name: strings.TrimSpace(form.Get(p + "name")),
			MethodTypes: form[p+"payment_method_type"], Methods: form.Get(p + "payment_method"),
			BINRanges: form.Get(p + "bin_ranges"), AmountMin: strings.TrimSpace(form.Get(p + "amount_min")),
			AmountMax: strings.TrimSpace(form.Get(p + "amount_max")), Currencies: form.Get(p + "currency"),
			UDF: form.Get(p + "udf"), Action: form.Get(p + "action"), Gateways: form.Get(p + "gateways"), Split: form.Get(p + "split"),
		}
		b.Delete = form.Get(p+"delete") == "on"
		f.Rules = append(f.Rules, b)
		if b.Delete || b.blank() {
			continue
		}
		r := pay.RoutingRule{Name: b.Name, When: pay.RuleCondition{
			PaymentMethodType: b.MethodTypes, PaymentMethod: upperList(b.Methods), BINRanges: list(b.BINRanges),
			AmountMin: b.AmountMin, AmountMax: b.AmountMax, Currency: upperList(b.Currencies),
		}, Then: pay.RuleAction{Type: b.Action, Gateways: list(b.Gateways)}}
		field := "rules." + strconv.Itoa(i) + "."
		if udf, ok := pairs(b.UDF, "="); !ok {
			problems.Add(field+"udf", "write udf1=value, udf2=value")
		} else if len(udf) > 0 {
			r.When.UDF = map[string]string{}
			for _, kv := range udf {
				r.When.UDF[strings.ToLower(kv[0])] = kv[1]
			}
		}
		if r.Then.Type == pay.ActionSplit {
			r.Then.Gateways = nil
			split, ok := pairs(b.Split, ":")
			for _, kv := range split {
				n, err := strconv.Atoi(kv[1])
				if err != nil {
					ok = false
				}
				r.Then.Split = append(r.Then.Split, pay.SplitShare{Gateway: kv[0], Percent: n})
			}
			if !ok {
				problems.Add(field+"split", "write gateway:percent, gateway:percent")
			}
		}
		pos, err := strconv.Atoi(orZero(b.Position))
		if err != nil || b.Position == "" {
			pos = i + 1
		}
		rules = append(rules, parsed{block: i, pos: pos, rule: r})
	}
	sort.SliceStable(rules, func(a, b int) bool { return rules[a].pos < rules[b].pos })
	for _, r := range rules {
		cfg.Rules = append(cfg.Rules, r.rule)
		blockOf = append(blockOf, r.block)
	}
	return f, cfg, blockOf, problems
}

// IsNew reports whether the block is the empty "new rule" one.
func (b ruleBlock) IsNew() bool { return b.blank() }

func (b ruleBlock) blank() bool {
	return b.Name == "" && len(b.MethodTypes) == 0 && strings.TrimSpace(b.Methods+b.BINRanges+b.AmountMin+b.AmountMax+
		b.Currencies+b.UDF+b.Action+b.Gateways+b.Split) == ""
}

// list splits comma, space or line separated names.
func list(s string) []string {
	out := []string{}
	for _, v := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' }) {
		out = append(out, v)
	}
	return out
}

// pairs reads "k<sep>v" items separated by commas or lines; ok is false if
// an item lacks the separator.
func pairs(s, sep string) ([][2]string, bool) {
	var out [][2]string
	for _, item := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		k, v, found := strings.Cut(item, sep)
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !found || k == "" {
			return nil, false
		}
		out = append(out, [2]string{k, v})
	}
	return out, true
}

// ruleField matches a rule's field as pay.RoutingConfig.Validate names it:
// "rules[2] (vip).when.currency".
var ruleField = regexp.MustCompile(`^rules\[(\d+)\](?: \(.*\))?(?:\.(.+))?$`)

// ruleInputs maps a rule's validation field to the input on the page.
var ruleInputs = map[string]string{
	"name": "name", "when.payment_method_type": "payment_method_type", "when.payment_method": "payment_method",
	"when.bin_ranges": "bin_ranges", "when.amount_min": "amount_min", "when.amount_max": "amount_max",
	"when": "amount_min", "when.currency": "currency", "when.udf": "udf",
	"then.type": "action", "then.gateways": "gateways", "then.split": "split",
}

// mapRuleErrors rewrites the rule fields of a validation error to the
// rule's block and input on the page ("rules.<block>.<input>") and lists
// each rule's problems for the summary at the top of its block.
func mapRuleErrors(f *routingForm, err error, blockOf []int) {
	var pe *pay.Error
	if !errors.As(err, &pe) {
		return
	}
	for i, fe := range pe.Fields {
		block, input := -1, ""
		if m := ruleField.FindStringSubmatch(fe.Field); m != nil {
			idx, _ := strconv.Atoi(m[1])
			if idx >= len(blockOf) {
				continue
			}
			block, input = blockOf[idx], ruleInputs[m[2]]
			if input == "" {
				input = "action"
			}
			pe.Fields[i].Field = ruleFieldName(block, input)
		} else if rest, ok := strings.CutPrefix(fe.Field, "rules."); ok {
			// Named by block already, while reading the form.
			n, in, _ := strings.Cut(rest, ".")
			block, _ = strconv.Atoi(n)
			input = in
		} else {
			continue
		}
		if block >= 0 && block < len(f.Rules) {
			f.Rules[block].Problems = append(f.Rules[block].Problems, inputLabels[input]+": "+fe.Reason)
		}
	}
}

// inputLabels name a rule's inputs in its summary of problems.
var inputLabels = map[string]string{
	"name": "Name", "payment_method_type": "Payment method types", "payment_method": "Payment methods",
	"bin_ranges": "BIN ranges", "amount_min": "Amount", "amount_max": "Maximum amount", "currency": "Currencies",
	"udf": "UDF", "action": "Action", "gateways": "Gateways", "split": "Split",
}

// ruleFieldName is the error key of input of rule block i, for templates.
func ruleFieldName(i int, input string) string { return "rules." + strconv.Itoa(i) + "." + input }
