package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// admissionGoal is the goal at admissionGoalRate.
const (
	admissionGoal     = 2 * time.Millisecond
	admissionGoalRate = 1000
)

type admissionConfig struct {
	rates    []int
	duration time.Duration
	reps     int
	dir      string
}

// runAdmission measures the webhook server under a steady load: for each repetition, each rate in
// turn for the configured duration, after a warm-up.
func runAdmission(ctx context.Context, cfg admissionConfig, e *env, s *section) error {
	cases, err := reviewCases()
	if err != nil {
		return err
	}
	var srv admissionTarget
	var server string
	if e != nil {
		srv = admissionTarget{addr: fmt.Sprintf("127.0.0.1:%d", e.webhook.Port()), tls: e.webhook.TLSConfig(), pid: e.webhookPid}
		server = "`bin/webhook` (cmd/webhook: controller-runtime's TLS webhook server, HTTP/1.1 only, the handlers of package `webhook`), " +
			"started by e2e/slogate.StartWebhook and registered with the local API server, which sends it nothing else meanwhile; logging at info level (each hold is a log line) to a file"
	} else {
		child, err := startWebhookServer(ctx, filepath.Join(cfg.dir, "admission"))
		if err != nil {
			return err
		}
		defer child.stop()
		srv = admissionTarget{addr: child.addr, tls: child.certs.clientTLS(), pid: child.pid()}
		server = "slogate's Deployment admission handlers (package `webhook`) on controller-runtime's TLS webhook server in a process of its own " +
			"(`hack/bench serve-webhook`, registered as `webhook.Setup` does, JSON logging at info level to a file); no cluster"
	}
	var sizes []string
	for _, c := range cases {
		sizes = append(sizes, fmt.Sprintf("%s %.1f KiB", c.name, float64(len(c.body))/1024))
	}
	s.setup = append(s.setup,
		"Server: "+server+". TLS with an ECDSA P-256 certificate; keep-alive connections, as the API server keeps them.",
		"Requests: AdmissionReviews (UPDATE) of a 3-container Deployment (app, proxy sidecar, log shipper; probes, resources, env, "+
			"volumes) in an opted-in namespace, four kinds in turn: the image change on the mutating path (answered with the hold patch) "+
			"and the held object on the validating path, and the Deployment controller's revision-annotation write (no-op) on both paths. "+
			"Every answer is checked: HTTP 200, allowed, and a patch exactly on the hold. Sizes: "+strings.Join(sizes, ", ")+".",
		fmt.Sprintf("Load: vegeta v12.13.0 as a library (open loop: it adds workers when answers lag), constant rate %s req/s for %s each, %d repetitions, rates interleaved, each run once the server is idle; a 5 s warm-up first, not counted. "+
			"Latency is vegeta's (request written to answer read), percentiles exact over every request of a run.", joinInts(cfg.rates), cfg.duration, cfg.reps),
		fmt.Sprintf("The load generator runs in this process on the same %d cores as the server: its CPU is reported beside the server's (from /proc/<pid>/stat, user+system), and the server's latencies include waiting for a core the generator holds.", describeMachine().Cores),
	)

	if _, err := attack(ctx, srv, cases, 500, 5*time.Second); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	runs := map[int][]attackResult{}
	var perRun []string
	for rep := range cfg.reps {
		for _, rate := range cfg.rates {
			settled, err := waitIdle(ctx, srv.pid)
			if err != nil {
				return err
			}
			res, err := attack(ctx, srv, cases, rate, cfg.duration)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "bench: admission rep %d, %d req/s: p50 %s p99 %s max %s errors %d, server %.2f cores, generator %.2f cores\n",
				rep+1, rate, ms(res.p(0.5)), ms(res.p(0.99)), ms(res.p(1)), res.errors, res.server.cores(), res.client.cores())
			runs[rate] = append(runs[rate], res)
			perRun = append(perRun, fmt.Sprintf("| %d | %s | %.2f ms | %.2f ms | %.2f ms | %d | %.0f | %.2f | %.2f | %s | %.1f s |", rep+1, thousands(rate),
				float64(res.p(0.5))/1e6, float64(res.p(0.99))/1e6, float64(res.p(1))/1e6, res.errors, res.throughput, res.server.cores(), res.client.cores(), res.load, settled.Seconds()))
		}
	}
	defer func() {
		s.note("Every run, in the order run (each starts once the server has been idle, under 0.05 cores for a second, after the run before; "+
			"the wait is the last column):\n\n| rep | req/s | p50 | p99 | max | errors | answered/s | server cores | generator cores | load average after | idle wait |\n"+
			"|---|---|---|---|---|---|---|---|---|---|---|\n%s", strings.Join(perRun, "\n"))
	}()

	for _, rate := range cfg.rates {
		rs := runs[rate]
		var p50, p99, pmax, thr, srvCores, cliCores, cpuPerReq sample
		errs, total := 0, 0
		var firstErr string
		for _, r := range rs {
			p50 = append(p50, float64(r.p(0.5))/1e6)
			p99 = append(p99, float64(r.p(0.99))/1e6)
			pmax = append(pmax, float64(r.p(1))/1e6)
			thr = append(thr, r.throughput)
			srvCores = append(srvCores, r.server.cores())
			cliCores = append(cliCores, r.client.cores())
			cpuPerReq = append(cpuPerReq, float64(r.server.cpu.Microseconds())/float64(max(1, r.requests)))
			errs += r.errors
			total += r.requests
			if firstErr == "" {
				firstErr = r.firstError
			}
		}
		label := fmt.Sprintf("%s req/s", thousands(rate))
		goalRate := rate == admissionGoalRate
		p99Row := row{what: label + ": p99 latency", median: fmt.Sprintf("%.2f ms", p99.median()), spread: spread(p99, "%.2f", " ms")}
		if goalRate {
			p99Row.goal = fmt.Sprintf("< %s", ms(admissionGoal))
			p99Row.met = metGoal(p99.median() < float64(admissionGoal)/1e6)
		}
		s.add(row{what: label + ": p50 latency", median: fmt.Sprintf("%.2f ms", p50.median()), spread: spread(p50, "%.2f", " ms")})
		s.add(p99Row)
		s.add(row{what: label + ": max latency", median: fmt.Sprintf("%.2f ms", pmax.median()), spread: spread(pmax, "%.2f", " ms")})
		errRow := row{what: label + ": errors", median: fmt.Sprintf("%d of %s", errs, thousands(total)), spread: fmt.Sprintf("over %d runs", len(rs))}
		if goalRate {
			errRow.goal, errRow.met = "0", metGoal(errs == 0)
		}
		s.add(errRow)
		s.add(row{what: label + ": answered per second", median: fmt.Sprintf("%.0f", thr.median()), spread: spread(thr, "%.0f", "")})
		s.add(row{what: label + ": server CPU", median: fmt.Sprintf("%.2f cores", srvCores.median()), spread: spread(srvCores, "%.2f", " cores")})
		s.add(row{what: label + ": server CPU per request", median: fmt.Sprintf("%.0f µs", cpuPerReq.median()), spread: spread(cpuPerReq, "%.0f", " µs")})
		s.add(row{what: label + ": load generator CPU", median: fmt.Sprintf("%.2f cores", cliCores.median()), spread: spread(cliCores, "%.2f", " cores")})
		var loads []string
		for _, r := range rs {
			loads = append(loads, r.load)
		}
		s.add(row{what: label + ": machine load average after each run", median: strings.Join(loads, ", "), spread: fmt.Sprintf("%d cores", describeMachine().Cores)})
		if thr.median() < 0.95*float64(rate) {
			s.note("**Saturated at %s req/s:** the server answered %.0f requests/s (median of the runs) of the %s offered, using %.2f cores while the load "+
				"generator used %.2f: requests queue, so the latencies at this rate are queueing time, and those still waiting after vegeta's 10 s timeout count as errors.",
				thousands(rate), thr.median(), thousands(rate), srvCores.median(), cliCores.median())
		}
		if errs > 0 {
			s.note("At %s req/s, %d of %d requests failed; the first: `%s`.", thousands(rate), errs, total, oneLine(firstErr))
		}
		if goalRate {
			s.note("At %s req/s, p99 by request kind (median over the runs): %s.", thousands(rate), byCaseP99(rs))
			if p99.median() >= float64(admissionGoal)/1e6 {
				cores := float64(describeMachine().Cores)
				fits := "within"
				if srvCores.median()+cliCores.median() >= cores {
					fits = "more than"
				}
				s.note("**Goal missed at %s req/s:** p99 %.2f ms (median of the runs; best run %.2f ms, worst %.2f ms) is %.2f ms over the %s goal (%.0f×). "+
					"What bounds it: the server used %.0f µs of CPU per request, %.2f cores at this rate, and the load generator %.2f cores, together %s the %.0f cores; "+
					"the machine's load average after the runs was %s (other work shares the cores), and a request that arrives while no core is free waits for one. "+
					"The p50 is %.2f ms.",
					thousands(rate), p99.median(), p99.min(), p99.max(), p99.median()-float64(admissionGoal)/1e6, ms(admissionGoal), p99.median()/(float64(admissionGoal)/1e6),
					cpuPerReq.median(), srvCores.median(), cliCores.median(), fits, cores, strings.Join(loads, ", "), p50.median())
			}
		}
	}
	return nil
}

func byCaseP99(rs []attackResult) string {
	names := []string{}
	for name := range rs[0].byCase {
		names = append(names, name)
	}
	slices.Sort(names)
	var parts []string
	for _, n := range names {
		var p sample
		for _, r := range rs {
			p = append(p, float64(exactQuantile(r.byCase[n], 0.99))/1e6)
		}
		parts = append(parts, fmt.Sprintf("%s %.2f ms", n, p.median()))
	}
	return strings.Join(parts, ", ")
}

func joinInts(v []int) string {
	var s []string
	for _, n := range v {
		s = append(s, thousands(n))
	}
	return strings.Join(s, ", ")
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 1000 {
		return s
	}
	return thousands(n/1000) + "," + fmt.Sprintf("%03d", n%1000)
}

// waitIdle waits until the server has been idle (under 0.05 cores for a second), at most 30 s, so
// that a run does not pay for the backlog of the run before (an overloaded server finishes the
// requests its clients gave up on). It returns how long it waited.
func waitIdle(ctx context.Context, pid int) (time.Duration, error) {
	begin := time.Now()
	for time.Since(begin) < 30*time.Second {
		m, err := startCPU(pid)
		if err != nil {
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Second):
		}
		if err := m.stop(); err != nil {
			return 0, err
		}
		if m.cores() < 0.05 {
			break
		}
	}
	return time.Since(begin), nil
}
