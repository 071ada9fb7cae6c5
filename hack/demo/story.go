package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// Bounds of the waits between releases. Each takes a second or two here.
const (
	// servingTimeout bounds v1 becoming ready and scraped: pods Ready through kwok at once, a
	// demo-app started, Prometheus scraping it 1-6 s after it is added.
	servingTimeout = 90 * time.Second
	// settleTimeout bounds the Deployment settling on the promoted revision after its release
	// ended (the release itself waited for the rollout).
	settleTimeout = 60 * time.Second
)

// outcome is how one release went.
type outcome struct {
	version  string
	revision string
	release  *slogatev1alpha1.Release
	// took is from kubectl apply to the end of the release (cleanup included).
	took time.Duration
}

// result is how the story went.
type result struct {
	v1Revision string
	v2, v3     outcome
	// weights are the route's backends and weights at the end.
	weights string
	// held is the Deployment at the end: paused on v3's template.
	held *appsv1.Deployment
}

// tellStory applies v1, v2 and v3 and follows the releases. It returns an error when the story did
// not go as it must: v2 Succeeded, v3 RolledBack.
func tellStory(ctx context.Context, e *env, p *printer) (*result, error) {
	res := &result{}
	versions := map[string]string{}

	p.chapter("v1: a plain Deployment in a namespace that opted in")
	if _, err := e.kubectl(ctx, "apply", "-k", filepath.Join(e.root, "manifests", "base", "templates")); err != nil {
		return nil, err
	}
	if _, err := e.kubectl(ctx, "create", "namespace", namespace); err != nil {
		return nil, err
	}
	if _, err := e.kubectl(ctx, "label", "namespace", namespace, slogatev1alpha1.NamespaceOptInLabel+"="+slogatev1alpha1.NamespaceOptInValue); err != nil {
		return nil, err
	}
	p.say("(%s: the seed's schedule and SLO checks, with pauses of %s and a measurement every %s)", relPath(e.policy), e.sched.Pause, e.sched.Interval)
	if _, err := e.kubectl(ctx, "apply", "-n", namespace, "-f", e.file(servicesFile), "-f", e.policy, "-f", e.file(versionFile(1))); err != nil {
		return nil, err
	}
	rev, err := e.waitServing(ctx)
	if err != nil {
		return nil, err
	}
	res.v1Revision = rev
	versions[rev] = "v1"
	p.done("v1 (revision %s) serves: %d/%d pods ready, %v requests/s through %s, all on %s-stable",
		rev, replicas, replicas, e.sched.Rate, route, deployment)

	res.v2, err = e.release(ctx, p, 2, "v2: a new image, healthy: released step by step and promoted", versions)
	if err != nil {
		return nil, err
	}
	if ph := res.v2.release.Status.Phase; ph != slogatev1alpha1.PhaseSucceeded {
		return nil, fmt.Errorf("release %s of v2 ended %s (%s), not Succeeded: %s", res.v2.release.Name, ph,
			res.v2.release.Status.Reason, res.v2.release.Status.Message)
	}
	if err := e.waitSettled(ctx, res.v2.revision); err != nil {
		return nil, err
	}
	p.done("v2 (revision %s) is stable: %d/%d pods updated and available, the canary is gone", res.v2.revision, replicas, replicas)

	res.v3, err = e.release(ctx, p, 3, "v3: a new image that fails one request in five: rolled back", versions)
	if err != nil {
		return nil, err
	}
	if ph := res.v3.release.Status.Phase; ph != slogatev1alpha1.PhaseRolledBack {
		return nil, fmt.Errorf("release %s of v3 ended %s (%s), not RolledBack: %s", res.v3.release.Name, ph,
			res.v3.release.Status.Reason, res.v3.release.Status.Message)
	}
	if res.weights, err = e.routeWeights(ctx); err != nil {
		return nil, err
	}
	var d appsv1.Deployment
	if err := e.cluster.Client().Get(ctx, types.NamespacedName{Namespace: namespace, Name: deployment}, &d); err != nil {
		return nil, err
	}
	res.held = &d
	return res, nil
}

// release applies version n, checks that the webhook held it, and follows its release to the end.
func (e *env) release(ctx context.Context, p *printer, n int, title string, versions map[string]string) (outcome, error) {
	o := outcome{version: fmt.Sprintf("v%d", n)}
	p.chapter("%s", title)
	before, err := eventsBefore(ctx, e.cluster.Client())
	if err != nil {
		return o, err
	}
	applied := time.Now()
	out, err := e.kubectl(ctx, "apply", "-n", namespace, "-f", e.file(versionFile(n)))
	if err != nil {
		return o, err
	}
	var d appsv1.Deployment
	if err := e.cluster.Client().Get(ctx, types.NamespacedName{Namespace: namespace, Name: deployment}, &d); err != nil {
		return o, err
	}
	o.revision = d.Annotations[slogatev1alpha1.CanaryRevisionAnnotation]
	if o.revision == "" || !d.Spec.Paused {
		return o, fmt.Errorf("the webhook did not hold %s: spec.paused=%t, %s=%q (the webhook's log: %s)", o.version,
			d.Spec.Paused, slogatev1alpha1.CanaryRevisionAnnotation, o.revision, e.webhook.LogPath())
	}
	versions[o.revision] = o.version
	name := slogatev1alpha1.ReleaseName(deployment, o.revision)
	p.say("The webhook held the change: %s is paused, so the %s pods keep serving; canary revision %s, release %s.",
		deployment, versions[d.Annotations[slogatev1alpha1.StableRevisionAnnotation]], o.revision, name)
	f := &follower{
		e: e, p: p, title: title, release: name, applied: applied, before: before, applyOutput: out,
		meter: &trafficMeter{driver: e.driver, route: types.NamespacedName{Namespace: namespace, Name: route}, versions: versions},
	}
	if !p.tty {
		p.say("\n  Following release %s (the live view of `kubectl slogate status %s -n %s --watch`, as lines of changes):", name, deployment, namespace)
	}
	o.release, err = f.follow(ctx, e.sched.ReleaseTimeout)
	o.took = time.Since(applied)
	return o, err
}

// waitServing waits until v1 is available, served by the data plane and scraped by Prometheus,
// and returns its revision.
func (e *env) waitServing(ctx context.Context) (string, error) {
	var rev string
	err := e.poll(ctx, servingTimeout, func(ctx context.Context) (bool, error) {
		d, err := e.getDeployment(ctx)
		if err != nil || !rolledOut(d) {
			return false, err
		}
		rev = d.Spec.Template.Labels[slogatev1alpha1.RevisionLabel]
		if rev == "" {
			return false, fmt.Errorf("the pod template of %s has no %s label: is the webhook registered?", deployment, slogatev1alpha1.RevisionLabel)
		}
		v, err := e.prom.QueryValue(ctx, fmt.Sprintf(`sum(up{namespace=%q,app=%q,%s=%q})`, namespace, deployment, slogatev1alpha1.RevisionPromLabel, rev))
		return err == nil && v >= 1, nil
	})
	if err != nil {
		return "", fmt.Errorf("waiting for v1 to serve and be scraped: %w", err)
	}
	return rev, nil
}

// waitSettled waits until the Deployment runs revision rev on every replica, unpaused, with no
// release annotations.
func (e *env) waitSettled(ctx context.Context, rev string) error {
	err := e.poll(ctx, settleTimeout, func(ctx context.Context) (bool, error) {
		d, err := e.getDeployment(ctx)
		if err != nil {
			return false, err
		}
		_, held := d.Annotations[slogatev1alpha1.CanaryRevisionAnnotation]
		return !d.Spec.Paused && !held && d.Spec.Template.Labels[slogatev1alpha1.RevisionLabel] == rev && rolledOut(d), nil
	})
	if err != nil {
		return fmt.Errorf("waiting for %s to settle on revision %s after the promotion: %w", deployment, rev, err)
	}
	return nil
}

// rolledOut reports whether every replica of a Deployment runs its template and is available.
func rolledOut(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	return st.ObservedGeneration >= d.Generation && st.UpdatedReplicas == want && st.Replicas == want && st.AvailableReplicas == want
}

func (e *env) getDeployment(ctx context.Context) (*appsv1.Deployment, error) {
	var d appsv1.Deployment
	err := e.cluster.Client().Get(ctx, types.NamespacedName{Namespace: namespace, Name: deployment}, &d)
	return &d, err
}

// routeWeights describes the backends of the route and their weights.
func (e *env) routeWeights(ctx context.Context) (string, error) {
	var r gatewayv1.HTTPRoute
	if err := e.cluster.Client().Get(ctx, types.NamespacedName{Namespace: namespace, Name: route}, &r); err != nil {
		return "", err
	}
	var parts []string
	for _, rule := range r.Spec.Rules {
		for _, b := range rule.BackendRefs {
			w := int32(1)
			if b.Weight != nil {
				w = *b.Weight
			}
			parts = append(parts, fmt.Sprintf("%s %d", b.Name, w))
		}
	}
	return strings.Join(parts, ", "), nil
}

// poll runs cond until it is true, fails, or timeout passes; the error then says what cond last
// said.
func (e *env) poll(ctx context.Context, timeout time.Duration, cond func(context.Context) (bool, error)) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		last = err
		return ok, nil
	})
	if err != nil && last != nil {
		return fmt.Errorf("%w (last: %w)", err, last)
	}
	return err
}

// file is the path of a manifest beside this program.
func (e *env) file(name string) string { return filepath.Join(e.manifests, name) }

// kubectl runs the real kubectl against the demo cluster, shows the command as a user would type
// it and its output (warnings included), and returns the output.
func (e *env) kubectl(ctx context.Context, args ...string) (string, error) {
	shown := make([]string, len(args))
	for i, a := range args {
		shown[i] = a
		if filepath.IsAbs(a) {
			shown[i] = relPath(a)
		}
	}
	cmd := e.cluster.KubectlCommand(ctx, args...)
	out, err := cmd.CombinedOutput()
	e.p.command("kubectl "+strings.Join(shown, " "), string(out))
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w", strings.Join(shown, " "), err)
	}
	return string(out), nil
}
