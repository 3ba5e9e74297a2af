package prover

import (
	"log/slog"
	"time"
)

// progressEvery bounds how often a long step logs that it is still running.
const progressEvery = 8 * time.Second

func logger() *slog.Logger { return slog.Default().With("component", "prover") }

// stage logs the start of a long step, then "still running" at most every
// progressEvery until the returned func is called, which logs the end with the
// elapsed time (and the error, if *errp is non-nil).
func stage(name string, attrs ...any) (done func(errp *error)) {
	log := logger().With("stage", name)
	log.Info("start", attrs...)
	start := time.Now()
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				log.Info("running", "elapsed", time.Since(start).Round(time.Millisecond))
			}
		}
	}()
	return func(errp *error) {
		close(stop)
		el := time.Since(start).Round(time.Millisecond)
		if errp != nil && *errp != nil {
			log.Warn("failed", "elapsed", el, "err", *errp)
			return
		}
		log.Info("done", "elapsed", el)
	}
}
