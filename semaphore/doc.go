// Package semaphore provides counting and weighted semaphores built on
// channels, and a Group that bounds how many goroutines run at once.
package semaphore
