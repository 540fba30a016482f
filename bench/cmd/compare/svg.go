package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
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

// panel is one pattern's parameter set: its bars, block by block, one
// block per GOMAXPROCS.
type panel struct {
	pattern, params, unit string
	doc                   string // the pattern's Doc, on its first panel only
	blocks                []block
	lo, hi                float64 // the log scale's ends, in ns: powers of ten
}

type block struct {
	procs int
	rows  []row
}

func panels(ms []*measured) []panel {
	var out []panel
	for _, m := range ms {
		rs, _ := rows(m)
		for i, r := range rs {
			// rows come grouped by parameter set: a new set, a new panel.
			if i == 0 || r.params != rs[i-1].params {
				pn := panel{pattern: m.p.Pkg + "." + m.p.Name, params: r.params}
				if i == 0 {
					pn.doc = m.p.Doc
				}
				out = append(out, pn)
			}
			pn := &out[len(out)-1]
			if k := len(pn.blocks); k == 0 || pn.blocks[k-1].procs != r.procs {
				pn.blocks = append(pn.blocks, block{procs: r.procs})
			}
			b := &pn.blocks[len(pn.blocks)-1]
			b.rows = append(b.rows, r)
			switch {
			case r.failed:
			case pn.unit == "":
				pn.unit = r.unit
			case r.unit != pn.unit:
				pn.unit = "unit" // the cases of one parameter set disagree
			}
		}
	}
	for i := range out {
		if out[i].unit == "" {
			out[i].unit = "op"
		}
		out[i].lo, out[i].hi = logRange(out[i].blocks)
	}
	return out
}

// logRange returns the powers of ten that frame the panel's times: lo at
// least a fifth of a decade below the fastest, so that its bar shows, and
// hi at or above the slowest.
func logRange(bs []block) (lo, hi float64) {
	minV, maxV := math.Inf(1), 0.0
	for _, b := range bs {
		for _, r := range b.rows {
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
	if hi <= lo {
		hi = lo * 10
	}
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
	ps := panels(ms)
	sweep := e.sweep()

	// The label column fits the longest implementation name.
	labelW := svgText("GOMAXPROCS=00", 12, true)
	for _, p := range ps {
		for _, b := range p.blocks {
			for _, r := range b.rows {
				labelW = max(labelW, svgText(r.impl, 13, r.ours))
			}
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
	fmt.Fprintf(&body, `<text class="machine" x="%d" y="%.1f" font-size="14" fill="%s">%s</text>`+"\n", svgPad, y, mutedText, esc(machine))
	y += 26
	fmt.Fprintf(&body, `<g class="legend">`+"\n")
	fmt.Fprintf(&body, `<rect x="%d" y="%.1f" width="14" height="14" fill="%s"/>`, svgPad, y-12, oursFill)
	fmt.Fprintf(&body, `<text x="%d" y="%.1f" font-size="13" font-weight="700" fill="%s">compendium (ours)</text>`+"\n", svgPad+20, y, oursText)
	lx := float64(svgPad) + 20 + svgText("compendium (ours)", 13, true) + 24
	fmt.Fprintf(&body, `<rect x="%.1f" y="%.1f" width="14" height="14" fill="%s"/>`, lx, y-12, altFill)
	fmt.Fprintf(&body, `<text x="%.1f" y="%.1f" font-size="13" fill="%s">alternative</text>`+"\n", lx+20, y, inkText)
	fmt.Fprintf(&body, `</g>`+"\n")
	notes := []string{
		"Bar length: time per op, or per task or item where the panel says so, on a log scale of its own per panel (shorter is faster).",
		"The label after each bar: that time, and its multiple of the first compendium implementation's under the same parameters"}
	if sweep {
		notes[1] += " and GOMAXPROCS"
	}
	notes[1] += " (above 1×: ours is faster)."
	for _, n := range notes {
		for _, line := range wrap(n, int((svgWidth-2*svgPad)/svgText("x", 13, false))) {
			y += 18
			fmt.Fprintf(&body, `<text x="%d" y="%.1f" font-size="13" fill="%s">%s</text>`+"\n", svgPad, y, mutedText, esc(line))
		}
	}
	y += 8

	for _, p := range ps {
		y = drawPanel(&body, p, y, x0, x1, sweep)
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
func drawPanel(out *strings.Builder, p panel, y, x0, x1 float64, sweep bool) float64 {
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
	for _, b := range p.blocks {
		if sweep {
			y += 15
			fmt.Fprintf(&bars, `<text x="%d" y="%.1f" font-size="12" font-weight="700" fill="%s">GOMAXPROCS=%d</text>`+"\n", svgPad, y, mutedText, b.procs)
			y += 5
		}
		for _, r := range b.rows {
			drawBar(&bars, r, y, x0, scale)
			y += svgBarH + svgBarGap
		}
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

// drawBar draws r's bar with its top at y.
func drawBar(out *strings.Builder, r row, y, x0 float64, scale func(float64) float64) {
	fill, label, weight := altFill, inkText, "400"
	if r.ours {
		fill, label, weight = oursFill, oursText, "700"
	}
	class := "bar"
	if r.failed || r.ns <= 0 {
		class += " failed"
	}
	fmt.Fprintf(out, `<g class="%s" data-case="%s" data-procs="%d" data-ours="%t">`, class, esc(r.name), r.procs, r.ours)
	mid := y + svgBarH/2 + 4.5 // a 13px text's baseline, centred on the bar
	fmt.Fprintf(out, `<text x="%.1f" y="%.1f" font-size="13" font-weight="%s" fill="%s" text-anchor="end">%s</text>`, x0-10, mid, weight, label, esc(r.impl))
	switch {
	case r.failed:
		fmt.Fprintf(out, `<text class="value" x="%.1f" y="%.1f" font-size="12" font-style="italic" fill="#b42318">failed</text>`, x0+4, mid)
	case r.ns <= 0:
		fmt.Fprintf(out, `<text class="value" x="%.1f" y="%.1f" font-size="12" fill="%s">0 ns</text>`, x0+4, mid, inkText)
	default:
		w := scale(r.ns) - x0
		fmt.Fprintf(out, `<rect class="len" x="%.2f" y="%.1f" width="%.2f" height="%d" rx="2" fill="%s"/>`, x0, y, w, svgBarH, fill)
		text := duration(r.ns, false)
		if r.ratio > 0 {
			text += fmt.Sprintf(" · %.2f×", r.ratio)
		}
		// A white outline keeps the label readable where it crosses a
		// grid line.
		fmt.Fprintf(out, `<text class="value" x="%.2f" y="%.1f" font-size="12" fill="%s" stroke="#ffffff" stroke-width="3" paint-order="stroke">%s</text>`,
			x0+w+6, mid-0.5, inkText, esc(text))
	}
	out.WriteString("</g>\n")
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
