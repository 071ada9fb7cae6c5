package main

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"golang.org/x/term"
)

// Terminal control of the redrawn view.
const clearScreen = "\x1b[H\x1b[2J"

// printer writes the demo's narrative. Lines that e2e/demo's test looks for are written by the
// functions named in its comments; change them together.
type printer struct {
	out io.Writer
	// tty redraws the live view; otherwise it is printed as lines of changes.
	tty bool
	// size is the terminal's rows and columns (0 when unknown).
	size func() (rows, cols int)

	mu sync.Mutex
}

func newPrinter(out io.Writer, tty bool) *printer { return &printer{out: out, tty: tty} }

// terminalSize is the size of the terminal on fd, or zeros.
func terminalSize(fd int) func() (rows, cols int) {
	return func() (int, int) {
		cols, rows, err := term.GetSize(fd)
		if err != nil {
			return 0, 0
		}
		return rows, cols
	}
}

func (p *printer) write(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _ = io.WriteString(p.out, s)
}

// title opens the demo.
func (p *printer) title() {
	p.write("slogate demo: a Deployment released as a canary, promoted step by step, then a bad one rolled back.\n\n")
}

// chapter starts a part of the story.
func (p *printer) chapter(format string, a ...any) {
	p.write("\n── " + fmt.Sprintf(format, a...) + " ──\n\n")
}

// step says what is being started; done says how it went.
func (p *printer) step(format string, a ...any) { p.write("▸ " + fmt.Sprintf(format, a...) + "\n") }
func (p *printer) done(format string, a ...any) { p.write("  ✓ " + fmt.Sprintf(format, a...) + "\n") }

// say writes a line.
func (p *printer) say(format string, a ...any) { p.write(fmt.Sprintf(format, a...) + "\n") }

// fail says that the demo did not end as it must.
func (p *printer) fail(format string, a ...any) {
	p.write("\n✗ The demo did not end as expected: " + fmt.Sprintf(format, a...) + "\n")
}

// command shows a command as a user types it, and its output indented.
func (p *printer) command(line, output string) {
	var b strings.Builder
	b.WriteString("$ " + line + "\n")
	if out := strings.TrimRight(output, "\n"); out != "" {
		for l := range strings.SplitSeq(out, "\n") {
			b.WriteString("  " + l + "\n")
		}
	}
	p.write(b.String())
}

// frame replaces the screen with a frame of the live view (terminal only), cut to the terminal's
// size so that its top (the header, the traffic, the phase and the steps) stays in view.
func (p *printer) frame(s string) {
	rows, cols := 0, 0
	if p.size != nil {
		rows, cols = p.size()
	}
	p.write(clearScreen + fitScreen(s, rows, cols))
}

// fitScreen keeps the first rows-1 lines of s and cuts each line to cols characters; 0 leaves that
// dimension alone.
func fitScreen(s string, rows, cols int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if rows > 1 && len(lines) > rows-1 {
		lines = lines[:rows-1]
	}
	if cols > 1 {
		for i, l := range lines {
			if r := []rune(l); len(r) > cols {
				lines[i] = string(r[:cols-1]) + "…"
			}
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// indent indents every line of s by two spaces.
func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = "  " + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}
