package metrics

import (
	"math"
	"time"
)

// Sample is one server's usage at At. CPUNs, NetRxBytes and NetTxBytes are cumulative
// counters (they start again from 0 when the instance restarts); MemoryBytes and DiskBytes
// are gauges.
type Sample struct {
	At          time.Time
	CPUNs       int64
	MemoryBytes int64
	DiskBytes   int64
	NetRxBytes  int64
	NetTxBytes  int64
}

// Rate is the use between two consecutive samples. A Has* field is false where there is no
// rate for that counter: it went backwards (a counter reset after a restart), the samples
// are not in time order, or they are further apart than the gap limit (data is missing
// between them).
type Rate struct {
	// CPUPercent is CPU time per wall time in percent of one core (400 is 4 cores busy).
	CPUPercent float64
	// NetRxBps and NetTxBps are bytes per second received and sent.
	NetRxBps, NetTxBps float64

	HasCPU, HasRx, HasTx bool
}

// counterDelta is the growth of a counter over an interval; ok is false when it went
// backwards (a reset: the interval then tells nothing about the rate).
func counterDelta(prev, cur int64) (int64, bool) {
	if cur < prev {
		return 0, false
	}
	return cur - prev, true
}

// RateBetween returns the rates from prev to cur. maxGap > 0 bounds the interval that still
// yields a rate.
func RateBetween(prev, cur Sample, maxGap time.Duration) Rate {
	wall := cur.At.Sub(prev.At)
	if wall <= 0 || (maxGap > 0 && wall > maxGap) {
		return Rate{}
	}
	var r Rate
	sec := wall.Seconds()
	if d, ok := counterDelta(prev.CPUNs, cur.CPUNs); ok {
		r.CPUPercent, r.HasCPU = float64(d)/float64(wall.Nanoseconds())*100, true
	}
	if d, ok := counterDelta(prev.NetRxBytes, cur.NetRxBytes); ok {
		r.NetRxBps, r.HasRx = float64(d)/sec, true
	}
	if d, ok := counterDelta(prev.NetTxBytes, cur.NetTxBytes); ok {
		r.NetTxBps, r.HasTx = float64(d)/sec, true
	}
	return r
}

// Bucket is the use over [Start, Start+step): the rates averaged over the sample intervals
// that end in the bucket, weighted by their length (so it is the counters' growth divided by
// the time it took), and the gauges averaged over the bucket's samples.
type Bucket struct {
	Start      time.Time
	CPUPercent float64
	NetRxBps   float64
	NetTxBps   float64
	MemoryAvg  float64
	MemoryMax  int64
	DiskAvg    float64
	// Samples is how many samples fell in the bucket.
	Samples int
}

// accumulator sums one bucket.
type accumulator struct {
	start                   int64 // Unix milliseconds
	cpuNs, rxBytes, txBytes float64
	cpuWall, rxWall, txWall float64 // nanoseconds, seconds, seconds
	mem, disk               float64
	memMax                  int64
	n                       int
}

func (a *accumulator) bucket() Bucket {
	b := Bucket{Start: time.UnixMilli(a.start).UTC(), MemoryAvg: a.mem / float64(a.n), MemoryMax: a.memMax,
		DiskAvg: a.disk / float64(a.n), Samples: a.n}
	if a.cpuWall > 0 {
		b.CPUPercent = a.cpuNs / a.cpuWall * 100
	}
	if a.rxWall > 0 {
		b.NetRxBps = a.rxBytes / a.rxWall
	}
	if a.txWall > 0 {
		b.NetTxBps = a.txBytes / a.txWall
	}
	return b
}

// Bucketize groups samples (one server's, ascending by At) into buckets of step aligned on
// the Unix epoch, and returns those at or after from's bucket that hold a sample, ascending.
// Samples before from only serve as the predecessor of the first one at or after it. A rate
// interval belongs to the bucket of its later sample; intervals longer than maxGap (> 0) and
// counters that went backwards add no rate.
func Bucketize(samples []Sample, from time.Time, step, maxGap time.Duration) []Bucket {
	stepMs := step.Milliseconds()
	if stepMs <= 0 {
		return nil
	}
	out := []Bucket{}
	var (
		cur  *accumulator
		prev *Sample
	)
	for i := range samples {
		s := samples[i]
		if s.At.Before(from) {
			prev = &samples[i]
			continue
		}
		at := s.At.UnixMilli()
		start := at - mod(at, stepMs)
		if cur == nil || cur.start != start {
			if cur != nil {
				out = append(out, cur.bucket())
			}
			cur = &accumulator{start: start}
		}
		cur.n++
		cur.mem += float64(s.MemoryBytes)
		cur.disk += float64(s.DiskBytes)
		cur.memMax = max(cur.memMax, s.MemoryBytes)
		if prev != nil {
			wall := s.At.Sub(prev.At)
			if wall > 0 && (maxGap <= 0 || wall <= maxGap) {
				if d, ok := counterDelta(prev.CPUNs, s.CPUNs); ok {
					cur.cpuNs += float64(d)
					cur.cpuWall += float64(wall.Nanoseconds())
				}
				if d, ok := counterDelta(prev.NetRxBytes, s.NetRxBytes); ok {
					cur.rxBytes += float64(d)
					cur.rxWall += wall.Seconds()
				}
				if d, ok := counterDelta(prev.NetTxBytes, s.NetTxBytes); ok {
					cur.txBytes += float64(d)
					cur.txWall += wall.Seconds()
				}
			}
		}
		prev = &samples[i]
	}
	if cur != nil {
		out = append(out, cur.bucket())
	}
	return out
}

// mod is the non-negative remainder of a / b (b > 0).
func mod(a, b int64) int64 {
	r := a % b
	if r < 0 {
		r += b
	}
	return r
}

// Step is the bucket width of a raw-sample range: span / maxPoints, no finer than the
// sampling interval, rounded up to a whole second.
func Step(span, interval time.Duration, maxPoints int) time.Duration {
	step := max(interval, span/time.Duration(maxPoints))
	return time.Duration(math.Ceil(step.Seconds())) * time.Second
}
