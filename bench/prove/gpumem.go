package prove

import (
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// gpuMemSampler polls nvidia-smi for a device's memory in use and keeps the
// peak. Without nvidia-smi (ICICLE's CPU backend) it reports nothing.
type gpuMemSampler struct {
	mu   sync.Mutex
	peak float64
	ok   bool
	done chan struct{}
	wg   sync.WaitGroup
}

func startGPUMemSampler(device int) *gpuMemSampler {
	s := &gpuMemSampler{done: make(chan struct{})}
	path, err := exec.LookPath("nvidia-smi")
	if err != nil {
		return s
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			out, err := exec.Command(path, "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i", strconv.Itoa(device)).Output()
			if err == nil {
				if v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err == nil {
					s.mu.Lock()
					s.ok = true
					if v > s.peak {
						s.peak = v
					}
					s.mu.Unlock()
				}
			}
			select {
			case <-s.done:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// stop ends sampling and returns the peak in MiB, or nil if none was read.
func (s *gpuMemSampler) stop() *float64 {
	close(s.done)
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ok {
		return nil
	}
	v := s.peak
	return &v
}
