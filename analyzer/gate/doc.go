// Package gate is the contract between the release engine (package analyzer) and whatever judges
// an analysis step (package analyzer/analysis, or a scripted gate in tests). It holds types only.
//
// The release engine calls Analyze each time an analysis step is due, with the Release as it is
// stored (its status carries the counters of the step so far), and applies the result: it appends
// the new measurements, stores the metric counters, and goes on, holds or rolls back by the outcome.
// A Gate keeps no state of its own that a restart would lose.
package gate
