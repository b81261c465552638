package documents

import (
	"bytes"
	_ "embed"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"github.com/cloudbill/cloudbill/billing/locale"
)

// NanumGothic (SIL Open Font License 1.1, fonts/OFL.txt) prints Korean and
// Latin text; each PDF embeds the subset of glyphs it uses.
var (
	//go:embed fonts/NanumGothic.ttf
	fontRegular []byte
	//go:embed fonts/NanumGothicBold.ttf
	fontBold []byte
)

const family = "nanum"

// Party is one side of a document: the supplier or the recipient.
type Party struct {
	Name               string
	RegistrationNumber string // 10 digits
	Representative     string
	Address            string
	Phone              string
	Email              string
	// 업태 and 종목 (tax invoices).
	BusinessType, BusinessItem string
}

// page lays a formal A4 document out: a title with its number and date,
// the two parties, facts, a table, totals and notes, in one font family,
// repeating a table's header on every page it spans.
type page struct {
	pdf    *fpdf.Fpdf
	lang   locale.Lang
	width  float64 // between the margins
	number string  // the document number, in every page's footer
}

const (
	margin    = 15.0
	rowHeight = 6.5
)

func newPage(lang locale.Lang, title, number string, created time.Time) *page {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetMargins(margin, margin, margin)
	pdf.SetAutoPageBreak(true, 20)
	pdf.AddUTF8FontFromBytes(family, "", fontRegular)
	pdf.AddUTF8FontFromBytes(family, "B", fontBold)
	pdf.SetTitle(title+" "+number, true)
	pdf.SetCreator("cloudbill", true)
	pdf.SetProducer("cloudbill", true)
	// The same document renders to the same bytes: its dates are its own.
	pdf.SetCreationDate(created)
	pdf.SetModificationDate(created)
	pdf.SetCatalogSort(true)
	pdf.AliasNbPages("{nb}")
	p := &page{pdf: pdf, lang: lang, number: number}
	pdf.SetFooterFunc(func() {
		pdf.SetY(-14)
		pdf.SetFont(family, "", 7.5)
		pdf.SetTextColor(110, 110, 110)
		pdf.CellFormat(p.width/2, 5, title+" · "+number, "", 0, "L", false, 0, "")
		pdf.CellFormat(p.width/2, 5, lang.Pick("페이지 ", "Page ")+itoa(pdf.PageNo())+" / {nb}", "", 0, "R", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
	})
	pdf.AddPage()
	w, _ := pdf.GetPageSize()
	p.width = w - 2*margin
	return p
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

func (p *page) font(style string, size float64) { p.pdf.SetFont(family, style, size) }

// heading prints the title centred, with the document number and the issue
// date under it on the right.
func (p *page) heading(title string, facts [][2]string) {
	p.font("B", 20)
	p.pdf.CellFormat(p.width, 12, title, "", 1, "C", false, 0, "")
	p.pdf.SetLineWidth(0.6)
	y := p.pdf.GetY() + 1
	p.pdf.Line(margin, y, margin+p.width, y)
	p.pdf.SetLineWidth(0.2)
	p.pdf.Ln(3)
	p.font("", 9)
	for _, f := range facts {
		p.pdf.CellFormat(p.width, 5, f[0]+": "+f[1], "", 1, "R", false, 0, "")
	}
	p.pdf.Ln(3)
}

// parties prints the supplier and the recipient side by side, boxed.
func (p *page) parties(supplierTitle string, sup Party, recipientTitle string, rec Party) {
	half := (p.width - 4) / 2
	rows := func(pt Party) [][2]string {
		out := [][2]string{{p.lang.Pick("상호(법인명)", "Name"), pt.Name}}
		if pt.RegistrationNumber != "" {
			out = append(out, [2]string{p.lang.Pick("사업자등록번호", "Registration no."), locale.RegistrationNumber(pt.RegistrationNumber)})
		}
		if pt.Representative != "" {
			out = append(out, [2]string{p.lang.Pick("대표자", "Representative"), pt.Representative})
		}
		if pt.Address != "" {
			out = append(out, [2]string{p.lang.Pick("주소", "Address"), pt.Address})
		}
		if pt.Phone != "" {
			out = append(out, [2]string{p.lang.Pick("연락처", "Phone"), pt.Phone})
		}
		if pt.Email != "" {
			out = append(out, [2]string{p.lang.Pick("이메일", "Email"), pt.Email})
		}
		return out
	}
	x, y := margin, p.pdf.GetY()
	h := max(p.boxHeight(half, rows(sup)), p.boxHeight(half, rows(rec)))
	p.box(x, y, half, h, supplierTitle, rows(sup))
	p.box(x+half+4, y, half, h, recipientTitle, rows(rec))
	p.pdf.SetXY(margin, y+h+4)
}

const boxLabel = 28.0

// boxLines wraps a box's values to its width.
func (p *page) boxLines(w float64, rows [][2]string) [][]string {
	p.font("", 8.5)
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = p.pdf.SplitText(r[1], w-boxLabel)
		if len(out[i]) == 0 {
			out[i] = []string{""}
		}
	}
	return out
}

func (p *page) boxHeight(w float64, rows [][2]string) float64 {
	h := 7.0
	for _, l := range p.boxLines(w, rows) {
		h += float64(len(l)) * lineHeight
	}
	return h + 1
}

const lineHeight = 5.2

// box prints a titled box of label–value rows, h high; long values wrap.
func (p *page) box(x, y, w, h float64, title string, rows [][2]string) {
	p.pdf.SetFillColor(235, 239, 245)
	p.pdf.Rect(x, y, w, h, "D")
	p.pdf.SetXY(x, y)
	p.font("B", 9.5)
	p.pdf.CellFormat(w, 7, title, "1", 2, "L", true, 0, "")
	lines := p.boxLines(w, rows)
	for i, r := range rows {
		p.pdf.SetX(x)
		p.font("", 8.5)
		p.pdf.SetTextColor(90, 90, 90)
		p.pdf.CellFormat(boxLabel, lineHeight, r[0], "", 0, "L", false, 0, "")
		p.pdf.SetTextColor(0, 0, 0)
		for k, l := range lines[i] {
			if k > 0 {
				p.pdf.SetX(x + boxLabel)
			}
			p.pdf.CellFormat(w-boxLabel, lineHeight, l, "", 2, "L", false, 0, "")
		}
	}
}

// facts prints label–value pairs two to a row; a value too long for its
// half (an invoice id, a long method label) gets a row of its own, never
// cut.
func (p *page) facts(pairs [][2]string) {
	col := p.width / 2
	const label = 32.0
	left := true // the next pair starts a row
	for _, f := range pairs {
		p.font("", 9)
		wide := p.pdf.GetStringWidth(f[1]) > col-label-4
		if wide && !left {
			p.pdf.Ln(rowHeight)
			left = true
		}
		p.font("B", 9)
		p.pdf.CellFormat(label, rowHeight, f[0], "", 0, "L", false, 0, "")
		p.font("", 9)
		if wide {
			p.pdf.CellFormat(p.width-label, rowHeight, p.fit(f[1], p.width-label-1), "", 1, "L", false, 0, "")
			continue
		}
		p.pdf.CellFormat(col-label, rowHeight, f[1], "", 0, "L", false, 0, "")
		if !left {
			p.pdf.Ln(rowHeight)
		}
		left = !left
	}
	if !left {
		p.pdf.Ln(rowHeight)
	}
	p.pdf.Ln(2)
}

// banner prints the amount a document is about, boxed and large: what a
// reader looks for first ("청구 금액 263,711원"), with a line under it
// (the due date).
func (p *page) banner(label, amount, note string) {
	x, y := margin, p.pdf.GetY()
	p.pdf.SetFillColor(235, 239, 245)
	p.pdf.SetDrawColor(60, 80, 120)
	p.pdf.SetLineWidth(0.4)
	p.pdf.Rect(x, y, p.width, 16, "FD")
	p.pdf.SetLineWidth(0.2)
	p.pdf.SetDrawColor(0, 0, 0)
	p.pdf.SetXY(x+4, y+2)
	p.font("B", 12)
	p.pdf.CellFormat(p.width/2-4, 12, label, "", 0, "L", false, 0, "")
	p.font("B", 16)
	p.pdf.CellFormat(p.width/2-4, 8, amount, "", 2, "R", false, 0, "")
	p.font("", 8.5)
	p.pdf.SetX(x + p.width/2)
	p.pdf.CellFormat(p.width/2-4, 4.5, note, "", 1, "R", false, 0, "")
	p.pdf.SetXY(margin, y+20)
}

// printable writes what the font prints well: its bullet is a wide glyph
// ("• • • •"), so masked digits print as asterisks, as Korean card slips
// show them (VISA **** 4242).
func printable(s string) string { return strings.ReplaceAll(s, "•", "*") }

// section prints a section's heading.
func (p *page) section(title string) {
	p.pdf.Ln(2)
	p.font("B", 11)
	p.pdf.CellFormat(p.width, 7, title, "", 1, "L", false, 0, "")
}

// column of a table: its header, its share of the width and its alignment.
type column struct {
	title string
	width float64 // relative
	align string  // L or R
}

// table prints rows under a shaded header repeated on every page, and an
// emphasised last row when total is given.
func (p *page) table(cols []column, rows [][]string, total []string) {
	var sum float64
	for _, c := range cols {
		sum += c.width
	}
	widths := make([]float64, len(cols))
	for i, c := range cols {
		widths[i] = c.width / sum * p.width
	}
	header := func() {
		p.font("B", 8.5)
		p.pdf.SetFillColor(235, 239, 245)
		for i, c := range cols {
			p.pdf.CellFormat(widths[i], 7, c.title, "1", 0, "C", true, 0, "")
		}
		p.pdf.Ln(-1)
		p.font("", 8.5)
	}
	_, pageH := p.pdf.GetPageSize()
	room := func() bool { return p.pdf.GetY()+rowHeight < pageH-22 }
	header()
	for _, r := range rows {
		if !room() {
			p.pdf.AddPage()
			header()
		}
		for i, c := range cols {
			p.pdf.CellFormat(widths[i], rowHeight, p.fit(r[i], widths[i]-2), "1", 0, c.align, false, 0, "")
		}
		p.pdf.Ln(-1)
	}
	if total != nil {
		if !room() {
			p.pdf.AddPage()
			header()
		}
		p.font("B", 8.5)
		p.pdf.SetFillColor(245, 247, 250)
		for i, c := range cols {
			p.pdf.CellFormat(widths[i], rowHeight+0.5, p.fit(total[i], widths[i]-2), "1", 0, c.align, true, 0, "")
		}
		p.pdf.Ln(-1)
		p.font("", 8.5)
	}
	p.pdf.Ln(3)
}

// total is one row of a totals box; strong rows are printed bold.
type total struct {
	label, value string
	strong       bool
}

// totals prints the amounts box on the right half.
func (p *page) totals(rows []total) {
	w := p.width * 0.55
	x := margin + p.width - w
	_, pageH := p.pdf.GetPageSize()
	if p.pdf.GetY()+float64(len(rows))*rowHeight > pageH-22 {
		p.pdf.AddPage()
	}
	for _, r := range rows {
		p.pdf.SetX(x)
		style, fill := "", false
		if r.strong {
			style, fill = "B", true
			p.pdf.SetFillColor(235, 239, 245)
		}
		p.font(style, 9)
		p.pdf.CellFormat(w*0.55, rowHeight+0.5, r.label, "1", 0, "L", fill, 0, "")
		p.pdf.CellFormat(w*0.45, rowHeight+0.5, r.value, "1", 1, "R", fill, 0, "")
	}
	p.pdf.Ln(3)
}

// notes prints paragraphs in small type.
func (p *page) notes(lines []string) {
	p.font("", 8.5)
	for _, l := range lines {
		p.pdf.MultiCell(p.width, 4.8, l, "", "L", false)
	}
	p.pdf.Ln(2)
}

// signature prints the issuer's closing line, right-aligned: the supplier,
// its representative and where its seal goes.
func (p *page) signature(date string, sup Party) {
	p.pdf.Ln(4)
	p.font("", 10)
	p.pdf.CellFormat(p.width, 6, date, "", 1, "C", false, 0, "")
	p.pdf.Ln(3)
	p.font("B", 11)
	line := sup.Name
	if sup.Representative != "" {
		line += p.lang.Pick("  대표이사 ", "  Representative ") + sup.Representative
	}
	p.pdf.CellFormat(p.width, 7, line+p.lang.Pick("  (인)", "  (seal)"), "", 1, "R", false, 0, "")
}

// fit shortens s with an ellipsis to fit w millimetres in the current font.
func (p *page) fit(s string, w float64) string {
	if p.pdf.GetStringWidth(s) <= w {
		return s
	}
	r := []rune(s)
	for len(r) > 1 && p.pdf.GetStringWidth(string(r)+"…") > w {
		r = r[:len(r)-1]
	}
	return strings.TrimSpace(string(r)) + "…"
}

func (p *page) bytes() ([]byte, error) {
	var buf bytes.Buffer
	if err := p.pdf.Output(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
