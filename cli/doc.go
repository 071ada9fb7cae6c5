// Package cli turns slogate's API objects into what people read: the live status view of a
// release (the steps with the current one marked, the canary weight as a bar, each measurement
// with its value and verdict, conditions and events), the release list, and the report of a
// preview. It also holds the pure decisions of the kubectl plugin: which Release is the current one
// of a Deployment, which action makes sense in which phase, and what a server-side dry run says
// about a change.
//
// Every function here is pure: it takes objects and a clock reading and returns text or a decision,
// so `kubectl slogate status` and `make demo` show the same view, and golden files under testdata
// pin it (`go test ./cli -update` rewrites them).
//
// It is not the plugin itself (that is package cli/plugin, which reads and writes the API) and it
// never talks to a cluster.
//
// Choices where DESIGN.md is silent:
//   - The current Release of a Deployment is the one named after the Deployment's
//     slogate.io/canary-revision annotation when that exists, else the newest by creation time.
//   - Text that comes from the cluster (messages, reasons, values) is escaped for the terminal.
//   - The status view shows the last 12 measurements and the last 10 events; the counts of what
//     was left out are printed.
//   - promote (and promote --full) make sense while a release is Progressing or Paused; abort while
//     it is not terminal; retry only after a RolledBack release. A release with no phase yet (just
//     created) counts as Progressing.
package cli
