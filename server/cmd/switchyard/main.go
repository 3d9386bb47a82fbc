// Command switchyard runs the Switchyard payment orchestrator.
//
//	switchyard [serve]          run the server (the default)
//	switchyard migrate          apply database migrations and exit
//	switchyard merchant create  create a merchant and print its secrets once
//	switchyard routesim         compare gateway routing approaches on synthetic traffic
//
// Configuration comes from SWITCHYARD_* environment variables; see README.md.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"switchyard/server/app"
	"switchyard/server/orchestrator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "switchyard:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	log := newLogger(stderr)
	cfg, err := app.ConfigFromEnv(getenv)
	if err != nil {
		return err
	}
	switch cmd {
	case "serve":
		return serve(ctx, cfg, log, stdout)
	case "migrate":
		if cfg.DatabaseURL == "" {
			return fmt.Errorf("migrate needs SWITCHYARD_DATABASE_URL (the embedded database migrates itself at start)")
		}
		a, err := app.Open(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer a.Close()
		log.Info("migrations up to date")
		return nil
	case "merchant":
		if len(args) == 0 || args[0] != "create" {
			return fmt.Errorf("usage: switchyard merchant create --id ID --name NAME [flags]")
		}
		return createMerchant(ctx, cfg, log, args[1:], stdout)
	case "routesim":
		return routesim(args, stdout)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, "usage: switchyard [serve | migrate | merchant create --id ID --name NAME [--json] | routesim [-seed N] [-n N] [-scenario NAME]]")
		return nil
	}
	return fmt.Errorf("unknown command %q; want serve, migrate, merchant create or routesim", cmd)
}

func serve(ctx context.Context, cfg app.Config, log *slog.Logger, stdout io.Writer) error {
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	var demo *app.Demo
	if cfg.Sandbox {
		d, err := a.SeedDemo(ctx)
		if err != nil {
			return fmt.Errorf("seeding the demo merchant: %w", err)
		}
		demo = &d
	}
	a.PrintBanner(stdout, demo)
	return a.Run(ctx)
}

func createMerchant(ctx context.Context, cfg app.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("merchant create", flag.ContinueOnError)
	id := fs.String("id", "", "merchant id (required)")
	name := fs.String("name", "", "display name (required)")
	redirect := fs.String("redirect-url", "", "Payment Redirect URL")
	hosts := fs.String("return-hosts", "", "comma-separated allowed return hosts")
	currency := fs.String("currency", "INR", "default currency")
	asJSON := fs.Bool("json", false, "print the secrets as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *id == "" || *name == "" {
		return fmt.Errorf("--id and --name are required")
	}
	if cfg.DatabaseURL == "" {
		return fmt.Errorf("merchant create needs SWITCHYARD_DATABASE_URL: the embedded database lives only inside a running server")
	}
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	m := orchestrator.NewMerchant(*id, *name)
	m.PaymentRedirectURL, m.DefaultCurrency = *redirect, strings.ToUpper(*currency)
	if *hosts != "" {
		m.AllowedReturnHosts = strings.Split(*hosts, ",")
	}
	creds, err := a.Service.CreateMerchant(ctx, m)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]string{
			"merchant_id": creds.MerchantID, "api_key": creds.APIKey, "response_key": creds.ResponseKey,
			"dashboard_login": creds.DashboardLogin, "dashboard_password": creds.DashboardPassword,
		})
	}
	fmt.Fprintf(stdout, "merchant:           %s\napi key:            %s\nresponse key:       %s\ndashboard login:    %s\ndashboard password: %s\n(these secrets are shown only once)\n",
		creds.MerchantID, creds.APIKey, creds.ResponseKey, creds.DashboardLogin, creds.DashboardPassword)
	return nil
}

// newLogger logs JSON, or text when a person is watching a terminal.
func newLogger(w io.Writer) *slog.Logger {
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return slog.New(slog.NewTextHandler(w, nil))
		}
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}
