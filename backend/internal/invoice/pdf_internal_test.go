package invoice

import (
	"testing"
)

// TestWinAnsi checks the conversion of UTF-8 text to WinAnsiEncoding bytes.
func TestWinAnsi(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"ascii", "Plan S, 1 month", "Plan S, 1 month"},
		{"latin-1", "Zürich Straße ©", "Z\xfcrich Stra\xdfe \xa9"},
		{"windows-1252 punctuation", "€5 – “quoted” …", "\x805 \x96 \x93quoted\x94 \x85"},
		{"latin extended-a loses accents", "Łódź Čeština ő", "L\xf3dz Ce\x9atina o"},
		{"symbols spelled in ascii", "a ≥ b → c − d", "a >= b -> c - d"},
		{"controls become spaces", "a\tb\nc\x00d", "a b c d"},
		{"zero width removed", "a\u200bb", "ab"},
		{"cjk and emoji become ?", "日本 🚀", "?? ?"},
		{"invalid utf-8 becomes ?", "a\xffb", "a?b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := winAnsi(tc.in); got != tc.want {
				t.Fatalf("winAnsi(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestPDFString checks the escaping of PDF literal strings.
func TestPDFString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "(plain)"},
		{"a (b) c", `(a \(b\) c)`},
		{`back\slash`, `(back\\slash)`},
		{")(", `(\)\()`},
		{"caf\xe9", `(caf\351)`},
		{"", "()"},
	} {
		if got := pdfString(tc.in); got != tc.want {
			t.Errorf("pdfString(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestFontWidths checks a few AFM widths and that both tables cover printable ASCII.
func TestFontWidths(t *testing.T) {
	if len(helveticaWidths) != 95*4 || len(helveticaBoldWidths) != 95*4 {
		t.Fatalf("width tables have %d and %d digits, want %d", len(helveticaWidths), len(helveticaBoldWidths), 95*4)
	}
	for _, tc := range []struct {
		f    font
		c    byte
		want int
	}{
		{regular, ' ', 278}, {regular, '0', 556}, {regular, '@', 1015}, {regular, 'W', 944}, {regular, 'i', 222},
		{regular, '~', 584}, {bold, '@', 975}, {bold, 'm', 889}, {bold, '~', 584}, {bold, 'b', 611},
	} {
		if got := tc.f.width(tc.c); got != tc.want {
			t.Errorf("font %d width(%q) = %d, want %d", tc.f, tc.c, got, tc.want)
		}
	}
}

// TestWrap checks that wrapped lines fit the width, keep every word, and break words longer
// than a line.
func TestWrap(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    string
		width float64
		want  []string
	}{
		{"fits", "Plan S", 200, []string{"Plan S"}},
		{"empty", "", 200, []string{""}},
		{"breaks at spaces", "aaaa bbbb cccc", 30, []string{"aaaa", "bbbb", "cccc"}},
		{"breaks a long word", "0000000000", 25.1, []string{"00000", "00000"}},
		{"collapses spaces", "a   b", 200, []string{"a b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := wrap(regular, 9, tc.width, tc.in)
			if len(got) != len(tc.want) {
				t.Fatalf("wrap(%q) = %q, want %q", tc.in, got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("wrap(%q) = %q, want %q", tc.in, got, tc.want)
				}
				if w := textWidth(regular, 9, got[i]); w > tc.width {
					t.Fatalf("line %q is %.1f wide, more than %.1f", got[i], w, tc.width)
				}
			}
		})
	}
}
