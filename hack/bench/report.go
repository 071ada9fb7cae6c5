package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// report is what a run found: RESULTS.md and the table printed at the end.
type report struct {
	machine  machine
	command  string
	started  time.Time
	finished time.Time
	sections []*section
}

// section is one measurement: its setup, its rows, and notes on missed goals and their bounds.
type section struct {
	title string
	// command reruns this section alone.
	command string
	// setup describes how the numbers were obtained (rates, intervals, what shares the machine).
	setup []string
	rows  []row
	notes []string
	// took is the wall time of the section.
	took time.Duration
	// err is why the section could not finish; its rows so far still count.
	err error
}

// row is one number: the median over the repetitions, their spread, and the goal it answers.
type row struct {
	what   string
	median string
	spread string
	goal   string
	// met is "yes", "no" or "" (no goal).
	met string
}

func (s *section) add(r row) { s.rows = append(s.rows, r) }

func (s *section) note(format string, args ...any) {
	s.notes = append(s.notes, fmt.Sprintf(format, args...))
}

func metGoal(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// markdown writes the report as RESULTS.md.
func (r *report) markdown(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("# slogate benchmark results\n\n")
	p("Written by `make bench` (`%s`), which ran from %s to %s (%s).\n\n", r.command,
		r.started.UTC().Format("2006-01-02 15:04:05 UTC"), r.finished.UTC().Format("15:04:05 UTC"), r.finished.Sub(r.started).Round(time.Second))
	p("Machine: %d cores (%s), %s, Linux %s; load average %s when the run started. Everything below — the\n", r.machine.Cores, r.machine.CPU, r.machine.Go, r.machine.Kernel, r.machine.Load)
	p("load generators, the control plane, Prometheus, the demo apps and slogate itself — shares these cores.\n\n")
	p("Each row gives the median over its repetitions and their spread (min–max, n = repetitions, unless the\n")
	p("row says otherwise), the command that reruns it and the machine it ran on.\n\n")
	p("## Goals\n\n| section | measurement | result | goal | met |\n|---|---|---|---|---|\n")
	for _, s := range r.sections {
		for _, row := range s.rows {
			if row.goal != "" && row.met != "" {
				p("| %s | %s | %s | %s | %s |\n", s.title, row.what, row.median, row.goal, row.met)
			}
		}
		if s.err != nil {
			p("| %s | the section did not finish | – | – | **no** |\n", s.title)
		}
	}
	p("\n")
	for _, s := range r.sections {
		p("## %s\n\n", s.title)
		for _, l := range s.setup {
			p("- %s\n", l)
		}
		if len(s.setup) > 0 {
			p("\n")
		}
		p("| measurement | median | spread | goal | met | command | machine |\n")
		p("|---|---|---|---|---|---|---|\n")
		for _, row := range s.rows {
			p("| %s | %s | %s | %s | %s | `%s` | %s |\n", row.what, row.median, dash(row.spread), dash(row.goal), dash(row.met), s.command, r.machine.short())
		}
		p("\n")
		if s.err != nil {
			p("**The section did not finish:** %s\n\n", oneLine(s.err.Error()))
		}
		for _, n := range s.notes {
			p("%s\n\n", n)
		}
		p("_Section wall time: %s._\n\n", s.took.Round(time.Second))
	}
}

// table prints the rows of every section as plain text for the terminal.
func (r *report) table(w io.Writer) {
	fmt.Fprintf(w, "\n%-52s %-22s %-34s %-12s %s\n", "measurement", "median", "spread", "goal", "met")
	for _, s := range r.sections {
		fmt.Fprintf(w, "-- %s (%s; %s)\n", s.title, s.command, s.took.Round(time.Second))
		for _, row := range s.rows {
			fmt.Fprintf(w, "%-52s %-22s %-34s %-12s %s\n", row.what, row.median, dash(row.spread), dash(row.goal), strings.Trim(dash(row.met), "*"))
		}
		if s.err != nil {
			fmt.Fprintf(w, "   did not finish: %s\n", oneLine(s.err.Error()))
		}
	}
	fmt.Fprintf(w, "machine: %s; total %s\n", r.machine.short(), r.finished.Sub(r.started).Round(time.Second))
}

func dash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
