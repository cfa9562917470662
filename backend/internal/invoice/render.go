package invoice

import (
	"bytes"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/nimbo-panel/nimbo/backend/internal/billing"
	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// dateLayout is how dates are printed on invoices (always UTC).
const dateLayout = "2006-01-02"

// field is one labelled value of the invoice header.
type field struct{ Label, Value string }

// row is one printed line.
type row struct {
	Position               int
	Description            string
	Quantity, Unit, Amount string
}

// view is what both renderings print, with amounts already formatted.
type view struct {
	Number, Title             string
	SellerName, SellerEmail   string
	BuyerEmail                string
	Status                    string
	Fields                    []field
	Rows                      []row
	Subtotal, Discount, Total string
	HasDiscount               bool
	IssuedAt                  time.Time
}

func date(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(dateLayout)
}

// newView prepares inv and its lines for printing.
func newView(inv store.Invoice, lines []store.InvoiceLine) view {
	v := view{
		Number: inv.Number, Title: "Invoice " + inv.Number, SellerName: inv.SellerName, SellerEmail: inv.SellerEmail,
		BuyerEmail: inv.BuyerEmail, Status: strings.ToUpper(inv.Status),
		Subtotal: billing.Format(inv.Subtotal, inv.Currency), Discount: billing.Format(-inv.Discount, inv.Currency),
		Total: billing.Format(inv.Total, inv.Currency), HasDiscount: inv.Discount != 0,
		IssuedAt: inv.IssuedAt,
	}
	v.Fields = append(v.Fields, field{"Invoice number", inv.Number}, field{"Issued", date(&inv.IssuedAt)})
	if inv.PeriodStart != nil || inv.PeriodEnd != nil {
		v.Fields = append(v.Fields, field{"Service period", strings.TrimSpace(date(inv.PeriodStart) + " to " + date(inv.PeriodEnd))})
	}
	if inv.DueAt != nil {
		v.Fields = append(v.Fields, field{"Due", date(inv.DueAt)})
	}
	if inv.PaidAt != nil {
		v.Fields = append(v.Fields, field{"Paid", date(inv.PaidAt)})
	}
	v.Fields = append(v.Fields, field{"Status", v.Status}, field{"Currency", inv.Currency})
	v.Rows = make([]row, len(lines))
	for i, l := range lines {
		v.Rows[i] = row{Position: l.Position, Description: l.Description, Quantity: strconv.FormatInt(l.Quantity, 10),
			Unit: billing.Format(l.UnitAmount, inv.Currency), Amount: billing.Format(l.Amount, inv.Currency)}
	}
	return v
}

// htmlPage is the printable invoice page. html/template escapes every value by context.
const htmlPage = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body{font-family:Helvetica,Arial,sans-serif;color:#222;max-width:800px;margin:2em auto;padding:0 1em}
h1{font-size:1.6em;margin:0 0 .2em}
.parties{display:flex;justify-content:space-between;margin:1.5em 0}
.parties div{width:48%}
.label{color:#777;font-size:.85em;text-transform:uppercase}
table{width:100%;border-collapse:collapse}
th,td{padding:.4em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
td.num,th.num{text-align:right;white-space:nowrap}
table.meta td{border:none;padding:.15em .4em .15em 0}
tfoot td{border:none}
tr.total td{font-weight:bold;font-size:1.1em;border-top:2px solid #222}
.status{display:inline-block;padding:.1em .5em;border:1px solid #222;font-weight:bold}
</style>
</head>
<body>
<h1>Invoice {{.Number}}</h1>
<span class="status">{{.Status}}</span>
<div class="parties">
<div><div class="label">From</div><div>{{.SellerName}}</div>{{if .SellerEmail}}<div>{{.SellerEmail}}</div>{{end}}</div>
<div><div class="label">Bill to</div><div>{{.BuyerEmail}}</div></div>
</div>
<table class="meta">
{{range .Fields}}<tr><td class="label">{{.Label}}</td><td>{{.Value}}</td></tr>
{{end}}</table>
<h2>Lines</h2>
<table class="lines">
<thead><tr><th>#</th><th>Description</th><th class="num">Quantity</th><th class="num">Unit price</th><th class="num">Amount</th></tr></thead>
<tbody>
{{range .Rows}}<tr><td>{{.Position}}</td><td>{{.Description}}</td><td class="num">{{.Quantity}}</td><td class="num">{{.Unit}}</td><td class="num">{{.Amount}}</td></tr>
{{end}}</tbody>
<tfoot>
<tr><td colspan="4" class="num">Subtotal</td><td class="num">{{.Subtotal}}</td></tr>
{{if .HasDiscount}}<tr><td colspan="4" class="num">Discount</td><td class="num">{{.Discount}}</td></tr>
{{end}}<tr class="total"><td colspan="4" class="num">Total</td><td class="num">{{.Total}}</td></tr>
</tfoot>
</table>
</body>
</html>
`

// HTML renders inv with its lines as a standalone, printable HTML page. Every value is
// escaped: seller and buyer names, e-mails and line descriptions are data, never markup.
func HTML(inv store.Invoice, lines []store.InvoiceLine) ([]byte, error) {
	t, err := template.New("invoice").Parse(htmlPage)
	if err != nil {
		return nil, fmt.Errorf("parse invoice template: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, newView(inv, lines)); err != nil {
		return nil, fmt.Errorf("render invoice %s: %w", inv.Number, err)
	}
	return b.Bytes(), nil
}
