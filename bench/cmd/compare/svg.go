package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// svgWriter draws the results as one SVG chart: a panel per pattern and
// parameter set, a horizontal bar per implementation on the panel's log
// scale, compendium's highlighted, each bar labelled with its time and its
// multiple of ours. The chart is hand-written XML (no dependency), with
// class and data- attributes that say what each element stands for, so
// that a test can read it back with encoding/xml.
type svgWriter struct {
	out      io.Writer
	e        env
	patterns []*measured
}

func (w *svgWriter) header(e env)        { w.e = e }
func (w *svgWriter) pattern(m *measured) { w.patterns = append(w.patterns, m) }

func (w *svgWriter) finish() error {
	_, err := io.WriteString(w.out, chart(w.e, w.patterns))
	return err
}

// The chart's geometry, in pixels, and its colours.
const (
	svgWidth  = 960
	svgPad    = 24
	svgBarH   = 16  // a bar's thickness
	svgBarGap = 6   // between two bars
	svgValueW = 132 // room right of the longest bar for its label
	svgFont   = `system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif`
	oursFill  = "#00add8" // Go's blue
	oursText  = "#00758f"
	altFill   = "#b4bdc7"
	inkText   = "#1f2328"
	mutedText = "#59636e"
	gridLine  = "#d8dee4"
)

// panel is one pattern's parameter set: a bar per implementation.
type panel struct {
	pattern, params, unit string
	doc                   string // the pattern's Doc, on its first panel only
	bars                  []bar
	lo, hi                float64 // the log scale's ends, in ns: powers of ten
}

// bar is one case: its row at the headline GOMAXPROCS, drawn as the bar,
// and with -cpu its rows at the other levels, drawn as numbered marks on
// the bar's line, so that a sweep takes no more room than one level.
type bar struct {
	row   row
	marks []row
}

// headline is the GOMAXPROCS whose numbers the chart's bars and the
// README's summary show: the default, which compare found, if -cpu
// includes it, else the first level.
func headline(e env, procs []int) int {
	if slices.Contains(procs, e.gomaxprocs) || len(procs) == 0 {
		return e.gomaxprocs
	}
	return procs[0]
}

func panels(e env, ms []*measured) []panel {
	var out []panel
	for _, m := range ms {
		rs, _ := rows(m)
		top := headline(e, m.procs)
		for i, r := range rs {
			if r.procs != top {
				continue
			}
			// rows come grouped by parameter set: a new set, a new panel.
			if len(out) == 0 || out[len(out)-1].pattern != m.p.Pkg+"."+m.p.Name || out[len(out)-1].params != r.params {
				pn := panel{pattern: m.p.Pkg + "." + m.p.Name, params: r.params}
				if len(out) == 0 || out[len(out)-1].pattern != pn.pattern {
					pn.doc = m.p.Doc
				}
				out = append(out, pn)
			}
			pn := &out[len(out)-1]
			b := bar{row: r}
			for _, o := range rs {
				if o.name == r.name && o.procs != top {
					b.marks = append(b.marks, o)
				}
			}
			pn.bars = append(pn.bars, b)
			for _, x := range append([]row{rs[i]}, b.marks...) {
				switch {
				case x.failed:
				case pn.unit == "":
					pn.unit = x.unit
				case x.unit != pn.unit:
					pn.unit = "unit" // the cases of one parameter set disagree
				}
			}
		}
	}
	for i := range out {
		if out[i].unit == "" {
			out[i].unit = "op"
		}
		out[i].lo, out[i].hi = logRange(out[i].bars)
	}
	return out
}

// logRange returns the powers of ten that frame the panel's times: lo at
// least a fifth of a decade below the fastest, so that its bar shows, and
// hi at or above the slowest; so lo < hi, at least a decade apart.
func logRange(bs []bar) (lo, hi float64) {
	minV, maxV := math.Inf(1), 0.0
	for _, b := range bs {
		for _, r := range append([]row{b.row}, b.marks...) {
			if !r.failed && r.ns > 0 {
				minV, maxV = min(minV, r.ns), max(maxV, r.ns)
			}
		}
	}
	if maxV == 0 {
		return 1, 10
	}
	lo = math.Pow(10, math.Floor(math.Log10(minV)-0.2))
	hi = math.Pow(10, math.Ceil(math.Log10(maxV)))
	return lo, hi
}

// svgText is a text's estimated width at a font size: an average glyph of
// 0.6em (0.64em in bold) is wide enough for the sans-serif fonts above, so
// that labels laid out by it do not overlap.
func svgText(s string, size float64, bold bool) float64 {
	em := 0.6
	if bold {
		em = 0.64
	}
	return float64(len([]rune(s))) * size * em
}

func chart(e env, ms []*measured) string {
	ps := panels(e, ms)
	top := headline(e, e.levels)

	// The label column fits the longest implementation name.
	labelW := 0.0
	for _, p := range ps {
		for _, b := range p.bars {
			labelW = max(labelW, svgText(b.row.impl, 13, b.row.ours))
		}
	}
	x0 := svgPad + labelW + 12
	x1 := float64(svgWidth - svgPad - svgValueW)

	var body strings.Builder
	y := float64(svgPad)

	// Title, machine, legend.
	y += 22
	fmt.Fprintf(&body, `<text x="%d" y="%.1f" font-size="22" font-weight="700" fill="%s">compendium: ours against the alternatives</text>`+"\n", svgPad, y, inkText)
	y += 22
	machine := fmt.Sprintf("%s · %d CPUs · %s/%s · %s · %s · %s", e.cpu, e.numCPU, e.goos, e.goarch, e.goVersion, e.procs(), e.date)
	for i, line := range wrap(machine, int((svgWidth-2*svgPad)/svgText("x", 14, false))) {
		if i > 0 {
			y += 19
		}
		fmt.Fprintf(&body, `<text class="machine" x="%d" y="%.1f" font-size="14" fill="%s">%s</text>`+"\n", svgPad, y, mutedText, esc(line))
	}
	y += 26
	fmt.Fprintf(&body, `<g class="legend">`+"\n")
	lx := float64(svgPad)
	key := func(fill, text, color, weight string) {
		fmt.Fprintf(&body, `<rect x="%.1f" y="%.1f" width="14" height="14" rx="2" fill="%s"/>`, lx, y-12, fill)
		fmt.Fprintf(&body, `<text x="%.1f" y="%.1f" font-size="13" font-weight="%s" fill="%s">%s</text>`+"\n", lx+20, y, weight, color, esc(text))
		lx += 20 + svgText(text, 13, weight == "700") + 24
	}
	key(oursFill, "compendium (ours)", oursText, "700")
	key(altFill, "alternative", inkText, "400")
	if e.sweep() {
		var others []string
		for _, l := range e.levels {
			if l != top {
				others = append(others, fmt.Sprint(l))
			}
		}
		text := fmt.Sprintf("bars at GOMAXPROCS=%d; marks: the same case at GOMAXPROCS=%s", top, strings.Join(others, ", "))
		if lx+20+svgText(text, 13, false) > svgWidth-svgPad {
			// No room beside the keys: a line of its own.
			lx, y = svgPad, y+20
		}
		mark(&body, lx+7, y-5, 4)
		fmt.Fprintf(&body, `<text x="%.1f" y="%.1f" font-size="13" fill="%s">%s</text>`+"\n", lx+20, y, inkText, esc(text))
	}
	fmt.Fprintf(&body, `</g>`+"\n")
	notes := []string{
		"Bar length: time per op, or per task or item where the panel says so, on a log scale of its own per panel (shorter is faster).",
		"The label after each bar: that time, and its multiple of the first compendium implementation's under the same parameters" +
			" and GOMAXPROCS (above 1×: ours is faster).",
	}
	for _, n := range notes {
		for _, line := range wrap(n, int((svgWidth-2*svgPad)/svgText("x", 13, false))) {
			y += 18
			fmt.Fprintf(&body, `<text x="%d" y="%.1f" font-size="13" fill="%s">%s</text>`+"\n", svgPad, y, mutedText, esc(line))
		}
	}
	y += 8

	for _, p := range ps {
		y = drawPanel(&body, p, y, x0, x1)
	}
	y += svgPad

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%.0f" viewBox="0 0 %d %.0f" font-family='%s'>`+"\n",
		svgWidth, math.Ceil(y), svgWidth, math.Ceil(y), svgFont)
	fmt.Fprintf(&b, "<title>compendium: ours against the alternatives (%s)</title>\n", esc(machine))
	// A background of its own, so that the chart reads the same on a
	// dark page.
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#ffffff"/>`+"\n")
	b.WriteString(body.String())
	b.WriteString("</svg>\n")
	return b.String()
}

// drawPanel draws p from y down and returns the y under it.
func drawPanel(out *strings.Builder, p panel, y, x0, x1 float64) float64 {
	scale := func(ns float64) float64 {
		return x0 + (math.Log10(ns)-math.Log10(p.lo))/(math.Log10(p.hi)-math.Log10(p.lo))*(x1-x0)
	}
	fmt.Fprintf(out, `<g class="panel" data-pattern="%s" data-params="%s" data-unit="%s">`+"\n", esc(p.pattern), esc(p.params), esc(p.unit))
	y += 14
	fmt.Fprintf(out, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`+"\n", svgPad, y, svgWidth-svgPad, y, gridLine)
	y += 22
	params := p.params
	if params == "" {
		params = "(one case)"
	}
	fmt.Fprintf(out, `<text x="%d" y="%.1f" font-size="15" fill="%s"><tspan font-weight="700">%s</tspan>  %s</text>`+"\n", svgPad, y, inkText, esc(p.pattern), esc(params))
	fmt.Fprintf(out, `<text x="%d" y="%.1f" font-size="12" fill="%s" text-anchor="end">ns per %s, log scale</text>`+"\n", svgWidth-svgPad, y, mutedText, esc(p.unit))
	for _, line := range wrap(p.doc, int((svgWidth-2*svgPad)/svgText("x", 12, false))) {
		y += 17
		fmt.Fprintf(out, `<text x="%d" y="%.1f" font-size="12" fill="%s">%s</text>`+"\n", svgPad, y, mutedText, esc(line))
	}
	y += 10

	top := y
	var bars strings.Builder
	for _, b := range p.bars {
		drawBar(&bars, b, y, x0, scale)
		y += svgBarH + svgBarGap
	}
	bottom := y - svgBarGap + 4

	// The grid first, so that the bars lie on it: a line and a label at
	// every power of ten.
	for t := p.lo; t <= p.hi*1.0001; t *= 10 {
		x := scale(t)
		fmt.Fprintf(out, `<line class="tick" data-ns="%g" x1="%.2f" y1="%.1f" x2="%.2f" y2="%.1f" stroke="%s"/>`+"\n", t, x, top, x, bottom, gridLine)
		fmt.Fprintf(out, `<text x="%.2f" y="%.1f" font-size="11" fill="%s" text-anchor="middle">%s</text>`+"\n", x, bottom+13, mutedText, esc(duration(t, true)))
	}
	out.WriteString(bars.String())
	out.WriteString("</g>\n")
	return bottom + 16
}

// drawBar draws b with its top at y: the bar, the marks of the other
// GOMAXPROCS levels on it, and after the rightmost of them the label.
func drawBar(out *strings.Builder, b bar, y, x0 float64, scale func(float64) float64) {
	r := b.row
	fill, label, weight := altFill, inkText, "400"
	if r.ours {
		fill, label, weight = oursFill, oursText, "700"
	}
	class := "bar"
	switch {
	case r.failed:
		class += " failed"
	case r.ns <= 0:
		class += " zero" // no length on a log scale
	}
	fmt.Fprintf(out, `<g class="%s" data-case="%s" data-procs="%d" data-ours="%t">`, class, esc(r.name), r.procs, r.ours)
	mid := y + svgBarH/2
	base := mid + 4.5 // a 13px text's baseline, centred on the bar
	fmt.Fprintf(out, `<text x="%.1f" y="%.1f" font-size="13" font-weight="%s" fill="%s" text-anchor="end">%s</text>`, x0-10, base, weight, label, esc(r.impl))
	end := x0 // where the label may start
	if !r.failed && r.ns > 0 {
		end = scale(r.ns)
		fmt.Fprintf(out, `<rect class="len" x="%.2f" y="%.1f" width="%.2f" height="%d" rx="2" fill="%s"/>`, x0, y, end-x0, svgBarH, fill)
	}
	for _, m := range b.marks {
		if m.failed || m.ns <= 0 {
			continue
		}
		x := scale(m.ns)
		tip := fmt.Sprintf("GOMAXPROCS=%d: %s", m.procs, duration(m.ns, false))
		if m.ratio > 0 {
			tip += " · " + ratio(m.ratio)
		}
		fmt.Fprintf(out, `<g class="mark" data-procs="%d" data-ns="%g" data-x="%.2f"><title>%s</title>`, m.procs, m.ns, x, esc(tip))
		mark(out, x, mid, m.procs)
		out.WriteString("</g>")
		end = max(end, x+8)
	}
	switch {
	case r.failed:
		fmt.Fprintf(out, `<text class="value" x="%.1f" y="%.1f" font-size="12" font-style="italic" fill="#b42318">failed</text>`, end+6, base)
	default:
		text := duration(r.ns, false) // "0 ns" for a case the clock could not time
		if r.ratio > 0 {
			text += " · " + ratio(r.ratio)
		}
		// A white outline keeps the label readable where it crosses a
		// grid line.
		fmt.Fprintf(out, `<text class="value" x="%.2f" y="%.1f" font-size="12" fill="%s" stroke="#ffffff" stroke-width="3" paint-order="stroke">%s</text>`,
			end+6, base-0.5, inkText, esc(text))
	}
	out.WriteString("</g>\n")
}

// mark draws a GOMAXPROCS level's mark centred at x, y: a ringed circle
// holding the level's number.
func mark(out *strings.Builder, x, y float64, procs int) {
	label := fmt.Sprint(procs)
	r := 7.0
	if len(label) > 1 {
		r = 8.5
	}
	fmt.Fprintf(out, `<circle cx="%.2f" cy="%.1f" r="%.1f" fill="#ffffff" stroke="%s" stroke-width="1.3"/>`, x, y, r, inkText)
	fmt.Fprintf(out, `<text x="%.2f" y="%.1f" font-size="10" font-weight="700" fill="%s" text-anchor="middle">%s</text>`, x, y+3.5, inkText, label)
}

// ratio prints a multiple of ours with three significant digits, as the
// times are, so that a 1,345x label is no longer than a 1.35x one.
func ratio(x float64) string {
	switch {
	case x < 10:
		return fmt.Sprintf("%.2f×", x)
	case x < 100:
		return fmt.Sprintf("%.1f×", x)
	default:
		return fmt.Sprintf("%.0f×", x)
	}
}

// duration prints ns in the unit that keeps it between 1 and 1000: with
// three significant digits for a measurement, as a round power of ten for
// a tick.
func duration(ns float64, tick bool) string {
	units := []struct {
		div  float64
		name string
	}{{1e9, "s"}, {1e6, "ms"}, {1e3, "µs"}, {1, "ns"}}
	for _, u := range units {
		if ns >= u.div*0.9995 || u.div == 1 {
			v := ns / u.div
			if tick {
				return fmt.Sprintf("%g %s", math.Round(v*1e6)/1e6, u.name)
			}
			return num(v) + " " + u.name
		}
	}
	panic("unreachable")
}

// wrap breaks s into lines of at most width characters, at spaces.
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && len([]rune(line))+1+len([]rune(word)) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// esc escapes s for XML text and attribute values.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
