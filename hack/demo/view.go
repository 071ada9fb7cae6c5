package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/cli"
)

// How often the live view looks at the cluster, redraws a terminal, and prints a traffic line on a
// pipe.
const (
	pollInterval   = 500 * time.Millisecond
	redrawInterval = time.Second
	trafficEvery   = 10 * time.Second
)

// follower shows one release live until it has ended and cleaned up.
type follower struct {
	e       *env
	p       *printer
	meter   *trafficMeter
	title   string
	release string
	// applied is when kubectl applied the change; times are shown from there, and older events
	// (of the previous release) are left out.
	applied time.Time
	// before are the events there were before the apply (eventKey).
	before map[string]bool
	// applyOutput is what kubectl apply printed (the webhook's warning among it); a terminal's
	// frames repeat it, as they clear the screen.
	applyOutput string

	// What a pipe has been told already.
	lastState   string
	printed     map[string]bool
	lastTraffic time.Time
	lastDraw    time.Time
}

// snapshot is what one look at the cluster found.
type snapshot struct {
	release    *slogatev1alpha1.Release
	deployment *appsv1.Deployment
	events     []corev1.Event
}

// follow shows the release until it is terminal and Completed, and returns it. It fails after
// timeout.
func (f *follower) follow(ctx context.Context, timeout time.Duration) (*slogatev1alpha1.Release, error) {
	f.printed = map[string]bool{}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var last snapshot
	for {
		s, err := f.look(ctx)
		switch {
		case err == nil:
			last = s
			f.show(s, time.Now())
			if ended(s.release) {
				f.final(s)
				return s.release, nil
			}
		case ctx.Err() == nil:
			// A failed read is shown and retried: the API server is local, a hiccup passes.
			f.p.say("  (reading the release: %v)", err)
		}
		select {
		case <-ctx.Done():
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, ctx.Err()
			}
			if last.release == nil {
				return nil, fmt.Errorf("release %s/%s did not start within %s (the analyzer's log: %s)",
					namespace, f.release, timeout, f.e.analyzer.LogPath())
			}
			st := last.release.Status
			return nil, fmt.Errorf("release %s/%s did not end within %s: phase %s (%s) at step %s, weight %d%%: %s (the analyzer's log: %s)",
				namespace, f.release, timeout, orDash(string(st.Phase)), orDash(st.Reason), cli.StepProgress(last.release),
				st.CanaryWeight, st.Message, f.e.analyzer.LogPath())
		case <-tick.C:
		}
	}
}

// ended reports whether a release is terminal and has cleaned up (traffic, canary, pins).
func ended(r *slogatev1alpha1.Release) bool {
	return r != nil && r.Status.Phase.IsTerminal() &&
		meta.IsStatusConditionTrue(r.Status.Conditions, slogatev1alpha1.ConditionCompleted)
}

// look reads the release, the Deployment and their events since the apply.
func (f *follower) look(ctx context.Context) (snapshot, error) {
	c := f.e.cluster.Client()
	var s snapshot
	var d appsv1.Deployment
	if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: deployment}, &d); err != nil {
		return s, err
	}
	s.deployment = &d
	var r slogatev1alpha1.Release
	switch err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: f.release}, &r); {
	case apierrors.IsNotFound(err):
	case err != nil:
		return s, err
	default:
		s.release = &r
	}
	var evs corev1.EventList
	if err := c.List(ctx, &evs, client.InNamespace(namespace)); err != nil {
		return s, err
	}
	s.events = f.newEvents(evs.Items)
	return s, nil
}

// newEvents keeps the events of the release and of the Deployment that came after the apply. The
// analyzer records each event on both objects; the Deployment's copy is left out.
func (f *follower) newEvents(all []corev1.Event) []corev1.Event {
	type twin struct{ reason, message string }
	ofRelease := map[twin]bool{}
	for _, ev := range all {
		if ev.InvolvedObject.Kind == "Release" && ev.InvolvedObject.Name == f.release {
			ofRelease[twin{ev.Reason, ev.Message}] = true
		}
	}
	var out []corev1.Event
	for _, ev := range all {
		o := ev.InvolvedObject
		switch {
		case f.before[eventKey(ev)]:
		case o.Kind == "Release" && o.Name == f.release:
			out = append(out, ev)
		case o.Kind == "Deployment" && o.Name == deployment && !ofRelease[twin{ev.Reason, ev.Message}]:
			out = append(out, ev)
		}
	}
	return out
}

// eventKey identifies an event and how often it was seen.
func eventKey(ev corev1.Event) string { return fmt.Sprintf("%s/%d", ev.UID, ev.Count) }

// eventsBefore records the events of the namespace before an apply, so that the view of the release
// that follows leaves them out.
func eventsBefore(ctx context.Context, c client.Client) (map[string]bool, error) {
	var evs corev1.EventList
	if err := c.List(ctx, &evs, client.InNamespace(namespace)); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, ev := range evs.Items {
		seen[eventKey(ev)] = true
	}
	return seen, nil
}

// show draws the view on a terminal, or prints what changed on a pipe.
func (f *follower) show(s snapshot, now time.Time) {
	w, d := f.meter.sample(now)
	traffic := f.meter.line(w, d)
	if f.p.tty {
		if now.Sub(f.lastDraw) < redrawInterval {
			return
		}
		f.lastDraw = now
		f.p.frame(f.screen(s, traffic, now))
		return
	}
	f.changes(s, traffic, now)
}

// screen is one frame of the terminal view: a header, what kubectl apply said, the traffic, then
// the status view.
func (f *follower) screen(s snapshot, traffic string, now time.Time) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "slogate demo · %s · %s since kubectl apply\n", f.title, roundDuration(now.Sub(f.applied)))
	for l := range strings.SplitSeq(strings.TrimSpace(f.applyOutput), "\n") {
		if l != "" {
			fmt.Fprintf(&b, "kubectl apply: %s\n", l)
		}
	}
	fmt.Fprintf(&b, "Traffic on %s (last %s): %s\n\n", route, trafficWindow, traffic)
	if s.release == nil {
		fmt.Fprintf(&b, "Deployment %s is held (paused) for its new revision; waiting for the analyzer to create release %s ...\n",
			deployment, f.release)
	} else {
		_ = cli.RenderStatus(&b, cli.StatusView{Release: s.release, Deployment: s.deployment, Events: s.events, Now: now})
	}
	return b.String()
}

// changes prints, on a pipe, a line for each change of phase, step or weight, each new
// measurement and event, and the traffic every trafficEvery.
func (f *follower) changes(s snapshot, traffic string, now time.Time) {
	at := fmt.Sprintf("  %6s  ", "+"+roundDuration(now.Sub(f.applied)).String())
	if r := s.release; r != nil {
		st := r.Status
		phase := st.Phase
		if phase == "" {
			phase = slogatev1alpha1.PhaseProgressing
		}
		step := ""
		if i := int(st.StepIndex); i < len(r.Spec.Steps) && !phase.IsTerminal() {
			step = fmt.Sprintf("  step %s %s", cli.StepProgress(r), cli.DescribeStep(r.Spec.Steps[i]))
		}
		state := fmt.Sprintf("%-11s%s  canary weight %d%%", phase, step, st.CanaryWeight)
		if st.Reason != "" {
			state += "  (" + st.Reason + ")"
		}
		if state != f.lastState {
			f.lastState = state
			f.p.say("%s%s", at, state)
		}
		for _, m := range r.Status.Measurements {
			key := fmt.Sprintf("m/%s/%s/%d/%s", m.Template, m.Metric, m.Step, m.Time.UTC().Format(time.RFC3339Nano))
			if f.printed[key] {
				continue
			}
			f.printed[key] = true
			line := fmt.Sprintf("%smeasured %s/%s at %d%% = %s  %s", at, m.Template, m.Metric, m.Weight, orDash(m.Value), m.Verdict)
			if m.Verdict != slogatev1alpha1.VerdictSuccessful && m.Message != "" {
				line += ": " + m.Message
			}
			f.p.say("%s", line)
		}
	}
	evs := slices.Clone(s.events)
	slices.SortStableFunc(evs, func(a, b corev1.Event) int { return cli.EventTime(a).Compare(cli.EventTime(b)) })
	for _, ev := range evs {
		key := "e/" + eventKey(ev)
		if f.printed[key] {
			continue
		}
		f.printed[key] = true
		f.p.say("%sevent %s %s/%s: %s", at, ev.Reason, ev.InvolvedObject.Kind, ev.InvolvedObject.Name, strings.TrimSpace(ev.Message))
	}
	if f.lastTraffic.IsZero() {
		f.lastTraffic = f.applied
	}
	if now.Sub(f.lastTraffic) >= trafficEvery {
		f.lastTraffic = now
		f.p.say("%straffic %s", at, traffic)
	}
}

// final shows the view of the ended release: on a terminal the last frame stays; on a pipe the
// whole view is printed once.
func (f *follower) final(s snapshot) {
	now := time.Now()
	w, d := f.meter.sample(now)
	traffic := f.meter.line(w, d)
	if f.p.tty {
		f.p.frame(f.screen(s, traffic, now))
		return
	}
	var b bytes.Buffer
	_ = cli.RenderStatus(&b, cli.StatusView{Release: s.release, Deployment: s.deployment, Events: s.events, Now: now})
	f.p.say("\n  kubectl slogate status %s -n %s, as the release ended:\n", deployment, namespace)
	f.p.write(indent(b.String()))
	f.p.say("\n  Traffic on %s (last %s): %s", route, trafficWindow, traffic)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
