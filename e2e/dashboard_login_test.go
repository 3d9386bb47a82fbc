package e2e_test

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"switchyard/server/app"
)

// TestDashboardLogin: the login form lets a merchant in with the credentials the
// admin API gave, refuses a wrong password, locks the login after repeated
// failures (even against the right password), and logout ends the session.
func TestDashboardLogin(t *testing.T) {
	exe := browserExe(t)
	h := newDashHarness(t)
	tab := dashBrowser(t, exe)
	shop := h.createMerchant("shop_login")

	t.Run("login, see the nav, logout", func(t *testing.T) {
		ctx := tab(t)
		h.loginBrowser(t, ctx, shop)
		dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard/settings"), dashWaitPath("/dashboard/settings"))
		dashCheckPage(t, ctx)
		nav := dashEval[[]string](t, ctx, `Array.prototype.map.call(document.querySelectorAll('nav[aria-label="Dashboard"] a, nav[aria-label="Dashboard"] button'), function (a) { return a.textContent.trim(); })`)
		want := []string{"Orders", "Analytics", "Payment methods", "Gateways", "Routing", "Developers", "Settings", "Logout"}
		if strings.Join(nav, ",") != strings.Join(want, ",") {
			t.Errorf("nav %v, want %v", nav, want)
		}
		if cur := dashEval[string](t, ctx, `document.querySelector('[aria-current="page"]').textContent`); cur != "Settings" {
			t.Errorf("current nav item %q", cur)
		}
		if name := dashEval[string](t, ctx, `document.querySelector('.dash-merchant').textContent`); name != "Shop shop_login" {
			t.Errorf("merchant shown as %q", name)
		}
		dashDo(t, ctx, dashSubmit(`.dash-logout button`, "/dashboard"))
		if f := dashEval[string](t, ctx, `document.querySelector('[role=status]').textContent`); f != "You have logged out." {
			t.Errorf("after logout: %q", f)
		}
		dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard/settings"), dashWaitPath("/dashboard"))
		if dashEval[bool](t, ctx, `!!document.querySelector('nav[aria-label="Dashboard"]')`) {
			t.Errorf("the dashboard is still shown after logout")
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		ctx := tab(t)
		dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard"), chromedp.WaitVisible(chromedp.ID("login")),
			chromedp.SendKeys(chromedp.ID("login"), shop.DashboardLogin),
			chromedp.SendKeys(chromedp.ID("password"), "not-the-password"),
			dashSubmit(`button[type="submit"]`, "/dashboard"))
		dashCheckPage(t, ctx)
		if msg := dashEval[string](t, ctx, `document.querySelector('[role=alert]').textContent`); msg != "The login or password is not correct." {
			t.Errorf("failed login says %q", msg)
		}
		if v := dashEval[string](t, ctx, `document.getElementById('login').value + '|' + document.getElementById('password').value`); v != shop.DashboardLogin+"|" {
			t.Errorf("form after a failure: %q (login kept, password emptied)", v)
		}
	})

	t.Run("lockout after repeated failures", func(t *testing.T) {
		locked := h.createMerchant("shop_locked")
		s := &dashSession{h: h, client: h.loginClient()}
		for i := range 5 {
			token := s.csrf("/dashboard")
			res := s.post("/dashboard", url.Values{"csrf_token": {token}, "login": {locked.DashboardLogin}, "password": {"wrong"}})
			want := http.StatusUnauthorized
			if i == 4 {
				want = http.StatusTooManyRequests
			}
			res.want(t, want)
		}
		ctx := tab(t)
		dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard"), chromedp.WaitVisible(chromedp.ID("login")),
			chromedp.SendKeys(chromedp.ID("login"), locked.DashboardLogin),
			chromedp.SendKeys(chromedp.ID("password"), locked.DashboardPassword),
			dashSubmit(`button[type="submit"]`, "/dashboard"))
		if msg := dashEval[string](t, ctx, `document.querySelector('[role=alert]').textContent`); !strings.Contains(msg, "locked") {
			t.Errorf("the right password during the lockout: %q", msg)
		}
		// Another login is not affected.
		h.loginBrowser(t, tab(t), shop)
	})

	t.Run("session cookie flags", func(t *testing.T) {
		s := h.login(shop)
		u, _ := url.Parse(h.URL)
		var found bool
		for _, ck := range s.client.Jar.Cookies(u) {
			found = found || ck.Name == "sy_dash"
		}
		if !found {
			t.Fatal("no session cookie")
		}
		// The jar hides the flags: read them off a fresh login's header.
		c := &dashSession{h: h, client: h.loginClient()}
		token := c.csrf("/dashboard")
		res := c.post("/dashboard", url.Values{"csrf_token": {token}, "login": {shop.DashboardLogin}, "password": {shop.DashboardPassword}})
		var set string
		for _, v := range res.Header.Values("Set-Cookie") {
			if strings.HasPrefix(v, "sy_dash=") {
				set = v
			}
		}
		if !strings.Contains(set, "HttpOnly") || !strings.Contains(set, "SameSite=Lax") || !strings.Contains(set, "Path=/") {
			t.Errorf("session cookie %q", set)
		}
	})
}

// TestDashboardCSRF: a state-changing request is refused (403, nothing changed)
// unless it comes from the dashboard's own origin with the session's token.
func TestDashboardCSRF(t *testing.T) {
	h := newDashHarness(t)
	shop := h.createMerchant("shop_csrf")
	s := h.login(shop)
	token := s.csrf("/dashboard/settings")
	form := func(tok string) url.Values {
		return url.Values{"csrf_token": {tok}, "name": {"Hijacked"}, "payment_redirect_url": {"https://evil.example/"},
			"order_timeout_minutes": {"30"}, "auto_refund_threshold_minutes": {"10"}}
	}
	post := func(f url.Values, headers ...string) dashResponse {
		return h.send(s.client, http.MethodPost, "/dashboard/settings", "application/x-www-form-urlencoded", f.Encode(), headers...)
	}
	cases := []struct {
		name    string
		form    url.Values
		headers []string
	}{
		{"cross-site origin with the right token", form(token), []string{"Origin", "https://evil.example"}},
		{"cross-site fetch metadata", form(token), []string{"Origin", h.URL, "Sec-Fetch-Site", "cross-site"}},
		{"same-site but not same-origin", form(token), []string{"Origin", h.URL, "Sec-Fetch-Site", "same-site"}},
		{"no origin and no referer", form(token), nil},
		{"cross-site referer", form(token), []string{"Referer", "https://evil.example/page"}},
		{"same origin without a token", form(""), []string{"Origin", h.URL}},
		{"same origin with a wrong token", form("x" + token), []string{"Origin", h.URL}},
		{"same origin with another session's token", form(h.login(h.createMerchant("shop_csrf2")).csrf("/dashboard/settings")), []string{"Origin", h.URL}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			post(c.form, c.headers...).want(t, http.StatusForbidden)
		})
	}
	var m struct {
		Name string `json:"name"`
	}
	h.admin(http.MethodGet, "/merchants/shop_csrf", nil).want(t, http.StatusOK).decode(t, &m)
	if m.Name != "Shop shop_csrf" {
		t.Fatalf("a refused request changed the name to %q", m.Name)
	}
	// The same request from the dashboard's origin goes through.
	post(form(token), "Origin", h.URL, "Sec-Fetch-Site", "same-origin").want(t, http.StatusSeeOther)
	h.admin(http.MethodGet, "/merchants/shop_csrf", nil).want(t, http.StatusOK).decode(t, &m)
	if m.Name != "Hijacked" {
		t.Fatalf("the same-origin request did not save: name %q", m.Name)
	}

	t.Run("login form", func(t *testing.T) {
		c := &dashSession{h: h, client: h.loginClient()}
		tok := c.csrf("/dashboard")
		f := url.Values{"csrf_token": {tok}, "login": {shop.DashboardLogin}, "password": {shop.DashboardPassword}}
		h.send(c.client, http.MethodPost, "/dashboard", "application/x-www-form-urlencoded", f.Encode(), "Origin", "https://evil.example").
			want(t, http.StatusForbidden)
		f.Set("csrf_token", "forged")
		c.post("/dashboard", f).want(t, http.StatusForbidden)
	})

	t.Run("logout", func(t *testing.T) {
		s := h.login(shop)
		h.send(s.client, http.MethodPost, "/dashboard/logout", "application/x-www-form-urlencoded",
			url.Values{"csrf_token": {s.csrf("/dashboard/settings")}}.Encode(), "Origin", "https://evil.example").want(t, http.StatusForbidden)
		s.get("/dashboard/settings").want(t, http.StatusOK)
	})
}

// TestDashboardHTTPSCookies: behind an https public URL the session cookie is
// __Host- prefixed and Secure, pages send HSTS, and the CSRF check wants
// the https origin.
func TestDashboardHTTPSCookies(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	const public = "https://pay.shop.example"
	h := newDashHarness(t, func(c *app.Config) { c.Addr, c.PublicURL = addr, public })
	shop := h.createMerchant("shop_https")

	page := h.send(h.client, http.MethodGet, "/dashboard", "", "").want(t, http.StatusOK)
	if v := page.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(v, "max-age=") {
		t.Errorf("HSTS %q", v)
	}
	var loginCookie *http.Cookie
	for _, ck := range (&http.Response{Header: page.Header}).Cookies() {
		if ck.Name == "__Host-sy_dash_login" {
			loginCookie = ck
		}
	}
	if loginCookie == nil || !loginCookie.Secure || loginCookie.Path != "/" {
		t.Fatalf("login cookie %+v", loginCookie)
	}
	token := dashCSRFInput.FindStringSubmatch(page.Body)[1]
	form := url.Values{"csrf_token": {token}, "login": {shop.DashboardLogin}, "password": {shop.DashboardPassword}}.Encode()
	cookie := "__Host-sy_dash_login=" + loginCookie.Value
	// The listener's own http origin is not the public one.
	h.send(h.client, http.MethodPost, "/dashboard", "application/x-www-form-urlencoded", form, "Cookie", cookie, "Origin", "http://evil.example").
		want(t, http.StatusForbidden)
	res := h.send(h.client, http.MethodPost, "/dashboard", "application/x-www-form-urlencoded", form, "Cookie", cookie, "Origin", public).
		want(t, http.StatusSeeOther)
	var session string
	for _, v := range res.Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, "__Host-sy_dash=") {
			session = v
		}
	}
	for _, want := range []string{"Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(session, want) {
			t.Errorf("session cookie %q lacks %s", session, want)
		}
	}
	if strings.Contains(session, "Domain=") {
		t.Errorf("a __Host- cookie must not name a domain: %q", session)
	}
}

// TestDashboardNotFoundPage: an unknown dashboard page is the HTML not-found page
// when logged in, the login otherwise.
func TestDashboardNotFoundPage(t *testing.T) {
	h := newDashHarness(t)
	shop := h.createMerchant("shop_404")
	res := h.send(h.client, http.MethodGet, "/dashboard/no-such-page", "", "").want(t, http.StatusSeeOther)
	if res.Header.Get("Location") != "/dashboard" {
		t.Errorf("logged out: location %q", res.Header.Get("Location"))
	}
	s := h.login(shop)
	if body := s.get("/dashboard/no-such-page").want(t, http.StatusNotFound).Body; !strings.Contains(body, "There is nothing here") {
		t.Errorf("404 page: %.300s", body)
	}
}
