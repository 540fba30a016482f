package benchmarks

// All returns every comparison, in the order bench/cmd/compare runs them:
// the packages in import order (semaphore, timeout, pool, pipeline, fanout),
// then the cross-package scenarios of bench/.
func All() []Pattern {
	return []Pattern{
		// semaphore
		SemaphoreAcquire(),
		SemaphoreGroup(),
		// timeout
		TimeoutSignal(),
		TimeoutCall(),
		TimeoutIdle(),
		TimeoutRecv(),
		// pool: recyclers
		PoolRecycle(),
		PoolRecycleGC(),
		PoolBurst(),
		// pool: workers
		PoolWorkers(),
		// pipeline
		PipelineThreeStage(),
		PipelineFirstItem(),
		PipelineSoak(),
		PipelineMapWorkers(),
		PipelineMapCPU(),
		// fanout
		FanoutMerge(),
		FanoutBalancer(),
		FanoutMultiplexer(),
		// bench: scenarios
		ScenarioIDs(),
		ScenarioOwnedState(),
		ScenarioHandoff(),
		ScenarioRequestPath(),
		ScenarioTracing(),
	}
}
