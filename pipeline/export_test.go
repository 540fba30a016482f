package pipeline

// SetHook makes the goroutines of s call f at the windows the white-box
// tests need: "recv Map#2" (the consumer of Map#2's output, about to
// park; worker -1), "acquire" (worker i of a multi-worker stage, about to
// park), "steal" (worker i, about to take items from another worker's
// deck), "credit" (an ordered stage's dispatcher, about to wait for its
// window to move; worker -1) and "batch" (a Batch stage, about to wait for
// input; worker -1). Call it before adding any stage to s.
func SetHook(s *Scope, f func(site string, worker int)) { s.hook = f }
