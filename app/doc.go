// Package app is DDPM Studio's window: the chain view, the timeline, the
// sampler, seed, schedule and model panels, the history of runs and forks.
// It holds no math — every number comes from package studio — and it does
// not import Fyne's app driver, so its tests run on Fyne's test driver with
// no display (package app/desktop opens the real window).
//
// Threading: runs deliver events on their own goroutine; the window keeps
// only the newest and updates widgets through fyne.Do, at most one update
// pending at a time. Plots render off the UI goroutine, newest request wins.
package app
