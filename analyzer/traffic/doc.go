// Package traffic edits a Gateway API HTTPRoute for a release: it is the only code in slogate that
// changes route weights. The functions are pure (they edit the object they are given and report
// whether anything changed); reading and writing the route with optimistic concurrency is the
// caller's job.
//
// What it does, as DESIGN.md "HTTPRoute" says:
//   - On every rule that names the stable Service in its backendRefs it sets the weight of the
//     stable backend to 100-w and of the canary backend to w. Integer weights; stable + canary = 100.
//   - A rule that names the stable Service but not the canary Service gets a canary backendRef: a
//     copy of the stable one (same group, kind, namespace, port and backend-level filters) with the
//     canary Service's name. Such rules are recorded in the route's release annotation so that
//     Restore removes exactly those backends again and gives the stable backend its weight back.
//   - Nothing else changes: other rules, matches, rule filters, hostnames, parentRefs, backends of
//     other Services, and mirror backends inside filters are left as they are.
//
// Choices where DESIGN.md is silent:
//   - A backendRef "names" a Service when its group is empty (core), its kind is empty or
//     "Service", its name matches and its namespace is empty or the route's namespace.
//   - A rule with several backendRefs naming the stable Service (different ports) gets every one
//     of them set to 100-w; likewise for the canary.
//   - The backend-level filters of the stable backendRef are copied to an added canary backendRef,
//     so the canary gets the same requests the stable backend gets.
//   - A route whose rules never name the stable Service is an error (ErrNoStableBackend): weights
//     cannot move on it.
//
// It is not the place that decides which weight to write (package machine) or which routes belong
// to a release (package analyzer).
package traffic
