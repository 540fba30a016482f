// Package lifecycle is the one place where compendium's lifecycle rules are
// written: how user code is called ([Call]), how a type that starts
// goroutines owns them ([Owner]), how programming errors are reported
// ([Min], [NotNil], ...), how counters keep their identity ([Counters]) and
// how errors kept for later stay bounded ([Errors]). Every package that
// runs user code on goroutines of its own uses it, so that each rule is
// written once, tested once, and means the same thing everywhere.
//
// The rules, as the package docs state them to users:
//
//   - A panic in user code is recovered with its stack as a
//     *compendium.PanicError, cancels the owner, and is re-raised by every
//     Wait and Close on the caller's goroutine.
//   - runtime.Goexit in user code is a failure with compendium.ErrGoexit:
//     the code produced no result, so it never counts as a success.
//   - The first failure cancels the owner (where the type's rule is that
//     failures cancel) and is what Wait and Close return; an error that
//     arrives once the owner is cancelled is a consequence of that
//     cancellation, not news.
//   - Close is idempotent, cancels, joins every goroutine the owner
//     started, and returns the first failure.
//   - Programming errors panic at the call with "pkg: Func: what, got v".
package lifecycle
