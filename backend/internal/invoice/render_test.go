package invoice_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nimbo-panel/nimbo/backend/internal/invoice"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// poppler returns the path of a poppler-utils tool (pdfinfo, pdftotext). Missing, it fails
// the test in CI and skips it otherwise.
func poppler(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		msg := tool + " not found: install Debian's poppler-utils (.ci/services.sh deps-test)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg + " (set CI=true to make this a failure)")
	}
	return p
}

// pdfTool runs a poppler tool on pdf and returns its standard output.
func pdfTool(t *testing.T, tool string, pdf []byte, args ...string) string {
	t.Helper()
	bin := poppler(t, tool)
	f := filepath.Join(t.TempDir(), "invoice.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, append(args, f, "-")...)
	if tool == "pdfinfo" {
		cmd = exec.Command(bin, append(args, f)...)
	}
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v: %s", tool, err, stderr.String())
	}
	if s := stderr.String(); s != "" {
		t.Fatalf("%s complained about the PDF: %s", tool, s)
	}
	return stdout.String()
}

func sample(n int, seller, buyer string) (store.Invoice, []store.InvoiceLine) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 1, 0)
	paid := time.Date(2026, 3, 1, 10, 30, 0, 0, time.UTC)
	inv := store.Invoice{ID: "inv", Number: "INV-0A1B2C3D-000042", IssuerID: "0a1b2c3d", Status: invoice.StatusPaid,
		Currency: "EUR", Discount: 250, PeriodStart: &start, PeriodEnd: &end, SellerName: seller,
		SellerEmail: "billing@seller.example", BuyerEmail: buyer, IssuedAt: paid, PaidAt: &paid}
	lines := make([]store.InvoiceLine, n)
	for i := range lines {
		lines[i] = store.InvoiceLine{Position: i + 1, Description: fmt.Sprintf("Item %03d: server web%d, March", i+1, i+1),
			Quantity: int64(i%3 + 1), UnitAmount: 1299}
		lines[i].Amount = lines[i].Quantity * lines[i].UnitAmount
		inv.Subtotal += lines[i].Amount
	}
	inv.Total = inv.Subtotal - inv.Discount
	return inv, lines
}

func pageCount(t *testing.T, info string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)$`).FindStringSubmatch(info)
	if m == nil {
		t.Fatalf("pdfinfo gave no page count:\n%s", info)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestPDFReadByPoppler renders invoices of 1, 3 and 200 lines and reads them back with
// pdfinfo and pdftotext: a valid PDF 1.4 on A4 pages whose text holds the number, the seller
// and buyer, every line once, the discount and the total; special and non-Latin-1 characters
// come out escaped or replaced; many lines flow onto several numbered pages.
func TestPDFReadByPoppler(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lines    int
		minPages int
		maxPages int
	}{
		{"one line", 1, 1, 1},
		{"three lines", 3, 1, 1},
		{"two hundred lines", 200, 4, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv, lines := sample(tc.lines, `Hosting (Zürich) \ Łódź 日本`, "buyer+test@example.com")
			pdf, err := invoice.PDF(inv, lines)
			if err != nil {
				t.Fatal(err)
			}
			again, err := invoice.PDF(inv, lines)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pdf, again) {
				t.Fatal("rendering the same invoice twice gave different bytes")
			}
			info := pdfTool(t, "pdfinfo", pdf, "-isodates")
			pages := pageCount(t, info)
			if pages < tc.minPages || pages > tc.maxPages {
				t.Fatalf("%d pages, want %d to %d", pages, tc.minPages, tc.maxPages)
			}
			flat := strings.Join(strings.Fields(info), " ")
			for _, want := range []string{"PDF version: 1.4", "Page size: 595.28 x 841.89 pts (A4)",
				"Title: Invoice INV-0A1B2C3D-000042", "Author: Hosting (Zürich) \\ Łódź 日本", "CreationDate: 2026-03-01T10:30:00Z"} {
				if !strings.Contains(flat, want) {
					t.Fatalf("pdfinfo lacks %q:\n%s", want, info)
				}
			}
			text := pdfTool(t, "pdftotext", pdf, "-layout")
			for _, want := range []string{
				"INVOICE", "INV-0A1B2C3D-000042", `Hosting (Zürich) \ Lódz ??`, "buyer+test@example.com",
				"billing@seller.example", "PAID", "2026-03-01 to 2026-04-01", "Subtotal",
				"-2.50 EUR", invoiceTotal(inv), fmt.Sprintf("page %d of %d", pages, pages),
			} {
				if !strings.Contains(text, want) {
					t.Fatalf("pdftotext output lacks %q:\n%s", want, text)
				}
			}
			for _, l := range lines {
				if n := strings.Count(text, l.Description); n != 1 {
					t.Fatalf("line %q appears %d times in the text", l.Description, n)
				}
			}
		})
	}
}

func invoiceTotal(inv store.Invoice) string {
	return fmt.Sprintf("%d.%02d EUR", inv.Total/100, inv.Total%100)
}

// TestPDFCrossReference checks the file structure without external tools: the header, that
// every xref entry points at its object, that startxref points at the table, and the trailer.
func TestPDFCrossReference(t *testing.T) {
	inv, lines := sample(120, "Nimbo", "a@example.com")
	pdf, err := invoice.PDF(inv, lines)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-1.4\n")) || !bytes.HasSuffix(pdf, []byte("%%EOF\n")) {
		t.Fatal("missing PDF header or EOF marker")
	}
	m := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n$`).FindSubmatch(pdf)
	if m == nil {
		t.Fatal("no startxref")
	}
	xref, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(pdf[xref:], []byte("xref\n0 ")) {
		t.Fatalf("startxref %d does not point at the xref table", xref)
	}
	rest := string(pdf[xref+len("xref\n"):])
	var first, count int
	if _, err := fmt.Sscanf(rest, "%d %d\n", &first, &count); err != nil || first != 0 {
		t.Fatalf("xref subsection header: %v", err)
	}
	entries := rest[strings.Index(rest, "\n")+1:]
	if len(entries) < count*20 {
		t.Fatal("xref table shorter than its count")
	}
	if entries[:20] != "0000000000 65535 f \n" {
		t.Fatalf("first xref entry %q", entries[:20])
	}
	for n := 1; n < count; n++ {
		e := entries[n*20 : (n+1)*20]
		off, err := strconv.Atoi(e[:10])
		if err != nil || e[10:] != " 00000 n \n" {
			t.Fatalf("xref entry %d malformed: %q", n, e)
		}
		if want := fmt.Sprintf("%d 0 obj\n", n); !bytes.HasPrefix(pdf[off:], []byte(want)) {
			t.Fatalf("xref entry %d points at %q", n, pdf[off:off+12])
		}
	}
	if !strings.Contains(entries[count*20:], fmt.Sprintf("/Size %d /Root 1 0 R", count)) {
		t.Fatalf("trailer does not match the table size %d", count)
	}
}

// TestHTMLEscapesHostileFields renders an invoice whose seller, buyer and line description
// carry markup: the page shows them as text and carries no markup of theirs.
func TestHTMLEscapesHostileFields(t *testing.T) {
	inv, lines := sample(2, `<script>alert("seller")</script>`, `"><img src=x onerror=alert(1)>@example.com`)
	lines[0].Description = `<b onmouseover="x()">Bold</b> & co`
	page, err := invoice.HTML(inv, lines)
	if err != nil {
		t.Fatal(err)
	}
	s := string(page)
	for _, bad := range []string{"<script>", "<img", "<b ", `onerror=alert(1)>`} {
		if strings.Contains(s, bad) {
			t.Fatalf("HTML carries %q unescaped:\n%s", bad, s)
		}
	}
	for _, want := range []string{
		"&lt;script&gt;alert(&#34;seller&#34;)&lt;/script&gt;", "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;@example.com",
		"&lt;b onmouseover=&#34;x()&#34;&gt;Bold&lt;/b&gt; &amp; co", "INV-0A1B2C3D-000042", "PAID",
		"-2.50 EUR", invoiceTotal(inv), "12.99 EUR", "2026-03-01 to 2026-04-01",
	} {
		if !strings.Contains(s, want) {
			t.Fatalf("HTML lacks %q:\n%s", want, s)
		}
	}
}

// BenchmarkPDF measures rendering invoices of 3 and 200 lines as PDF.
func BenchmarkPDF(b *testing.B) {
	for _, n := range []int{3, 200} {
		inv, lines := sample(n, "Nimbo Hosting", "buyer@example.com")
		b.Run(fmt.Sprintf("%d lines", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := invoice.PDF(inv, lines); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHTML measures rendering invoices of 3 and 200 lines as HTML.
func BenchmarkHTML(b *testing.B) {
	for _, n := range []int{3, 200} {
		inv, lines := sample(n, "Nimbo Hosting", "buyer@example.com")
		b.Run(fmt.Sprintf("%d lines", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := invoice.HTML(inv, lines); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestPDFLongDescriptionFlows renders one line whose description is a single 8000-character
// word: it is cut to the column, flows over several pages, and reads back complete.
func TestPDFLongDescriptionFlows(t *testing.T) {
	inv, lines := sample(2, "Nimbo", "a@example.com")
	long := strings.Repeat("abcdefghij", 800)
	lines[0].Description = long
	pdf, err := invoice.PDF(inv, lines)
	if err != nil {
		t.Fatal(err)
	}
	if pages := pageCount(t, pdfTool(t, "pdfinfo", pdf)); pages < 2 {
		t.Fatalf("an 8000-character description fits on %d page", pages)
	}
	text := pdfTool(t, "pdftotext", pdf)
	// The description's pieces are the only long runs of the letters a to j in the text.
	pieces := regexp.MustCompile(`[a-j]{12,}`).FindAllString(text, -1)
	if strings.Join(pieces, "") != long {
		t.Fatal("the long description does not read back complete and in order")
	}
	if !strings.Contains(text, lines[1].Description) {
		t.Fatalf("the line after the long one is missing:\n%s", text)
	}
}
