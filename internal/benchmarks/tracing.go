package benchmarks

import (
	"io"
	"runtime/trace"
	"testing"
)

// ScenarioTracing is what runtime/trace support costs: a pipeline's stages
// and a pool's tasks each open a trace region, but only while a trace is
// being recorded; otherwise the cost is one trace.IsEnabled check per batch
// or task. impl=off runs with no trace recording (every user's normal
// case), impl=on with a trace recorded into io.Discard.
func ScenarioTracing() Pattern {
	// traced runs body with a trace recorded, or skips the case when one
	// is already being recorded (go test -trace).
	traced := func(b *testing.B, on bool, body func()) {
		if on {
			if err := trace.Start(io.Discard); err != nil {
				b.Skipf("a trace is already being recorded: %v", err)
			}
			defer trace.Stop()
		}
		body()
	}
	var cases []Case
	for _, impl := range []string{"off", "on"} {
		on := impl == "on"
		cases = append(cases,
			Case{
				Name: "work=pipeline/impl=" + impl,
				F: func(b *testing.B) {
					traced(b, on, func() {
						u := PerUnit(b, "item")
						for range b.N {
							threeStagePipeline()
						}
						u.Stop(b.N * pipelineItems)
					})
				},
			},
			Case{
				Name: "work=workers/impl=" + impl,
				F: func(b *testing.B) {
					traced(b, on, func() {
						benchWorkers(b, newWorkersOurs()(4, func() error { return nil }))
					})
				},
			},
		)
	}
	return Pattern{
		Pkg:   "bench",
		Name:  "Tracing",
		Doc:   "what runtime/trace support costs: pipeline.ThreeStage's pipeline (ns/item) and pool.Workers with 4 workers and empty tasks (ns/task), with no trace recorded (off) and with one recorded into io.Discard (on).",
		Ours:  []string{"off", "on"},
		Cases: cases,
	}
}
