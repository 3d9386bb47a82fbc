package dashboard

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"

	"switchyard/server/pay"
	"switchyard/server/store"
)

// Cookie names, before the __Host- prefix added under https (which binds a
// cookie to the exact host, Secure and Path=/).
const (
	sessionCookie = "sy_dash"
	// loginCookie carries the login form's CSRF token (double submit):
	// there is no session to keep it in yet.
	loginCookie = "sy_dash_login"
	flashCookie = "sy_dash_flash"
)

// Echo context keys.
const (
	ctxSession   = "dashboard.session"
	ctxMerchant  = "dashboard.merchant"
	ctxLoginCSRF = "dashboard.login_csrf"
)

// csrfField is the name of the hidden field carrying the CSRF token.
const csrfField = "csrf_token"

// maxLoginLen bounds the login name (merchants.dashboard_login is 64).
const maxLoginLen = 64

func (s *Server) cookieName(name string) string {
	if s.secure {
		return "__Host-" + name
	}
	return name
}

// merchant is the logged-in merchant of a request that passed
// requireSession. Every handler scopes what it reads and changes to it.
func merchant(c echo.Context) *pay.Merchant {
	m, _ := c.Get(ctxMerchant).(*pay.Merchant)
	return m
}

// session is the request's dashboard session, or nil before login.
func session(c echo.Context) *store.DashboardSession {
	sess, _ := c.Get(ctxSession).(*store.DashboardSession)
	return sess
}

// randomToken returns 32 random bytes, base64url.
func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func hashSessionID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// lookupSession finds the unexpired session of the request's cookie and its
// merchant; ok is false when there is none.
func (s *Server) lookupSession(c echo.Context) (*store.DashboardSession, *pay.Merchant, bool, error) {
	ck, err := c.Cookie(s.cookieName(sessionCookie))
	if err != nil || ck.Value == "" || len(ck.Value) > 100 {
		return nil, nil, false, nil
	}
	ctx := c.Request().Context()
	sess, err := s.db.DashboardSession(ctx, hashSessionID(ck.Value))
	if pay.ErrorCode(err) == pay.ENOTFOUND {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, err
	}
	m, err := s.svc.Merchant(ctx, sess.MerchantID)
	if pay.ErrorCode(err) == pay.ENOTFOUND {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, err
	}
	return sess, m, true, nil
}

// requireSession lets the request through with its session and merchant in
// the context, or sends the browser to the login page.
func (s *Server) requireSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		sess, m, ok, err := s.lookupSession(c)
		if err != nil {
			return s.fail(c, err)
		}
		if !ok {
			s.setSecurityHeaders(c)
			return c.Redirect(http.StatusSeeOther, "/dashboard")
		}
		c.Set(ctxSession, sess)
		c.Set(ctxMerchant, m)
		return next(c)
	}
}

// checkCSRF refuses (403) a state-changing request that is not from the
// dashboard's own pages: it must come from this origin and carry the
// session's token in the form.
func (s *Server) checkCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		sess := session(c)
		if !s.sameOrigin(c) || sess == nil || !tokensEqual(c.FormValue(csrfField), sess.CSRFToken) {
			return s.forbidden(c)
		}
		return next(c)
	}
}

func tokensEqual(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// sameOrigin reports whether the request came from a page of this server:
// Sec-Fetch-Site (when the browser sends it) says same-origin, and the
// Origin (or, lacking one, the Referer) is the public origin or that of the
// Host the request was sent to.
func (s *Server) sameOrigin(c echo.Context) bool {
	r := c.Request()
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		u, err := url.Parse(r.Header.Get("Referer"))
		if err != nil || u.Host == "" {
			return false
		}
		origin = u.Scheme + "://" + u.Host
	}
	origin = strings.ToLower(origin)
	return (s.origin != "" && origin == s.origin) || origin == strings.ToLower(c.Scheme()+"://"+r.Host)
}

func (s *Server) forbidden(c echo.Context) error {
	s.log.Warn("dashboard: CSRF check refused a request", "path", c.Request().URL.Path,
		"origin", c.Request().Header.Get("Origin"), "request_id", requestID(c))
	return s.render(c, http.StatusForbidden, "dashboard_error.html", view{Title: "Request refused",
		Error: "This form was not sent from the dashboard, or it has expired. Go back, reload the page and try again."})
}

// loginPage is the data of dashboard_login.html.
type loginPage struct {
	Login string
}

// handleLoginPage shows the login form, or sends a logged-in merchant home.
func (s *Server) handleLoginPage(c echo.Context) error {
	if _, _, ok, err := s.lookupSession(c); err != nil {
		return s.fail(c, err)
	} else if ok {
		return c.Redirect(http.StatusSeeOther, homePath)
	}
	return s.renderLogin(c, http.StatusOK, view{Data: loginPage{}})
}

// renderLogin renders the login form with a fresh double-submit token.
func (s *Server) renderLogin(c echo.Context, status int, v view) error {
	token := randomToken()
	c.SetCookie(&http.Cookie{Name: s.cookieName(loginCookie), Value: token, Path: "/", HttpOnly: true,
		Secure: s.secure, SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	c.Set(ctxLoginCSRF, token)
	v.Title = "Log in"
	return s.render(c, status, "dashboard_login.html", v)
}

// handleLogin checks the login form: origin and token, lockout, then the
// bcrypt password. Success starts a session and lands on the orders page.
func (s *Server) handleLogin(c echo.Context) error {
	ck, err := c.Cookie(s.cookieName(loginCookie))
	if !s.sameOrigin(c) || err != nil || !tokensEqual(c.FormValue(csrfField), ck.Value) {
		c.Set(ctxLoginCSRF, "")
		return s.forbidden(c)
	}
	ctx := c.Request().Context()
	login, password := strings.TrimSpace(c.FormValue("login")), c.FormValue("password")
	form := loginPage{Login: login}
	if login == "" || password == "" || len(login) > maxLoginLen || len(password) > 72 {
		return s.renderLogin(c, http.StatusUnprocessableEntity, view{Data: form, Error: "Enter your login and password."})
	}
	until, err := s.db.DashboardLoginLockedUntil(ctx, login)
	if err != nil {
		return s.fail(c, err)
	}
	if !until.IsZero() {
		return s.renderLocked(c, form, until)
	}
	merchantID, hash, err := s.db.DashboardPasswordHash(ctx, login)
	if err != nil && pay.ErrorCode(err) != pay.ENOTFOUND {
		return s.fail(c, err)
	}
	if merchantID == "" {
		hash = string(s.dummyHash)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil || merchantID == "" {
		until, err := s.db.RecordDashboardLoginFailure(ctx, login, s.lockout)
		if err != nil {
			return s.fail(c, err)
		}
		s.log.Info("dashboard: failed login", "login", login, "locked", !until.IsZero(), "request_id", requestID(c))
		if !until.IsZero() {
			return s.renderLocked(c, form, until)
		}
		return s.renderLogin(c, http.StatusUnauthorized, view{Data: form, Error: "The login or password is not correct."})
	}
	if err := s.db.ClearDashboardLoginFailures(ctx, login); err != nil {
		return s.fail(c, err)
	}
	id := randomToken()
	sess := &store.DashboardSession{IDHash: hashSessionID(id), MerchantID: merchantID, CSRFToken: randomToken(),
		ExpiresAt: s.db.Now().Add(s.sessionTTL)}
	if err := s.db.CreateDashboardSession(ctx, sess); err != nil {
		return s.fail(c, err)
	}
	s.log.Info("dashboard: login", "merchant_id", merchantID, "request_id", requestID(c))
	c.SetCookie(&http.Cookie{Name: s.cookieName(sessionCookie), Value: id, Path: "/", HttpOnly: true,
		Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: int(s.sessionTTL / time.Second)})
	c.SetCookie(&http.Cookie{Name: s.cookieName(loginCookie), Path: "/", HttpOnly: true, Secure: s.secure, MaxAge: -1})
	return c.Redirect(http.StatusSeeOther, homePath)
}

func (s *Server) renderLocked(c echo.Context, form loginPage, until time.Time) error {
	minutes := int(time.Until(until).Round(time.Minute) / time.Minute)
	return s.renderLogin(c, http.StatusTooManyRequests, view{Data: form,
		Error: "Too many failed attempts: this login is locked. Try again in " + plural(max(minutes, 1), "minute") + "."})
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// handleLogout ends the session everywhere (it is deleted from the
// database) and clears the cookie.
func (s *Server) handleLogout(c echo.Context) error {
	if err := s.db.DeleteDashboardSession(c.Request().Context(), session(c).IDHash); err != nil {
		return s.fail(c, err)
	}
	c.SetCookie(&http.Cookie{Name: s.cookieName(sessionCookie), Path: "/", HttpOnly: true, Secure: s.secure, MaxAge: -1})
	return s.seeOther(c, "/dashboard", "You have logged out.")
}
