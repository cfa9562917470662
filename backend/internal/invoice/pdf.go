package invoice

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/nimbo-panel/nimbo/backend/internal/store"
)

// A small PDF 1.4 writer for invoices: A4 pages, the standard Helvetica and Helvetica-Bold
// fonts with WinAnsiEncoding (nothing embedded), Flate-compressed content streams, a
// classic cross-reference table. Text is measured with the fonts' AFM widths so that
// descriptions wrap and amounts align right; long invoices flow onto more pages, each with
// the table header again and a "page i of n" footer.

// Page geometry in points (A4).
const (
	pageWidth    = 595.28
	pageHeight   = 841.89
	marginLeft   = 50.0
	marginRight  = pageWidth - 50.0
	marginTop    = pageHeight - 50.0
	marginBottom = 70.0
	footerY      = 35.0
)

// font is one of the two standard fonts the writer uses.
type font int

const (
	regular font = iota
	bold
)

// resource is the font's name in the page resources.
func (f font) resource() string {
	if f == bold {
		return "/F2"
	}
	return "/F1"
}

// helveticaWidths are the AFM advance widths (1/1000 em) of Helvetica and Helvetica-Bold
// for the printable ASCII characters 32..126, four digits each.
const (
	helveticaWidths = "0278027803550556055608890667019103330333038905840278033302780278" +
		"0556055605560556055605560556055605560556027802780584058405840556" +
		"1015066706670722072206670611077807220278050006670556083307220778" +
		"0667077807220667061107220667094406670667061102780278027804690556" +
		"0333055605560500055605560278055605560222022205000222083305560556" +
		"055605560333050002780556050007220500050005000334026003340584"
	helveticaBoldWidths = "0278033304740556055608890722023803330333038905840278033302780278" +
		"0556055605560556055605560556055605560556033303330584058405840611" +
		"0975072207220722072206670611077807220278055607220611083307220778" +
		"0667077807220667061107220667094406670667061103330278033305840556" +
		"0333055606110556061105560333061106110278027805560278088906110611" +
		"061106110389055603330611055607780556055605000389028003890584"
)

// width returns the advance width (1/1000 em) of a WinAnsi byte. Characters above ASCII get
// a generous estimate: the layout may leave a little room but never overlaps.
func (f font) width(c byte) int {
	if c >= 32 && c <= 126 {
		table := helveticaWidths
		if f == bold {
			table = helveticaBoldWidths
		}
		i := int(c-32) * 4
		return int(table[i]-'0')*1000 + int(table[i+1]-'0')*100 + int(table[i+2]-'0')*10 + int(table[i+3]-'0')
	}
	switch {
	case c == 0x85 || c == 0x89 || c == 0x8c || c == 0x97 || c == 0x99 || c == 0x9c || c == 0xc6 || c == 0xe6:
		return 1000
	case c >= 0xc0 && c <= 0xde:
		return 778
	}
	return 611
}

// textWidth is the width in points of WinAnsi text s at size.
func textWidth(f font, size float64, s string) float64 {
	w := 0
	for i := 0; i < len(s); i++ {
		w += f.width(s[i])
	}
	return float64(w) * size / 1000
}

// latinExtendedA maps U+0100..U+017F to the base ASCII letter they carry.
const latinExtendedA = "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIiIiJjKkkLlLlLlL" +
	"lLlNnNnNnnNnOoOoOoOoRrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs"

// cp1252 returns the WinAnsiEncoding byte of r in 0x80..0x9F, if it has one.
func cp1252(r rune) (byte, bool) {
	switch r {
	case '€':
		return 0x80, true
	case '‚':
		return 0x82, true
	case 'ƒ':
		return 0x83, true
	case '„':
		return 0x84, true
	case '…':
		return 0x85, true
	case '†':
		return 0x86, true
	case '‡':
		return 0x87, true
	case 'ˆ':
		return 0x88, true
	case '‰':
		return 0x89, true
	case 'Š':
		return 0x8a, true
	case '‹':
		return 0x8b, true
	case 'Œ':
		return 0x8c, true
	case 'Ž':
		return 0x8e, true
	case '‘':
		return 0x91, true
	case '’':
		return 0x92, true
	case '“':
		return 0x93, true
	case '”':
		return 0x94, true
	case '•':
		return 0x95, true
	case '–':
		return 0x96, true
	case '—':
		return 0x97, true
	case '˜':
		return 0x98, true
	case '™':
		return 0x99, true
	case 'š':
		return 0x9a, true
	case '›':
		return 0x9b, true
	case 'œ':
		return 0x9c, true
	case 'ž':
		return 0x9e, true
	case 'Ÿ':
		return 0x9f, true
	}
	return 0, false
}

// winAnsi converts UTF-8 text to WinAnsiEncoding bytes. Latin-1 and the Windows-1252
// punctuation map directly; accented Latin letters outside them lose their accent; a few
// symbols get ASCII spellings; control characters become spaces; anything else (CJK,
// emoji, invalid UTF-8) becomes "?".
func winAnsi(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case r == utf8.RuneError && n <= 1:
			b.WriteByte('?')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			b.WriteByte(' ')
		case r < 0x7f || (r >= 0xa0 && r <= 0xff):
			b.WriteByte(byte(r))
		case r >= 0x100 && r <= 0x17f:
			if c, ok := cp1252(r); ok {
				b.WriteByte(c)
			} else {
				b.WriteByte(latinExtendedA[r-0x100])
			}
		default:
			if c, ok := cp1252(r); ok {
				b.WriteByte(c)
				continue
			}
			switch r {
			case '\u2212', '\u2010', '\u2011':
				b.WriteByte('-')
			case '\u2264':
				b.WriteString("<=")
			case '\u2265':
				b.WriteString(">=")
			case '\u2192':
				b.WriteString("->")
			case '\u2190':
				b.WriteString("<-")
			case '\u2002', '\u2003', '\u2009', '\u200a', '\u202f', '\u2007', '\u2008':
				b.WriteByte(' ')
			case '\u200b', '\u200c', '\u200d', '\ufeff':
			default:
				b.WriteByte('?')
			}
		}
	}
	return b.String()
}

// pdfString writes WinAnsi text s as a PDF literal string: ( ) and \ are escaped, bytes
// outside printable ASCII are written as octal escapes.
func pdfString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('(')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '(' || c == ')' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c > 0x7e:
			fmt.Fprintf(&b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(')')
	return b.String()
}

// pdfTextString writes UTF-8 text s as a PDF text string for the document information
// (UTF-16BE with a byte order mark, in hex), so that viewers show it exactly. Invalid UTF-8
// becomes U+FFFD.
func pdfTextString(s string) string {
	var b strings.Builder
	b.WriteString("<FEFF")
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "%04X", u)
	}
	b.WriteByte('>')
	return b.String()
}

// num formats a coordinate.
func num(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

// wrap breaks WinAnsi text s into lines no wider than width: at spaces where it can, inside
// a word longer than a line otherwise. It returns at least one (possibly empty) line.
func wrap(f font, size, width float64, s string) []string {
	var lines []string
	cur, curW := "", 0.0
	space := textWidth(f, size, " ")
	for _, word := range strings.Fields(s) {
		w := textWidth(f, size, word)
		if cur != "" && curW+space+w <= width {
			cur, curW = cur+" "+word, curW+space+w
			continue
		}
		if cur == "" && w <= width {
			cur, curW = word, w
			continue
		}
		if cur != "" {
			lines = append(lines, cur)
			cur, curW = "", 0
		}
		// A word wider than a line is cut where it reaches the edge.
		for w > width {
			n, nw := 1, float64(f.width(word[0]))*size/1000
			for n < len(word) {
				cw := float64(f.width(word[n])) * size / 1000
				if nw+cw > width {
					break
				}
				n, nw = n+1, nw+cw
			}
			lines = append(lines, word[:n])
			word = word[n:]
			w = textWidth(f, size, word)
		}
		cur, curW = word, w
	}
	if cur != "" || len(lines) == 0 {
		lines = append(lines, cur)
	}
	return lines
}

// canvas collects the content streams of the pages being laid out.
type canvas struct {
	pages []*bytes.Buffer
	cur   *bytes.Buffer
}

func (c *canvas) newPage() {
	c.cur = &bytes.Buffer{}
	c.pages = append(c.pages, c.cur)
}

// text draws WinAnsi text s with its baseline starting at (x, y).
func (c *canvas) text(f font, size, x, y float64, s string) {
	if s == "" {
		return
	}
	fmt.Fprintf(c.cur, "BT %s %s Tf %s %s Td %s Tj ET\n", f.resource(), num(size), num(x), num(y), pdfString(s))
}

// right draws s ending at x.
func (c *canvas) right(f font, size, x, y float64, s string) {
	c.text(f, size, x-textWidth(f, size, s), y, s)
}

// rule draws a horizontal line at y from x1 to x2.
func (c *canvas) rule(x1, x2, y, lineWidth float64) {
	fmt.Fprintf(c.cur, "%s w %s %s m %s %s l S\n", num(lineWidth), num(x1), num(y), num(x2), num(y))
}

// Sizes and spacing of the table.
const (
	tableSize   = 9.0
	tableLead   = 12.0
	columnGap   = 14.0
	positionX   = marginLeft
	descriptorX = marginLeft + 26
)

// columns are the right edges of the numeric columns and the description's width.
type columns struct {
	qty, unit, amount, descWidth float64
}

func measureColumns(v view) columns {
	amountW := max(textWidth(bold, tableSize, "Amount"), textWidth(bold, 10, winAnsi(v.Total)),
		textWidth(regular, tableSize, winAnsi(v.Subtotal)), textWidth(regular, tableSize, winAnsi(v.Discount)))
	unitW, qtyW := textWidth(bold, tableSize, "Unit price"), textWidth(bold, tableSize, "Quantity")
	for _, r := range v.Rows {
		amountW = max(amountW, textWidth(regular, tableSize, winAnsi(r.Amount)))
		unitW = max(unitW, textWidth(regular, tableSize, winAnsi(r.Unit)))
		qtyW = max(qtyW, textWidth(regular, tableSize, r.Quantity))
	}
	c := columns{amount: marginRight}
	c.unit = c.amount - amountW - columnGap
	c.qty = c.unit - unitW - columnGap
	c.descWidth = max(c.qty-qtyW-columnGap-descriptorX, 60)
	return c
}

// layout draws the invoice onto as many pages as it needs.
func layout(v view) *canvas {
	c := &canvas{}
	cols := measureColumns(v)
	number := winAnsi(v.Number)
	tableHeader := func(y float64) float64 {
		c.text(bold, tableSize, positionX, y, "#")
		c.text(bold, tableSize, descriptorX, y, "Description")
		c.right(bold, tableSize, cols.qty, y, "Quantity")
		c.right(bold, tableSize, cols.unit, y, "Unit price")
		c.right(bold, tableSize, cols.amount, y, "Amount")
		c.rule(marginLeft, marginRight, y-4, 0.8)
		return y - 18
	}
	continued := func() float64 {
		c.newPage()
		c.text(bold, 11, marginLeft, marginTop-11, "Invoice "+number+" (continued)")
		return marginTop - 36
	}

	// Header: title, number and status, seller and buyer, the dates.
	c.newPage()
	c.text(bold, 22, marginLeft, marginTop-22, "INVOICE")
	c.right(bold, 12, marginRight, marginTop-12, number)
	c.right(regular, 10, marginRight, marginTop-28, winAnsi(v.Status))
	y := marginTop - 60
	const half = (marginRight - marginLeft) / 2
	c.text(bold, 8, marginLeft, y, "FROM")
	c.text(bold, 8, marginLeft+half, y, "BILL TO")
	y -= 14
	seller := wrap(bold, 10, half-20, winAnsi(v.SellerName))
	if v.SellerEmail != "" {
		seller = append(seller, wrap(regular, 10, half-20, winAnsi(v.SellerEmail))...)
	}
	buyer := wrap(regular, 10, half-20, winAnsi(v.BuyerEmail))
	for i, l := range seller {
		f := regular
		if i == 0 {
			f = bold
		}
		c.text(f, 10, marginLeft, y-float64(i)*13, l)
	}
	for i, l := range buyer {
		c.text(regular, 10, marginLeft+half, y-float64(i)*13, l)
	}
	y -= float64(max(len(seller), len(buyer)))*13 + 14
	for _, f := range v.Fields {
		c.text(bold, 9, marginLeft, y, winAnsi(f.Label))
		c.text(regular, 9, marginLeft+110, y, winAnsi(f.Value))
		y -= 13
	}
	y = tableHeader(y - 14)

	// Lines: a row moves to the next page whole when it fits there, and flows otherwise.
	fresh := continued
	avail := marginTop - 36 - 18 - marginBottom
	perPage := int(avail / tableLead)
	for _, r := range v.Rows {
		desc := wrap(regular, tableSize, cols.descWidth, winAnsi(r.Description))
		if need := float64(len(desc)-1) * tableLead; y-need < marginBottom && len(desc) <= perPage {
			y = tableHeader(fresh())
		}
		for i, l := range desc {
			if y < marginBottom {
				y = tableHeader(fresh())
			}
			if i == 0 {
				c.text(regular, tableSize, positionX, y, strconv.Itoa(r.Position))
				c.right(regular, tableSize, cols.qty, y, r.Quantity)
				c.right(regular, tableSize, cols.unit, y, winAnsi(r.Unit))
				c.right(regular, tableSize, cols.amount, y, winAnsi(r.Amount))
			}
			c.text(regular, tableSize, descriptorX, y, l)
			y -= tableLead
		}
		y -= 4
	}

	// Totals, kept together.
	need := 2*tableLead + 20
	if v.HasDiscount {
		need += tableLead
	}
	if y-need < marginBottom {
		y = fresh()
	}
	c.rule(cols.qty, marginRight, y+tableLead-4, 0.8)
	y -= 4
	c.right(regular, tableSize, cols.unit, y, "Subtotal")
	c.right(regular, tableSize, cols.amount, y, winAnsi(v.Subtotal))
	if v.HasDiscount {
		y -= tableLead + 2
		c.right(regular, tableSize, cols.unit, y, "Discount")
		c.right(regular, tableSize, cols.amount, y, winAnsi(v.Discount))
	}
	y -= tableLead + 6
	c.right(bold, 10, cols.unit, y, "Total")
	c.right(bold, 10, cols.amount, y, winAnsi(v.Total))

	for i, p := range c.pages {
		c.cur = p
		footer := fmt.Sprintf("Invoice %s - page %d of %d", number, i+1, len(c.pages))
		c.text(regular, 8, (pageWidth-textWidth(regular, 8, footer))/2, footerY, footer)
	}
	return c
}

// PDF renders inv with its lines as a PDF 1.4 document on A4 pages. The output depends only
// on its input (the creation date is the issue time), so rendering twice gives the same bytes.
func PDF(inv store.Invoice, lines []store.InvoiceLine) ([]byte, error) {
	v := newView(inv, lines)
	c := layout(v)

	var out bytes.Buffer
	// The comment with bytes above 127 tells transfer tools the file is binary.
	out.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	const fixed = 5 // catalog, pages, two fonts, info
	total := fixed + 2*len(c.pages)
	offsets := make([]int, total+1)
	obj := func(n int, body string) {
		offsets[n] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n%s\nendobj\n", n, body)
	}
	obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	kids := make([]string, len(c.pages))
	for i := range c.pages {
		kids[i] = fmt.Sprintf("%d 0 R", fixed+1+2*i)
	}
	obj(2, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(c.pages)))
	obj(3, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	obj(4, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
	created := "D:" + v.IssuedAt.UTC().Format("20060102150405") + "Z"
	obj(5, fmt.Sprintf("<< /Title %s /Author %s /Producer (Nimbo) /CreationDate %s >>",
		pdfTextString(v.Title), pdfTextString(v.SellerName), pdfString(created)))
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	for i, p := range c.pages {
		page, content := fixed+1+2*i, fixed+2+2*i
		obj(page, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] "+
			"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents %d 0 R >>",
			num(pageWidth), num(pageHeight), content))
		z.Reset()
		zw.Reset(&z)
		if _, err := zw.Write(p.Bytes()); err != nil {
			return nil, fmt.Errorf("compress page %d: %w", i+1, err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("compress page %d: %w", i+1, err)
		}
		offsets[content] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n", content, z.Len())
		out.Write(z.Bytes())
		out.WriteString("\nendstream\nendobj\n")
	}
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", total+1)
	for n := 1; n <= total; n++ {
		fmt.Fprintf(&out, "%010d 00000 n \n", offsets[n])
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\nstartxref\n%d\n%%%%EOF\n", total+1, xref)
	return out.Bytes(), nil
}
