package app_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/nimbo-panel/nimbo/backend/api"
	"github.com/nimbo-panel/nimbo/backend/internal/billing"
	"github.com/nimbo-panel/nimbo/backend/internal/invoice"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
	"github.com/nimbo-panel/nimbo/backend/internal/testenv"
)

// invoiceSpec describes an invoice to issue in a test.
type invoiceSpec struct {
	issuer string // "" is the provider
	user   store.User
	// plan and server, both set, give the invoice a subscription on that server.
	plan, server  string
	lines         int
	status        string // default paid
	seller, buyer string
	issuedAt      time.Time
}

// issueTestInvoice issues an invoice through invoice.Issue in a transaction on the app's
// database, with a subscription when the spec names a server.
func issueTestInvoice(t *testing.T, e *env, s invoiceSpec) store.Invoice {
	t.Helper()
	if s.status == "" {
		s.status = invoice.StatusPaid
	}
	if s.seller == "" {
		s.seller = "Nimbo Hosting"
	}
	if s.buyer == "" {
		s.buyer = s.user.Email
	}
	var inv store.Invoice
	err := e.app.DB().Transaction(func(tx *gorm.DB) error {
		d := invoice.Draft{IssuerID: s.issuer, UserID: s.user.ID, Status: s.status, Currency: "USD", Discount: 100,
			SellerName: s.seller, SellerEmail: "billing@nimbo.example", BuyerEmail: s.buyer, IssuedAt: s.issuedAt}
		for i := 0; i < s.lines; i++ {
			d.Lines = append(d.Lines, invoice.Line{Description: fmt.Sprintf("Line %03d of plan S (March)", i+1), Quantity: 1, UnitAmount: 1250})
		}
		if s.server != "" {
			now := store.Now()
			sub := store.Subscription{ID: uuid.NewString(), UserID: s.user.ID, PlanID: s.plan, ServerID: &s.server, Cycle: "monthly",
				Status: "active", Currency: "USD", Price: 1250, CPU: 1, MemoryMiB: 128, DiskMiB: 256, AutoRenew: true,
				PeriodStart: now, PeriodEnd: now.AddDate(0, 1, 0), CreatedAt: now, UpdatedAt: now}
			if s.issuer != "" {
				sub.ResellerID = &s.issuer
			}
			if err := tx.Create(&sub).Error; err != nil {
				return err
			}
			d.SubscriptionID = &sub.ID
			d.PeriodStart, d.PeriodEnd = &sub.PeriodStart, &sub.PeriodEnd
		}
		var err error
		inv, _, err = invoice.Issue(context.Background(), tx, d)
		return err
	})
	if err != nil {
		t.Fatalf("issue invoice: %v", err)
	}
	return inv
}

// testServer inserts a server row owned by owner with sub-users holding the given
// space-separated permissions.
func testServer(t *testing.T, e *env, owner string, members map[string]string) string {
	t.Helper()
	now := store.Now()
	id := uuid.NewString()
	srv := store.Server{ID: id, OwnerID: owner, NodeID: uuid.NewString(), Name: "inv-" + id[:8],
		IncusName: "inv-" + strings.ReplaceAll(id, "-", ""), Type: api.TypeContainer, Image: "busybox", CPU: 1, MemoryMiB: 128,
		DiskMiB: 256, Status: api.StatusRunning, CreatedAt: now, UpdatedAt: now}
	if err := e.app.DB().Create(&srv).Error; err != nil {
		t.Fatal(err)
	}
	for user, perms := range members {
		m := store.ServerMember{ServerID: id, UserID: user, Permissions: perms, CreatedBy: owner, CreatedAt: now, UpdatedAt: now}
		if err := e.app.DB().Create(&m).Error; err != nil {
			t.Fatal(err)
		}
	}
	return id
}

func storeUser(t *testing.T, e *env, c *client) store.User {
	t.Helper()
	var u store.User
	if err := e.app.DB().Where("id = ?", c.user.ID).Take(&u).Error; err != nil {
		t.Fatal(err)
	}
	return u
}

func invoiceIDs(l api.List[api.Invoice]) string {
	ids := make([]string, len(l.Items))
	for i, it := range l.Items {
		ids[i] = it.Number
	}
	return strings.Join(ids, ",")
}

// TestInvoiceAccess issues invoices from a reseller and from the provider (one of them for
// the same server as the reseller's), then reads them (JSON, HTML, PDF) and lists them as
// every kind of caller: the billed user, the issuing reseller, admins and a billing sub-user
// of the subscription's server may read; another customer, another reseller, a sub-user
// without the billing permission get 404; lists are newest first, paginated and filtered.
func TestInvoiceAccess(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		admin := e.login("inv-admin@example.com", api.RoleAdmin)
		r1 := e.login("inv-r1@example.com", api.RoleCustomer)
		r2 := e.login("inv-r2@example.com", api.RoleCustomer)
		cust := e.login("inv-cust@example.com", api.RoleCustomer)
		other := e.login("inv-other@example.com", api.RoleCustomer)
		subBill := e.login("inv-sub-billing@example.com", api.RoleCustomer)
		subPower := e.login("inv-sub-power@example.com", api.RoleCustomer)
		promoteReseller(t, e, r1)
		promoteReseller(t, e, r2)
		attachCustomer(t, e, cust, r1)
		plan := couponPlan(t, admin, "inv-access-plan")
		srv := testServer(t, e, cust.user.ID, map[string]string{subBill.user.ID: "power billing", subPower.user.ID: "power console"})

		t0 := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)
		inv1 := issueTestInvoice(t, e, invoiceSpec{issuer: r1.user.ID, user: storeUser(t, e, cust), plan: plan.ID, server: srv,
			lines: 3, issuedAt: t0.Add(time.Hour)})
		inv2 := issueTestInvoice(t, e, invoiceSpec{user: storeUser(t, e, other), lines: 1, issuedAt: t0})
		inv3 := issueTestInvoice(t, e, invoiceSpec{user: storeUser(t, e, cust), lines: 2, status: invoice.StatusOpen,
			issuedAt: t0.Add(2 * time.Hour)})
		// The provider billed the same server before: the reseller does not see that one.
		inv4 := issueTestInvoice(t, e, invoiceSpec{user: storeUser(t, e, cust), plan: plan.ID, server: srv, lines: 1,
			issuedAt: t0.Add(3 * time.Hour)})
		if !strings.HasPrefix(inv1.Number, "INV-"+strings.ToUpper(r1.user.ID[:8])+"-") || inv2.Number != "INV-000001" ||
			inv3.Number != "INV-000002" || inv4.Number != "INV-000003" {
			t.Fatalf("numbers %s %s %s %s", inv1.Number, inv2.Number, inv3.Number, inv4.Number)
		}

		type access struct {
			name   string
			c      *client
			status [4]int
		}
		for _, a := range []access{
			{"billed customer", cust, [4]int{200, 404, 200, 200}},
			{"other customer", other, [4]int{404, 200, 404, 404}},
			{"issuing reseller", r1, [4]int{200, 404, 404, 404}},
			{"other reseller", r2, [4]int{404, 404, 404, 404}},
			{"billing sub-user", subBill, [4]int{200, 404, 404, 200}},
			{"sub-user without billing", subPower, [4]int{404, 404, 404, 404}},
			{"admin", admin, [4]int{200, 200, 200, 200}},
		} {
			for i, want := range a.status {
				inv := []store.Invoice{inv1, inv2, inv3, inv4}[i]
				for _, suffix := range []string{"", "/html", "/pdf"} {
					st, _, b := a.c.do("GET", "/api/v1/invoices/"+inv.ID+suffix, nil, nil)
					if st != want {
						t.Fatalf("%s reading %s%s: %d, want %d: %s", a.name, inv.Number, suffix, st, want, b)
					}
				}
			}
		}
		for _, id := range []string{"nope", uuid.NewString()} {
			if st, er := admin.errCode("GET", "/api/v1/invoices/"+id, nil); st != 404 || er.Error.Code != api.CodeNotFound {
				t.Fatalf("invoice %q: %d %+v", id, st, er)
			}
		}

		var got api.Invoice
		cust.must(200, "GET", "/api/v1/invoices/"+inv1.ID, nil, &got)
		if got.Number != inv1.Number || got.IssuerID != r1.user.ID || got.UserID != cust.user.ID || got.Subtotal != 3750 ||
			got.Discount != 100 || got.Total != 3650 || got.Exponent != 2 || got.Status != api.InvoicePaid || got.PaidAt == nil ||
			got.SubscriptionID == nil || got.PeriodStart == nil || len(got.Lines) != 3 || got.Lines[2].Position != 3 ||
			got.Lines[2].Amount != 1250 || got.Lines[0].Description != "Line 001 of plan S (March)" || !got.IssuedAt.Equal(inv1.IssuedAt) {
			t.Fatalf("invoice JSON: %+v", got)
		}

		for _, tc := range []struct {
			name string
			c    *client
			path string
			want []store.Invoice
		}{
			{"own, newest first", cust, "/api/v1/invoices", []store.Invoice{inv4, inv3, inv1}},
			{"own, second page", cust, "/api/v1/invoices?per_page=2&page=2", []store.Invoice{inv1}},
			{"own, open", cust, "/api/v1/invoices?status=open", []store.Invoice{inv3}},
			{"own, paid", cust, "/api/v1/invoices?status=paid", []store.Invoice{inv4, inv1}},
			{"other's own", other, "/api/v1/invoices", []store.Invoice{inv2}},
			{"a sub-user's own list has none", subBill, "/api/v1/invoices", nil},
			{"server, billing sub-user", subBill, "/api/v1/servers/" + srv + "/invoices", []store.Invoice{inv4, inv1}},
			{"server, owner", cust, "/api/v1/servers/" + srv + "/invoices", []store.Invoice{inv4, inv1}},
			{"server, owner, open", cust, "/api/v1/servers/" + srv + "/invoices?status=open", nil},
			{"server, reseller sees what it issued", r1, "/api/v1/servers/" + srv + "/invoices", []store.Invoice{inv1}},
			{"server, admin", admin, "/api/v1/servers/" + srv + "/invoices", []store.Invoice{inv4, inv1}},
			{"reseller issued", r1, "/api/v1/reseller/invoices", []store.Invoice{inv1}},
			{"reseller issued, by user", r1, "/api/v1/reseller/invoices?user_id=" + other.user.ID, nil},
			{"other reseller issued", r2, "/api/v1/reseller/invoices", nil},
			{"admin, all", admin, "/api/v1/admin/invoices", []store.Invoice{inv4, inv3, inv1, inv2}},
			{"admin, provider", admin, "/api/v1/admin/invoices?issuer_id=provider", []store.Invoice{inv4, inv3, inv2}},
			{"admin, reseller", admin, "/api/v1/admin/invoices?issuer_id=" + r1.user.ID, []store.Invoice{inv1}},
			{"admin, user", admin, "/api/v1/admin/invoices?user_id=" + cust.user.ID, []store.Invoice{inv4, inv3, inv1}},
			{"admin, user and status", admin, "/api/v1/admin/invoices?user_id=" + cust.user.ID + "&status=paid", []store.Invoice{inv4, inv1}},
			{"admin, status void", admin, "/api/v1/admin/invoices?status=void", nil},
		} {
			var l api.List[api.Invoice]
			tc.c.must(200, "GET", tc.path, nil, &l)
			want := make([]string, len(tc.want))
			for i, inv := range tc.want {
				want[i] = inv.Number
			}
			if got := invoiceIDs(l); got != strings.Join(want, ",") || (len(l.Items) > 0 && l.Items[0].Lines != nil) {
				t.Fatalf("%s: %s, want %s", tc.name, got, strings.Join(want, ","))
			}
			if !strings.Contains(tc.path, "page=") && l.Total != int64(len(tc.want)) {
				t.Fatalf("%s: total %d, want %d", tc.name, l.Total, len(tc.want))
			}
		}
		for _, tc := range []struct {
			c      *client
			path   string
			status int
		}{
			{subPower, "/api/v1/servers/" + srv + "/invoices", 403},
			{other, "/api/v1/servers/" + srv + "/invoices", 404},
			{r2, "/api/v1/servers/" + srv + "/invoices", 404},
			{cust, "/api/v1/reseller/invoices", 403},
			{admin, "/api/v1/reseller/invoices", 403},
			{r1, "/api/v1/admin/invoices", 403},
			{cust, "/api/v1/admin/invoices", 403},
			{cust, "/api/v1/invoices?status=late", 422},
			{admin, "/api/v1/admin/invoices?user_id=someone", 422},
			{admin, "/api/v1/admin/invoices?issuer_id=someone", 422},
			{admin, "/api/v1/admin/invoices?per_page=101", 422},
			{r1, "/api/v1/reseller/invoices?user_id=x", 422},
		} {
			if st, er := tc.c.errCode("GET", tc.path, nil); st != tc.status {
				t.Fatalf("%s as %s: %d, want %d: %+v", tc.path, tc.c.user.Email, st, tc.status, er)
			}
		}
	})
}

// pdfTextOf writes pdf to a file and returns what pdftotext reads in it and pdfinfo's page
// count. Without poppler-utils the test fails in CI and is skipped otherwise.
func pdfTextOf(t *testing.T, pdf []byte) (string, int) {
	t.Helper()
	var bins [2]string
	for i, tool := range []string{"pdftotext", "pdfinfo"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			msg := tool + " not found: install Debian's poppler-utils (.ci/services.sh deps-test)"
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg + " (set CI=true to make this a failure)")
		}
		bins[i] = p
	}
	f := filepath.Join(t.TempDir(), "invoice.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	text, err := exec.Command(bins[0], "-layout", f, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	info, err := exec.Command(bins[1], f).Output()
	if err != nil {
		t.Fatalf("pdfinfo: %v", err)
	}
	m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)$`).FindSubmatch(info)
	if m == nil {
		t.Fatalf("pdfinfo: no page count in %s", info)
	}
	pages, _ := strconv.Atoi(string(m[1]))
	return string(text), pages
}

// TestInvoiceRenderings downloads an invoice with hostile seller and buyer fields as HTML
// (escaped, served with a CSP that runs nothing) and as PDF (an attachment named after the
// number, whose text pdftotext reads back: the number, every line, the total, the names).
func TestInvoiceRenderings(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db testenv.Database) {
		e := newEnv(t, db)
		admin := e.login("inv-r-admin@example.com", api.RoleAdmin)
		cust := e.login("inv-r-cust@example.com", api.RoleCustomer)
		plan := couponPlan(t, admin, "inv-render-plan")
		srv := testServer(t, e, cust.user.ID, nil)
		seller := `<script>alert('x')</script> & Sons (Zürich) \ Ltd`
		buyer := `"><svg onload=alert(1)>@example.com`
		inv := issueTestInvoice(t, e, invoiceSpec{user: storeUser(t, e, cust), plan: plan.ID, server: srv, lines: 70,
			seller: seller, buyer: buyer})

		st, h, page := cust.do("GET", "/api/v1/invoices/"+inv.ID+"/html", nil, nil)
		if st != 200 || h.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Fatalf("html: %d %v", st, h)
		}
		for _, bad := range []string{"<script>", "<svg", "onload=alert(1)>"} {
			if bytes.Contains(page, []byte(bad)) {
				t.Fatalf("HTML carries %q unescaped", bad)
			}
		}
		total := billing.Format(inv.Total, "USD")
		for _, want := range []string{"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Sons (Zürich) \\ Ltd",
			"&#34;&gt;&lt;svg onload=alert(1)&gt;@example.com", inv.Number, total, "Line 070 of plan S (March)"} {
			if !bytes.Contains(page, []byte(want)) {
				t.Fatalf("HTML lacks %q", want)
			}
		}

		st, h, pdf := cust.do("GET", "/api/v1/invoices/"+inv.ID+"/pdf", nil, nil)
		if st != 200 || h.Get("Content-Type") != "application/pdf" ||
			h.Get("Content-Disposition") != "attachment; filename="+inv.Number+".pdf" || !bytes.HasPrefix(pdf, []byte("%PDF-1.4")) {
			t.Fatalf("pdf: %d %v %.20q", st, h, pdf)
		}
		text, pages := pdfTextOf(t, pdf)
		if pages < 2 {
			t.Fatalf("70 lines on %d page(s)", pages)
		}
		for _, want := range []string{inv.Number, total, "Subtotal", "Discount", `<script>alert('x')</script> & Sons (Zürich) \ Ltd`,
			buyer, fmt.Sprintf("page %d of %d", pages, pages)} {
			if !strings.Contains(text, want) {
				t.Fatalf("PDF text lacks %q:\n%s", want, text)
			}
		}
		for i := 1; i <= 70; i++ {
			if line := fmt.Sprintf("Line %03d of plan S (March)", i); strings.Count(text, line) != 1 {
				t.Fatalf("PDF text has %q %d times", line, strings.Count(text, line))
			}
		}
	})
}
