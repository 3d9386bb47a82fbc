package dashboard

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"switchyard/server/pay"
)

// gatewayRow is a gateway account as the list shows it. Credentials are
// write-only: only their names are ever shown.
type gatewayRow struct {
	*pay.GatewayAccount
	CredentialKeys []string
}

func credentialKeys(g *pay.GatewayAccount) []string {
	keys := make([]string, 0, len(g.Credentials))
	for k := range g.Credentials {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (s *Server) handleGateways(c echo.Context) error {
	gs, err := s.svc.Gateways(c.Request().Context(), merchant(c).ID)
	if err != nil {
		return s.fail(c, err)
	}
	rows := make([]gatewayRow, len(gs))
	for i, g := range gs {
		rows[i] = gatewayRow{GatewayAccount: g, CredentialKeys: credentialKeys(g)}
	}
	return s.render(c, http.StatusOK, "dashboard_gateways.html", view{Title: "Gateways", Data: rows})
}

// gatewayForm is the add/edit form as typed. It never holds stored
// credentials: the form shows which keys are set, not their values.
type gatewayForm struct {
	// New is true on the add form, where the name is typed.
	New            bool
	Name           string
	Connector      string
	Connectors     []string
	Enabled        bool
	CredentialKeys []string
	PaymentMethods []string
	AllMethods     []string
	Currencies     string
	FeePercent     string
	FeeFixed       string
	Priority       string
}

// Has reports whether the form's payment methods include t.
func (f gatewayForm) Has(t string) bool { return slices.Contains(f.PaymentMethods, t) }

func newGatewayForm(g *pay.GatewayAccount) gatewayForm {
	return gatewayForm{
		Name: g.Name, Connector: g.Connector, Connectors: pay.Connectors, Enabled: g.Enabled,
		CredentialKeys: credentialKeys(g), PaymentMethods: g.PaymentMethods, AllMethods: pay.PaymentMethodTypes,
		Currencies: strings.Join(g.Currencies, ", "), FeePercent: g.FeePercent,
		FeeFixed: strconv.FormatInt(g.FeeFixed, 10), Priority: strconv.Itoa(g.Priority),
	}
}

func (s *Server) handleNewGateway(c echo.Context) error {
	f := newGatewayForm(&pay.GatewayAccount{Connector: pay.Connectors[0], Enabled: true,
		PaymentMethods: pay.PaymentMethodTypes, Currencies: []string{merchant(c).DefaultCurrency}, FeePercent: "0"})
	f.New = true
	return s.render(c, http.StatusOK, "dashboard_gateway.html", view{Title: "Add a gateway", Data: f})
}

func (s *Server) handleGateway(c echo.Context) error {
	g, err := s.svc.Gateway(c.Request().Context(), merchant(c).ID, c.Param("name"))
	if err != nil {
		return s.fail(c, err)
	}
	return s.render(c, http.StatusOK, "dashboard_gateway.html", view{Title: "Gateway " + g.Name, Data: newGatewayForm(g)})
}

// handleCreateGateway adds an account; a name in use is refused rather than
// overwriting that account.
func (s *Server) handleCreateGateway(c echo.Context) error {
	return s.saveGateway(c, strings.TrimSpace(c.FormValue("name")), true)
}

// handleUpdateGateway changes an account. Credentials left empty stay as
// they are; typed ones replace them all.
func (s *Server) handleUpdateGateway(c echo.Context) error {
	return s.saveGateway(c, c.Param("name"), false)
}

func (s *Server) saveGateway(c echo.Context, name string, create bool) error {
	ctx := c.Request().Context()
	m := merchant(c)
	form, err := c.FormParams()
	if err != nil {
		return s.fail(c, pay.Errorf(pay.EINVALID, "malformed form"))
	}
	f := gatewayForm{
		New: create, Name: name, Connector: form.Get("connector"), Connectors: pay.Connectors,
		Enabled: form.Get("enabled") == "on", PaymentMethods: form["payment_methods"], AllMethods: pay.PaymentMethodTypes,
		Currencies: form.Get("currencies"), FeePercent: strings.TrimSpace(form.Get("fee_percent")),
		FeeFixed: strings.TrimSpace(form.Get("fee_fixed")), Priority: strings.TrimSpace(form.Get("priority")),
	}
	title := "Add a gateway"
	if !create {
		title = "Gateway " + name
	}
	existing, err := s.svc.Gateway(ctx, m.ID, name)
	switch {
	case err == nil && create:
		return s.refuse(c, "dashboard_gateway.html", view{Title: title, Data: f}, pay.Invalid("name", "is already used by another gateway account"))
	case err != nil && (!create || pay.ErrorCode(err) != pay.ENOTFOUND):
		return s.fail(c, err)
	}
	var p pay.Problems
	g := &pay.GatewayAccount{
		MerchantID: m.ID, Name: name, Connector: f.Connector, Enabled: f.Enabled, PaymentMethods: f.PaymentMethods,
		Currencies: upperList(f.Currencies), FeePercent: f.FeePercent,
	}
	creds, ok := parseCredentials(form.Get("credentials"))
	switch {
	case !ok:
		p.Add("credentials", "write one key=value per line")
	case len(creds) == 0 && existing != nil:
		g.Credentials = existing.Credentials
	default:
		g.Credentials = creds
	}
	if existing != nil {
		f.CredentialKeys = credentialKeys(existing)
	}
	if g.FeeFixed, err = strconv.ParseInt(orZero(f.FeeFixed), 10, 64); err != nil {
		p.Add("fee_fixed", "must be a whole number of minor units (paise, cents)")
	}
	if g.Priority, err = strconv.Atoi(orZero(f.Priority)); err != nil {
		p.Add("priority", "must be a whole number")
	}
	if verr := g.Validate(); verr != nil {
		p = append(p, verr.(*pay.Error).Fields...)
	}
	if err := p.Err(); err != nil {
		return s.refuse(c, "dashboard_gateway.html", view{Title: title, Data: f}, err)
	}
	if _, err := s.svc.PutGateway(ctx, g); err != nil {
		return s.refuse(c, "dashboard_gateway.html", view{Title: title, Data: f}, err)
	}
	s.log.Info("dashboard: gateway saved", "merchant_id", m.ID, "gateway", name, "created", create, "request_id", requestID(c))
	return s.seeOther(c, "/dashboard/gateways", "Gateway "+name+" saved.")
}

// handleToggleGateway turns an account on or off (field "enabled":
// "true"/"false"), keeping everything else.
func (s *Server) handleToggleGateway(c echo.Context) error {
	ctx := c.Request().Context()
	g, err := s.svc.Gateway(ctx, merchant(c).ID, c.Param("name"))
	if err != nil {
		return s.fail(c, err)
	}
	g.Enabled = c.FormValue("enabled") == "true"
	if _, err := s.svc.PutGateway(ctx, g); err != nil {
		return s.fail(c, err)
	}
	state := "disabled"
	if g.Enabled {
		state = "enabled"
	}
	s.log.Info("dashboard: gateway "+state, "merchant_id", g.MerchantID, "gateway", g.Name, "request_id", requestID(c))
	return s.seeOther(c, "/dashboard/gateways", "Gateway "+g.Name+" "+state+".")
}

// parseCredentials reads "key=value" lines; ok is false if a non-empty line
// has no "=" or an empty key.
func parseCredentials(text string) (map[string]string, bool) {
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, found := strings.Cut(line, "=")
		if k = strings.TrimSpace(k); !found || k == "" {
			return nil, false
		}
		out[k] = strings.TrimSpace(v)
	}
	return out, true
}

// upperList splits a comma or space separated list into upper-case items.
func upperList(s string) []string {
	out := []string{}
	for _, v := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' }) {
		out = append(out, strings.ToUpper(v))
	}
	return out
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}
