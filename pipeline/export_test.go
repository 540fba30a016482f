package pipeline

// SetHook makes the goroutines of s call f where they are about to park
// after looking for work: site "recv Map#2" (the consumer of the output
// of Map#2, say; worker -1),
// "acquire" (worker i of a multi-worker stage) or "credit" (an ordered
// stage's dispatcher waiting for its window to move, worker -1). Call it
// before adding any stage to s.
func SetHook(s *Scope, f func(site string, worker int)) { s.hook = f }
